package chstore_test

import (
	"math/big"
	"sort"
	"testing"

	"github.com/jetpool/jetpool/internal/chstore"
)

// Brute-force references, computed in Go from the generated shares with
// big.Rat: independent of the store's SQL and of its fixed-point code.

func ratOf(f float64) *big.Rat { return new(big.Rat).SetFloat64(f) }

// unitsRat converts window units to a rational difficulty.
func unitsRat(u *chstore.Units, scaleExp int) *big.Rat {
	r := new(big.Rat).SetInt(u.Int())
	p := new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), uint(abs(scaleExp))))
	if scaleExp < 0 {
		return r.Quo(r, p)
	}
	return r.Mul(r, p)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// after reports whether a comes after b in the walk order.
func after(a, b *share) bool {
	if a.TimeMs != b.TimeMs {
		return a.TimeMs > b.TimeMs
	}
	if a.Gateway != b.Gateway {
		return a.Gateway > b.Gateway
	}
	if a.Seq != b.Seq {
		return a.Seq > b.Seq
	}
	return a.Idx > b.Idx
}

type bruteWindow struct {
	workers  map[string]*big.Rat // "address/worker"
	shares   map[string]uint64
	total    *big.Rat
	boundary *share
	count    uint64
}

// brutePPLNS walks back from end (inclusive, by key) over pool shares.
// A nil target sums every pool share in [fromMs, end].
func brutePPLNS(all []share, coin string, end *share, fromMs int64, target *big.Rat) bruteWindow {
	var pool []*share
	for i := range all {
		s := &all[i]
		if s.Coin != coin || !s.Accepted || s.Solo || s.TimeMs < fromMs || after(s, end) {
			continue
		}
		pool = append(pool, s)
	}
	sort.Slice(pool, func(i, j int) bool { return after(pool[i], pool[j]) })
	w := bruteWindow{workers: map[string]*big.Rat{}, shares: map[string]uint64{}, total: new(big.Rat)}
	add := func(s *share, amount *big.Rat) {
		k := s.Address + "/" + s.Worker
		if w.workers[k] == nil {
			w.workers[k] = new(big.Rat)
		}
		w.workers[k].Add(w.workers[k], amount)
		w.shares[k]++
		w.total.Add(w.total, amount)
		w.count++
	}
	for _, s := range pool {
		d := ratOf(s.Difficulty)
		if target != nil && new(big.Rat).Add(w.total, d).Cmp(target) >= 0 {
			add(s, new(big.Rat).Sub(target, w.total))
			w.boundary = s
			break
		}
		add(s, d)
	}
	return w
}

// checkWindow compares a store window with the brute-force one, exactly.
func checkWindow(t *testing.T, got *chstore.Window, want bruteWindow) {
	t.Helper()
	if got.Shares != want.count {
		t.Errorf("window has %d shares, brute force %d", got.Shares, want.count)
	}
	if len(got.Miners) != len(want.workers) {
		t.Errorf("window has %d workers, brute force %d", len(got.Miners), len(want.workers))
	}
	sum := new(big.Int)
	for _, m := range got.Miners {
		k := m.Address + "/" + m.Worker
		exp, ok := want.workers[k]
		if !ok {
			t.Errorf("worker %s in the window, not in brute force", k)
			continue
		}
		if g := unitsRat(m.Units, got.ScaleExp); g.Cmp(exp) != 0 {
			t.Errorf("worker %s: %s, brute force %s", k, g.FloatString(12), exp.FloatString(12))
		}
		if m.Shares != want.shares[k] {
			t.Errorf("worker %s: %d shares, brute force %d", k, m.Shares, want.shares[k])
		}
		sum.Add(sum, m.Units.Int())
	}
	if sum.Cmp(got.TotalUnits.Int()) != 0 {
		t.Errorf("Σ miners %s != total %s", sum, got.TotalUnits)
	}
	if g := unitsRat(got.TotalUnits, got.ScaleExp); g.Cmp(want.total) != 0 {
		t.Errorf("total %s, brute force %s", g.FloatString(12), want.total.FloatString(12))
	}
	if (got.Boundary != nil) != (want.boundary != nil) {
		t.Fatalf("boundary %v, brute force %v", got.Boundary, want.boundary)
	}
	if got.Boundary != nil {
		b := want.boundary
		if got.Boundary.ShareID != b.ShareID || got.Boundary.TimeMs != b.TimeMs {
			t.Errorf("boundary share %+v @%d, brute force %+v @%d", got.Boundary.ShareID, got.Boundary.TimeMs, b.ShareID, b.TimeMs)
		}
		if !got.Complete || got.TotalUnits.Int().Cmp(got.TargetUnits.Int()) != 0 {
			t.Errorf("complete window's total %s differs from target %s", got.TotalUnits, got.TargetUnits)
		}
	}
}
