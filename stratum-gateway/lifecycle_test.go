package gateway_test

import (
	"crypto/tls"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/stratum"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
)

// TestShutdownAsksMinersToReconnect: cancelling the gateway's context sends
// client.reconnect (with the configured wait) to every miner, then closes.
func TestShutdownAsksMinersToReconnect(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(func(o *gateway.Options) { o.ReconnectWait = 3 * time.Second })
	p.publishJob(jobSpec{id: "j1"})
	var miners []*client
	for i := range 3 {
		c := dial(t, g.tcp())
		c.handshake(regtestAddr(t, byte(20+i)) + ".sd")
		miners = append(miners, c)
	}
	idle := dial(t, g.tcp()) // connected, never subscribed
	idle.sync()
	addr := g.tcp()

	g.cancel()
	for _, c := range append(miners, idle) {
		got := c.closed()
		var reconnects []stratum.Reconnect
		for _, l := range got {
			if l.msg.Method != stratum.MethodReconnect {
				continue
			}
			r, err := stratum.ParseReconnect(l.msg.Params)
			if err != nil {
				t.Fatalf("client.reconnect %s: %v", l.raw, err)
			}
			reconnects = append(reconnects, r)
		}
		if len(reconnects) != 1 || reconnects[0].WaitSeconds != 3 {
			t.Fatalf("want one client.reconnect with wait 3 before the close, got %v", got)
		}
	}
	select {
	case err := <-g.done:
		if err != nil {
			t.Fatalf("gateway run: %v", err)
		}
		g.cancel = nil
	case <-time.After(wait):
		t.Fatal("gateway did not stop")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("listener still accepting after shutdown")
	}
}

// TestTLSPort: the TLS listener (self-signed certificate in dev) speaks the
// same protocol.
func TestTLSPort(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(func(o *gateway.Options) { o.TLSAddr = "127.0.0.1:0" })
	p.publishJob(jobSpec{id: "j1"})
	addrs := g.Addrs()
	if addrs["stratum+tcp"] == "" || addrs["stratum+tls"] == "" {
		t.Fatalf("addrs %v: want tcp and tls", addrs)
	}
	c := dialTLS(t, addrs["stratum+tls"])
	c.handshake(regtestAddr(t, 17) + ".tls")
	wantTrue(t, c.submit(c.valid()))
	st := c.conn.(*tls.Conn).ConnectionState()
	if st.Version < tls.VersionTLS12 || len(st.PeerCertificates) == 0 || !slices.Contains(st.PeerCertificates[0].DNSNames, "localhost") {
		t.Fatalf("TLS state: version %x, certificate names %v", st.Version, st.PeerCertificates)
	}
	// Plain Stratum on the TLS port gets nowhere (and costs nothing).
	if !refused(t, addrs["stratum+tls"]) {
		t.Fatal("plain text accepted on the TLS port")
	}
}

// TestDependencies: the gateway must not import the databases or any
// function package (only the functions runtime).
func TestDependencies(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/jetpool/jetpool/stratum-gateway").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, must := range []string{"github.com/jetpool/jetpool/functions", "github.com/jetpool/jetpool/internal/coin", "github.com/nats-io/nats.go/jetstream"} {
		if !slices.Contains(deps, must) {
			t.Fatalf("%s missing from the dependency list (is go list working?): %v", must, deps)
		}
	}
	for _, d := range deps {
		switch {
		case strings.HasPrefix(d, "github.com/jackc/pgx"),
			strings.HasPrefix(d, "github.com/ClickHouse/clickhouse-go"),
			strings.HasPrefix(d, "github.com/jetpool/jetpool/functions/"):
			t.Errorf("the gateway depends on %s", d)
		}
	}
}
