package chstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/chstore"
	"github.com/jetpool/jetpool/internal/testenv"
)

// The read benchmarks share one database of synthetic shares, loaded once
// per test binary through the real write path of the server (INSERT …
// SELECT into `shares`, so the views fill as they do in production), then
// rolled up. JETPOOL_BENCH_SHARES sets the size (default 10 million).
//
// Shape: 24 hours ending now, 1,000 miners × 5 workers, 4 gateways, 64
// shares per gateway batch, vardiff-like difficulties (a base per worker,
// moved up to twice a day), a block every million shares.
var bench struct {
	once   sync.Once
	st     *chstore.Store
	at     time.Time
	shares int
	err    error
}

func benchStore(b *testing.B) *chstore.Store {
	b.Helper()
	bench.once.Do(func() {
		bench.shares = 10_000_000
		if v, err := strconv.Atoi(os.Getenv("JETPOOL_BENCH_SHARES")); err == nil && v > 0 {
			bench.shares = v - v%64
		}
		ch := testenv.SharedClickHouse(b)
		ctx := context.Background()
		st, err := chstore.Open(ch.DSN(), quiet())
		if err != nil {
			bench.err = err
			return
		}
		if bench.err = st.Conn().Exec(ctx, "CREATE DATABASE IF NOT EXISTS bench_shares"); bench.err != nil {
			return
		}
		st.Close()
		if bench.st, bench.err = chstore.Open(ch.DSNFor("bench_shares"), quiet()); bench.err != nil {
			return
		}
		bench.st.SetGrace(time.Second)
		if _, bench.err = bench.st.Migrate(ctx); bench.err != nil {
			return
		}
		now := time.Now().UTC().Truncate(time.Minute)
		bench.at = now
		start := now.Add(-24 * time.Hour).UnixMilli()
		t0 := time.Now()
		bench.err = bench.st.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO shares (coin, region, gateway, seq, idx, ts_ms, address, worker,
			difficulty, actual_difficulty, height, network_difficulty, job_id, block, solo)
			SELECT 'btc', 'eu', concat('btc-eu-', toString(intDiv(number, 64) %% 4)), intDiv(number, 256), toUInt32(number %% 64),
				ts, addr, wk,
				exp2(10 + cityHash64(addr, wk) %% 12) * (1 + (cityHash64(addr, wk, intDiv(number, %[2]d)) %% 3) / 3),
				0, 800000 + intDiv(number, 1000000), 2e11, '', toUInt8(number %% 1000000 = 999999), 0
			FROM (SELECT number, %[1]d + intDiv(number * 86400000, %[2]d) AS ts,
				concat('bc1qbench', toString(cityHash64(number) %% 1000)) AS addr, concat('rig', toString(cityHash64(number, 1) %% 5)) AS wk
				FROM numbers(%[2]d))`, start, bench.shares))
		if bench.err != nil {
			return
		}
		load := time.Since(t0)
		time.Sleep(2 * time.Second)
		t1 := time.Now()
		res, err := bench.st.Rollup(ctx, 48*time.Hour)
		if bench.err = err; err != nil {
			return
		}
		fmt.Fprintf(os.Stderr, "bench: loaded %d shares in %s (%.0f rows/s with views), rolled up %d hours in %s\n",
			bench.shares, load.Round(time.Millisecond), float64(bench.shares)/load.Seconds(), res.Hours, time.Since(t1).Round(time.Millisecond))
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.st
}

func BenchmarkHashrate(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	windows := []time.Duration{10 * time.Minute, time.Hour, 24 * time.Hour}
	for _, sc := range []chstore.Scope{chstore.Pool("btc"), chstore.Miner("btc", "bc1qbench7"), chstore.Worker("btc", "bc1qbench7", "rig3")} {
		b.Run([]string{"pool", "miner", "worker"}[sc.Level], func(b *testing.B) {
			for b.Loop() {
				sums, err := st.Hashrate(ctx, sc, bench.at, windows)
				if err != nil || sums[2].Shares == 0 {
					b.Fatal(sums, err)
				}
			}
		})
	}
}

func BenchmarkPPLNS(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	// The last block's window, sized to reach back over ~80 % of all shares.
	height := int64(800000 + bench.shares/1_000_000 - 1)
	sums, err := st.Hashrate(ctx, chstore.Pool("btc"), bench.at, []time.Duration{25 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	n := 0.8 * sums[0].SumDifficulty / 2e11
	var w *chstore.Window
	for b.Loop() {
		if w, err = st.PPLNS(ctx, chstore.PPLNSRequest{Coin: "btc", Height: height, N: n}); err != nil || !w.Complete {
			b.Fatal(w, err)
		}
	}
	b.ReportMetric(float64(w.Shares), "window-shares")
	b.ReportMetric(float64(w.RolledHours), "rolled-hours")
}

func BenchmarkSeries(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		sc   chstore.Scope
		span time.Duration
		step time.Duration
	}{
		{"pool-24h-5m", chstore.Pool("btc"), 24 * time.Hour, 5 * time.Minute},
		{"pool-30d-1h", chstore.Pool("btc"), 30 * 24 * time.Hour, time.Hour},
		{"miner-24h-5m", chstore.Miner("btc", "bc1qbench7"), 24 * time.Hour, 5 * time.Minute},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := st.Series(ctx, tt.sc, bench.at.Add(-tt.span), bench.at, tt.step); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWorkersAndPool(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	windows := []time.Duration{10 * time.Minute, time.Hour, 24 * time.Hour}
	b.Run("workers", func(b *testing.B) {
		for b.Loop() {
			if ws, err := st.Workers(ctx, "btc", "bc1qbench7", bench.at, windows); err != nil || len(ws) != 5 {
				b.Fatal(ws, err)
			}
		}
	})
	b.Run("pool", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.PoolStats(ctx, "btc", bench.at, 10*time.Minute, windows); err != nil {
				b.Fatal(err)
			}
		}
	})
}
