package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/kv"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
)

// refused reports whether the gateway closes a new connection without
// answering a subscribe.
func refused(t *testing.T, addr string) bool {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		return true
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(wait))
	_, _ = io.WriteString(conn, `{"id":1,"method":"mining.subscribe","params":[]}`+"\n")
	b, err := bufio.NewReader(conn).ReadBytes('\n')
	if err == nil {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("gateway neither answered nor closed: %v", err)
	}
	if len(b) > 0 {
		t.Fatalf("partial line %q", b)
	}
	return true
}

func TestOverlongLineDisconnects(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(func(o *gateway.Options) { o.Stratum.MaxLineBytes = 1024 })
	p.publishJob(jobSpec{id: "j1"})
	other := dial(t, g.tcp())
	other.handshake(regtestAddr(t, 11) + ".other")

	c := dial(t, g.tcp())
	c.subscribe()
	c.send(`{"id":1,"method":"mining.authorize","params":["` + strings.Repeat("a", 2000) + `","x"]}`)
	got := c.closed()
	if len(got) != 1 || got[0].msg.Error == nil || got[0].msg.Error.Code != stratum.CodeInvalidRequest ||
		!strings.Contains(got[0].msg.Error.Message, "longer than 1024 bytes") || string(got[0].msg.ID) != "null" {
		t.Fatalf("want one line-too-long error before the disconnect, got %v", got)
	}
	// Nobody else noticed.
	wantTrue(t, other.submit(other.valid()))
	// A line just within the limit is fine.
	c2 := dial(t, g.tcp())
	c2.subscribe()
	pad := strings.Repeat(" ", 1024-len(`{"id":2,"method":"mining.extranonce.subscribe","params":[]}`))
	c2.send(`{"id":2,"method":"mining.extranonce.subscribe","params":[]` + pad + `}`)
	wantTrue(t, c2.response(2))
}

func TestMessageFloodDisconnects(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	const burst = 5
	g := p.startGateway(func(o *gateway.Options) {
		// One new token every 100 s: the flood below is never refilled.
		o.Stratum.MaxMessagesPerSecond, o.Stratum.MessageBurst = 0.01, burst
	})
	other := dial(t, g.tcp())
	other.subscribe()

	c := dial(t, g.tcp())
	// The burst passes, then every further message is refused with an
	// error until the strikes exceed the burst and the miner is dropped.
	// Exactly as many lines as the gateway reads before dropping, so none
	// is left unread.
	var lines []string
	for range 2*burst + 1 {
		lines = append(lines, `{"id":3,"method":"mining.extranonce.subscribe","params":[]}`)
	}
	c.send(strings.Join(lines, "\n"))
	got := c.closed()
	var ok, limited int
	for _, l := range got {
		switch {
		case l.msg.Error == nil && string(l.msg.Result) == "true":
			ok++
		case l.msg.Error != nil && l.msg.Error.Code == stratum.CodeOther && strings.Contains(l.msg.Error.Message, "rate limit"):
			limited++
		default:
			t.Fatalf("unexpected reply %s", l.raw)
		}
	}
	if ok != burst || limited != burst {
		t.Fatalf("got %d answers and %d rate-limit errors before the disconnect, want %d and %d", ok, limited, burst, burst)
	}
	// Another miner is not limited by this one.
	other.sync()
}

// TestProxyRateGrowsWithItsWorkers: every worker authorized after the first
// raises the connection's rate and burst by worker_messages_per_second, so a
// proxy's burst of submits passes where a one-worker connection under the
// same limits is throttled and dropped.
func TestProxyRateGrowsWithItsWorkers(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	const burst = 5
	g := p.startGateway(func(o *gateway.Options) {
		o.Stratum.MaxMessagesPerSecond, o.Stratum.MessageBurst = 0.01, burst
		o.Stratum.WorkerMessagesPerSecond = 1000
	})
	p.publishJob(jobSpec{id: "j"})
	g.waitJob(t)
	flood := func(n int) string {
		lines := make([]string, n)
		for i := range lines {
			lines[i] = `{"id":9,"method":"mining.extranonce.subscribe","params":[]}`
		}
		return strings.Join(lines, "\n") + "\n"
	}

	proxy := dial(t, g.tcp())
	proxy.subscribe()
	for i := range 3 { // subscribe + 3 authorizes: within the burst of 5
		wantTrue(t, proxy.authorize(fmt.Sprintf("%s.rig%d", regtestAddr(t, 50), i)))
	}
	time.Sleep(100 * time.Millisecond) // 2 extra workers × 1000/s refill the bucket
	const n = 3 * burst
	proxy.send(flood(n))
	for i := range n {
		if m := proxy.response(9); m.Error != nil {
			t.Fatalf("proxy message %d of %d refused: %v", i+1, n, m.Error)
		}
	}

	single := dial(t, g.tcp())
	single.subscribe()
	wantTrue(t, single.authorize(regtestAddr(t, 51)+".rig"))
	time.Sleep(100 * time.Millisecond)
	single.send(flood(2*burst + 1))
	limited := 0
	for _, l := range single.closed() {
		if l.msg.Error != nil && strings.Contains(l.msg.Error.Message, "rate limit") {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("a one-worker connection was not rate limited by the same flood")
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(func(o *gateway.Options) { o.Stratum.IdleTimeout = config.Duration(300 * time.Millisecond) })
	c := dial(t, g.tcp())
	c.subscribe()
	start := time.Now()
	if got := c.closed(); len(got) != 0 {
		t.Fatalf("unexpected messages before the idle close: %v", got)
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Fatal("closed before the idle timeout")
	}
	waitFor(t, "session gone", func() bool { return g.SessionCount() == 0 })
}

func TestPerIPConnectionLimit(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(func(o *gateway.Options) { o.Stratum.MaxConnsPerIP = 3 })
	var open []*client
	for range 3 {
		c := dial(t, g.tcp())
		c.subscribe()
		open = append(open, c)
	}
	if !refused(t, g.tcp()) {
		t.Fatal("a 4th connection from one IP was served with a limit of 3")
	}
	for _, c := range open {
		c.sync() // the first three still work
	}
	open[0].conn.Close()
	waitFor(t, "the closed session to be gone", func() bool { return g.SessionCount() == 2 })
	c := dial(t, g.tcp())
	c.subscribe()
}

func TestInvalidSharesBanTheIP(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	limit := func(o *gateway.Options) { o.Stratum.InvalidShareBanLimit = 3 }
	a := p.startGateway(limit)
	b := p.startGateway(limit)
	p.publishJob(jobSpec{id: "j1"})
	c := dial(t, a.tcp())
	c.handshake(regtestAddr(t, 12) + ".bad")
	// Stale and unknown-job shares are honest mistakes: never a ban.
	for range 5 {
		w := c.valid()
		w.job = "gone"
		wantError(t, c.submit(w), stratum.CodeJobNotFound, "")
	}
	// A valid share clears the count.
	wantError(t, c.submit(c.mine("", 0, not(meets(c.diff)))), stratum.CodeLowDifficulty, "")
	wantError(t, c.submit(c.mine("", 0, not(meets(c.diff)))), stratum.CodeLowDifficulty, "")
	wantTrue(t, c.submit(c.valid()))
	for range 2 {
		wantError(t, c.submit(c.mine("", 0, not(meets(c.diff)))), stratum.CodeLowDifficulty, "")
	}
	c.request(stratum.MethodSubmit, c.mine("", 0, not(meets(c.diff))).params(c.user)...)
	got := c.closed()
	if len(got) != 1 || got[0].msg.Error == nil || got[0].msg.Error.Code != stratum.CodeLowDifficulty {
		t.Fatalf("want the third rejection, then the disconnect; got %v", got)
	}

	ban, _, err := kv.Get[payload.Ban](context.Background(), p.kv.Bans, gateway.BanKeyIP("127.0.0.1"))
	if err != nil {
		t.Fatalf("no ban stored: %v", err)
	}
	if !ban.Active(time.Now()) || ban.Until.After(time.Now().Add(testOptions().Stratum.BanDuration.D()+time.Minute)) ||
		ban.By != a.ID() || !strings.Contains(ban.Reason, "3 invalid shares") {
		t.Fatalf("stored ban %+v", ban)
	}
	// This gateway and the other one (through KV bans) refuse the IP.
	if !refused(t, a.tcp()) {
		t.Fatal("banning gateway served the banned IP")
	}
	waitFor(t, "the other gateway to refuse the banned IP", func() bool { return refused(t, b.tcp()) })

	// The ban was announced on EVENTS.
	var evs []payload.WorkerEvent
	waitFor(t, "the banned event", func() bool { evs = p.events(payload.WorkerBanned); return len(evs) > 0 })
	if len(evs) != 1 || evs[0].RemoteIP != "127.0.0.1" || evs[0].Address != regtestAddr(t, 12) ||
		evs[0].Worker != "bad" || !strings.Contains(evs[0].Reason, "invalid shares") {
		t.Fatalf("banned events %+v", evs)
	}

	// Lifting the ban in KV lets the IP back in.
	if err := p.kv.Bans.Delete(context.Background(), gateway.BanKeyIP("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lifted ban", func() bool { return !refused(t, b.tcp()) })
}

func TestBannedAddressRefusedAtAuthorize(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "j1"})
	banned, expired := regtestAddr(t, 13), regtestAddr(t, 14)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	for addr, u := range map[string]time.Time{banned: until, expired: time.Now().Add(-time.Minute)} {
		if _, err := kv.Put(context.Background(), p.kv.Bans, gateway.BanKeyAddress(addr), payload.Ban{Until: u, Reason: "test", By: "admin"}); err != nil {
			t.Fatal(err)
		}
	}
	var c *client
	waitFor(t, "the address ban to reach the gateway", func() bool {
		c = dial(t, g.tcp())
		c.subscribe()
		m := c.authorize(banned + ".w")
		if m.Error == nil {
			c.conn.Close()
			return false
		}
		wantError(t, m, stratum.CodeUnauthorized, "address banned until "+until.Format(time.RFC3339))
		return true
	})
	c.sync()
	if len(c.methods()) != 0 {
		t.Fatalf("work sent to a banned address: %v", c.methods())
	}
	// An expired ban does not count.
	c2 := dial(t, g.tcp())
	c2.handshake(expired + ".w")
}

// events reads the worker events of one kind from EVENTS.
func (p *pool) events(kind string) []payload.WorkerEvent {
	p.t.Helper()
	var out []payload.WorkerEvent
	for _, m := range p.streamMsgs("EVENTS", "events.worker.btc."+kind) {
		var ev payload.WorkerEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			p.t.Fatal(err)
		}
		if ev.Event != kind || ev.Coin != "btc" || ev.Region != region || ev.Gateway == "" || ev.Time.IsZero() {
			p.t.Fatalf("worker event %+v", ev)
		}
		out = append(out, ev)
	}
	return out
}
