package loadgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/loadgen"
)

// childEnv makes the test binary run the gateway under test instead of
// the tests: the self-contained bench needs the gateway in its own process.
const childEnv = "JETPOOL_LOADGEN_TEST_GATEWAY"

func TestMain(m *testing.M) {
	if args := os.Getenv(childEnv); args != "" {
		natsURL, tcpAddr, _ := strings.Cut(args, " ")
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := loadgen.RunGatewayChild(ctx, loadgen.ChildOptions{NATSURL: natsURL, TCPAddr: tcpAddr})
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "gateway child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSelfContainedBench(t *testing.T) {
	if testing.Short() {
		t.Skip("starts NATS and a gateway process")
	}
	var gwOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := loadgen.Run(ctx, loadgen.Options{
		Conns: 50, Rate: 500, Duration: 3 * time.Second, Blocks: 1, TemplateTxs: 200,
		Gateway: func(natsURL, tcpAddr string) *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+natsURL+" "+tcpAddr)
			return cmd
		},
		GatewayOutput: &gwOut,
	})
	if err != nil {
		t.Fatalf("run: %v\ngateway output:\n%s", err, gwOut.String())
	}
	if res.Connected != 50 {
		t.Errorf("connected %d of 50", res.Connected)
	}
	if res.Accepted == 0 {
		t.Errorf("no share accepted: %+v", res)
	}
	if res.Rejected != 0 {
		t.Errorf("%d shares rejected (first: %q)", res.Rejected, res.FirstReject)
	}
	if res.Blocks != 1 || res.NotifySamples == 0 {
		t.Errorf("blocks %d, notify samples %d; want 1 block and its notifies measured", res.Blocks, res.NotifySamples)
	}
	if res.GatewayPID == 0 || res.GatewayRSS == 0 || res.GatewayRSSBase == 0 {
		t.Errorf("gateway memory not read: pid %d rss %d base %d", res.GatewayPID, res.GatewayRSS, res.GatewayRSSBase)
	}
	if res.SubmitP50Ms <= 0 || res.SubmitP99Ms < res.SubmitP50Ms {
		t.Errorf("submit latency p50 %v p99 %v", res.SubmitP50Ms, res.SubmitP99Ms)
	}
	// The gateway process is gone once Run returns.
	if err := syscall.Kill(res.GatewayPID, 0); err == nil {
		t.Errorf("gateway process %d still running after Run", res.GatewayPID)
	}

	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(data, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"conns", "rate_target", "duration_s", "accepted", "rejected", "shares_per_s",
		"submit_p50_ms", "submit_p99_ms", "notify_p50_ms", "notify_p99_ms", "gateway_rss_bytes",
		"rss_per_conn_bytes", "connected"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("JSON field %q missing: %s", k, data)
		}
	}
}

func TestOptionsRejected(t *testing.T) {
	tests := []struct {
		name string
		o    loadgen.Options
	}{
		{"no conns", loadgen.Options{Rate: 1, Duration: time.Second, URL: "127.0.0.1:1"}},
		{"no rate", loadgen.Options{Conns: 1, Duration: time.Second, URL: "127.0.0.1:1"}},
		{"no duration", loadgen.Options{Conns: 1, Rate: 1, URL: "127.0.0.1:1"}},
		{"negative difficulty", loadgen.Options{Conns: 1, Rate: 1, Duration: time.Second, Difficulty: -1, URL: "127.0.0.1:1"}},
		{"no gateway launcher", loadgen.Options{Conns: 1, Rate: 1, Duration: time.Second}},
		{"tls url", loadgen.Options{Conns: 1, Rate: 1, Duration: time.Second, URL: "stratum+tls://127.0.0.1:1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := loadgen.Run(context.Background(), tc.o); !errors.Is(err, loadgen.ErrUsage) {
				t.Fatalf("err = %v, want ErrUsage", err)
			}
		})
	}
}

func TestDefaultAddressIsRegtest(t *testing.T) {
	c, err := coin.Get("btc", "regtest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ValidateAddress(loadgen.DefaultAddress); err != nil {
		t.Fatalf("DefaultAddress %s: %v", loadgen.DefaultAddress, err)
	}
}
