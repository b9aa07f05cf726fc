package pps_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jetpool/jetpool/functions/pps"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/ledger/ledgertest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestSubsidy(t *testing.T) {
	cases := []struct {
		network string
		height  int64
		want    int64
	}{
		{"mainnet", 0, 5_000_000_000},
		{"mainnet", 840_000, 312_500_000},
		{"regtest", 149, 5_000_000_000},
		{"regtest", 150, 2_500_000_000},
		{"mainnet", 64 * 210_000, 0},
	}
	for _, c := range cases {
		if got := pps.Subsidy(c.network)(c.height); got != c.want {
			t.Errorf("%s %d: %d, want %d", c.network, c.height, got, c.want)
		}
	}
}

func TestSharesCreditedOnceAtExpectedValue(t *testing.T) {
	env, st := ledgertest.Env(t)
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
	ledgertest.WaitFor(t, 10*time.Second, "credits", func() bool {
		a, _ := st.Account(ctx, "btc", "bob")
		return a.Balance > 0
	})
	time.Sleep(300 * time.Millisecond) // let the redeliveries land
	// alice: 1024/1e6 × 312500000 × 0.98 = 313600; bob: 512/1e6 × … = 156800.
	for addr, want := range map[string]int64{"alice": 313_600, "bob": 156_800, "carol": 0} {
		a, _ := st.Account(ctx, "btc", addr)
		if a.Balance != want {
			t.Errorf("%s balance %d, want %d", addr, a.Balance, want)
		}
	}
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
	sub := pps.Subsidy("mainnet")
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
