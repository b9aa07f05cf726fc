package target

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"testing"
)

func bigHex(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 16)
	if !ok {
		t.Fatalf("bad hex %q", s)
	}
	return v
}

func TestWellKnownTargets(t *testing.T) {
	tests := []struct {
		name string
		got  Target
		want string
	}{
		{"sha256d diff1 (bdiff)", SHA256dDiff1, "00000000ffff0000000000000000000000000000000000000000000000000000"},
		{"scrypt diff1", ScryptDiff1, "0000ffff00000000000000000000000000000000000000000000000000000000"},
		{"max", Max, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got.String() != tc.want {
				t.Fatalf("got %s, want %s", tc.got, tc.want)
			}
		})
	}
	// Hashes per diff1 share are 2^256 / (diff1+1), rounded the way pools do.
	for _, tc := range []struct {
		name  string
		diff1 Target
		want  float64
	}{
		{"sha256d", SHA256dDiff1, SHA256dHashesPerDiff1},
		{"scrypt", ScryptDiff1, ScryptHashesPerDiff1},
	} {
		got := math.Ldexp(1, 256) / tc.diff1.Float64()
		if math.Abs(got-tc.want)/tc.want > 1e-4 {
			t.Errorf("%s: 2^256/diff1 = %v, multiplier %v", tc.name, got, tc.want)
		}
	}
}

func TestCompact(t *testing.T) {
	tests := []struct {
		name   string
		nbits  uint32
		target string // big-endian hex
		diff   float64
	}{
		{"genesis 0x1d00ffff", 0x1d00ffff, "00000000ffff0000000000000000000000000000000000000000000000000000", 1},
		{"block 100000", 0x1b04864c, "000000000004864c000000000000000000000000000000000000000000000000", 14484.1623612254},
		{"block 540107", 0x1729d72d, "00000000000000000029d72d0000000000000000000000000000000000000000", 6.727225469722534e12},
		{"block 574200", 0x172c4e11, "0000000000000000002c4e110000000000000000000000000000000000000000", 6.353030562983983e12},
		{"regtest powlimit", 0x207fffff, "7fffff0000000000000000000000000000000000000000000000000000000000", 4.6565423739069247e-10},
		{"testnet4 minimum", 0x1d00ffff, "00000000ffff0000000000000000000000000000000000000000000000000000", 1},
		{"small size 3", 0x03123456, "0000000000000000000000000000000000000000000000000000000000123456", 0},
		{"small size 1", 0x01120000, "0000000000000000000000000000000000000000000000000000000000000012", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromCompact(tc.nbits)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.target {
				t.Fatalf("FromCompact(%08x) = %s, want %s", tc.nbits, got, tc.target)
			}
			if c := got.Compact(); c != tc.nbits {
				t.Fatalf("Compact() = %08x, want %08x", c, tc.nbits)
			}
			if tc.diff == 0 {
				return
			}
			if d := BitsDifficulty(tc.nbits); math.Abs(d-tc.diff)/tc.diff > 1e-12 {
				t.Fatalf("BitsDifficulty = %.13g, want %.13g", d, tc.diff)
			}
			if d := Difficulty(SHA256dDiff1, got); math.Abs(d-tc.diff)/tc.diff > 1e-12 {
				t.Fatalf("Difficulty(bdiff) = %.13g, want %.13g", d, tc.diff)
			}
		})
	}
}

func TestCompactErrors(t *testing.T) {
	tests := []struct {
		name  string
		nbits uint32
		want  error
	}{
		{"negative", 0x04923456, ErrNegative},
		{"overflow size 35", 0x23000001, ErrOverflow},
		{"overflow size 34 two bytes", 0x22000100, ErrOverflow},
		{"overflow size 33 three bytes", 0x21010000, ErrOverflow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FromCompact(tc.nbits); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// The sign bit with a zero mantissa is zero, not negative (Core agrees).
	if v, err := FromCompact(0x01800000); err != nil || !v.IsZero() {
		t.Fatalf("FromCompact(0x01800000) = %v, %v; want 0, nil", v, err)
	}
}

// TestCompactMatchesBig checks FromCompact/Compact against math/big over
// every exponent and a spread of mantissas.
func TestCompactMatchesBig(t *testing.T) {
	for size := uint32(0); size <= 32; size++ {
		for _, word := range []uint32{0x000001, 0x00007f, 0x000080, 0x0000ff, 0x00ffff, 0x012345, 0x7fffff} {
			nbits := size<<24 | word
			got, err := FromCompact(nbits)
			if err != nil {
				continue
			}
			want := new(big.Int).SetUint64(uint64(word))
			if size <= 3 {
				want.Rsh(want, uint(8*(3-size)))
			} else {
				want.Lsh(want, uint(8*(size-3)))
			}
			if got.Big().Cmp(want) != 0 {
				t.Fatalf("FromCompact(%08x) = %s, want %x", nbits, got, want)
			}
			back, err := FromCompact(got.Compact())
			if err != nil || back != got {
				t.Fatalf("round trip of %08x through Compact gives %s (%v)", nbits, back, err)
			}
		}
	}
}

func TestHashMeets(t *testing.T) {
	tgt, _ := FromCompact(0x1b04864c)
	le := tgt.LE()
	tests := []struct {
		name string
		hash func() [32]byte
		want bool
	}{
		{"equal", func() [32]byte { return le }, true},
		{"one below", func() [32]byte { h := le; h[26]--; return h }, true},
		{"lowest byte above", func() [32]byte { h := le; h[0]++; return h }, false},
		{"top byte set", func() [32]byte { h := le; h[31] = 1; return h }, false},
		{"zero", func() [32]byte { return [32]byte{} }, true},
		{"block 100000 hash", func() [32]byte {
			b, _ := hex.DecodeString("06e533fd1ada86391f3f6c343204b0d278d4aaec1c0b20aa27ba030000000000")
			return [32]byte(b)
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.hash()
			if got := tgt.HashMeets(&h); got != tc.want {
				t.Fatalf("HashMeets = %v, want %v", got, tc.want)
			}
			want := new(big.Int).SetBytes(reverse(h[:])).Cmp(tgt.Big()) <= 0
			if want != tc.want {
				t.Fatalf("math/big disagrees with the table")
			}
		})
	}
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

func TestFromDifficulty(t *testing.T) {
	tests := []struct {
		name  string
		diff1 Target
		d     float64
		want  string // exact floor(diff1/d), big-endian hex
	}{
		{"sha256d 1", SHA256dDiff1, 1, "00000000ffff0000000000000000000000000000000000000000000000000000"},
		{"sha256d 2", SHA256dDiff1, 2, "000000007fff8000000000000000000000000000000000000000000000000000"},
		{"sha256d 65536", SHA256dDiff1, 65536, "000000000000ffff000000000000000000000000000000000000000000000000"},
		{"sha256d 0.5", SHA256dDiff1, 0.5, "00000001fffe0000000000000000000000000000000000000000000000000000"},
		{"scrypt 1", ScryptDiff1, 1, "0000ffff00000000000000000000000000000000000000000000000000000000"},
		{"sha256d block 100000 difficulty", SHA256dDiff1, 14484.1623612254, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromDifficulty(tc.diff1, tc.d)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && got.String() != tc.want {
				t.Fatalf("FromDifficulty(%v) = %s, want %s", tc.d, got, tc.want)
			}
			if back := Difficulty(tc.diff1, got); math.Abs(back-tc.d)/tc.d > 1e-12 {
				t.Fatalf("Difficulty(FromDifficulty(%v)) = %v", tc.d, back)
			}
		})
	}
	// Fractional difficulties as used on regtest: exact against math/big.
	for _, d := range []float64{0.001, 0.01, 0.125, 1e-6, 3.3, 1024.5, 1e9, 1e15} {
		got, err := FromDifficulty(SHA256dDiff1, d)
		if err != nil {
			t.Fatal(d, err)
		}
		r := new(big.Rat).SetFrac(SHA256dDiff1.Big(), big.NewInt(1))
		dr := new(big.Rat)
		dr.SetFloat64(d)
		r.Quo(r, dr)
		want := new(big.Int).Quo(r.Num(), r.Denom())
		if got.Big().Cmp(want) != 0 {
			t.Fatalf("FromDifficulty(%v) = %s, want %x", d, got, want)
		}
	}
	// Difficulty 0.001 is a target above diff1 but below 2^256.
	if got, _ := FromDifficulty(SHA256dDiff1, 0.001); got.Cmp(SHA256dDiff1) <= 0 || got == Max {
		t.Fatalf("FromDifficulty(0.001) = %s", got)
	}
	if got, _ := FromDifficulty(SHA256dDiff1, 1e-30); got != Max {
		t.Fatalf("FromDifficulty(1e-30) = %s, want Max", got)
	}
}

func TestFromDifficultyErrors(t *testing.T) {
	tests := []struct {
		name string
		d    float64
		want error
	}{
		{"zero", 0, ErrDifficulty},
		{"negative", -1, ErrDifficulty},
		{"nan", math.NaN(), ErrDifficulty},
		{"inf", math.Inf(1), ErrDifficulty},
		{"too hard", 1e80, ErrTooHard},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FromDifficulty(SHA256dDiff1, tc.d); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHashDifficulty(t *testing.T) {
	tests := []struct {
		name string
		hash string // display order (as explorers print)
		want float64
	}{
		// Real block hashes beat their network difficulty; values cross-checked
		// against math/big below.
		{"genesis", "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f", 2536.42629844531},
		{"block 100000", "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506", 17583.0562760409},
		{"diff1 exactly", "00000000ffff0000000000000000000000000000000000000000000000000000", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.hash)
			if err != nil {
				t.Fatal(err)
			}
			h := [32]byte(reverse(b))
			got := HashDifficulty(SHA256dDiff1, &h)
			// Exact value from math/big for comparison.
			q := new(big.Float).Quo(new(big.Float).SetInt(SHA256dDiff1.Big()), new(big.Float).SetInt(new(big.Int).SetBytes(b)))
			exact, _ := q.Float64()
			if math.Abs(got-exact)/exact > 1e-14 {
				t.Fatalf("HashDifficulty = %.15g, math/big says %.15g", got, exact)
			}
			if math.Abs(got-tc.want)/tc.want > 1e-9 {
				t.Fatalf("HashDifficulty = %.15g, want %.15g", got, tc.want)
			}
		})
	}
	var zero [32]byte
	if !math.IsInf(HashDifficulty(SHA256dDiff1, &zero), 1) {
		t.Fatal("difficulty of a zero hash is not +Inf")
	}
}

func TestFloat64(t *testing.T) {
	for _, s := range []string{"1", "ffffffffffffffff", "10000000000000000", "123456789abcdef0123456789", "00000000ffff0000000000000000000000000000000000000000000000000000", Max.String()} {
		v, err := FromHex(s)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := new(big.Float).SetInt(bigHex(t, s)).Float64()
		if got := v.Float64(); math.Abs(got-want)/want > 1e-15 {
			t.Fatalf("Float64(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestTextAndBig(t *testing.T) {
	v, err := FromCompact(0x1b04864c)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(struct{ T Target }{v})
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"T":"000000000004864c000000000000000000000000000000000000000000000000"}` {
		t.Fatalf("json = %s", data)
	}
	var back struct{ T Target }
	if err := json.Unmarshal(data, &back); err != nil || back.T != v {
		t.Fatalf("json round trip = %v, %v", back.T, err)
	}
	if b, err := FromBig(v.Big()); err != nil || b != v {
		t.Fatalf("big round trip = %v, %v", b, err)
	}
	if _, err := FromBig(new(big.Int).Lsh(big.NewInt(1), 256)); !errors.Is(err, ErrOverflow) {
		t.Fatalf("FromBig(2^256) err = %v", err)
	}
	if _, err := FromBig(big.NewInt(-1)); !errors.Is(err, ErrNegative) {
		t.Fatalf("FromBig(-1) err = %v", err)
	}
	for _, bad := range []string{"", "xyz", "0x", "1" + Max.String()} {
		if _, err := FromHex(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("FromHex(%q) err = %v, want ErrSyntax", bad, err)
		}
	}
	if v, err := FromHex("0x7fffff0000000000000000000000000000000000000000000000000000000000"); err != nil || v.Compact() != 0x207fffff {
		t.Fatalf("FromHex with 0x = %v, %v", v, err)
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	tgt := SHA256dDiff1
	var h [32]byte
	allocs := testing.AllocsPerRun(100, func() {
		_ = tgt.HashMeets(&h)
		_ = HashDifficulty(SHA256dDiff1, &h)
	})
	if allocs != 0 {
		t.Fatalf("allocs = %v, want 0", allocs)
	}
}

func FuzzFromCompact(f *testing.F) {
	for _, s := range []uint32{0x1d00ffff, 0x1b04864c, 0x207fffff, 0x04923456, 0x23000001, 0} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, nbits uint32) {
		v, err := FromCompact(nbits)
		if err != nil {
			return
		}
		back, err := FromCompact(v.Compact())
		if err != nil || back != v {
			t.Fatalf("%08x: round trip %s -> %08x -> %s (%v)", nbits, v, v.Compact(), back, err)
		}
	})
}

func FuzzFromHex(f *testing.F) {
	f.Add("00000000ffff0000000000000000000000000000000000000000000000000000")
	f.Add("0x1")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := FromHex(s)
		if err != nil {
			return
		}
		back, err := FromHex(v.String())
		if err != nil || back != v {
			t.Fatalf("round trip of %q: %s, %v", s, back, err)
		}
	})
}

func BenchmarkHashMeets(b *testing.B) {
	tgt := SHA256dDiff1
	var h [32]byte
	h[31] = 1
	for b.Loop() {
		_ = tgt.HashMeets(&h)
	}
}

func BenchmarkHashDifficulty(b *testing.B) {
	var h [32]byte
	h[20] = 1
	for b.Loop() {
		_ = HashDifficulty(SHA256dDiff1, &h)
	}
}

func BenchmarkFromDifficulty(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = FromDifficulty(SHA256dDiff1, 1234.5)
	}
}
