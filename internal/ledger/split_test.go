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
	for iter := 0; iter < 2000; iter++ {
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
			w := new(big.Int).Lsh(big.NewInt(r.Int64N(1<<40)), uint(r.IntN(40)))
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
