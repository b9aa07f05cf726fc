package ledger

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"
)

func bi(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return v
}

func TestWorkUnits(t *testing.T) {
	cases := []struct {
		name string
		d    float64
		want string
		err  error
	}{
		{"zero", 0, "0", nil},
		{"one", 1, "100000000", nil},
		{"regtest share", 0.0001, "10000", nil},
		{"exact half rounds to even (down)", 1.0 / 512, "195312", nil}, // 195312.5 units
		{"exact half rounds to even (up)", 3.0 / 512, "585938", nil},   // 585937.5 units
		{"nearest, not truncated", 5e-9, "1", nil},                     // the float64 is a hair above 0.5 units
		{"tiny", 1e-9, "0", nil},
		{"large difficulty", 1 << 40, "109951162777600000000", nil},
		{"fraction", 1.23456789, "123456789", nil},
		{"negative", -1, "", ErrBadWork},
		{"nan", math.NaN(), "", ErrBadWork},
		{"inf", math.Inf(1), "", ErrBadWork},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := WorkUnits(c.d)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				return
			}
			if err != nil || got.String() != c.want {
				t.Fatalf("WorkUnits(%v) = %v, %v; want %s", c.d, got, err, c.want)
			}
		})
	}
}

// workUnitsRef is WorkUnits computed with exact rationals: d × WorkScale
// rounded to the nearest integer, half to even.
func workUnitsRef(d float64) *big.Int {
	x := new(big.Rat).Mul(new(big.Rat).SetFloat64(d), new(big.Rat).SetInt64(WorkScale))
	q, r := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	switch c := new(big.Int).Lsh(r, 1).Cmp(x.Denom()); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		q.Add(q, big.NewInt(1))
	}
	return q
}

func TestWorkUnitsMatchesRationals(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	check := func(d float64) {
		t.Helper()
		got, err := WorkUnits(d)
		if err != nil || got.Cmp(workUnitsRef(d)) != 0 {
			t.Fatalf("WorkUnits(%v = %b) = %v, %v; want %v", d, d, got, err, workUnitsRef(d))
		}
	}
	// Every shift the 128-bit path takes, halves and their neighbours,
	// subnormals and the largest finite value.
	for e := -1100; e <= 1000; e++ {
		for _, m := range []float64{1, 1.5, 0.75, 1 + 0x1p-52, 2 - 0x1p-52} {
			check(math.Ldexp(m, e))
		}
	}
	// Exact halves of a unit are the odd multiples of 2^-9 (10^8 = 2^8 × 5^8).
	for odd := 1.0; odd < 4000; odd += 2 {
		half := odd / 512
		check(half)
		check(math.Nextafter(half, 0))
		check(math.Nextafter(half, 1))
	}
	check(5e-324)
	check(math.MaxFloat64)
	for i := 0; i < 200_000; i++ {
		check(math.Ldexp(r.Float64()+0.5, r.IntN(200)-120))
	}
}

func TestFeeOf(t *testing.T) {
	cases := []struct {
		name    string
		amount  int64
		bps     int
		want    int64
		wantErr bool
	}{
		{"1 percent of 50 BTC", 5_000_000_000, 100, 50_000_000, false},
		{"rounds down", 999, 150, 14, false},
		{"zero fee", 123, 0, 0, false},
		{"all", 123, 10000, 123, false},
		{"max int64 does not overflow", math.MaxInt64, 9999, 9222449699651090329, false},
		{"negative amount", -1, 100, 0, true},
		{"fee above 100%", 1, 10001, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := FeeOf(c.amount, c.bps)
			if (err != nil) != c.wantErr || got != c.want {
				t.Fatalf("FeeOf(%d, %d) = %d, %v; want %d (err %v)", c.amount, c.bps, got, err, c.want, c.wantErr)
			}
		})
	}
}

func TestSplitProportionalExamples(t *testing.T) {
	cases := []struct {
		name    string
		cb      int64
		bps     int
		work    []MinerWork
		fee     int64
		rewards map[string]int64
		err     error
	}{
		{"even split", 1000, 0, []MinerWork{{"a", bi("1")}, {"b", bi("1")}}, 0, map[string]int64{"a": 500, "b": 500}, nil},
		{"remainder to the largest fraction", 100, 0, []MinerWork{{"a", bi("1")}, {"b", bi("2")}}, 0, map[string]int64{"a": 33, "b": 67}, nil},
		{"tie goes to smaller address", 100, 0, []MinerWork{{"c", bi("1")}, {"b", bi("1")}, {"a", bi("1")}}, 0, map[string]int64{"a": 34, "b": 33, "c": 33}, nil},
		{"fee first", 10_000, 150, []MinerWork{{"a", bi("3")}, {"b", bi("1")}}, 150, map[string]int64{"a": 7388, "b": 2462}, nil},
		{"same address merged", 90, 0, []MinerWork{{"a", bi("1")}, {"a", bi("1")}, {"b", bi("1")}}, 0, map[string]int64{"a": 60, "b": 30}, nil},
		{"zero work earns nothing", 90, 0, []MinerWork{{"a", bi("1")}, {"z", bi("0")}}, 0, map[string]int64{"a": 90}, nil},
		{"empty window: pool keeps all", 90, 100, nil, 90, map[string]int64{}, ErrEmptyWindow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := SplitProportional("pplns", c.cb, c.bps, c.work)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if s.Fee != c.fee {
				t.Errorf("fee = %d, want %d", s.Fee, c.fee)
			}
			got := map[string]int64{}
			for _, r := range s.Rewards {
				got[r.Address] = r.Amount
			}
			if fmt.Sprint(got) != fmt.Sprint(c.rewards) {
				t.Errorf("rewards = %v, want %v", got, c.rewards)
			}
			if err := s.Check(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestSplitRejectsBadInput(t *testing.T) {
	if _, err := SplitProportional("prop", 100, 0, []MinerWork{{"a", bi("-1")}}); !errors.Is(err, ErrBadWork) {
		t.Errorf("negative work: %v", err)
	}
	if _, err := SplitProportional("prop", -5, 0, nil); !errors.Is(err, ErrBadAmount) {
		t.Errorf("negative coinbase: %v", err)
	}
	if _, err := SplitSolo(100, 0, ""); !errors.Is(err, ErrNoFinder) {
		t.Errorf("solo without finder: %v", err)
	}
}

func TestSplitSoloAndPoolKeeps(t *testing.T) {
	s, err := SplitSolo(5_000_000_000, 50, "finder")
	if err != nil || s.Fee != 25_000_000 || len(s.Rewards) != 1 || s.Rewards[0].Amount != 4_975_000_000 || s.Check() != nil {
		t.Fatalf("solo split = %+v, %v", s, err)
	}
	p := SplitPoolKeeps("pps", 12345)
	if p.Fee != 12345 || len(p.Rewards) != 0 || p.Check() != nil {
		t.Fatalf("pps split = %+v", p)
	}
}

// reference computes the split independently with exact rationals: the
// ideal share of each miner, floor, then leftovers by largest fractional
// part, ties by address.
func reference(cb int64, bps int, work map[string]*big.Int) (int64, map[string]int64) {
	fee := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(cb), big.NewInt(int64(bps))), big.NewInt(10000))
	feeInt := new(big.Int).Quo(fee.Num(), fee.Denom()).Int64()
	total := new(big.Int)
	for _, w := range work {
		total.Add(total, w)
	}
	if total.Sign() == 0 {
		return cb, map[string]int64{}
	}
	net := cb - feeInt
	type e struct {
		a    string
		q    int64
		frac *big.Rat
	}
	var es []e
	var sum int64
	for a, w := range work {
		if w.Sign() == 0 {
			continue
		}
		ideal := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(net), w), total)
		q := new(big.Int).Quo(ideal.Num(), ideal.Denom())
		frac := new(big.Rat).Sub(ideal, new(big.Rat).SetInt(q))
		es = append(es, e{a, q.Int64(), frac})
		sum += q.Int64()
	}
	sort.Slice(es, func(i, j int) bool {
		if c := es[i].frac.Cmp(es[j].frac); c != 0 {
			return c > 0
		}
		return es[i].a < es[j].a
	})
	out := map[string]int64{}
	for i, x := range es {
		if int64(i) < net-sum {
			x.q++
		}
		out[x.a] = x.q
	}
	return feeInt, out
}

func TestSplitProportionalProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// Work scales by iteration: totals below 2^64 (64-bit path), up to
	// 2^128 (remainders in 128 bits) and beyond (big remainders).
	shifts := []int{0, 20, 40, 80, 120}
	for iter := 0; iter < 5000; iter++ {
		shift := shifts[iter%len(shifts)]
		cb := r.Int64N(21_000_000 * 100_000_000)
		if iter%10 == 0 {
			cb = r.Int64N(50) // tiny coinbases: remainders dominate
		}
		bps := r.IntN(10001)
		n := 1 + r.IntN(40)
		var work []MinerWork
		agg := map[string]*big.Int{}
		for i := 0; i < n; i++ {
			a := fmt.Sprintf("addr%02d", r.IntN(n))
			w := new(big.Int).Lsh(big.NewInt(r.Int64N(1<<40)), uint(r.IntN(shift+1)))
			if r.IntN(4) == 0 { // equal works: ties between remainders
				w = new(big.Int).Lsh(big.NewInt(7), uint(shift))
			}
			if r.IntN(8) == 0 {
				w = big.NewInt(0)
			}
			work = append(work, MinerWork{a, w})
			if agg[a] == nil {
				agg[a] = new(big.Int)
			}
			agg[a].Add(agg[a], w)
		}
		s, err := SplitProportional("pplns", cb, bps, work)
		if err != nil && !errors.Is(err, ErrEmptyWindow) {
			t.Fatal(err)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		wantFee, want := reference(cb, bps, agg)
		if s.Fee != wantFee && len(want) > 0 {
			t.Fatalf("iter %d: fee %d, reference %d", iter, s.Fee, wantFee)
		}
		got := map[string]int64{}
		for _, rw := range s.Rewards {
			got[rw.Address] = rw.Amount
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("iter %d: split %v, reference %v", iter, got, want)
		}
		// Order of the input does not matter.
		r.Shuffle(len(work), func(i, j int) { work[i], work[j] = work[j], work[i] })
		s2, _ := SplitProportional("pplns", cb, bps, work)
		if fmt.Sprint(s2.Rewards) != fmt.Sprint(s.Rewards) || s2.Fee != s.Fee {
			t.Fatalf("iter %d: split depends on input order", iter)
		}
	}
}

func FuzzSplitProportional(f *testing.F) {
	f.Add(int64(5_000_000_000), 100, []byte{1, 2, 3, 4, 5, 6})
	f.Add(int64(7), 0, []byte{9, 9, 9})
	f.Fuzz(func(t *testing.T, cb int64, bps int, ws []byte) {
		if cb < 0 || bps < 0 || bps > 10000 {
			return
		}
		var work []MinerWork
		for i, b := range ws {
			work = append(work, MinerWork{Address: fmt.Sprint(i % 7), Work: big.NewInt(int64(b))})
		}
		s, err := SplitProportional("prop", cb, bps, work)
		if err != nil && !errors.Is(err, ErrEmptyWindow) {
			t.Fatal(err)
		}
		if err := s.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPPSValue(t *testing.T) {
	nd, _ := WorkUnits(1000)
	cases := []struct {
		name  string
		work  float64
		value int64
		bps   int
		want  int64
	}{
		{"share of diff 1 at net diff 1000", 1, 5_000_000_000, 0, 5_000_000},
		{"with 2 percent fee", 1, 5_000_000_000, 200, 4_900_000},
		{"rounds down", 0.0001, 5_000_000_000, 0, 500},
		{"below one unit", 0.00000001, 5_000_000_000, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, _ := WorkUnits(c.work)
			got, err := PPSValue(w, nd, c.value, c.bps)
			if err != nil || got != c.want {
				t.Fatalf("PPSValue = %d, %v; want %d", got, err, c.want)
			}
		})
	}
	if _, err := PPSValue(big.NewInt(1), big.NewInt(0), 1, 0); !errors.Is(err, ErrBadNetDiff) {
		t.Errorf("zero network difficulty: %v", err)
	}
}

func BenchmarkSplitPPLNS100kMiners(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	work := make([]MinerWork, 100_000)
	for i := range work {
		w, _ := WorkUnits(float64(r.IntN(10_000_000)) * 1024)
		work[i] = MinerWork{Address: fmt.Sprintf("bc1qminer%07d", i), Work: w}
	}
	b.ResetTimer()
	for b.Loop() {
		s, err := SplitProportional("pplns", 312_500_000+r.Int64N(50_000_000), 100, work)
		if err != nil || s.Check() != nil {
			b.Fatal(err)
		}
	}
}

// TestDiv192by128MatchesBigInt checks the 192÷128-bit division against
// math/big on random and edge-case operands: every normalisation shift,
// the estimate's b−1 case (top dividend word equal to the top divisor
// word), and remainders just below the divisor.
func TestDiv192by128MatchesBigInt(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	word := func() uint64 {
		switch r.IntN(6) {
		case 0:
			return 0
		case 1:
			return ^uint64(0)
		case 2:
			return 1 << r.IntN(64)
		case 3:
			return ^uint64(0) >> r.IntN(64)
		}
		return r.Uint64()
	}
	of := func(ws ...uint64) *big.Int {
		z := new(big.Int)
		for _, w := range ws {
			z.Lsh(z, 64).Or(z, new(big.Int).SetUint64(w))
		}
		return z
	}
	for i := 0; i < 300_000; i++ {
		v1, v0 := word()>>r.IntN(64), word()
		if v1 == 0 {
			v1 = 1 + r.Uint64N(1<<uint(r.IntN(63)+1))
		}
		v := of(v1, v0)
		// A dividend below v × 2^64: random, or q × v + rem with a chosen q.
		var u *big.Int
		switch i % 4 {
		case 3: // top words just below the divisor: quotient near 2^64, the b−1 estimate
			u = new(big.Int).Sub(v, big.NewInt(int64(1+r.IntN(3))))
			u.Lsh(u, 64).Or(u, new(big.Int).SetUint64(word()))
		case 0:
			u = new(big.Int).Mod(of(word(), word(), word()), new(big.Int).Lsh(v, 64))
		case 1:
			u = new(big.Int).Mul(v, new(big.Int).SetUint64(word()))
			u.Add(u, new(big.Int).Sub(v, big.NewInt(1)))
		default:
			u = new(big.Int).Mul(v, new(big.Int).SetUint64(word()))
		}
		if u.Cmp(new(big.Int).Lsh(v, 64)) >= 0 {
			continue
		}
		buf := make([]byte, 24)
		u.FillBytes(buf)
		u2, u1, u0 := be64(buf[0:8]), be64(buf[8:16]), be64(buf[16:24])
		q, r1, r0 := div192by128(u2, u1, u0, v1, v0)
		wq, wr := new(big.Int).QuoRem(u, v, new(big.Int))
		if !wq.IsUint64() || wq.Uint64() != q || of(r1, r0).Cmp(wr) != 0 {
			t.Fatalf("%x ÷ %x = %x rem %x; want %x rem %x", u, v, q, of(r1, r0), wq, wr)
		}
	}
}

func be64(b []byte) uint64 {
	var x uint64
	for _, c := range b {
		x = x<<8 | uint64(c)
	}
	return x
}
