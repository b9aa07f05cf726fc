package chstore_test

import (
	"context"
	"errors"
	"math/big"
	"reflect"
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
