package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/rewards"
	"github.com/jetpool/jetpool/functions/stats"
	"github.com/jetpool/jetpool/internal/chstore"
	_ "github.com/jetpool/jetpool/internal/coin/btc"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type harness struct {
	t  *testing.T
	nc *nats.Conn
	kv *kv.Store
	st *chstore.Store
}

// newHarness starts NATS, a fresh database and the stats function.
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, &stats.Function{Grace: time.Second, SettleEvery: 200 * time.Millisecond})
}

// newHarnessWith runs fn (which should have a short Grace and SettleEvery).
func newHarnessWith(t *testing.T, fn *stats.Function) *harness {
	t.Helper()
	srv := testenv.NATS(t)
	nc, js := natstest.Connect(t, srv)
	ctx := context.Background()
	store := natstest.DeclareSeeded(t, js, config.Default())
	if _, err := kv.Put(ctx, store.Coins, "btc", config.Coin{Symbol: "btc", Network: "regtest"}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, store.Config, config.KeyStats, config.Stats{OfflineAfter: config.Duration(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	dsn := testenv.ClickHouseDB(t)
	st, err := chstore.Open(dsn, natstest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st.SetGrace(time.Second)
	env := natstest.Env(t, srv, "s1", natstest.Logger())
	env.Deps.ClickHouseDSN = dsn
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- functions.RunAll(rctx, env, fn)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stats: %v", err)
		}
	})
	h := &harness{t: t, nc: nc, kv: store, st: st}
	// Wait until the service answers.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := nc.Request("$SRV.PING.stats", nil, time.Second); err == nil {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatal("stats service did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ask sends a request and returns the reply body or the service error code.
func (h *harness) ask(subject string, req any) (body []byte, code string) {
	h.t.Helper()
	var data []byte
	switch r := req.(type) {
	case string:
		data = []byte(r)
	default:
		data, _ = json.Marshal(r)
	}
	msg, err := h.nc.Request(subject, data, 30*time.Second)
	if err != nil {
		h.t.Fatalf("%s: %v", subject, err)
	}
	return msg.Data, msg.Header.Get("Nats-Service-Error-Code")
}

func (h *harness) askOK(subject string, req, out any) {
	h.t.Helper()
	body, code := h.ask(subject, req)
	if code != "" {
		h.t.Fatalf("%s %v: error %s", subject, req, code)
	}
	if err := json.Unmarshal(body, out); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) write(batches []*payload.ShareBatch) {
	h.t.Helper()
	w := h.st.NewWriter()
	for _, b := range batches {
		w.Add(b)
	}
	if err := w.WriteAccepted(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	if err := w.WriteRejected(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

const mult = 1 << 32 // sha256d hashes per difficulty 1

// poissonWorker makes the shares of one worker hashing at rate H/s over
// [from, to): exponential gaps, difficulty switching as vardiff would.
func poissonWorker(r *rand.Rand, address, worker string, rate float64, diffs []float64, from, to time.Time) []payload.Share {
	var out []payload.Share
	t := float64(from.UnixMilli()) / 1000
	end := float64(to.UnixMilli()) / 1000
	seg := (end - t) / float64(len(diffs))
	for i, d := range diffs {
		segEnd := t + seg
		if i == len(diffs)-1 {
			segEnd = end
		}
		lambda := rate / (d * mult) // shares per second at this difficulty
		for {
			t += r.ExpFloat64() / lambda
			if t >= segEnd {
				t = segEnd
				break
			}
			out = append(out, payload.Share{TimeMs: int64(t * 1000), Address: address, Worker: worker, Difficulty: d,
				Accepted: true, NetworkDifficulty: 1e12, Height: 100})
		}
	}
	return out
}

func batchesOf(gw string, in []payload.Share, per int) []*payload.ShareBatch {
	shares := append([]payload.Share(nil), in...)
	sort.Slice(shares, func(i, j int) bool { return shares[i].TimeMs < shares[j].TimeMs })
	var out []*payload.ShareBatch
	for i := 0; i < len(shares); i += per {
		b := &payload.ShareBatch{Gateway: gw, Coin: "btc", Region: "eu", Seq: uint64(len(out) + 1)}
		b.Shares = append(b.Shares, shares[i:min(i+per, len(shares))]...)
		out = append(out, b)
	}
	return out
}

// TestHashrateWithinUncertainty: 200 synthetic workers hash at known rates
// for two hours; the stated 95 % interval of each worker's 10-minute and
// 1-hour hashrate must hold its true rate about 95 % of the time, and the
// pool's interval must hold the sum of the rates.
func TestHashrateWithinUncertainty(t *testing.T) {
	h := newHarness(t)
	r := rand.New(rand.NewPCG(42, 42))
	at := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	const n = 200
	rates := make([]float64, n)
	var all []payload.Share
	var poolRate float64
	for i := range rates {
		rates[i] = math.Exp(math.Log(1e12) + r.Float64()*math.Log(100)) // 1 TH/s … 100 TH/s
		poolRate += rates[i]
		// Vardiff aims at a share every ~15 s; the difficulty moves twice.
		d := math.Round(rates[i] * 15 / mult)
		all = append(all, poissonWorker(r, fmt.Sprintf("miner%03d", i/4), fmt.Sprintf("rig%d", i%4), rates[i],
			[]float64{d * 0.7, d, d * 1.3}, at.Add(-2*time.Hour), at.Add(time.Second))...)
	}
	h.write(batchesOf("btc-eu-syn", all, 64))
	covered := map[string]int{}
	for i := range rates {
		worker := fmt.Sprintf("rig%d", i%4)
		var rep stats.HashrateReply
		h.askOK(stats.SubjectHashrate, stats.ScopeRequest{Coin: "btc", Address: fmt.Sprintf("miner%03d", i/4), Worker: &worker,
			AtMs: at.UnixMilli()}, &rep)
		for _, e := range rep.Windows[:2] {
			if e.High == nil || e.Shares == 0 {
				t.Fatalf("worker %d window %s: no interval (%+v)", i, e.Window, e)
			}
			if e.Low <= rates[i] && rates[i] <= *e.High {
				covered[e.Window]++
			}
		}
	}
	for _, w := range []string{"10m", "1h"} {
		frac := float64(covered[w]) / n
		t.Logf("window %s: %d of %d intervals hold the true rate", w, covered[w], n)
		if frac < 0.90 || frac > 0.995 {
			t.Errorf("window %s: %.1f %% of 95 %% intervals hold the true rate; the uncertainty is not honest", w, 100*frac)
		}
	}
	var pool stats.HashrateReply
	h.askOK(stats.SubjectHashrate, stats.ScopeRequest{Coin: "btc", AtMs: at.UnixMilli()}, &pool)
	if e := pool.Windows[1]; e.High == nil || poolRate < e.Low || poolRate > *e.High {
		t.Errorf("pool 1h: %v [%v, %v], true %v", e.Hashrate, e.Low, e.High, poolRate)
	}
}

func TestEndpoints(t *testing.T) {
	h := newHarness(t)
	now := time.Now().UTC()
	at := now.Add(-30 * time.Second)
	mk := func(worker string, ago time.Duration, accepted bool, reason string, d float64) payload.Share {
		return payload.Share{TimeMs: now.Add(-ago).UnixMilli(), Address: "bc1qminer", Worker: worker, Difficulty: d,
			Accepted: accepted, Reason: reason, NetworkDifficulty: 1e6, Height: 321}
	}
	shares := []payload.Share{
		mk("busy", time.Minute, true, "", 1000), mk("busy", 2*time.Minute, true, "", 1000), mk("busy", 3*time.Minute, false, "stale", 1000),
		mk("busy", 4*time.Minute, false, "low-difficulty", 1000),
		mk("gone", 20*time.Minute, true, "", 500),
		{TimeMs: now.Add(-90 * time.Second).UnixMilli(), Address: "other", Worker: "", Difficulty: 3000, Accepted: true, NetworkDifficulty: 1e6, Height: 321, Block: true},
		{TimeMs: now.Add(-45 * time.Second).UnixMilli(), Address: "other", Worker: "", Difficulty: 4000, Accepted: true, NetworkDifficulty: 1e6, Height: 322},
	}
	h.write(batchesOf("btc-eu-e", shares, 3))

	t.Run("workers", func(t *testing.T) {
		var rep stats.WorkersReply
		h.askOK(stats.SubjectWorkers, stats.WorkersRequest{Coin: "btc", Address: "bc1qminer", AtMs: at.UnixMilli()}, &rep)
		if len(rep.Workers) != 2 || rep.Online != 1 || rep.OfflineAfterS != 600 {
			t.Fatalf("workers %+v", rep)
		}
		busy, gone := rep.Workers[0], rep.Workers[1]
		if busy.Worker != "busy" || !busy.Online || busy.Accepted != 2 || busy.Rejected != 2 || busy.Stale != 1 || busy.RejectRate != 0.5 || busy.StaleRate != 0.25 {
			t.Errorf("busy: %+v", busy)
		}
		if gone.Worker != "gone" || gone.Online || gone.LastShareMs != shares[4].TimeMs || gone.Accepted != 1 {
			t.Errorf("gone: %+v", gone)
		}
		if got := busy.Hashrate[0].Hashrate; got <= 0 || len(busy.Hashrate) != 3 {
			t.Errorf("busy hashrate %+v", busy.Hashrate)
		}
	})
	t.Run("pool", func(t *testing.T) {
		var rep stats.PoolReply
		h.askOK(stats.SubjectPool, stats.PoolRequest{Coin: "btc", AtMs: now.UnixMilli()}, &rep)
		if rep.Workers != 2 || rep.Miners != 2 || rep.Rejected24h != 2 || rep.Stale24h != 1 || rep.Height != 322 || rep.NetworkDifficulty != 1e6 {
			t.Errorf("pool %+v", rep)
		}
		if rep.LastBlock == nil || rep.LastBlock.Height != 321 || rep.RoundDifficulty != 1000+4000 || rep.RoundEffort != 5000/1e6 {
			t.Errorf("round: last block %+v, Σ %v, effort %v; want block 321, 5000, 0.005", rep.LastBlock, rep.RoundDifficulty, rep.RoundEffort)
		}
	})
	t.Run("series", func(t *testing.T) {
		for rng, want := range map[string]int{"24h": 288, "30d": 720} {
			var rep stats.SeriesReply
			h.askOK(stats.SubjectSeries, stats.SeriesRequest{ScopeRequest: stats.ScopeRequest{Coin: "btc", Address: "bc1qminer"}, Range: rng}, &rep)
			var total uint64
			for _, p := range rep.Points {
				total += p.Shares
			}
			if len(rep.Points) != want || total != 3 {
				t.Errorf("%s: %d points holding %d shares; want %d points, 3 shares", rng, len(rep.Points), total, want)
			}
		}
	})
	t.Run("pplns", func(t *testing.T) {
		var w chstore.Window
		deadline := time.Now().Add(20 * time.Second)
		for {
			body, code := h.ask(stats.SubjectPPLNS, stats.PPLNSRequest{Coin: "btc", Height: 321, N: 0.00390625})
			if code == "" {
				if err := json.Unmarshal(body, &w); err != nil {
					t.Fatal(err)
				}
				break
			}
			// 503: the function is not up yet; 404: the block share is
			// younger than the insert grace, not yet in the snapshot.
			if (code != "503" && code != "404") || time.Now().After(deadline) {
				t.Fatalf("pplns: error %s %s", code, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// 2^-8 × 1e6 = 3906.25: the block share (3000), then 906.25 of the
		// 1000-difficulty share before it.
		if !w.Complete || w.Shares != 2 || w.Boundary == nil || w.Boundary.Worker != "busy" || w.TotalUnits.String() != w.TargetUnits.String() {
			t.Fatalf("window %+v", w)
		}
		part := new(big.Rat).SetFrac(w.Boundary.CountedUnits.Int(), new(big.Int).Lsh(big.NewInt(1), uint(-w.ScaleExp)))
		if part.Cmp(big.NewRat(90625, 100)) != 0 {
			t.Fatalf("boundary share counted %s, want 906.25", part.FloatString(6))
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, tt := range []struct {
			name, subject string
			req           any
			code          string
		}{
			{"not json", stats.SubjectHashrate, "{", "400"},
			{"unknown field", stats.SubjectHashrate, `{"coin":"btc","adress":"x"}`, "400"},
			{"no coin", stats.SubjectHashrate, `{}`, "400"},
			{"unknown coin", stats.SubjectHashrate, `{"coin":"nope"}`, "400"},
			{"worker without address", stats.SubjectHashrate, `{"coin":"btc","worker":"w"}`, "400"},
			{"bad range", stats.SubjectSeries, `{"coin":"btc","range":"7y"}`, "400"},
			{"at out of range", stats.SubjectPool, `{"coin":"btc","at_ms":5}`, "400"},
			{"workers without address", stats.SubjectWorkers, `{"coin":"btc"}`, "400"},
			{"pplns without end", stats.SubjectPPLNS, `{"coin":"btc","n":1,"as_of":2000000000}`, "400"},
			{"pplns unknown block", stats.SubjectPPLNS, `{"coin":"btc","height":999,"n":1,"as_of":2000000000}`, "404"},
			{"partial share id", stats.SubjectPPLNS, `{"coin":"btc","gateway":"g","n":1}`, "400"},
			{"window kind", stats.SubjectWindow, `{"coin":"btc","kind":"lottery","until":"2026-01-01T00:00:00Z"}`, "400"},
			{"oversized", stats.SubjectHashrate, `{"coin":"` + strings.Repeat("x", 5000) + `"}`, "400"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				body, code := h.ask(tt.subject, tt.req)
				if code != tt.code {
					t.Fatalf("code %q (%s), want %s", code, body, tt.code)
				}
			})
		}
	})
}

// TestWindowServesTheRewardsContract asks through the rewards function's
// own client and checks the answer against the shares, exactly: inline, and
// with every answer too large for a message (through the object store).
func TestWindowServesTheRewardsContract(t *testing.T) {
	t.Run("inline", func(t *testing.T) { checkRewardsContract(t, newHarness(t), false) })
	t.Run("object store", func(t *testing.T) {
		h := newHarnessWith(t, &stats.Function{Grace: time.Second, SettleEvery: 200 * time.Millisecond, InlineLimit: 1})
		checkRewardsContract(t, h, true)
	})
}

func checkRewardsContract(t *testing.T, h *harness, stored bool) {
	now := time.Now().UTC()
	var shares []payload.Share
	for i := range 300 {
		shares = append(shares, payload.Share{TimeMs: now.Add(-time.Duration(300-i) * time.Second).UnixMilli(),
			Address: fmt.Sprintf("a%d", i%7), Worker: fmt.Sprintf("w%d", i%3), Difficulty: 1000 + float64(i)/7,
			Accepted: true, Solo: i%11 == 0})
	}
	h.write(batchesOf("btc-eu-r", shares, 25))
	until := now.Add(-60 * time.Second)
	client := rewards.NATSWindow{NC: h.nc, Timeout: 10 * time.Second}
	ctx := context.Background()
	var got []rewards.MinerWork
	deadline := time.Now().Add(30 * time.Second)
	for {
		// Retry while the function is not up (503) and while the shares
		// are younger than the insert grace (a window is a snapshot of
		// shares inserted before now − grace, so right after the write
		// it is empty) — as the rewards function does.
		var err error
		got, err = client.PPLNSWindow(ctx, "btc", until, 50000.5)
		if err == nil && len(got) > 0 {
			break
		}
		if (err != nil && !strings.Contains(err.Error(), "503")) || time.Now().After(deadline) {
			t.Fatalf("window: %d miners, %v", len(got), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The raw reply: miners inline, or a pointer to the same object every time.
	var objects []string
	for range 2 {
		var rep stats.WindowReply
		h.askOK(stats.SubjectWindow, stats.WindowRequest{Coin: "btc", Kind: "pplns", Until: json.RawMessage(fmt.Sprint(until.UnixMilli())), Work: 50000.5}, &rep)
		switch {
		case stored && (rep.Object == nil || rep.Miners != nil || rep.Object.Miners != len(got)):
			t.Fatalf("reply %+v: want the %d miners in the object store", rep, len(got))
		case !stored && (rep.Object != nil || len(rep.Miners) != len(got)):
			t.Fatalf("reply %+v: want %d miners inline", rep, len(got))
		case stored:
			objects = append(objects, rep.Object.Name)
		}
	}
	if stored && objects[0] != objects[1] {
		t.Errorf("the same window stored as %s and %s", objects[0], objects[1])
	}
	// Brute force: newest pool shares before until, 50000.5 of work.
	want := map[string]*big.Rat{}
	total, target := new(big.Rat), new(big.Rat).SetFloat64(50000.5)
	for i := len(shares) - 1; i >= 0 && total.Cmp(target) < 0; i-- {
		s := shares[i]
		if s.Solo || s.TimeMs >= until.UnixMilli() {
			continue
		}
		d := new(big.Rat).SetFloat64(s.Difficulty)
		if rest := new(big.Rat).Sub(target, total); d.Cmp(rest) > 0 {
			d = rest
		}
		if want[s.Address] == nil {
			want[s.Address] = new(big.Rat)
		}
		want[s.Address].Add(want[s.Address], d)
		total.Add(total, d)
	}
	if len(got) != len(want) {
		t.Fatalf("%d miners, want %d", len(got), len(want))
	}
	for _, m := range got {
		f, _ := want[m.Address].Float64()
		if m.Work != f {
			t.Errorf("%s: work %v, want %v", m.Address, m.Work, f)
		}
	}
	round, err := client.RoundWork(ctx, "btc", now.Add(-200*time.Second), until)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, m := range round {
		sum += m.Work
	}
	var wantSum, wantAll float64
	for _, s := range shares {
		if !s.Solo && s.TimeMs < until.UnixMilli() {
			wantAll += s.Difficulty
			if s.TimeMs >= now.Add(-200*time.Second).UnixMilli() {
				wantSum += s.Difficulty
			}
		}
	}
	if math.Abs(sum-wantSum) > 1e-9*wantSum {
		t.Errorf("round work %v, want %v", sum, wantSum)
	}
	// The first round of a coin has no start: every share kept counts.
	first, err := client.RoundWork(ctx, "btc", time.Time{}, until)
	if err != nil {
		t.Fatal(err)
	}
	sum = 0
	for _, m := range first {
		sum += m.Work
	}
	if math.Abs(sum-wantAll) > 1e-9*wantAll {
		t.Errorf("first round work %v, want %v", sum, wantAll)
	}
}
