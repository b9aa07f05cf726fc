package rewards_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/rewards"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/ledger/ledgertest"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/promtest"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// window is a fixed share store: the test decides the work, the function
// under test must ask for the right window and split it exactly.
type window struct {
	mu    sync.Mutex
	reqs  []rewards.WindowRequest
	miner []rewards.MinerWork
}

func (w *window) PPLNSWindow(_ context.Context, coin string, until time.Time, work float64) ([]rewards.MinerWork, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reqs = append(w.reqs, rewards.WindowRequest{Coin: coin, Kind: rewards.KindPPLNS, Until: until, Work: work})
	return w.miner, nil
}

func (w *window) RoundWork(_ context.Context, coin string, from, until time.Time) ([]rewards.MinerWork, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reqs = append(w.reqs, rewards.WindowRequest{Coin: coin, Kind: rewards.KindRound, From: from, Until: until})
	return w.miner, nil
}

// current reads the package's metrics as they are now (the vectors are
// package-level: tests compare deltas).
func current(t *testing.T) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(rewards.Collectors()...)
	return promtest.Snapshot(t, reg)
}

// drained waits until the rewards consumer has acknowledged everything.
func drained(t *testing.T, env *functions.Env) {
	t.Helper()
	natstest.WaitFor(t, 15*time.Second, "rewards consumer to catch up", func() bool {
		c, err := env.JS.Consumer(context.Background(), streams.Blocks, streams.ConsumerRewards)
		if err != nil {
			return false
		}
		ci, err := c.Info(context.Background())
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
}

func TestRewardsBySchemeAreExactAndIdempotent(t *testing.T) {
	env, st := ledgertest.Env(t)
	reg := prometheus.NewRegistry()
	env.Metrics = reg
	before := current(t)
	ctx := context.Background()
	win := &window{miner: []rewards.MinerWork{{"alice", 1.5}, {"bob", 0.25}, {"carol", 0.0001}}}
	pool := config.Default().Pool
	pool.Scheme, pool.FeeBasisPoints, pool.PPLNSWindow = config.SchemePPLNS, 150, 2
	pool.SchemeFeeBasisPoints = map[string]int{config.SchemeSOLO: 50}
	if _, err := kv.Put(ctx, env.KV.Config, config.KeyPool, pool); err != nil {
		t.Fatal(err)
	}
	ledgertest.Run(t, env, &rewards.Function{Window: win})
	t0 := time.Unix(1_700_000_000, 0).UTC()
	pub := func(subject string, v any) {
		data, _ := json.Marshal(v)
		for range 3 { // every message delivered three times
			if _, err := env.JS.Publish(ctx, subject, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	found := func(hash string, height int64, solo bool, at time.Time) payload.BlockFound {
		return payload.BlockFound{Coin: "btc", Hash: hash, Height: height, Address: "finder", Solo: solo,
			NetworkDifficulty: 1000, ShareDifficulty: 1, CoinbaseValue: 5_000_012_345, Time: at}
	}
	pub(streams.BlockFoundSubject("btc"), found("b1", 10, false, t0))
	pub(streams.BlockFoundSubject("btc"), found("b2", 11, true, t0.Add(time.Minute)))
	pub(streams.BlockFoundSubject("btc"), found("b3", 12, false, t0.Add(2*time.Minute)))
	natstest.WaitFor(t, 15*time.Second, "three rewarded blocks", func() bool {
		for _, h := range []string{"b1", "b2", "b3"} {
			if b, err := st.Block(ctx, "btc", h); err != nil || !b.Rewarded {
				return false
			}
		}
		return true
	})
	// Independent computation of b1: fee = floor(5000012345 × 150 / 10000) = 75000185;
	// net 4925012160 over work units 150000000 : 25000000 : 10000 (total 175010000).
	// alice 4925012160×150000000/175010000 = 4221197782.98…, bob 703532963.83…,
	// carol 281413.18…: the floors sum to net − 2, and the 2 leftover units go
	// to the largest remainders, alice (.98…) and bob (.83…).
	want := map[string]int64{"alice": 4221197783, "bob": 703532964, "carol": 281413}
	got, _ := st.Rewards(ctx, "btc", "b1")
	var sum int64
	for a, v := range got {
		sum += v
		if want[a] != v {
			t.Errorf("b1 %s = %d, want %d", a, v, want[a])
		}
	}
	b1, _ := st.Block(ctx, "btc", "b1")
	if *b1.PoolFee != 75_000_185 || sum+*b1.PoolFee != 5_000_012_345 || b1.Scheme != "pplns" {
		t.Errorf("b1: fee %d, Σ %d, scheme %s", *b1.PoolFee, sum, b1.Scheme)
	}
	solo, _ := st.Rewards(ctx, "btc", "b2")
	if solo["finder"] != 5_000_012_345-25_000_061 || len(solo) != 1 {
		t.Errorf("solo block rewards %v", solo)
	}
	// Nine deliveries, three splits recorded: the money counters say what
	// the ledger holds, once.
	drained(t, env)
	var minersSum, feeSum int64
	for _, h := range []string{"b1", "b2", "b3"} {
		rs, err := st.Rewards(ctx, "btc", h)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range rs {
			minersSum += v
		}
		b, _ := st.Block(ctx, "btc", h)
		feeSum += *b.PoolFee
	}
	split := promtest.Snapshot(t, reg) // what Run registered with env.Metrics
	delta := func(now map[string]float64, key string) float64 { return now[key] - before[key] }
	for key, want := range map[string]float64{
		"jetpool_rewards_blocks_total{coin=btc,scheme=pplns,state=credited}":  2,
		"jetpool_rewards_blocks_total{coin=btc,scheme=solo,state=credited}":   1,
		"jetpool_rewards_credited_base_units_total{coin=btc,kind=miners}":     float64(minersSum),
		"jetpool_rewards_credited_base_units_total{coin=btc,kind=fee}":        float64(feeSum),
		"jetpool_rewards_duplicates_total{coin=btc,event=found}":              6,
		"jetpool_rewards_blocks_total{coin=btc,scheme=pplns,state=confirmed}": 0,
	} {
		if got := delta(split, key); got != want {
			t.Errorf("after the splits %s grew by %v, want %v", key, got, want)
		}
	}
	if feeSum != 75_000_185+25_000_061+75_000_185 || minersSum+feeSum != 3*5_000_012_345 {
		t.Errorf("ledger: miners %d, fees %d", minersSum, feeSum)
	}
	if n := delta(split, "jetpool_rewards_split_seconds{coin=btc}"); n < 3 || n > 9 {
		t.Errorf("split_seconds observed %v splits, want 3 to 9", n)
	}
	win.mu.Lock()
	req := win.reqs[0]
	win.mu.Unlock()
	// The window ends just after the block's millisecond: its own share counts.
	if req.Kind != rewards.KindPPLNS || req.Work != 2000 || !req.Until.Equal(t0.Add(time.Millisecond)) {
		t.Errorf("window request %+v", req)
	}
	// b1 matures, b3 is orphaned.
	pub(streams.BlockConfirmedSubject("btc"), ledger.BlockState{Coin: "btc", Hash: "b1", Height: 10, State: ledger.StateConfirmed, Confirmations: 100})
	pub(streams.BlockOrphanedSubject("btc"), ledger.BlockState{Coin: "btc", Hash: "b3", Height: 12, State: ledger.StateOrphaned, Reason: "reorg"})
	natstest.WaitFor(t, 15*time.Second, "confirm and orphan", func() bool {
		b1, _ := st.Block(ctx, "btc", "b1")
		b3, _ := st.Block(ctx, "btc", "b3")
		return b1.State == ledger.StateConfirmed && b3.State == ledger.StateOrphaned
	})
	drained(t, env) // let the redeliveries land too
	end := promtest.Snapshot(t, reg)
	for key, want := range map[string]float64{
		"jetpool_rewards_blocks_total{coin=btc,scheme=pplns,state=confirmed}": 1,
		"jetpool_rewards_blocks_total{coin=btc,scheme=pplns,state=removed}":   1,
		"jetpool_rewards_duplicates_total{coin=btc,event=confirmed}":          2,
		"jetpool_rewards_duplicates_total{coin=btc,event=orphaned}":           2,
		// Redeliveries and state changes credit nothing more.
		"jetpool_rewards_blocks_total{coin=btc,scheme=pplns,state=credited}": delta(split, "jetpool_rewards_blocks_total{coin=btc,scheme=pplns,state=credited}"),
		"jetpool_rewards_credited_base_units_total{coin=btc,kind=miners}":    float64(minersSum),
		"jetpool_rewards_credited_base_units_total{coin=btc,kind=fee}":       float64(feeSum),
		"jetpool_rewards_duplicates_total{coin=btc,event=found}":             6,
	} {
		if got := delta(end, key); got != want {
			t.Errorf("after confirm and orphan %s grew by %v, want %v", key, got, want)
		}
	}
	alice, _ := st.Account(ctx, "btc", "alice")
	if alice.Balance != 4221197783 || alice.Immature != 0 {
		t.Errorf("alice: %+v (b3's rewards must be gone, b1's paid once)", alice)
	}
	finder, _ := st.Account(ctx, "btc", "finder")
	if finder.Immature != solo["finder"] || finder.Balance != 0 {
		t.Errorf("finder: %+v", finder)
	}
}

func TestPROPAsksForTheRound(t *testing.T) {
	env, st := ledgertest.Env(t)
	ctx := context.Background()
	win := &window{miner: []rewards.MinerWork{{"alice", 1}}}
	f := &rewards.Function{Window: win}
	pool := config.Default().Pool
	pool.Scheme = config.SchemePROP
	t0 := time.Unix(1_700_000_000, 0).UTC()
	for i, h := range []string{"p1", "p2"} {
		if _, err := st.RecordBlock(ctx, ledger.Block{Coin: "btc", Hash: h, Height: int64(i), Finder: "x", NetworkDifficulty: 4,
			CoinbaseValue: 100, FoundAt: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := st.Block(ctx, "btc", "p2")
	sp, effort, err := f.Split(ctx, st, b, pool)
	if err != nil || sp.Check() != nil || sp.Rewards[0].Amount != 99 || effort == nil || *effort != 0.25 {
		t.Fatalf("prop split %+v effort %v err %v", sp, effort, err)
	}
	// The round is (previous block's millisecond, this block's millisecond].
	if r := win.reqs[0]; r.Kind != rewards.KindRound || !r.From.Equal(t0.Add(time.Millisecond)) || !r.Until.Equal(t0.Add(time.Hour+time.Millisecond)) {
		t.Fatalf("round request %+v", r)
	}
	_ = env
}
