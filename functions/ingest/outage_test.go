package ingest_test

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jetpool/jetpool/functions/ingest"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/streams"
)

// TestClickHouseOutage kills ClickHouse for 30 s while gateways keep
// publishing, then starts it again on the same data and ports: ingest backs
// off, JetStream holds the shares, and afterwards every share is in
// ClickHouse exactly once.
func TestClickHouseOutage(t *testing.T) {
	ch := testenv.ClickHouse(t)
	dsn := ch.DSN()
	h := newHarness(t, dsn, ingestCfg(400, 100*time.Millisecond))
	tStart := time.Now()
	h.start(&ingest.Function{}, "a")
	st := openStore(t, dsn)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}

	var published, accepted, rejected atomic.Int64
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { // 20 batches of 20 shares a second, like a busy gateway
		var err error
		defer func() { done <- err }()
		seq := uint64(1)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			b, a, r := makeBatches(seq, "btc-eu-out", seq, 1, 20, time.Now())
			if err = h.tryPublish(b); err != nil {
				return
			}
			published.Add(1)
			accepted.Add(int64(a))
			rejected.Add(int64(r))
			seq++
		}
	}()
	natstest.WaitFor(t, 30*time.Second, "shares flowing into ClickHouse", func() bool {
		return count(t, st, "SELECT count() FROM shares") > 500
	})
	ctx := context.Background()
	t.Logf("killing ClickHouse %s after start", time.Since(tStart))
	// A crash, not a polite stop: inserts in flight are cut off midway.
	t0 := time.Now()
	if err := syscall.Kill(-ch.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-ch.Exited()
	atStop := published.Load()
	time.Sleep(30 * time.Second)
	if published.Load()-atStop < 200 {
		t.Fatalf("only %d batches published during the outage", published.Load()-atStop)
	}
	restarted, err := localsvc.StartClickHouse(ctx, localsvc.ClickHouseOptions{DataDir: ch.DataDir(),
		TCPPort: ch.TCPPort(), HTTPPort: ch.HTTPPort(), Logger: testenv.Logger()})
	if err != nil {
		t.Fatalf("restart ClickHouse: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-restarted.PID(), syscall.SIGKILL) // its data is thrown away: no need to wait for a clean stop
		<-restarted.Exited()
		_ = restarted.Stop(context.Background())
	})
	t.Logf("ClickHouse back after %s", time.Since(t0).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // a little more traffic after the restart
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 90*time.Second, "ingest caught up", func() bool { return consumerDrained(t, h.js, streams.ConsumerIngest) })
	t.Logf("caught up %s after the outage began", time.Since(t0).Round(time.Millisecond))
	if n := count(t, st, "SELECT count() FROM shares FINAL"); n != uint64(accepted.Load()) {
		t.Fatalf("%d shares in ClickHouse, %d accepted were published", n, accepted.Load())
	}
	if n := count(t, st, "SELECT count() FROM (SELECT gateway, seq, idx FROM shares FINAL GROUP BY gateway, seq, idx)"); n != uint64(accepted.Load()) {
		t.Fatalf("%d distinct share ids, want %d", n, accepted.Load())
	}
	if n := count(t, st, "SELECT count() FROM rejected_shares FINAL"); n != uint64(rejected.Load()) {
		t.Fatalf("%d rejected shares, want %d", n, rejected.Load())
	}
	if n := count(t, st, "SELECT sum(n) FROM pool_minute FINAL"); n != uint64(accepted.Load()) {
		t.Fatalf("pool_minute counts %d, want %d", n, accepted.Load())
	}
	var maxSeq uint64
	if err := st.Conn().QueryRow(ctx, "SELECT max(seq) FROM shares").Scan(&maxSeq); err != nil || maxSeq != uint64(published.Load()) {
		t.Fatalf("newest batch %d, %v; want %d", maxSeq, err, published.Load())
	}
}
