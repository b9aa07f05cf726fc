package chstore

import (
	"fmt"
	"math"
	"math/big"
	"strings"
)

// fixExp is the binary point of exact amounts while they are computed:
// every finite float64 difficulty, and every product of two of them that a
// pool can meet, is an integer number of 2^fixExp.
const fixExp = -1200

// fixedOf returns d × 2^-fixExp, exactly (d finite and ≥ 0).
func fixedOf(d float64) *big.Int {
	z := new(big.Int)
	if d == 0 {
		return z
	}
	frac, exp := math.Frexp(d) // d = frac × 2^exp, frac in [0.5, 1)
	m := uint64(frac * (1 << 53))
	z.SetUint64(m)
	return z.Lsh(z, uint(exp-53-fixExp))
}

// fixedProduct returns a × b × 2^-fixExp exactly, or an error when the
// product has bits below 2^fixExp.
func fixedProduct(a, b float64) (*big.Int, error) {
	p := new(big.Int).Mul(fixedOf(a), fixedOf(b)) // scale 2^(2·fixExp)
	if p.Sign() != 0 && p.TrailingZeroBits() < -fixExp {
		return nil, fmt.Errorf("%w: %v × %v is too small to represent exactly", ErrBadRequest, a, b)
	}
	return p.Rsh(p, -fixExp), nil
}

// Units is an exact non-negative integer amount of difficulty in units of
// 2^ScaleExp (see PPLNSWindow). It marshals to JSON as a decimal string so
// that no JSON reader rounds it.
type Units struct{ v big.Int }

// NewUnits returns Units holding a copy of z.
func NewUnits(z *big.Int) *Units { u := &Units{}; u.v.Set(z); return u }

// Int returns a copy of the amount.
func (u *Units) Int() *big.Int { return new(big.Int).Set(&u.v) }

func (u *Units) String() string { return u.v.String() }

// Bytes returns the amount as a big-endian magnitude (empty for zero).
func (u *Units) Bytes() []byte { return u.v.Bytes() }

// UnitsFromBytes is the inverse of Bytes.
func UnitsFromBytes(b []byte) *Units { u := &Units{}; u.v.SetBytes(b); return u }

// MarshalJSON writes the decimal string.
func (u *Units) MarshalJSON() ([]byte, error) { return []byte(`"` + u.v.String() + `"`), nil }

// UnmarshalJSON reads a decimal string (or a bare integer).
func (u *Units) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if _, ok := u.v.SetString(s, 10); !ok || u.v.Sign() < 0 {
		return fmt.Errorf("chstore: bad units %q", s)
	}
	return nil
}
