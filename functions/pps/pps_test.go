package pps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/pps"
	"github.com/jetpool/jetpool/internal/coin"
	_ "github.com/jetpool/jetpool/internal/coin/btc"
	_ "github.com/jetpool/jetpool/internal/coin/ltc"
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

// current reads the package's metrics as they are now (the vectors are
// package-level: tests compare deltas).
func current(t *testing.T) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(pps.Collectors()...)
	return promtest.Snapshot(t, reg)
}

// checkDeltas compares how much each metric of now grew since before.
func checkDeltas(t *testing.T, before, now map[string]float64, want map[string]float64) {
	t.Helper()
	for key, w := range want {
		if got := now[key] - before[key]; got != w {
			t.Errorf("%s grew by %v, want %v", key, got, w)
		}
	}
}

// drained waits until the pps consumer has acknowledged or terminated everything.
func drained(t *testing.T, env *functions.Env) {
	t.Helper()
	natstest.WaitFor(t, 10*time.Second, "pps consumer to catch up", func() bool {
		c, err := env.JS.Consumer(context.Background(), streams.Shares, streams.ConsumerPPS)
		if err != nil {
			return false
		}
		ci, err := c.Info(context.Background())
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
}

func TestSharesCreditedOnceAtExpectedValue(t *testing.T) {
	env, st := ledgertest.Env(t)
	reg := prometheus.NewRegistry()
	env.Metrics = reg
	before := current(t)
	ctx := context.Background()
	pool := config.Default().Pool
	pool.Scheme, pool.FeeBasisPoints = config.SchemePPS, 200
	if _, err := kv.Put(ctx, env.KV.Config, config.KeyPool, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, env.KV.Coins, "btc", config.Coin{Symbol: "btc", Network: "mainnet"}); err != nil {
		t.Fatal(err)
	}
	ledgertest.Run(t, env, pps.New())
	sh := func(addr string, d float64, ok, solo bool) payload.Share {
		return payload.Share{Address: addr, Difficulty: d, NetworkDifficulty: 1e6, Height: 840_000, Accepted: ok, Solo: solo}
	}
	batch := payload.ShareBatch{Gateway: "gw1", Coin: "btc", Region: "eu", Seq: 7, Shares: []payload.Share{
		sh("alice", 1000, true, false), sh("alice", 24, true, false), sh("bob", 512, true, false),
		sh("bob", 1e9, false, false),  // rejected: nothing
		sh("carol", 4096, true, true), // solo miner: paid by SOLO, not PPS
	}}
	data, _ := json.Marshal(batch)
	for range 3 {
		if _, err := env.JS.Publish(ctx, streams.SharesSubject("btc", "eu"), data); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.JS.Publish(ctx, streams.SharesSubject("btc", "eu"), []byte(`{"coin":"btc","shares":[`)); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "credits", func() bool {
		a, _ := st.Account(ctx, "btc", "bob")
		return a.Balance > 0
	})
	drained(t, env) // let the redeliveries land
	// alice: 1024/1e6 × 312500000 × 0.98 = 313600; bob: 512/1e6 × … = 156800.
	var total int64
	for addr, want := range map[string]int64{"alice": 313_600, "bob": 156_800, "carol": 0} {
		a, _ := st.Account(ctx, "btc", addr)
		if a.Balance != want {
			t.Errorf("%s balance %d, want %d", addr, a.Balance, want)
		}
		total += a.Balance
	}
	// Three deliveries of one batch: credited once (three creditable
	// shares, what the balances hold), skipped twice; the broken batch
	// is terminated.
	checkDeltas(t, before, promtest.Snapshot(t, reg), map[string]float64{
		"jetpool_pps_batches_credited_total{coin=btc,scheme=pps}":    1,
		"jetpool_pps_shares_credited_total{coin=btc,scheme=pps}":     3,
		"jetpool_pps_credited_base_units_total{coin=btc,scheme=pps}": float64(total),
		"jetpool_pps_duplicates_total{coin=btc}":                     2,
		"jetpool_pps_batches_terminated_total{reason=undecodable}":   1,
		"jetpool_pps_batches_terminated_total{reason=unpayable}":     0,
	})
}

func BenchmarkCreditBatches(b *testing.B) {
	ctx := context.Background()
	st, err := ledger.Open(ctx, testenv.PostgresDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	pool := config.Default().Pool
	pool.Scheme = config.SchemePPS
	const perBatch = 64
	btc, err := coin.Get("btc", "mainnet")
	if err != nil {
		b.Fatal(err)
	}
	sub := btc.BlockSubsidy
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		batch := payload.ShareBatch{Gateway: "gw", Coin: "btc", Seq: uint64(i)}
		for j := range perBatch {
			batch.Shares = append(batch.Shares, payload.Share{Address: fmt.Sprintf("miner%05d", (i*perBatch+j)%10000),
				Difficulty: 65536, NetworkDifficulty: 1e14, Height: 900_000, Accepted: true})
		}
		if err := pps.Credit(ctx, st, &batch, pool, sub); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "shares/s")
}

// TestCreditsUseTheCoinsSubsidyAndExactNetworkDifficulty: a Litecoin share
// is paid from Litecoin's subsidy (6.25 LTC at 2,900,000, not Bitcoin's
// schedule), and a regtest network difficulty far below one work unit
// (4.66e-10) still pays, exactly: ⌊d × subsidy × (1 − fee) ÷ network
// difficulty⌋ with both difficulties taken exactly from their float64.
func TestCreditsUseTheCoinsSubsidyAndExactNetworkDifficulty(t *testing.T) {
	env, st := ledgertest.Env(t)
	reg := prometheus.NewRegistry()
	env.Metrics = reg
	ctx := context.Background()
	pool := config.Default().Pool
	pool.Scheme, pool.FeeBasisPoints = config.SchemePPS, 150
	if _, err := kv.Put(ctx, env.KV.Config, config.KeyPool, pool); err != nil {
		t.Fatal(err)
	}
	for sym, network := range map[string]string{"ltc": "mainnet", "btc": "regtest"} {
		if _, err := kv.Put(ctx, env.KV.Coins, sym, config.Coin{Symbol: sym, Network: network}); err != nil {
			t.Fatal(err)
		}
	}
	ledgertest.Run(t, env, pps.New())
	regtestDiff := 65535.0 / (8388607.0 * (1 << 24)) // 4.66e-10: 0 in 1e-8 work units
	tests := []struct {
		coin, region    string
		diff, netd      float64
		height, subsidy int64
	}{
		{"ltc", "eu", 2048, 2.5e7, 2_900_000, 625_000_000},
		{"btc", "us", 0.5, regtestDiff, 149, 5_000_000_000},
	}
	for i, tc := range tests {
		before := current(t)
		batch := payload.ShareBatch{Gateway: "gw", Coin: tc.coin, Region: tc.region, Seq: uint64(i + 1), Shares: []payload.Share{
			{Address: "dave", Difficulty: tc.diff, NetworkDifficulty: tc.netd, Height: tc.height, Accepted: true}}}
		data, _ := json.Marshal(batch)
		if _, err := env.JS.Publish(ctx, streams.SharesSubject(tc.coin, tc.region), data); err != nil {
			t.Fatal(err)
		}
		want := new(big.Rat).SetFloat64(tc.diff)
		want.Mul(want, new(big.Rat).SetFrac64(tc.subsidy*(10000-150), 10000))
		want.Quo(want, new(big.Rat).SetFloat64(tc.netd))
		wantUnits := new(big.Int).Quo(want.Num(), want.Denom()).Int64()
		natstest.WaitFor(t, 10*time.Second, tc.coin+" credit", func() bool {
			a, _ := st.Account(ctx, tc.coin, "dave")
			return a.Balance > 0
		})
		if a, _ := st.Account(ctx, tc.coin, "dave"); a.Balance != wantUnits {
			t.Errorf("%s: dave's balance %d, want %d", tc.coin, a.Balance, wantUnits)
		}
		drained(t, env)
		checkDeltas(t, before, promtest.Snapshot(t, reg), map[string]float64{
			"jetpool_pps_batches_credited_total{coin=" + tc.coin + ",scheme=pps}":    1,
			"jetpool_pps_shares_credited_total{coin=" + tc.coin + ",scheme=pps}":     1,
			"jetpool_pps_credited_base_units_total{coin=" + tc.coin + ",scheme=pps}": float64(wantUnits),
		})
	}
	// A share worth more than int64 base units (difficulty 1e6 against
	// regtest's network difficulty) cannot be paid: the batch is
	// terminated and credits nothing.
	before := current(t)
	huge := payload.ShareBatch{Gateway: "gw", Coin: "btc", Region: "us", Seq: 99, Shares: []payload.Share{
		{Address: "erin", Difficulty: 1e6, NetworkDifficulty: regtestDiff, Height: 149, Accepted: true}}}
	data, _ := json.Marshal(huge)
	if _, err := env.JS.Publish(ctx, streams.SharesSubject("btc", "us"), data); err != nil {
		t.Fatal(err)
	}
	drained(t, env)
	if a, _ := st.Account(ctx, "btc", "erin"); a.Balance != 0 {
		t.Errorf("erin's balance %d, want 0", a.Balance)
	}
	checkDeltas(t, before, promtest.Snapshot(t, reg), map[string]float64{
		"jetpool_pps_batches_terminated_total{reason=unpayable}":     1,
		"jetpool_pps_batches_credited_total{coin=btc,scheme=pps}":    0,
		"jetpool_pps_credited_base_units_total{coin=btc,scheme=pps}": 0,
	})
}
