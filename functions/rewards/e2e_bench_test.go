package rewards_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/rewards"
	"github.com/jetpool/jetpool/functions/stats"
	"github.com/jetpool/jetpool/internal/chstore"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/testenv"
)

// timedWindow measures the window request of the function's own source.
type timedWindow struct {
	rewards.WindowSource
	took time.Duration
}

func (w *timedWindow) PPLNSWindow(ctx context.Context, coin string, until time.Time, work float64) ([]rewards.MinerWork, error) {
	t0 := time.Now()
	defer func() { w.took = time.Since(t0) }()
	return w.WindowSource.PPLNSWindow(ctx, coin, until, work)
}

// BenchmarkRewardsPPLNS10MShares100kMiners is issue 5's end-to-end figure:
// a block's PPLNS window over 10 million shares of 100,000 miners, asked
// of the stats function over NATS (stats.window on ClickHouse), split, and
// written to the ledger (sub-benchmark stats.window; the 100,000-miner
// answer travels through the stats.WindowBucket object store). Loading and
// rolling up the shares is not timed. The clickhouse, transport and
// split+write sub-benchmarks say where the time goes. JETPOOL_BENCH_SHARES
// and JETPOOL_BENCH_MINERS change the size.
func BenchmarkRewardsPPLNS10MShares100kMiners(b *testing.B) {
	shares, miners := 10_000_000, 100_000
	if v, err := fmt.Sscan(os.Getenv("JETPOOL_BENCH_SHARES"), &shares); v != 1 || err != nil {
		shares = 10_000_000
	}
	if v, err := fmt.Sscan(os.Getenv("JETPOOL_BENCH_MINERS"), &miners); v != 1 || err != nil {
		miners = 100_000
	}
	shares -= shares % 256
	ctx := context.Background()
	quiet := natstest.Logger()

	// ClickHouse: 24 hours of shares ending a minute ago, every miner at a
	// vardiff-like difficulty of its own, through the server's write path.
	dsn := testenv.ClickHouseDB(b)
	ch, err := chstore.Open(dsn, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	ch.SetGrace(time.Second)
	if _, err := ch.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	endMs := time.Now().Add(-time.Minute).UnixMilli()
	startMs := endMs - 24*3600*1000
	t0 := time.Now()
	if err := ch.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO shares (coin, region, gateway, seq, idx, ts_ms, address, worker,
			difficulty, actual_difficulty, height, network_difficulty, job_id, block, solo)
		SELECT 'btc', 'eu', concat('btc-eu-', toString(intDiv(number, 64) %% 4)), intDiv(number, 256), toUInt32(number %% 64),
			ts, addr, 'rig0', exp2(10 + cityHash64(addr) %% 12), 0, 800000, 1e12, '', 0, 0
		FROM (SELECT number, %[1]d + intDiv(number * 86400000, %[2]d) AS ts,
			concat('bc1qe2e', toString(number %% %[3]d)) AS addr FROM numbers(%[2]d))`, startMs, shares, miners)); err != nil {
		b.Fatal(err)
	}
	load := time.Since(t0)
	time.Sleep(2 * time.Second) // older than the grace
	t1 := time.Now()
	roll, err := ch.Rollup(ctx, 48*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	// Let the background merges of the fresh load finish, as they have for
	// all but the newest minutes of a real window.
	t2 := time.Now()
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		var merging uint64
		if err := ch.Conn().QueryRow(ctx, "SELECT count() FROM system.merges").Scan(&merging); err != nil {
			b.Fatal(err)
		}
		if merging == 0 {
			break
		}
	}
	b.Logf("background merges done after %s", time.Since(t2).Round(time.Second))
	var total float64
	var n uint64
	if err := ch.Conn().QueryRow(ctx, "SELECT sum(difficulty), count() FROM shares").Scan(&total, &n); err != nil {
		b.Fatal(err)
	}
	if n != uint64(shares) {
		b.Fatalf("%d shares loaded, want %d", n, shares)
	}
	b.Logf("loaded %d shares of %d miners in %s, rolled up %d hours in %s",
		n, miners, load.Round(time.Millisecond), roll.Hours, time.Since(t1).Round(time.Millisecond))

	// NATS with the pool's streams and buckets, and the stats function.
	srv := testenv.NATS(b)
	nc, js := natstest.Connect(b, srv)
	natstest.DeclareSeeded(b, js, config.Default())
	env := natstest.Env(b, srv, "s1", quiet)
	env.Deps.ClickHouseDSN = dsn
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- functions.RunAll(sctx, env, &stats.Function{Grace: time.Second, SettleEvery: 200 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("stats: %v", err)
		}
	}()
	// Ready when an empty round before the shares is answered (no 503).
	probe := rewards.NATSWindow{NC: nc, Timeout: 10 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err := probe.RoundWork(ctx, "btc", time.UnixMilli(startMs-2), time.UnixMilli(startMs-1))
		if err == nil {
			break
		}
		if time.Now().After(deadline) || !(strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "no responders")) {
			b.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The ledger, and a pool whose window (N × network difficulty) holds
	// 99 % of the shares' work: ~9.9 million shares of every miner.
	lg, err := ledger.Open(ctx, testenv.PostgresDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer lg.Close()
	pool := config.Default().Pool
	pool.Scheme, pool.FeeBasisPoints, pool.PPLNSWindow = config.SchemePPLNS, 100, 2
	netDiff := 0.99 * total / pool.PPLNSWindow
	blocks := 0
	// run times one found block: Split with the function's window source,
	// then RecordRewards, and checks every miner got its reward.
	run := func(b *testing.B, src rewards.WindowSource) {
		win := &timedWindow{WindowSource: src}
		fn := &rewards.Function{Window: win}
		var took, window, split, write time.Duration
		for b.Loop() {
			b.StopTimer()
			blocks++
			hash := fmt.Sprintf("%064x", blocks)
			if _, err := lg.RecordBlock(ctx, ledger.Block{Coin: "btc", Hash: hash, Height: int64(800000 + blocks), Finder: "bc1qe2e0",
				Worker: "rig0", NetworkDifficulty: netDiff, ShareDifficulty: 1024, CoinbaseValue: 312_512_345,
				FoundAt: time.UnixMilli(endMs).UTC()}); err != nil {
				b.Fatal(err)
			}
			blk, err := lg.Block(ctx, "btc", hash)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			t0 := time.Now()
			sp, effort, err := fn.Split(ctx, lg, blk, pool)
			if err != nil {
				b.Fatalf("split after %s (window %s): %v", time.Since(t0).Round(time.Millisecond), win.took.Round(time.Millisecond), err)
			}
			t1 := time.Now()
			out, err := lg.RecordRewards(ctx, blk.Coin, blk.Hash, sp, effort)
			if err != nil || out != ledger.RewardsCredited {
				b.Fatal(out, err)
			}
			t2 := time.Now()
			b.StopTimer()
			took, window, split, write = t2.Sub(t0), win.took, t1.Sub(t0)-win.took, t2.Sub(t1)
			got, err := lg.Rewards(ctx, "btc", hash)
			if err != nil || len(sp.Rewards) != miners || len(got) != miners {
				b.Fatalf("%d miners in the split, %d reward rows, want %d (%v)", len(sp.Rewards), len(got), miners, err)
			}
			var sum int64
			for _, a := range got {
				sum += a
			}
			if sum+sp.Fee != blk.CoinbaseValue {
				b.Fatalf("rewards %d + fee %d != coinbase %d", sum, sp.Fee, blk.CoinbaseValue)
			}
			b.StartTimer()
		}
		b.ReportMetric(took.Seconds(), "s/block")
		b.ReportMetric(window.Seconds(), "window-s")
		b.ReportMetric(split.Seconds(), "split-s")
		b.ReportMetric(write.Seconds(), "write-s")
	}

	// The figure: the window asked of stats over NATS, as the
	// rewards function does for a found block.
	b.Run("stats.window", func(b *testing.B) { run(b, rewards.NATSWindow{NC: nc}) })

	// Where the time goes: the ClickHouse part of the window alone (the
	// chstore.PPLNS call stats.window makes), the trip of its answer
	// through the object store (encode, put, get, check, decode), and
	// split + write on that window without NATS.
	var fixed window
	var reply []stats.MinerWork
	b.Run("clickhouse", func(b *testing.B) {
		var w *chstore.Window
		for b.Loop() {
			var err error
			if w, err = ch.PPLNS(ctx, chstore.PPLNSRequest{Coin: "btc", EndMs: endMs, N: 1, NetworkDifficulty: netDiff * pool.PPLNSWindow,
				ByAddress: true}); err != nil || !w.Complete {
				b.Fatal(w, err)
			}
		}
		reply, fixed.miner = reply[:0], fixed.miner[:0]
		for _, m := range w.Miners {
			reply = append(reply, stats.MinerWork{Address: m.Address, Work: m.Difficulty, Units: m.Units})
			fixed.miner = append(fixed.miner, rewards.MinerWork{Address: m.Address, Work: m.Difficulty})
		}
		fast := 0.0
		if w.Fast {
			fast = 1
		}
		b.ReportMetric(float64(w.Shares), "window-shares")
		b.ReportMetric(float64(w.RolledHours), "rolled-hours")
		b.ReportMetric(float64(w.Prefixes), "day-prefixes")
		b.ReportMetric(fast, "fast-path")
	})
	b.Run("transport", func(b *testing.B) {
		obs, err := js.ObjectStore(ctx, stats.WindowBucket)
		if err != nil {
			b.Fatal(err)
		}
		var size int
		for b.Loop() {
			data := stats.EncodeWindowMiners(reply)
			size = len(data)
			sum := sha256.Sum256(data)
			name := fmt.Sprintf("btc/bench-%x", sum)
			if _, err := obs.PutBytes(ctx, name, data); err != nil {
				b.Fatal(err)
			}
			got, err := obs.GetBytes(ctx, name)
			if err != nil || sha256.Sum256(got) != sum {
				b.Fatal("object store round trip", err)
			}
			ms, err := stats.DecodeWindowMiners(got)
			if err != nil || len(ms) != len(reply) {
				b.Fatal(len(ms), err)
			}
		}
		b.ReportMetric(float64(size)/1e6, "object-MB")
		b.ReportMetric(float64(nc.MaxPayload())/1e6, "nats-max-payload-MB")
	})
	if len(fixed.miner) == miners {
		b.Run("split+write", func(b *testing.B) { run(b, &fixed) })
	}
	if err := lg.CheckInvariants(ctx); err != nil {
		b.Fatal(err)
	}
}
