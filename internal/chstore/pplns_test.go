package chstore_test

import (
	"context"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/chstore"
	"github.com/jetpool/jetpool/internal/payload"
)

func TestPPLNSMatchesBruteForce(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	// Hour-aligned, so that which hours the windows cover is the same on
	// every run.
	now := time.Now().UTC().Truncate(time.Hour)
	g := gen{seed: 11, coin: "btc", gateways: 3, miners: 15, workers: 2, perBatch: 40,
		from: now.Add(-6 * time.Hour), to: now.Add(-10 * time.Minute), shares: 30000, soloEvery: 5,
		blockAt: map[int]int64{29000: 1001, 20000: 1002, 100: 1003}}
	batches, all := g.batches()
	// Every batch twice, in different INSERT groupings, as after redelivery.
	write(t, st, batches, 5000)
	write(t, st, batches, 777)
	waitVisible(t, st)
	if res, err := st.Rollup(ctx, 24*time.Hour); err != nil || res.Hours < 5 {
		t.Fatalf("Rollup = %+v, %v; want the 6 hours that are over rolled up", res, err)
	}
	// A late batch for an old hour, written after its rollup: that hour must
	// now come from raw shares.
	late := &payload.ShareBatch{Gateway: "btc-eu-late", Coin: "btc", Region: "eu", Seq: 1}
	for i := range 20 {
		sh := payload.Share{TimeMs: now.Add(-4*time.Hour+15*time.Minute).UnixMilli() + int64(i)*1000, Address: "addr-late", Worker: "x",
			Difficulty: 123456.789 + float64(i), Accepted: true, NetworkDifficulty: 5e7}
		late.Shares = append(late.Shares, sh)
		all = append(all, share{Share: sh, ShareID: chstore.ShareID{Gateway: late.Gateway, Seq: 1, Idx: uint32(i)}, Coin: "btc"})
	}
	write(t, st, []*payload.ShareBatch{late}, 100)
	waitVisible(t, st)

	byHeight := func(h int64) *share {
		for i := range all {
			if all[i].Block && all[i].Height == h {
				return &all[i]
			}
		}
		t.Fatalf("no block %d", h)
		return nil
	}
	poolBefore := func(end *share) *big.Rat {
		return brutePPLNS(all, "btc", end, 0, nil).total
	}
	const nd = 5e7
	b1, b2, b3 := byHeight(1001), byHeight(1002), byHeight(1003)
	f, _ := new(big.Rat).Quo(poolBefore(b1), ratOf(nd)).Float64()
	tests := []struct {
		name   string
		req    chstore.PPLNSRequest
		end    *share
		nd     float64
		n      float64
		fromMs int64
		hours  bool // whole hours from both rollups and raw shares
	}{
		{"boundary hours back, through rollups and a stale hour", chstore.PPLNSRequest{Height: 1001, N: f * 0.8}, b1, nd, f * 0.8, 0, true},
		{"boundary in the block's hour", chstore.PPLNSRequest{Height: 1002, N: 2}, b2, nd, 2, 0, false},
		{"regtest difficulty: the block share alone, in part", chstore.PPLNSRequest{Height: 1003, N: 2, NetworkDifficulty: 4.656542373906925e-10}, b3, 4.656542373906925e-10, 2, 0, false},
		{"fewer shares kept than the window", chstore.PPLNSRequest{Height: 1002, N: 1e9}, b2, nd, 1e9, 0, false},
		{"end by time, no share id", chstore.PPLNSRequest{EndMs: b1.TimeMs - 1, N: f * 0.5, NetworkDifficulty: nd}, nil, nd, f * 0.5, 0, false},
		{"end by share id", chstore.PPLNSRequest{EndMs: b2.TimeMs, Share: &b2.ShareID, N: 0.5}, b2, nd, 0.5, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Coin = "btc"
			got, err := st.PPLNS(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			end := tt.end
			if end == nil {
				end = &share{Share: payload.Share{TimeMs: tt.req.EndMs}, ShareID: chstore.ShareID{Gateway: "\xff"}}
			}
			target := new(big.Rat).Mul(ratOf(tt.n), ratOf(tt.nd))
			want := brutePPLNS(all, "btc", end, tt.fromMs, target)
			checkWindow(t, got, want)
			if want.boundary == nil && got.Complete {
				t.Errorf("window complete, brute force found too few shares")
			}
			if tt.hours && (got.RolledHours == 0 || got.RawHours == 0) {
				t.Errorf("whole hours: %d from rollups, %d from raw shares; want both used", got.RolledHours, got.RawHours)
			}
			t.Logf("%d shares, %d workers, %d+%d whole hours, boundary %v", got.Shares, len(got.Miners), got.RolledHours, got.RawHours, got.Boundary != nil)
			if got.TargetUnits == nil || unitsRat(got.TargetUnits, got.ScaleExp).Cmp(target) != 0 {
				t.Errorf("target %v, want %s", got.TargetUnits, target.FloatString(12))
			}
		})
	}

	t.Run("round", func(t *testing.T) {
		from, to := now.Add(-5*time.Hour-17*time.Minute).UnixMilli(), b1.TimeMs
		got, err := st.Round(ctx, chstore.RoundRequest{Coin: "btc", FromMs: from, ToMs: to})
		if err != nil {
			t.Fatal(err)
		}
		end := &share{Share: payload.Share{TimeMs: to - 1}, ShareID: chstore.ShareID{Gateway: "\xff"}}
		checkWindow(t, got, brutePPLNS(all, "btc", end, from, nil))
	})

	t.Run("same AsOf, same window after more shares arrive", func(t *testing.T) {
		first, err := st.PPLNS(ctx, chstore.PPLNSRequest{Coin: "btc", Height: 1001, N: f * 0.3})
		if err != nil {
			t.Fatal(err)
		}
		more := &payload.ShareBatch{Gateway: "btc-eu-more", Coin: "btc", Region: "eu", Seq: 9,
			Shares: []payload.Share{{TimeMs: b1.TimeMs - 5, Address: "newcomer", Difficulty: 1e6, Accepted: true}}}
		write(t, st, []*payload.ShareBatch{more}, 10)
		waitVisible(t, st)
		again, err := st.PPLNS(ctx, chstore.PPLNSRequest{Coin: "btc", Height: 1001, N: f * 0.3, AsOf: first.AsOf})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("window changed for the same AsOf:\n%+v\n%+v", first, again)
		}
		fresh, err := st.PPLNS(ctx, chstore.PPLNSRequest{Coin: "btc", Height: 1001, N: f * 0.3})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range fresh.Miners {
			found = found || m.Address == "newcomer"
		}
		if !found {
			t.Fatal("a later snapshot does not see the new share")
		}
	})

	t.Run("errors", func(t *testing.T) {
		for name, req := range map[string]chstore.PPLNSRequest{
			"no coin":      {Height: 1001, N: 1},
			"no N":         {Coin: "btc", Height: 1001},
			"no end":       {Coin: "btc", N: 1},
			"no nd by end": {Coin: "btc", EndMs: b1.TimeMs, N: 1},
		} {
			if _, err := st.PPLNS(ctx, req); !errors.Is(err, chstore.ErrBadRequest) {
				t.Errorf("%s: err = %v, want ErrBadRequest", name, err)
			}
		}
		if _, err := st.PPLNS(ctx, chstore.PPLNSRequest{Coin: "btc", Height: 424242, N: 1}); !errors.Is(err, chstore.ErrNotFound) {
			t.Errorf("unknown height: err = %v, want ErrNotFound", err)
		}
	})
}

// TestPPLNSFastPath checks the fast path (pplns_fast.go) against the
// step-by-step walk and brute force, per worker and per address, over 30
// hours of shares (so day prefixes span a midnight), written twice, with a
// late batch in an old hour after the rollup (read raw), and with a
// corrupted day prefix, which must be noticed.
func TestPPLNSFastPath(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Hour)
	g := gen{seed: 21, coin: "btc", gateways: 2, miners: 40, workers: 3, perBatch: 30,
		from: now.Add(-30 * time.Hour), to: now.Add(-2 * time.Minute), shares: 40000, soloEvery: 9,
		blockAt: map[int]int64{39990: 2001}}
	batches, all := g.batches()
	write(t, st, batches, 6000)
	write(t, st, batches, 1111)
	waitVisible(t, st)
	res, err := st.Rollup(ctx, 48*time.Hour)
	if err != nil || res.Prefixes < 29 {
		t.Fatalf("Rollup = %+v, %v; want the prefixes of 30 hours", res, err)
	}
	if again, err := st.Rollup(ctx, 48*time.Hour); err != nil || again.Hours != 0 || again.Prefixes != 0 {
		t.Fatalf("second Rollup = %+v, %v; want nothing to do", again, err)
	}
	late := &payload.ShareBatch{Gateway: "btc-eu-late", Coin: "btc", Region: "eu", Seq: 1}
	for i := range 30 {
		sh := payload.Share{TimeMs: now.Add(-7*time.Hour+20*time.Minute).UnixMilli() + int64(i)*997, Address: "addr-late", Worker: "x",
			Difficulty: 77777.125 + float64(i), Accepted: true, NetworkDifficulty: 5e7}
		late.Shares = append(late.Shares, sh)
		all = append(all, share{Share: sh, ShareID: chstore.ShareID{Gateway: late.Gateway, Seq: 1, Idx: uint32(i)}, Coin: "btc"})
	}
	write(t, st, []*payload.ShareBatch{late}, 100)
	waitVisible(t, st)

	var end *share
	for i := range all {
		if all[i].Block && all[i].Height == 2001 {
			end = &all[i]
		}
	}
	const nd = 5e7
	pool := new(big.Rat).Quo(brutePPLNS(all, "btc", end, 0, nil).total, ratOf(nd))
	whole, _ := pool.Float64()
	// prefixes: 1 the per-address window must read day prefixes, -1 it must
	// not, 0 either.
	check := func(t *testing.T, n float64, prefixes int) {
		t.Helper()
		target := new(big.Rat).Mul(ratOf(n), ratOf(nd))
		want := brutePPLNS(all, "btc", end, 0, target)
		for _, byAddress := range []bool{false, true} {
			req := chstore.PPLNSRequest{Coin: "btc", Height: 2001, N: n, ByAddress: byAddress}
			fast, err := st.PPLNS(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			req.StepByStep, req.AsOf = true, fast.AsOf
			walk, err := st.PPLNS(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if !fast.Fast || walk.Fast {
				t.Fatalf("byAddress %v: fast path taken %v, step by step %v", byAddress, fast.Fast, walk.Fast)
			}
			if byAddress && (prefixes > 0 && fast.Prefixes == 0 || prefixes < 0 && fast.Prefixes != 0) {
				t.Errorf("%d day prefixes used (%d rolled hours); want them %s", fast.Prefixes, fast.RolledHours,
					map[int]string{1: "used", -1: "not used"}[prefixes])
			}
			if fast.RolledHours+fast.RawHours != walk.RolledHours+walk.RawHours {
				t.Errorf("%d+%d whole hours, step by step %d+%d", fast.RolledHours, fast.RawHours, walk.RolledHours, walk.RawHours)
			}
			walk.Fast, walk.Prefixes, walk.RolledHours, walk.RawHours = true, fast.Prefixes, fast.RolledHours, fast.RawHours
			if !reflect.DeepEqual(fast, walk) {
				t.Fatalf("byAddress %v: fast window differs from the walk:\n%+v\n%+v", byAddress, fast, walk)
			}
			if byAddress {
				checkByAddress(t, fast, want)
			} else {
				checkWindow(t, fast, want)
			}
			t.Logf("N %.3g by address %v: %d shares, %d keys, %d rolled (%d prefixes) + %d raw hours", n, byAddress, fast.Shares,
				len(fast.Miners), fast.RolledHours, fast.Prefixes, fast.RawHours)
		}
	}
	// nBack is the window whose boundary share is the last pool share
	// before t: the boundary minute early or late in its hour makes the fast
	// path read the hour's head (and subtract it from the rollup) or its tail.
	nBack := func(t time.Time) float64 {
		work := new(big.Rat)
		for _, s := range all {
			if s.Accepted && !s.Solo && s.TimeMs >= t.UnixMilli() && !after(&s, end) {
				work.Add(work, ratOf(s.Difficulty))
			}
		}
		n, _ := new(big.Rat).Quo(work, ratOf(nd)).Float64()
		return n * (1 + 1e-9)
	}
	for _, c := range []struct {
		name     string
		n        float64
		prefixes int
	}{
		{"an hour", whole * 0.03, 0},
		{"across the late hour", whole * 0.4, 1},
		{"past midnight", whole * 0.85, 1},
		{"boundary early in its hour", nBack(now.Add(-20*time.Hour + 7*time.Minute)), 1},
		{"boundary late in its hour", nBack(now.Add(-20*time.Hour + 52*time.Minute)), 1},
		{"boundary early in the hour after the late batch", nBack(now.Add(-6*time.Hour + 3*time.Minute)), 1},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, c.n, c.prefixes) })
	}
	t.Run("late hour rolled up again", func(t *testing.T) {
		// The late hour again, and its day's prefixes from it through the
		// day's last rolled-up hour.
		late := now.Add(-7 * time.Hour).Unix()
		last := min(late-late%86400+86400, now.Unix()) - 3600
		res, err := st.Rollup(ctx, 48*time.Hour)
		if want := int((last-late)/3600 + 1); err != nil || res.Hours != 1 || res.Prefixes != want {
			t.Fatalf("Rollup = %+v, %v; want the late hour and %d prefixes", res, err, want)
		}
		w, err := st.PPLNS(ctx, chstore.PPLNSRequest{Coin: "btc", Height: 2001, N: whole * 0.4, ByAddress: true})
		if err != nil || w.RawHours != 0 || w.Prefixes == 0 {
			t.Fatalf("window %+v, %v: want every whole hour from prefixes", w, err)
		}
		check(t, whole*0.4, 1)
	})
	t.Run("corrupt prefix is not used", func(t *testing.T) {
		// A newer version of one prefix row that counts a share too many:
		// the prefix no longer matches pool_hour, worker_hour stands in.
		// The newest whole hour before the block's: every window of more
		// than an hour reads its prefix.
		hour := uint32(end.TimeMs/1000 - end.TimeMs/1000%3600 - 3600)
		var addr string
		var d float64
		if err := st.Conn().QueryRow(ctx, `SELECT address, difficulty FROM miner_prefix FINAL
			WHERE coin = 'btc' AND solo = 0 AND hour = toDateTime(?) LIMIT 1`, hour).Scan(&addr, &d); err != nil {
			t.Fatal(err)
		}
		if err := st.Conn().Exec(ctx, `INSERT INTO miner_prefix (coin, hour, solo, address, difficulty, n, version)
			SELECT 'btc', toDateTime(?), 0, ?, ?, n + 1, version + 1 FROM miner_prefix FINAL
			WHERE coin = 'btc' AND hour = toDateTime(?) AND solo = 0 AND address = ? AND difficulty = ?`, hour, addr, d, hour, addr, d); err != nil {
			t.Fatal(err)
		}
		check(t, whole*0.85, -1)
	})
}

// checkByAddress compares a per-address window with the brute-force one.
func checkByAddress(t *testing.T, got *chstore.Window, want bruteWindow) {
	t.Helper()
	units, shares := map[string]*big.Rat{}, map[string]uint64{}
	for k, v := range want.workers {
		a := k[:strings.IndexByte(k, '/')]
		if units[a] == nil {
			units[a] = new(big.Rat)
		}
		units[a].Add(units[a], v)
		shares[a] += want.shares[k]
	}
	if len(got.Miners) != len(units) || got.Shares != want.count {
		t.Fatalf("%d addresses and %d shares, brute force %d and %d", len(got.Miners), got.Shares, len(units), want.count)
	}
	for _, m := range got.Miners {
		if m.Worker != "" || unitsRat(m.Units, got.ScaleExp).Cmp(units[m.Address]) != 0 || m.Shares != shares[m.Address] {
			t.Errorf("%s/%s: %s in %d shares, brute force %s in %d", m.Address, m.Worker, unitsRat(m.Units, got.ScaleExp).FloatString(9),
				m.Shares, units[m.Address].FloatString(9), shares[m.Address])
		}
	}
	if unitsRat(got.TotalUnits, got.ScaleExp).Cmp(want.total) != 0 || (got.Boundary != nil) != (want.boundary != nil) {
		t.Errorf("total %s boundary %v, brute force %s %v", unitsRat(got.TotalUnits, got.ScaleExp).FloatString(9), got.Boundary != nil,
			want.total.FloatString(9), want.boundary != nil)
	}
}
