package target

import (
	"fmt"
	"math"
	"math/big"
)

// Difficulty returns diff1 / t as a float64: the difficulty of target t.
// A zero target has infinite difficulty.
func Difficulty(diff1, t Target) float64 {
	if t.IsZero() {
		return math.Inf(1)
	}
	return diff1.Float64() / t.Float64()
}

// HashDifficulty returns the difficulty a hash actually achieved,
// diff1 / hash, with the hash read as a little-endian 256-bit number. This
// is the "actual share difficulty" recorded with every share. It does not
// allocate.
func HashDifficulty(diff1 Target, h *[32]byte) float64 {
	return Difficulty(diff1, FromHash(h))
}

// FromDifficulty returns the target of difficulty d relative to diff1,
// floor(diff1 / d), computed exactly from the binary value of d.
// Fractional difficulties (0.001 on regtest) work; a difficulty so low that
// the target would exceed 2^256-1 yields Max. d must be finite and > 0.
func FromDifficulty(diff1 Target, d float64) (Target, error) {
	if math.IsNaN(d) || math.IsInf(d, 0) || d <= 0 {
		return Target{}, fmt.Errorf("%w: %v", ErrDifficulty, d)
	}
	if d == 1 {
		return diff1, nil
	}
	// d = mant * 2^exp exactly, mant an integer of at most 53 bits.
	frac, exp := math.Frexp(d)
	mant := uint64(math.Ldexp(frac, 53))
	exp -= 53
	num := diff1.Big()
	den := new(big.Int).SetUint64(mant)
	if exp < 0 {
		num.Lsh(num, uint(-exp))
	} else {
		den.Lsh(den, uint(exp))
	}
	num.Quo(num, den)
	if num.BitLen() > 256 {
		return Max, nil
	}
	if num.Sign() == 0 {
		return Target{}, fmt.Errorf("%w: %v", ErrTooHard, d)
	}
	t, err := FromBig(num)
	if err != nil {
		return Target{}, err
	}
	return t, nil
}

// BitsDifficulty returns the network difficulty of a compact nBits value
// exactly as Bitcoin Core's GetDifficulty computes it (relative to the
// nBits 0x1d00ffff target), the number getdifficulty and block explorers
// print.
func BitsDifficulty(nbits uint32) float64 {
	shift := int((nbits >> 24) & 0xff)
	mant := float64(nbits & 0x00ffffff)
	if mant == 0 {
		return math.Inf(1)
	}
	diff := float64(0x0000ffff) / mant
	for ; shift < 29; shift++ {
		diff *= 256.0
	}
	for ; shift > 29; shift-- {
		diff /= 256.0
	}
	return diff
}
