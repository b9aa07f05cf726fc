package gateway_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/kv"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
)

// hashesPerDiff1 is the mean number of sha256d hashes per difficulty-1 share.
const hashesPerDiff1 = 1 << 32

func vardiffConfig() config.Vardiff {
	return config.Vardiff{Initial: 1, Min: 0.001, Max: 1e7, TargetSeconds: 10,
		Retarget: config.Duration(90 * time.Second), VariancePercent: 30}
}

// change is one difficulty change seen by the simulated worker.
type change struct {
	at   time.Duration // since the start
	diff float64
}

// simulate runs a worker of a fixed hashrate (hashes/s; 0 = silent) against
// a Vardiff for dur of fake time: shares arrive as a Poisson process at the
// rate of the current difficulty, and the gateway's 5 s tick runs alongside.
// It runs inside a synctest bubble: time.Sleep only moves the fake clock.
func simulate(cfg config.Vardiff, start, hashrate float64, seed uint64, dur time.Duration) []change {
	rng := rand.New(rand.NewPCG(seed, 0x6a6574706f6f6c))
	t0 := time.Now()
	end := t0.Add(dur)
	v := gateway.NewVardiff(cfg, start, t0)
	changes := []change{{0, v.Difficulty()}}
	draw := func() time.Time {
		if hashrate == 0 {
			return end.Add(time.Hour)
		}
		mean := v.Difficulty() * hashesPerDiff1 / hashrate // seconds per share
		return time.Now().Add(time.Duration(rng.ExpFloat64() * mean * float64(time.Second)))
	}
	nextShare := draw()
	nextTick := t0.Add(5 * time.Second)
	for time.Now().Before(end) {
		if nextShare.Before(nextTick) {
			time.Sleep(time.Until(nextShare))
			if d, ok := v.OnShare(time.Now()); ok {
				changes = append(changes, change{time.Since(t0), d})
			}
			nextShare = draw()
			continue
		}
		time.Sleep(time.Until(nextTick))
		nextTick = nextTick.Add(5 * time.Second)
		if d, ok := v.OnTick(time.Now()); ok {
			changes = append(changes, change{time.Since(t0), d})
			nextShare = draw() // memoryless: the wait restarts at the new rate
		}
	}
	return changes
}

// TestVardiffConverges simulates a 1 TH/s worker starting far below and far
// above its ideal difficulty (hashrate × target seconds / 2^32): vardiff
// must bring it within ±40% in a few retargets and then keep it centred.
func TestVardiffConverges(t *testing.T) {
	t.Parallel()
	cfg := vardiffConfig()
	const hashrate = 1e12
	ideal := hashrate * cfg.TargetSeconds / hashesPerDiff1 // ≈ 2328
	const run = 4 * time.Hour
	for _, tc := range []struct {
		name       string
		start      float64
		maxChanges int           // difficulty changes until within ±40%
		maxTime    time.Duration // fake time until within ±40%
	}{
		// Shares come far too fast: retargets every target time, ×8 each.
		{"from far below", ideal / 5000, 6, 5 * time.Minute},
		// Shares stop: the tick lowers it ÷8 every two retarget periods.
		{"from far above", ideal * 400, 8, 30 * time.Minute},
	} {
		for seed := range uint64(8) {
			t.Run(fmt.Sprintf("%s/seed %d", tc.name, seed), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ch := simulate(cfg, tc.start, hashrate, seed, run)
					first := -1
					for i, c := range ch {
						if math.Abs(c.diff/ideal-1) <= 0.4 {
							first = i
							break
						}
					}
					if first < 0 || first > tc.maxChanges || ch[first].at > tc.maxTime {
						t.Fatalf("not within ±40%% of %.0f after %d changes / %s: %v", ideal, tc.maxChanges, tc.maxTime, ch)
					}
					for i := 1; i < first; i++ { // the approach is monotonic
						if (tc.start < ideal) != (ch[i].diff > ch[i-1].diff) {
							t.Fatalf("change %d moved away from the ideal: %v", i, ch[:first+1])
						}
					}
					// From then on, time-weighted: centred on the ideal, mostly
					// within ±40%, never off by more than the ×8 step.
					var logSum, within, total float64
					for i := first; i < len(ch); i++ {
						until := run
						if i+1 < len(ch) {
							until = ch[i+1].at
						}
						dt, r := (until - ch[i].at).Seconds(), ch[i].diff/ideal
						logSum += dt * math.Log(r)
						total += dt
						if math.Abs(r-1) <= 0.4 {
							within += dt
						}
						if r < 1.0/8 || r > 8 {
							t.Fatalf("difficulty %v at %s, %.2f× the ideal", ch[i].diff, ch[i].at, r)
						}
					}
					if gm := math.Exp(logSum / total); math.Abs(gm-1) > 0.15 {
						t.Fatalf("time-weighted geometric mean %.3f× the ideal, want within ±15%%", gm)
					}
					if f := within / total; f < 0.65 {
						t.Fatalf("within ±40%% of the ideal only %.0f%% of the time", 100*f)
					}
				})
			})
		}
	}
}

// TestVardiffHoldsStillAtTheIdealDifficulty: a worker already at its ideal
// difficulty sees Poisson noise only; vardiff must not chase it. Over 16
// simulated 4-hour runs (160 retarget periods each) it changes the
// difficulty about 15 times per run (the variance rule alone, without the
// evidence test, changed it 74 times) and stays within ±40 % of the ideal.
func TestVardiffHoldsStillAtTheIdealDifficulty(t *testing.T) {
	t.Parallel()
	cfg := vardiffConfig()
	const hashrate = 1e12
	ideal := hashrate * cfg.TargetSeconds / hashesPerDiff1
	const run, runs = 4 * time.Hour, 16
	changes, within := 0, 0.0
	for seed := range uint64(runs) {
		synctest.Test(t, func(t *testing.T) {
			ch := simulate(cfg, ideal, hashrate, 100+seed, run)
			changes += len(ch) - 1
			for i, c := range ch {
				until := run
				if i+1 < len(ch) {
					until = ch[i+1].at
				}
				if math.Abs(c.diff/ideal-1) <= 0.4 {
					within += (until - c.at).Seconds()
				}
			}
		})
	}
	perRun := float64(changes) / runs
	share := within / (runs * run.Seconds())
	t.Logf("%.1f changes per 4-hour run, %.0f%% of the time within ±40%%", perRun, 100*share)
	if perRun > 25 {
		t.Errorf("%.1f difficulty changes per 4-hour run at the ideal difficulty, want ≤ 25: vardiff chases noise", perRun)
	}
	if share < 0.85 {
		t.Errorf("within ±40%% of the ideal %.0f%% of the time, want ≥ 85%%", 100*share)
	}
}

// TestVardiffClamps: a worker whose ideal difficulty is beyond the range
// ends at the bound and never crosses it.
func TestVardiffClamps(t *testing.T) {
	t.Parallel()
	cfg := vardiffConfig()
	for _, tc := range []struct {
		name     string
		hashrate float64
		start    float64
		bound    float64
	}{
		{"ideal above max", 1e17, 1e5, cfg.Max},  // ideal ≈ 2.3e8
		{"ideal below min", 1e3, 1, cfg.Min},     // ideal ≈ 2.3e-6
		{"start above max", 1e12, 1e12, cfg.Max}, // clamped at once, then converges down
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ch := simulate(cfg, tc.start, tc.hashrate, 1, 2*time.Hour)
				for _, c := range ch {
					if c.diff < cfg.Min || c.diff > cfg.Max {
						t.Fatalf("difficulty %v outside [%v, %v]: %v", c.diff, cfg.Min, cfg.Max, ch)
					}
				}
				if tc.name == "start above max" {
					if ch[0].diff != cfg.Max {
						t.Fatalf("start %v not clamped to max: %v", tc.start, ch[0].diff)
					}
					return
				}
				if last := ch[len(ch)-1].diff; last != tc.bound {
					t.Fatalf("ended at %v, want the bound %v: %v", last, tc.bound, ch)
				}
			})
		})
	}
}

// TestVardiffSilentWorker: with no shares, each tick after two retarget
// periods lowers the difficulty by the maximum step, down to the minimum.
func TestVardiffSilentWorker(t *testing.T) {
	t.Parallel()
	cfg := vardiffConfig()
	synctest.Test(t, func(t *testing.T) {
		ch := simulate(cfg, 1000, 0, 0, time.Hour)
		if len(ch) < 2 || ch[len(ch)-1].diff != cfg.Min {
			t.Fatalf("silent worker did not fall to the minimum %v: %v", cfg.Min, ch)
		}
		for i := 1; i < len(ch); i++ {
			// One change every two retarget periods, by the full ÷8 step
			// (4 significant digits) until the minimum.
			if want := time.Duration(i) * 2 * cfg.Retarget.D(); ch[i].at != want {
				t.Fatalf("change %d at %s, want %s: %v", i, ch[i].at, want, ch)
			}
			if want := max(ch[i-1].diff/8, cfg.Min); math.Abs(ch[i].diff/want-1) > 1e-3 {
				t.Fatalf("change %d to %v, want %v: %v", i, ch[i].diff, want, ch)
			}
		}
	})
}

// TestVardiffSetAndConfig covers the clamping entry points.
func TestVardiffSetAndConfig(t *testing.T) {
	t.Parallel()
	cfg := vardiffConfig()
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name string
		d    float64
		want float64
	}{
		{"in range", 5, 5},
		{"above max", 1e9, cfg.Max},
		{"below min", 1e-9, cfg.Min},
		{"zero is the initial", 0, cfg.Initial},
		{"NaN is the initial", math.NaN(), cfg.Initial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gateway.NewVardiff(cfg, tc.d, now).Difficulty(); got != tc.want {
				t.Fatalf("NewVardiff(%v) = %v, want %v", tc.d, got, tc.want)
			}
			v := gateway.NewVardiff(cfg, 1, now)
			if got := v.Set(tc.d, now); got != tc.want || v.Difficulty() != tc.want {
				t.Fatalf("Set(%v) = %v, want %v", tc.d, got, tc.want)
			}
		})
	}
	v := gateway.NewVardiff(cfg, 500, now)
	narrow := cfg
	narrow.Min, narrow.Max, narrow.Initial = 0.01, 100, 1
	v.SetConfig(narrow)
	if v.Difficulty() != 100 {
		t.Fatalf("after SetConfig with max 100, difficulty %v", v.Difficulty())
	}
	// Shares at exactly the target rate change nothing.
	synctest.Test(t, func(t *testing.T) {
		v := gateway.NewVardiff(cfg, 50, time.Now())
		for range 100 {
			time.Sleep(10 * time.Second)
			if d, changed := v.OnShare(time.Now()); changed {
				t.Fatalf("retarget to %v at exactly the target share rate", d)
			}
			if _, changed := v.OnTick(time.Now()); changed {
				t.Fatal("tick retargeted a worker at the target rate")
			}
		}
	})
}

// vardiffKey is the KV vardiff key the gateway keeps a worker's difficulty under.
func vardiffKey(address, worker string) string {
	return "btc." + kv.SafeKey(address) + "." + kv.SafeKey(worker)
}

// TestVardiffRetargetSurvivesReconnect: a worker's retargeted difficulty is
// saved in KV vardiff and given back by another gateway after a reconnect.
func TestVardiffRetargetSurvivesReconnect(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	fast := func(o *gateway.Options) {
		o.Vardiff.Retarget = config.Duration(time.Second)
		o.Stratum.MaxMessagesPerSecond, o.Stratum.MessageBurst = 1000, 1000
	}
	a := p.startGateway(fast)
	b := p.startGateway(fast)
	p.publishJob(jobSpec{id: "j1"})
	addr := regtestAddr(t, 8)

	c := dial(t, a.tcp())
	c.handshake(addr + ".rig")
	c.note(stratum.MethodSetDifficulty)
	// Shares far faster than one per 10 s: the first retarget (after 1 s)
	// raises the difficulty by the maximum step.
	deadline := time.Now().Add(wait)
	for c.diff == baseDiff {
		if time.Now().After(deadline) {
			t.Fatal("no retarget")
		}
		wantTrue(t, c.submit(c.valid()))
	}
	if want := baseDiff * 8; math.Abs(c.diff-want) > want*1e-9 {
		t.Fatalf("retargeted to %v, want ×8 = %v", c.diff, want)
	}
	saved := c.diff
	var st payload.VardiffState
	waitFor(t, "saved difficulty", func() bool {
		st, _, _ = kv.Get[payload.VardiffState](context.Background(), p.kv.Vardiff, vardiffKey(addr, "rig"))
		return st.Difficulty == saved
	})
	if time.Since(st.Updated) > time.Minute {
		t.Fatalf("saved state %+v is not fresh", st)
	}
	c.conn.Close()

	c2 := dial(t, b.tcp())
	c2.handshake(addr + ".rig")
	c2.note(stratum.MethodSetDifficulty)
	if c2.diff != saved {
		t.Fatalf("first difficulty on the other gateway %v, want the saved %v", c2.diff, saved)
	}
	wantTrue(t, c2.submit(c2.valid()))
}

// TestVardiffRestoredFromKV: a difficulty stored under the key the gateway
// writes is the first difficulty a reconnecting worker gets; a password
// d=… or another worker is not affected.
func TestVardiffRestoredFromKV(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "j1"})
	addr := regtestAddr(t, 9)
	const worker = "rig#1.a/b" // every character SafeKey escapes
	if _, err := kv.Put(context.Background(), p.kv.Vardiff, vardiffKey(addr, worker),
		payload.VardiffState{Difficulty: 3.5e-9, Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, user, pass string
		want             float64
	}{
		{"saved worker", addr + "." + worker, "x", 3.5e-9},
		{"other worker", addr + ".other", "x", baseDiff},
		{"password difficulty wins", addr + "." + worker, "d=0.000002", 0.000002},
		{"suggested difficulty wins", addr + "." + worker, "x", 0.0000005},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, g.tcp())
			c.subscribe()
			if tc.name == "suggested difficulty wins" {
				wantTrue(t, c.call(stratum.MethodSuggestDifficulty, 0.0000005))
			}
			m := c.call(stratum.MethodAuthorize, tc.user, tc.pass)
			wantTrue(t, m)
			c.user = tc.user
			c.note(stratum.MethodNotify)
			c.notes = c.notes[:0]
			if c.diff != tc.want {
				t.Fatalf("difficulty %v, want %v", c.diff, tc.want)
			}
			wantTrue(t, c.submit(c.valid()))
		})
	}
}

// TestVardiffHotReload: new vardiff settings written to KV config reach
// running sessions: the difficulty is re-clamped and sent; a coin's own
// section (config.VardiffKey) wins over the pool's.
func TestVardiffHotReload(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "j1"})
	c := dial(t, g.tcp())
	c.handshake(regtestAddr(t, 10) + ".hr")
	c.note(stratum.MethodSetDifficulty)
	if c.diff != baseDiff {
		t.Fatalf("difficulty %v", c.diff)
	}
	cfg := testOptions().Vardiff
	cfg.Min, cfg.Initial = 4e-9, 4e-9
	if _, err := kv.Put(context.Background(), p.kv.Config, config.KeyVardiff, cfg); err != nil {
		t.Fatal(err)
	}
	c.note(stratum.MethodSetDifficulty)
	if c.diff != 4e-9 {
		t.Fatalf("difficulty %v after raising the minimum to 4e-9", c.diff)
	}
	// New sessions start at the new initial difficulty.
	c2 := dial(t, g.tcp())
	c2.handshake(regtestAddr(t, 10) + ".hr2")
	c2.note(stratum.MethodSetDifficulty)
	if c2.diff != 4e-9 {
		t.Fatalf("new session's difficulty %v, want the reloaded initial 4e-9", c2.diff)
	}
	// An invalid config (min above max) is refused: the next good one is
	// the only change the miner sees.
	bad := cfg
	bad.Min, bad.Max, bad.Initial = 1, 0.5, 1
	good := cfg
	good.Min, good.Initial = 5e-9, 5e-9
	for _, v := range []config.Vardiff{bad, good} {
		if _, err := kv.Put(context.Background(), p.kv.Config, config.KeyVardiff, v); err != nil {
			t.Fatal(err)
		}
	}
	c.note(stratum.MethodSetDifficulty)
	if c.diff != 5e-9 {
		t.Fatalf("difficulty %v after an invalid then a good config, want 5e-9", c.diff)
	}
	// The coin's own section wins over the pool's: a later pool change is
	// shadowed, so the next difficulty the miner sees is the coin's 8e-9,
	// never the pool's 7e-9.
	coinCfg := cfg
	coinCfg.Min, coinCfg.Initial = 6e-9, 6e-9
	if _, err := kv.Put(context.Background(), p.kv.Config, config.VardiffKey("btc"), coinCfg); err != nil {
		t.Fatal(err)
	}
	c.note(stratum.MethodSetDifficulty)
	if c.diff != 6e-9 {
		t.Fatalf("difficulty %v after the coin's own vardiff, want 6e-9", c.diff)
	}
	poolCfg := cfg
	poolCfg.Min, poolCfg.Initial = 7e-9, 7e-9
	coinCfg.Min, coinCfg.Initial = 8e-9, 8e-9
	if _, err := kv.Put(context.Background(), p.kv.Config, config.KeyVardiff, poolCfg); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), p.kv.Config, config.VardiffKey("btc"), coinCfg); err != nil {
		t.Fatal(err)
	}
	c.note(stratum.MethodSetDifficulty)
	if c.diff != 8e-9 {
		t.Fatalf("difficulty %v, want the coin's 8e-9: the pool's section must not override the coin's", c.diff)
	}
}

// TestRestoredDifficultyWinsRaceWithNewJob: a job broadcast arriving while a
// worker authorizes must not start its work at the initial difficulty
// before the saved one is restored.
func TestRestoredDifficultyWinsRaceWithNewJob(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "k", height: 100, prev: 1})
	g.waitJob(t)
	addr := regtestAddr(t, 19)
	const saved = 3.5e-9
	for i := range 40 {
		if _, err := kv.Put(context.Background(), p.kv.Vardiff, vardiffKey(addr, fmt.Sprint("w", i)),
			payload.VardiffState{Difficulty: saved, Updated: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		c := dial(t, g.tcp())
		c.subscribe()
		id := c.request(stratum.MethodAuthorize, fmt.Sprint(addr, ".w", i), "x")
		// Same block, new transactions: broadcast to every working session.
		p.publishJob(jobSpec{id: fmt.Sprint("k", i), height: 100, prev: 1, txs: i + 1})
		wantTrue(t, c.response(id))
		first, err := stratum.ParseSetDifficulty(c.note(stratum.MethodSetDifficulty).msg.Params)
		if err != nil || first != saved {
			t.Fatalf("session %d: first set_difficulty %v (%v), want the saved %v", i, first, err, saved)
		}
		c.conn.Close()
	}
}
