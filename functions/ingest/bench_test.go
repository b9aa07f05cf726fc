package ingest_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jetpool/jetpool/functions/ingest"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
)

// BenchmarkIngest measures sustained ingest with one function copy: b.N
// gateway batches of 64 shares (1,000 miners × 5 workers, 4 gateways) wait
// in SHARES; the timer runs from the start of the function until every
// share is in ClickHouse. Run with -benchtime=Nx (N batches).
// JETPOOL_BENCH_BATCH overrides ingest.batch_size (default: the config's).
func BenchmarkIngest(b *testing.B) {
	dsn := testenv.ClickHouseDB(b)
	cfg := config.Default().Ingest
	if v, err := strconv.Atoi(os.Getenv("JETPOOL_BENCH_BATCH")); err == nil && v > 0 {
		cfg.BatchSize = v
	}
	h := newHarness(b, dsn, cfg)
	st := openStore(b, dsn)
	if _, err := st.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	const per = 64
	now := time.Now()
	batches := make([]*payload.ShareBatch, 0, b.N)
	for i := range b.N {
		gb := &payload.ShareBatch{Gateway: fmt.Sprintf("btc-eu-%d", i%4), Coin: "btc", Region: "eu", Seq: uint64(i/4 + 1)}
		for j := range per {
			k := i*per + j
			gb.Shares = append(gb.Shares, payload.Share{TimeMs: now.UnixMilli() - int64(b.N*per-k), Address: fmt.Sprintf("bc1qbenchminer%04d", k*7919%1000),
				Worker: fmt.Sprintf("rig%d", k%5), Difficulty: float64(65536 + k%3*1024), ActualDifficulty: 1e6, Height: 850000,
				NetworkDifficulty: 8.3e13, JobID: "a1", Accepted: k%50 != 0, Reason: map[bool]string{true: "", false: "stale"}[k%50 == 0]})
		}
		batches = append(batches, gb)
	}
	for i := 0; i < len(batches); i += 1000 {
		h.publish(batches[i:min(i+1000, len(batches))])
	}
	total := uint64(b.N * per)
	b.ResetTimer()
	start := time.Now()
	h.start(&ingest.Function{}, "bench")
	for count(b, st, "SELECT count() FROM shares")+count(b, st, "SELECT count() FROM rejected_shares") < total {
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "shares/s")
}
