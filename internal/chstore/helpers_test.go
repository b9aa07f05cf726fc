package chstore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/chstore"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newStore opens a fresh, migrated database on the shared server.
func newStore(t testing.TB) *chstore.Store {
	t.Helper()
	st, err := chstore.Open(testenv.ClickHouseDB(t), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.SetGrace(time.Second)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// share is one generated share with its identity.
type share struct {
	payload.Share
	chstore.ShareID
	Coin string
}

// gen describes a synthetic pool.
type gen struct {
	seed      uint64
	coin      string
	gateways  int
	miners    int
	workers   int // per miner
	perBatch  int
	from, to  time.Time
	shares    int
	soloEvery int // every n-th miner is solo (0: none)
	rejectPct int
	blockAt   map[int]int64 // share number → height of a block it solves
}

// batches returns the gateway batches of the synthetic pool, in time order
// per gateway, and every share they hold.
func (g gen) batches() ([]*payload.ShareBatch, []share) {
	r := rand.New(rand.NewPCG(g.seed, 7))
	span := g.to.Sub(g.from).Milliseconds()
	times := make([]int64, g.shares)
	for i := range times {
		times[i] = g.from.UnixMilli() + r.Int64N(span)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	// Vardiff-like difficulties: a few non-round values per worker.
	diffs := map[[2]int][]float64{}
	var out []*payload.ShareBatch
	var all []share
	open := make([]*payload.ShareBatch, g.gateways)
	seq := make([]uint64, g.gateways)
	for i, ts := range times {
		gw := r.IntN(g.gateways)
		if open[gw] == nil {
			seq[gw]++
			open[gw] = &payload.ShareBatch{Gateway: fmt.Sprintf("%s-eu-%02d", g.coin, gw), Coin: g.coin, Region: "eu", Seq: seq[gw]}
		}
		b := open[gw]
		m, wk := r.IntN(g.miners), r.IntN(g.workers)
		ds, ok := diffs[[2]int{m, wk}]
		if !ok {
			base := math.Ldexp(1+r.Float64(), 10+r.IntN(12))
			ds = []float64{base, base * 1.37, base / 3}
			diffs[[2]int{m, wk}] = ds
		}
		sh := payload.Share{TimeMs: ts, Address: fmt.Sprintf("addr%03d", m), Worker: fmt.Sprintf("w%d", wk),
			Difficulty: ds[r.IntN(len(ds))], Height: 800000, NetworkDifficulty: 5e7, Accepted: true,
			Solo: g.soloEvery > 0 && m%g.soloEvery == 0}
		sh.ActualDifficulty = sh.Difficulty * (1 + r.Float64())
		if h, ok := g.blockAt[i]; ok {
			sh.Block, sh.Height, sh.Solo = true, h, false
		}
		if g.rejectPct > 0 && r.IntN(100) < g.rejectPct && !sh.Block {
			sh.Accepted = false
			sh.Reason = []string{"stale", "low-difficulty", "duplicate"}[r.IntN(3)]
		}
		b.Shares = append(b.Shares, sh)
		all = append(all, share{Share: sh, ShareID: chstore.ShareID{Gateway: b.Gateway, Seq: b.Seq, Idx: uint32(len(b.Shares) - 1)}, Coin: g.coin})
		if len(b.Shares) >= g.perBatch {
			out = append(out, b)
			open[gw] = nil
		}
	}
	for _, b := range open {
		if b != nil {
			out = append(out, b)
		}
	}
	return out, all
}

// write inserts batches through a Writer, chunk shares per INSERT.
func write(t testing.TB, st *chstore.Store, batches []*payload.ShareBatch, chunk int) {
	t.Helper()
	ctx := context.Background()
	w := st.NewWriter()
	flush := func() {
		if err := w.WriteAccepted(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteRejected(ctx); err != nil {
			t.Fatal(err)
		}
		w.Reset()
	}
	for _, b := range batches {
		w.Add(b)
		if w.Accepted()+w.Rejected() >= chunk {
			flush()
		}
	}
	flush()
}

func count(t testing.TB, st *chstore.Store, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := st.Conn().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitVisible waits until every insert so far is older than the grace.
func waitVisible(t testing.TB, st *chstore.Store) {
	t.Helper()
	ctx := context.Background()
	now, err := st.ServerNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		n, err := st.ServerNow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n >= now+2 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
