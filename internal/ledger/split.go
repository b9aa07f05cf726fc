package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strings"
)

// WorkScale is the number of work units in one unit of share difficulty:
// work is counted in integer units of 1e-8 difficulty.
const WorkScale = 100_000_000

// Reward split errors.
var (
	ErrBadWork     = errors.New("ledger: share work must be a finite number >= 0")
	ErrBadAmount   = errors.New("ledger: amount must be >= 0")
	ErrBadFee      = errors.New("ledger: fee must be within 0..10000 basis points")
	ErrNoFinder    = errors.New("ledger: solo block without a finder address")
	ErrBadNetDiff  = errors.New("ledger: network difficulty must be > 0")
	ErrEmptyWindow = errors.New("ledger: no share work in the window")
)

var bigScale = new(big.Float).SetInt64(WorkScale)

// WorkUnits converts a share difficulty (or a sum of them) to integer work
// units, rounding to the nearest unit (half to even). float64 values are
// exact in binary, so the result depends on the bits of d only: d is
// m × 2^e with an integer mantissa m < 2^53, and d × WorkScale =
// m × WorkScale × 2^e is computed exactly in 128 bits before the shift.
func WorkUnits(d float64) (*big.Int, error) {
	if math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
		return nil, fmt.Errorf("%w: %v", ErrBadWork, d)
	}
	if d == 0 {
		return new(big.Int), nil
	}
	frac, exp := math.Frexp(d) // d = frac × 2^exp, frac in [0.5, 1)
	m := uint64(frac * (1 << 53))
	e := exp - 53
	hi, lo := bits.Mul64(m, WorkScale) // < 2^80
	if e >= 0 {
		return new(big.Int).Lsh(u128Int(hi, lo), uint(e)), nil
	}
	k := uint(-e)
	if k >= 128 {
		return new(big.Int), nil // below 2^-47 units: rounds to 0
	}
	// q = x >> k; the bits shifted out decide the rounding.
	qhi, qlo := shr128(hi, lo, k)
	bhi, blo := shl128(qhi, qlo, k)
	rlo, borrow := bits.Sub64(lo, blo, 0)
	rhi, _ := bits.Sub64(hi, bhi, borrow)
	hhi, hlo := shl128(0, 1, k-1)
	if rhi > hhi || (rhi == hhi && (rlo > hlo || (rlo == hlo && qlo&1 == 1))) {
		var c uint64
		qlo, c = bits.Add64(qlo, 1, 0)
		qhi += c
	}
	return u128Int(qhi, qlo), nil
}

// shr128 returns (hi:lo) >> k, k < 128.
func shr128(hi, lo uint64, k uint) (uint64, uint64) {
	switch {
	case k == 0:
		return hi, lo
	case k >= 64:
		return 0, hi >> (k - 64)
	}
	return hi >> k, lo>>k | hi<<(64-k)
}

// shl128 returns (hi:lo) << k modulo 2^128, k < 128.
func shl128(hi, lo uint64, k uint) (uint64, uint64) {
	switch {
	case k == 0:
		return hi, lo
	case k >= 64:
		return lo << (k - 64), 0
	}
	return hi<<k | lo>>(64-k), lo << k
}

// u128Int returns hi × 2^64 + lo.
func u128Int(hi, lo uint64) *big.Int {
	z := new(big.Int).SetUint64(hi)
	if hi != 0 {
		z.Lsh(z, 64)
	}
	return z.Or(z, new(big.Int).SetUint64(lo))
}

// MinerWork is one miner's work in a reward window, in work units.
type MinerWork struct {
	Address string
	Work    *big.Int
}

// Reward is one miner's part of a block.
type Reward struct {
	Address string
	Amount  int64
	Work    *big.Int // the miner's work in the window (nil for solo)
}

// Split is a block's coinbase value divided between the pool fee and the
// miners: Fee + Σ Rewards[i].Amount == Coinbase, always.
type Split struct {
	Scheme   string
	Coinbase int64
	Fee      int64
	Rewards  []Reward // sorted by address, no zero-work entries
}

// Total returns Fee + Σ rewards (equal to Coinbase for every Split this
// package makes; Check verifies it).
func (s Split) Total() int64 {
	t := s.Fee
	for _, r := range s.Rewards {
		t += r.Amount
	}
	return t
}

// Check verifies the split invariant.
func (s Split) Check() error {
	if s.Fee < 0 {
		return fmt.Errorf("ledger: split fee %d < 0", s.Fee)
	}
	for _, r := range s.Rewards {
		if r.Amount < 0 {
			return fmt.Errorf("ledger: split reward %d < 0 for %s", r.Amount, r.Address)
		}
	}
	if t := s.Total(); t != s.Coinbase {
		return fmt.Errorf("ledger: split total %d != coinbase %d", t, s.Coinbase)
	}
	return nil
}

// FeeOf returns floor(amount × bps ÷ 10000): the pool fee of an amount.
// The rounding favours the miners.
func FeeOf(amount int64, bps int) (int64, error) {
	if amount < 0 {
		return 0, fmt.Errorf("%w: %d", ErrBadAmount, amount)
	}
	if bps < 0 || bps > 10000 {
		return 0, fmt.Errorf("%w: %d", ErrBadFee, bps)
	}
	hi, lo := bits.Mul64(uint64(amount), uint64(bps))
	q, _ := bits.Div64(hi, lo, 10000)
	return int64(q), nil
}

// SplitProportional divides coinbase in proportion to work, after the pool
// fee (FeeOf(coinbase, feeBps)). It serves PPLNS (work = the last N ×
// network difficulty of shares) and PROP (work = the round's shares).
//
// Remainder rule (largest remainder): every miner first gets
// floor(net × w ÷ W); the base units left over (fewer than the number of
// miners) go one each to the miners with the largest remainders
// net × w mod W, ties to the lexicographically smaller address. Entries of
// the same address are merged; zero work earns nothing. With no work at all
// the whole coinbase is the pool's (Fee == Coinbase) and ErrEmptyWindow is
// returned alongside the split, so a caller can decide whether that is
// acceptable.
func SplitProportional(scheme string, coinbase int64, feeBps int, work []MinerWork) (Split, error) {
	fee, err := FeeOf(coinbase, feeBps)
	if err != nil {
		return Split{}, err
	}
	parts, err := mergeWork(work)
	if err != nil {
		return Split{}, err
	}
	s := Split{Scheme: scheme, Coinbase: coinbase, Fee: fee}
	if len(parts) == 0 {
		s.Fee = coinbase
		return s, ErrEmptyWindow
	}
	total := new(big.Int)
	for i := range parts {
		total.Add(total, parts[i].work)
	}
	net := uint64(coinbase - fee)
	divide(parts, net, total)
	left := net
	for i := range parts {
		left -= parts[i].q
	}
	if left > 0 {
		// Largest remainders first, ties to the smaller address (parts are
		// sorted by address: the smaller index); fewer base units are left
		// over than there are miners.
		for _, i := range largestRemainders(parts, left) {
			parts[i].q++
		}
	}
	s.Rewards = make([]Reward, len(parts))
	for i, p := range parts {
		s.Rewards[i] = Reward{Address: p.addr, Amount: int64(p.q), Work: p.work}
	}
	return s, nil
}

// part is one miner's work, quotient and remainder in a split.
type part struct {
	addr     string
	work     *big.Int
	q        uint64
	rhi, rlo uint64   // remainder when the total fits in 128 bits
	rem      *big.Int // remainder otherwise
}

// largestRemainders returns the indices of the n parts with the largest
// remainders, ties to the smaller index.
func largestRemainders(parts []part, n uint64) []int {
	if parts[0].rem != nil {
		order := make([]int, len(parts))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(i, j int) int {
			if c := parts[j].rem.Cmp(parts[i].rem); c != 0 {
				return c
			}
			return i - j
		})
		return order[:n]
	}
	type key struct {
		hi, lo uint64
		i      int
	}
	keys := make([]key, len(parts))
	for i, p := range parts {
		keys[i] = key{p.rhi, p.rlo, i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch {
		case a.hi != b.hi:
			return cmpU64(b.hi, a.hi)
		case a.lo != b.lo:
			return cmpU64(b.lo, a.lo)
		}
		return a.i - b.i
	})
	out := make([]int, n)
	for k := range out {
		out[k] = keys[k].i
	}
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mergeWork validates the work, drops zero entries and merges entries of
// one address; the result is sorted by address and owns its integers.
func mergeWork(work []MinerWork) ([]part, error) {
	parts := make([]part, 0, len(work))
	for _, w := range work {
		if w.Work == nil || w.Work.Sign() < 0 {
			return nil, fmt.Errorf("%w: %s has %v", ErrBadWork, w.Address, w.Work)
		}
		if w.Work.Sign() != 0 {
			parts = append(parts, part{addr: w.Address, work: w.Work})
		}
	}
	byAddr := func(a, b part) int { return strings.Compare(a.addr, b.addr) }
	if !slices.IsSortedFunc(parts, byAddr) {
		slices.SortStableFunc(parts, byAddr)
	}
	out := parts[:0]
	for _, p := range parts {
		if n := len(out); n > 0 && out[n-1].addr == p.addr {
			out[n-1].work.Add(out[n-1].work, p.work)
			continue
		}
		p.work = new(big.Int).Set(p.work)
		out = append(out, p)
	}
	return out, nil
}

// divide sets every part's q = floor(net × work ÷ total) and its remainder
// net × work mod total, exactly. Totals below 2^64 take a 64×64→128-bit
// product and a 128÷64 division; totals below 2^128 a 64×128→192-bit
// product and a 192÷128 division (div192by128); larger ones big integers.
// net × work < 2^64 × total always (net < 2^63, work ≤ total), so every
// quotient fits 64 bits.
func divide(parts []part, net uint64, total *big.Int) {
	switch {
	case total.IsUint64():
		t := total.Uint64()
		for i := range parts {
			hi, lo := bits.Mul64(net, parts[i].work.Uint64())
			parts[i].q, parts[i].rlo = bits.Div64(hi, lo, t)
		}
	case total.BitLen() <= 128:
		t1, t0 := u128Of(total)
		for i := range parts {
			w1, w0 := u128Of(parts[i].work)
			// net × (w1:w0) = u2:u1:u0
			h0, u0 := bits.Mul64(net, w0)
			h1, l1 := bits.Mul64(net, w1)
			u1, c := bits.Add64(l1, h0, 0)
			u2 := h1 + c
			parts[i].q, parts[i].rhi, parts[i].rlo = div192by128(u2, u1, u0, t1, t0)
		}
	default:
		bnet := new(big.Int).SetUint64(net)
		prod, q, r := new(big.Int), new(big.Int), new(big.Int)
		for i := range parts {
			prod.Mul(bnet, parts[i].work)
			q.QuoRem(prod, total, r)
			parts[i].q = q.Uint64()
			parts[i].rem = new(big.Int).Set(r)
		}
	}
}

// u128Of returns the two 64-bit words of z (0 <= z < 2^128).
func u128Of(z *big.Int) (hi, lo uint64) {
	var buf [16]byte
	z.FillBytes(buf[:])
	return binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])
}

// div192by128 divides u2:u1:u0 by v1:v0 (v1 != 0), given u2:u1 < v1:v0 so
// that the quotient fits 64 bits; it returns the quotient and the
// remainder r1:r0. Knuth's algorithm D for one quotient digit in base 2^64:
// normalise, estimate from the top two words, correct the estimate with
// the second divisor word (at most twice), multiply and subtract. With a
// two-word divisor that correction compares q̂ × v with all of u, so it is
// exact and D's add-back step cannot happen.
func div192by128(u2, u1, u0, v1, v0 uint64) (q, r1, r0 uint64) {
	s := uint(bits.LeadingZeros64(v1))
	if s > 0 {
		v1, v0 = v1<<s|v0>>(64-s), v0<<s
		u2, u1, u0 = u2<<s|u1>>(64-s), u1<<s|u0>>(64-s), u0<<s
	}
	var rhat uint64
	check := true
	if u2 >= v1 { // u2 == v1: the estimate b−1, r̂ = u1 + v1
		var c uint64
		q = ^uint64(0)
		rhat, c = bits.Add64(u1, v1, 0)
		check = c == 0
	} else {
		q, rhat = bits.Div64(u2, u1, v1)
	}
	for check {
		ph, pl := bits.Mul64(q, v0)
		if ph < rhat || (ph == rhat && pl <= u0) {
			break
		}
		q--
		var c uint64
		rhat, c = bits.Add64(rhat, v1, 0)
		check = c == 0
	}
	// u − q × v: the remainder is below v, so two words suffice.
	p0h, m0 := bits.Mul64(q, v0)
	m1 := q*v1 + p0h
	r0, b := bits.Sub64(u0, m0, 0)
	r1, _ = bits.Sub64(u1, m1, b)
	if s > 0 {
		r0, r1 = r0>>s|r1<<(64-s), r1>>s
	}
	return q, r1, r0
}

// SplitSolo gives the finder the coinbase minus the (solo) pool fee.
func SplitSolo(coinbase int64, feeBps int, finder string) (Split, error) {
	if finder == "" {
		return Split{}, ErrNoFinder
	}
	fee, err := FeeOf(coinbase, feeBps)
	if err != nil {
		return Split{}, err
	}
	s := Split{Scheme: "solo", Coinbase: coinbase, Fee: fee}
	if coinbase-fee > 0 {
		s.Rewards = []Reward{{Address: finder, Amount: coinbase - fee}}
	}
	return s, nil
}

// SplitPoolKeeps is the split of a block found while the pool pays per
// share (PPS, FPPS): the miners were paid for their shares already, so the
// whole coinbase is the pool's.
func SplitPoolKeeps(scheme string, coinbase int64) Split {
	return Split{Scheme: scheme, Coinbase: coinbase, Fee: coinbase}
}

// PPSValue is what work units earn under PPS/FPPS:
// floor(work × blockValue × (10000 − feeBps) ÷ (networkDifficultyUnits × 10000)),
// where blockValue is the block subsidy (PPS) or the subsidy plus average
// transaction fees (FPPS) and networkDifficultyUnits is WorkUnits of the
// network difficulty. The fraction rounded away stays with the pool.
func PPSValue(work, networkDifficultyUnits *big.Int, blockValue int64, feeBps int) (int64, error) {
	if blockValue < 0 {
		return 0, fmt.Errorf("%w: %d", ErrBadAmount, blockValue)
	}
	if feeBps < 0 || feeBps > 10000 {
		return 0, fmt.Errorf("%w: %d", ErrBadFee, feeBps)
	}
	if networkDifficultyUnits == nil || networkDifficultyUnits.Sign() <= 0 {
		return 0, ErrBadNetDiff
	}
	if work == nil || work.Sign() < 0 {
		return 0, ErrBadWork
	}
	num := new(big.Int).Mul(work, big.NewInt(blockValue))
	num.Mul(num, big.NewInt(int64(10000-feeBps)))
	den := new(big.Int).Mul(networkDifficultyUnits, big.NewInt(10000))
	q := num.Quo(num, den)
	if !q.IsInt64() {
		return 0, fmt.Errorf("ledger: PPS value overflows int64 (%s)", q)
	}
	return q.Int64(), nil
}
