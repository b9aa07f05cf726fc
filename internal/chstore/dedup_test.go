package chstore_test

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/chstore"
)

// TestDuplicatesInvisible writes every gateway batch once into one
// database and three times — in different INSERT groupings, with merges
// stopped so that all copies stay on disk — into another, and checks that
// every reader returns the same answers from both, equal to a brute-force
// computation over the distinct shares.
func TestDuplicatesInvisible(t *testing.T) {
	ctx := context.Background()
	once, thrice := newStore(t), newStore(t)
	for _, table := range append(chstore.PartitionedTables, "schema_migrations") {
		if err := thrice.Conn().Exec(ctx, fmt.Sprintf("SYSTEM STOP MERGES %s.%s", thrice.Database(), table)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(time.Minute)
	g := gen{seed: 3, coin: "btc", gateways: 3, miners: 12, workers: 3, perBatch: 50,
		from: now.Add(-150 * time.Minute), to: now.Add(-2 * time.Minute), shares: 20000, soloEvery: 7, rejectPct: 5,
		blockAt: map[int]int64{12000: 900, 18000: 901}}
	batches, all := g.batches()
	write(t, once, batches, 5000)
	for _, chunk := range []int{5000, 1234, 777} {
		write(t, thrice, batches, chunk)
	}
	accepted, rejected := 0, 0
	for _, s := range all {
		if s.Accepted {
			accepted++
		} else {
			rejected++
		}
	}
	// The copies are really there.
	if n := count(t, thrice, "SELECT count() FROM shares"); n != uint64(3*accepted) {
		t.Fatalf("thrice: %d raw rows, want %d (merges must be stopped for this test to prove anything)", n, 3*accepted)
	}
	if n := count(t, thrice, "SELECT count() FROM rejected_shares"); n != uint64(3*rejected) {
		t.Fatalf("thrice: %d raw rejected rows, want %d", n, 3*rejected)
	}
	waitVisible(t, thrice)
	for name, st := range map[string]*chstore.Store{"once": once, "thrice": thrice} {
		if n := count(t, st, "SELECT count() FROM shares FINAL"); n != uint64(accepted) {
			t.Errorf("%s: %d shares with FINAL, want %d", name, n, accepted)
		}
		if n := count(t, st, "SELECT count() FROM rejected_shares FINAL"); n != uint64(rejected) {
			t.Errorf("%s: %d rejected shares with FINAL, want %d", name, n, rejected)
		}
		if _, err := st.Rollup(ctx, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}

	at := now
	windows := []time.Duration{10 * time.Minute, time.Hour, 24 * time.Hour}
	miner, worker := all[0].Address, all[0].Worker
	scopes := []chstore.Scope{chstore.Pool("btc"), chstore.Miner("btc", miner), chstore.Worker("btc", miner, worker)}
	answers := map[string][]string{}
	for _, st := range []*chstore.Store{once, thrice} {
		var got []string
		for _, sc := range scopes {
			sums, err := st.Hashrate(ctx, sc, at, windows)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range sums {
				want := bruteSums(all, sc, s.From, at)
				if s.Shares != want.Shares || !near(s.SumDifficulty, want.SumDifficulty) || !near(s.SumDifficulty2, want.SumDifficulty2) {
					t.Errorf("hashrate %+v window %s: %+v, brute force %+v", sc, windows[i], s, want)
				}
				got = append(got, fmt.Sprint(s.Shares))
			}
			for _, step := range []time.Duration{5 * time.Minute, time.Hour} {
				pts, err := st.Series(ctx, sc, at.Add(-24*time.Hour), at, step)
				if err != nil {
					t.Fatal(err)
				}
				var total uint64
				for _, p := range pts {
					want := bruteSums(all, sc, p.Time, p.Time.Add(step-time.Millisecond))
					if p.Shares != want.Shares || !near(p.SumDifficulty, want.SumDifficulty) {
						t.Errorf("series %+v step %s at %s: %+v, brute force %+v", sc, step, p.Time, p, want)
					}
					total += p.Shares
				}
				got = append(got, fmt.Sprint(total))
			}
		}
		ws, err := st.Workers(ctx, "btc", miner, at, windows)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range ws {
			acc, rej, stale, last := bruteWorker(all, miner, w.Worker, w.Windows[2].From, at)
			if w.Accepted != acc || w.Rejected != rej || w.Stale != stale || !w.LastShare.Equal(last) {
				t.Errorf("worker %s: %d/%d/%d last %s, brute force %d/%d/%d last %s",
					w.Worker, w.Accepted, w.Rejected, w.Stale, w.LastShare, acc, rej, stale, last)
			}
			got = append(got, fmt.Sprintf("%s:%d:%d:%d", w.Worker, w.Accepted, w.Rejected, w.Stale))
		}
		if len(ws) != g.workers {
			t.Errorf("%d workers, want %d", len(ws), g.workers)
		}
		ps, err := st.PoolStats(ctx, "btc", at, 10*time.Minute, windows)
		if err != nil {
			t.Fatal(err)
		}
		wantPool := brutePool(all, at, 10*time.Minute, ps.Windows[2].From)
		if ps.Workers != wantPool.workers || ps.Miners != wantPool.miners || ps.Rejected != wantPool.rejected || ps.Stale != wantPool.stale {
			t.Errorf("pool: %d workers, %d miners, %d rejected, %d stale; brute force %+v", ps.Workers, ps.Miners, ps.Rejected, ps.Stale, wantPool)
		}
		if ps.LastBlock == nil || ps.LastBlock.Height != 901 || ps.NetworkDifficulty != 5e7 {
			t.Errorf("pool: last block %+v, network difficulty %v; want height 901, 5e7", ps.LastBlock, ps.NetworkDifficulty)
		}
		if !near(ps.RoundDifficulty, wantPool.round) {
			t.Errorf("pool: round difficulty %v, brute force %v", ps.RoundDifficulty, wantPool.round)
		}
		got = append(got, fmt.Sprint(ps.Workers, ps.Miners, ps.Rejected))
		win, err := st.PPLNS(ctx, chstore.PPLNSRequest{Coin: "btc", Height: 901, N: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		var end *share
		for i := range all {
			if all[i].Block && all[i].Height == 901 {
				end = &all[i]
			}
		}
		checkWindow(t, win, brutePPLNS(all, "btc", end, 0, new(big.Rat).Mul(ratOf(0.5), ratOf(5e7))))
		got = append(got, win.TotalUnits.String(), fmt.Sprint(win.Shares))
		answers[fmt.Sprint(len(answers))] = got
	}
	if !reflect.DeepEqual(answers["0"], answers["1"]) {
		t.Fatalf("answers differ:\nonce:   %s\nthrice: %s", strings.Join(answers["0"], " "), strings.Join(answers["1"], " "))
	}
}

func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func inScope(s *share, sc chstore.Scope) bool {
	switch sc.Level {
	case chstore.LevelMiner:
		return s.Address == sc.Address
	case chstore.LevelWorker:
		return s.Address == sc.Address && s.Worker == sc.Worker
	}
	return true
}

// bruteSums sums accepted shares of a scope whose minute lies in
// [from, minute of to].
func bruteSums(all []share, sc chstore.Scope, from, to time.Time) chstore.Sums {
	var out chstore.Sums
	lastMinute := to.Unix() - to.Unix()%60
	for i := range all {
		s := &all[i]
		m := s.TimeMs/1000 - (s.TimeMs/1000)%60
		if !s.Accepted || !inScope(s, sc) || m < from.Unix() || m > lastMinute {
			continue
		}
		out.Shares++
		out.SumDifficulty += s.Difficulty
		out.SumDifficulty2 += s.Difficulty * s.Difficulty
	}
	return out
}

func bruteWorker(all []share, address, worker string, from, at time.Time) (acc, rej, stale uint64, last time.Time) {
	for _, s := range all {
		if s.Address != address || s.Worker != worker {
			continue
		}
		if s.Accepted {
			if t := time.UnixMilli(s.TimeMs).UTC(); t.After(last) {
				last = t
			}
			if m := s.TimeMs/1000 - (s.TimeMs/1000)%60; m >= from.Unix() && s.TimeMs <= at.UnixMilli() {
				acc++
			}
			continue
		}
		if s.TimeMs >= from.UnixMilli() && s.TimeMs <= at.UnixMilli() {
			rej++
			if s.Reason == "stale" {
				stale++
			}
		}
	}
	return
}

type poolWant struct {
	workers, miners, rejected, stale uint64
	round                            float64
}

func brutePool(all []share, at time.Time, online time.Duration, from time.Time) poolWant {
	var out poolWant
	workers, miners := map[string]bool{}, map[string]bool{}
	var block *share
	for i := range all {
		s := &all[i]
		if s.Accepted && s.TimeMs > at.Add(-online).UnixMilli() && s.TimeMs <= at.UnixMilli() {
			workers[s.Address+"/"+s.Worker], miners[s.Address] = true, true
		}
		if !s.Accepted && s.TimeMs >= from.UnixMilli() && s.TimeMs <= at.UnixMilli() {
			out.rejected++
			if s.Reason == "stale" {
				out.stale++
			}
		}
		if s.Accepted && s.Block && !s.Solo && (block == nil || after(s, block)) {
			block = s
		}
	}
	for i := range all {
		s := &all[i]
		if s.Accepted && !s.Solo && s.TimeMs <= at.UnixMilli() && (block == nil || after(s, block)) {
			out.round += s.Difficulty
		}
	}
	out.workers, out.miners = uint64(len(workers)), uint64(len(miners))
	return out
}
