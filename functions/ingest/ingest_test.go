package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/ingest"
	"github.com/jetpool/jetpool/internal/chstore"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natsrv"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type harness struct {
	t   testing.TB
	srv *natsrv.Server
	js  jetstream.JetStream
	dsn string
}

func newHarness(t testing.TB, dsn string, ing config.Ingest) *harness {
	t.Helper()
	srv := testenv.NATS(t)
	_, js := natstest.Connect(t, srv)
	cfg := config.Default()
	cfg.Ingest = ing
	natstest.DeclareSeeded(t, js, cfg)
	return &harness{t: t, srv: srv, js: js, dsn: dsn}
}

// start runs a copy of fn in its own Env and connection, as a separate
// process would; the returned func stops it and waits.
func (h *harness) start(fn *ingest.Function, instance string) func() {
	h.t.Helper()
	return h.startLogged(fn, instance, natstest.Logger())
}

func (h *harness) startLogged(fn *ingest.Function, instance string, log *slog.Logger) func() {
	h.t.Helper()
	nc, js := natstest.Connect(h.t, h.srv)
	store, err := kv.Open(context.Background(), js)
	if err != nil {
		h.t.Fatal(err)
	}
	env := &functions.Env{NC: nc, JS: js, KV: store, Log: log, Ready: ops.NewReadiness(), Instance: instance,
		Deps: functions.Deps{ClickHouseDSN: h.dsn}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- functions.RunAll(ctx, env, fn) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("ingest %s: %v", instance, err)
			}
		})
	}
	h.t.Cleanup(stop)
	return stop
}

func (h *harness) publish(batches []*payload.ShareBatch) {
	h.t.Helper()
	if err := h.tryPublish(batches); err != nil {
		h.t.Fatal(err)
	}
}

// tryPublish publishes as a gateway does, with the batch's message id.
func (h *harness) tryPublish(batches []*payload.ShareBatch) error {
	for _, b := range batches {
		data, _ := json.Marshal(b)
		m := &nats.Msg{Subject: streams.SharesSubject(b.Coin, b.Region), Data: data, Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, b.MsgID())
		if _, err := h.js.PublishMsgAsync(m); err != nil {
			return err
		}
	}
	select {
	case <-h.js.PublishAsyncComplete():
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("publishes not acknowledged")
	}
}

// makeBatches builds n gateway batches of per shares each, a few rejected.
func makeBatches(seed uint64, gw string, firstSeq uint64, n, per int, at time.Time) (batches []*payload.ShareBatch, accepted, rejected int) {
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range n {
		b := &payload.ShareBatch{Gateway: gw, Coin: "btc", Region: "eu", Seq: firstSeq + uint64(i)}
		for j := range per {
			sh := payload.Share{TimeMs: at.UnixMilli() - int64(r.IntN(600000)), Address: fmt.Sprintf("addr%d", r.IntN(20)),
				Worker: fmt.Sprintf("w%d", r.IntN(3)), Difficulty: float64(1 + r.IntN(1<<20)), Height: 900000, NetworkDifficulty: 1e9, Accepted: true}
			if (i*per+j)%23 == 0 {
				sh.Accepted, sh.Reason = false, "stale"
				rejected++
			} else {
				accepted++
			}
			b.Shares = append(b.Shares, sh)
		}
		batches = append(batches, b)
	}
	return batches, accepted, rejected
}

func openStore(t testing.TB, dsn string) *chstore.Store {
	t.Helper()
	st, err := chstore.Open(dsn, natstest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func count(t testing.TB, st *chstore.Store, q string) uint64 {
	t.Helper()
	var n uint64
	if err := st.Conn().QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// consumerDrained reports whether a durable has nothing pending or unacked.
func consumerDrained(t *testing.T, js jetstream.JetStream, durable string) bool {
	t.Helper()
	c, err := js.Consumer(context.Background(), streams.Shares, durable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		return false
	}
	return info.NumPending == 0 && info.NumAckPending == 0
}

func ingestCfg(batch int, delay time.Duration) config.Ingest {
	return config.Ingest{BatchSize: batch, MaxDelay: config.Duration(delay), RetentionDays: 90}
}

// TestExactlyOnceUnderRedeliveryAndRacingCopies: two copies share the
// durable (normal scaling), a third races them on a durable of its own (so
// it writes every batch again, concurrently), and after everything is
// acknowledged a fourth replays the stream from the start (a redelivery of
// everything, as after a crash between insert and ack). Every share must
// be counted once.
func TestExactlyOnceUnderRedeliveryAndRacingCopies(t *testing.T) {
	dsn := testenv.ClickHouseDB(t)
	cfg := ingestCfg(700, 50*time.Millisecond)
	cfg.RollupEvery = config.Duration(time.Second)
	h := newHarness(t, dsn, cfg)
	ctx := context.Background()
	race, _ := streams.ConsumerByName(streams.Options{}, streams.ConsumerIngest)
	race.Config.Durable = "ingest-race"
	if _, err := h.js.CreateOrUpdateConsumer(ctx, streams.Shares, race.Config); err != nil {
		t.Fatal(err)
	}
	h.start(&ingest.Function{Grace: time.Second}, "a")
	h.start(&ingest.Function{Grace: time.Second}, "b")
	h.start(&ingest.Function{Consumer: "ingest-race", Grace: time.Second}, "racer")
	var all []*payload.ShareBatch
	var accepted, rejected int
	for g := range 3 {
		// Two hours old, so that the hours are over and the rollups take them.
		b, a, r := makeBatches(uint64(g), fmt.Sprintf("btc-eu-%d", g), 1, 200, 25, time.Now().Add(-2*time.Hour))
		all, accepted, rejected = append(all, b...), accepted+a, rejected+r
	}
	h.publish(all)
	st := openStore(t, dsn)
	natstest.WaitFor(t, 60*time.Second, "both durables drained", func() bool {
		return consumerDrained(t, h.js, streams.ConsumerIngest) && consumerDrained(t, h.js, "ingest-race")
	})
	replay := race.Config
	replay.Durable = "ingest-replay"
	if _, err := h.js.CreateOrUpdateConsumer(ctx, streams.Shares, replay); err != nil {
		t.Fatal(err)
	}
	h.start(&ingest.Function{Consumer: "ingest-replay"}, "replay")
	natstest.WaitFor(t, 60*time.Second, "replay drained", func() bool { return consumerDrained(t, h.js, "ingest-replay") })

	if raw := count(t, st, "SELECT count() FROM shares"); raw <= uint64(accepted) {
		t.Logf("raw rows %d: merges already collapsed the copies", raw)
	}
	if n := count(t, st, "SELECT count() FROM shares FINAL"); n != uint64(accepted) {
		t.Fatalf("%d shares, want %d", n, accepted)
	}
	if n := count(t, st, "SELECT count() FROM (SELECT gateway, seq, idx FROM shares FINAL GROUP BY gateway, seq, idx)"); n != uint64(accepted) {
		t.Fatalf("%d distinct share ids, want %d", n, accepted)
	}
	if n := count(t, st, "SELECT count() FROM rejected_shares FINAL"); n != uint64(rejected) {
		t.Fatalf("%d rejected shares, want %d", n, rejected)
	}
	if n := count(t, st, "SELECT sum(n) FROM pool_minute FINAL"); n != uint64(accepted) {
		t.Fatalf("pool_minute counts %d shares, want %d", n, accepted)
	}
	if n := count(t, st, "SELECT count() FROM miner_shares FINAL"); n != uint64(accepted) {
		t.Fatalf("miner_shares holds %d shares, want %d", n, accepted)
	}
	// The hourly rollups, recomputed by every copy every second, count
	// every share once too.
	natstest.WaitFor(t, 30*time.Second, "rollups to cover every share", func() bool {
		return count(t, st, "SELECT sum(n) FROM pool_hour FINAL") == uint64(accepted) &&
			count(t, st, "SELECT sum(n) FROM worker_hour FINAL") == uint64(accepted)
	})
	var want float64
	for _, b := range all {
		for _, s := range b.Shares {
			if s.Accepted {
				want += s.Difficulty
			}
		}
	}
	sums, err := st.Hashrate(ctx, chstore.Pool("btc"), time.Now(), []time.Duration{24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if sums[0].Shares != uint64(accepted) || sums[0].SumDifficulty != want {
		t.Fatalf("pool sums %+v, want %d shares, Σd %v", sums[0], accepted, want)
	}
}

// TestBatchSizeReloadsFromKV: with max_delay out of reach, batches close on
// size alone, and a new size in KV applies without a restart. Every INSERT
// makes a part; with merges stopped the parts count the inserts.
func TestBatchSizeReloadsFromKV(t *testing.T) {
	dsn := testenv.ClickHouseDB(t)
	h := newHarness(t, dsn, ingestCfg(5, time.Hour))
	st := openStore(t, dsn)
	ctx := context.Background()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Conn().Exec(ctx, "SYSTEM STOP MERGES "+st.Database()+".shares"); err != nil {
		t.Fatal(err)
	}
	parts := func() uint64 {
		return count(t, st, "SELECT count() FROM system.parts WHERE active AND table = 'shares' AND database = '"+st.Database()+"'")
	}
	applied := &watchLog{msg: "ingest settings applied", ch: make(chan slog.Record, 8)}
	h.startLogged(&ingest.Function{}, "a", slog.New(applied))
	one := func(first uint64, n int) []*payload.ShareBatch {
		var out []*payload.ShareBatch
		for i := range n {
			out = append(out, &payload.ShareBatch{Gateway: "gw", Coin: "btc", Region: "eu", Seq: first + uint64(i),
				Shares: []payload.Share{{TimeMs: time.Now().UnixMilli(), Address: "a", Difficulty: 1, Accepted: true}}})
		}
		return out
	}
	h.publish(one(1, 10))
	natstest.WaitFor(t, 30*time.Second, "10 shares", func() bool { return count(t, st, "SELECT count() FROM shares") == 10 })
	if p := parts(); p != 2 {
		t.Fatalf("%d inserts for 10 one-share batches at batch_size 5, want 2", p)
	}
	nc, js := natstest.Connect(t, h.srv)
	_ = nc
	store, err := kv.Open(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, store.Config, config.KeyIngest, ingestCfg(10, time.Hour)); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "batch_size 10 applied", func() bool {
		for {
			select {
			case r := <-applied.ch:
				found := false
				r.Attrs(func(a slog.Attr) bool {
					found = found || (a.Key == "batch_size" && a.Value.Int64() == 10)
					return true
				})
				if found {
					return true
				}
			default:
				return false
			}
		}
	})
	h.publish(one(11, 20))
	natstest.WaitFor(t, 30*time.Second, "30 shares", func() bool { return count(t, st, "SELECT count() FROM shares") == 30 })
	if p := parts(); p != 4 {
		t.Fatalf("%d inserts after 20 more at batch_size 10, want 4", p)
	}
}

// watchLog hands log records with one message to a channel.
type watchLog struct {
	msg string
	ch  chan slog.Record
}

func (w *watchLog) Enabled(context.Context, slog.Level) bool { return true }
func (w *watchLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == w.msg {
		w.ch <- r.Clone()
	}
	return nil
}
func (w *watchLog) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *watchLog) WithGroup(string) slog.Handler      { return w }
