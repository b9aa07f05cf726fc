package loadgen

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// testGateway re-executes the test binary as the gateway process; TestMain
// (loadgen_test.go) runs RunGatewayChild when it sees this variable.
func testGateway(natsURL, tcpAddr string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JETPOOL_LOADGEN_TEST_GATEWAY="+natsURL+" "+tcpAddr)
	return cmd
}

// The --url mode against a running gateway: shares accepted, the
// gateway's memory read through its pid, notify latency measured against
// the first connection to see a new block.
func TestURLMode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts NATS and a gateway process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ho := Options{Conns: 20, Rate: 1, Duration: time.Second, TemplateTxs: 10, Gateway: testGateway}
	if err := ho.defaults(); err != nil {
		t.Fatal(err)
	}
	h, err := startHarness(ctx, ho)
	if err != nil {
		t.Fatal(err)
	}
	defer h.close(ho)

	// New blocks every half second until the run ends, so some land in
	// its load phase whatever the machine's speed.
	done := make(chan struct{})
	published := make(chan error, 1)
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				published <- nil
				return
			case <-tick.C:
				if err := h.publish(ctx, nil); err != nil {
					published <- err
					return
				}
			}
		}
	}()
	res, err := Run(ctx, Options{Conns: 20, Rate: 200, Duration: 4 * time.Second,
		URL: "stratum+tcp://" + h.tcpAddr, GatewayPID: h.gw.cmd.Process.Pid})
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	if res.Mode != "url" || res.Connected != 20 {
		t.Errorf("mode %q, connected %d", res.Mode, res.Connected)
	}
	// Stale answers are expected here (a block every 500 ms); anything
	// else rejected means the client mined or submitted wrongly.
	if res.Accepted == 0 || res.Rejected != 0 {
		t.Errorf("accepted %d, rejected %d (first: %q)", res.Accepted, res.Rejected, res.FirstReject)
	}
	if res.GatewayRSS == 0 || res.GatewayRSSIdle == 0 {
		t.Errorf("gateway memory not read through pid %d", res.GatewayPID)
	}
	if res.NotifySamples == 0 {
		t.Errorf("the new block's notify was not measured")
	}
}
