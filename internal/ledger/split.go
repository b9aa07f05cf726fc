package ledger

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"sort"
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
// exact in big.Float, so the result depends on the bits of d only.
func WorkUnits(d float64) (*big.Int, error) {
	if math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
		return nil, fmt.Errorf("%w: %v", ErrBadWork, d)
	}
	f := new(big.Float).SetPrec(0).SetFloat64(d)
	f.SetPrec(2048).Mul(f, bigScale)
	// Round half to even on the exact product.
	i, acc := f.Int(nil)
	if acc != big.Exact {
		frac := new(big.Float).SetPrec(2048).Sub(f, new(big.Float).SetPrec(2048).SetInt(i))
		switch c := frac.Cmp(big.NewFloat(0.5)); {
		case c > 0, c == 0 && i.Bit(0) == 1:
			i.Add(i, big.NewInt(1))
		}
	}
	return i, nil
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
	merged := make(map[string]*big.Int, len(work))
	for _, w := range work {
		if w.Work == nil || w.Work.Sign() < 0 {
			return Split{}, fmt.Errorf("%w: %s has %v", ErrBadWork, w.Address, w.Work)
		}
		if w.Work.Sign() == 0 {
			continue
		}
		if m, ok := merged[w.Address]; ok {
			m.Add(m, w.Work)
		} else {
			merged[w.Address] = new(big.Int).Set(w.Work)
		}
	}
	s := Split{Scheme: scheme, Coinbase: coinbase, Fee: fee}
	if len(merged) == 0 {
		s.Fee = coinbase
		return s, ErrEmptyWindow
	}
	type part struct {
		addr string
		work *big.Int
		q    int64
		rem  *big.Int
	}
	parts := make([]part, 0, len(merged))
	total := new(big.Int)
	for a, w := range merged {
		parts = append(parts, part{addr: a, work: w})
		total.Add(total, w)
	}
	net := coinbase - fee
	bnet := big.NewInt(net)
	left := net
	prod := new(big.Int)
	for i := range parts {
		prod.Mul(bnet, parts[i].work)
		q, r := new(big.Int).QuoRem(prod, total, new(big.Int))
		parts[i].q, parts[i].rem = q.Int64(), r
		left -= parts[i].q
	}
	if left > 0 {
		sort.Slice(parts, func(i, j int) bool {
			if c := parts[i].rem.Cmp(parts[j].rem); c != 0 {
				return c > 0
			}
			return parts[i].addr < parts[j].addr
		})
		for i := int64(0); i < left; i++ {
			parts[i].q++
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].addr < parts[j].addr })
	s.Rewards = make([]Reward, len(parts))
	for i, p := range parts {
		s.Rewards[i] = Reward{Address: p.addr, Amount: p.q, Work: p.work}
	}
	return s, nil
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
