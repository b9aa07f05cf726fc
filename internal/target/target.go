package target

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
)

// Target is an unsigned 256-bit integer in little-endian 64-bit limbs:
// t[0] holds the least significant bits, t[3] the most significant.
//
// Its text form (String, MarshalText) is 64 big-endian hex digits, the form
// getblocktemplate's "target" field uses.
type Target [4]uint64

// Errors returned by the conversions. Callers test them with errors.Is.
var (
	ErrNegative   = errors.New("target: negative value")
	ErrOverflow   = errors.New("target: value does not fit in 256 bits")
	ErrDifficulty = errors.New("target: difficulty must be a finite number > 0")
	ErrTooHard    = errors.New("target: difficulty too high, target would be zero")
	ErrSyntax     = errors.New("target: bad hex")
)

// Well-known targets.
var (
	// Max is 2^256-1: every hash meets it.
	Max = Target{math.MaxUint64, math.MaxUint64, math.MaxUint64, math.MaxUint64}

	// SHA256dDiff1 is the pool difficulty-1 target of sha256d coins,
	// 0x00000000ffff << 208 ("bdiff"). A share of difficulty 1 takes
	// 2^32 hashes on average.
	SHA256dDiff1 = Target{0, 0, 0, 0xffff << 16}

	// ScryptDiff1 is the conventional pool difficulty-1 target of scrypt
	// coins (Litecoin), 0x0000ffff << 224. A share of difficulty 1 takes
	// 2^16 hashes on average.
	ScryptDiff1 = Target{0, 0, 0, 0xffff << 32}
)

// Hashes per difficulty-1 share, by proof-of-work family: the factor that
// turns a sum of share difficulties per second into hashes per second.
const (
	SHA256dHashesPerDiff1 = 1 << 32
	ScryptHashesPerDiff1  = 1 << 16
)

// FromHash returns the 256-bit number a little-endian hash (as produced by
// SHA256d) represents.
func FromHash(h *[32]byte) Target {
	return Target{
		binary.LittleEndian.Uint64(h[0:8]),
		binary.LittleEndian.Uint64(h[8:16]),
		binary.LittleEndian.Uint64(h[16:24]),
		binary.LittleEndian.Uint64(h[24:32]),
	}
}

// HashMeets reports whether the little-endian hash h, read as a 256-bit
// number, is less than or equal to t. It does not allocate.
func (t *Target) HashMeets(h *[32]byte) bool {
	if v := binary.LittleEndian.Uint64(h[24:32]); v != t[3] {
		return v < t[3]
	}
	if v := binary.LittleEndian.Uint64(h[16:24]); v != t[2] {
		return v < t[2]
	}
	if v := binary.LittleEndian.Uint64(h[8:16]); v != t[1] {
		return v < t[1]
	}
	return binary.LittleEndian.Uint64(h[0:8]) <= t[0]
}

// Cmp compares t and u and returns -1, 0 or +1.
func (t Target) Cmp(u Target) int {
	for i := 3; i >= 0; i-- {
		if t[i] != u[i] {
			if t[i] < u[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// IsZero reports whether t is zero.
func (t Target) IsZero() bool { return t == Target{} }

// BitLen returns the number of bits needed to represent t.
func (t Target) BitLen() int {
	for i := 3; i >= 0; i-- {
		if t[i] != 0 {
			return 64*i + bits.Len64(t[i])
		}
	}
	return 0
}

// Float64 returns t as the nearest float64 (within one unit in the last
// place). It does not allocate.
func (t Target) Float64() float64 {
	for i := 3; i >= 0; i-- {
		if t[i] == 0 {
			continue
		}
		if i == 0 {
			return float64(t[0])
		}
		s := uint(bits.LeadingZeros64(t[i]))
		top := t[i] << s
		if s > 0 {
			top |= t[i-1] >> (64 - s)
		}
		return math.Ldexp(float64(top), 64*i-int(s))
	}
	return 0
}

// Bytes returns t as 32 big-endian bytes.
func (t Target) Bytes() [32]byte {
	var b [32]byte
	for i := 0; i < 4; i++ {
		binary.BigEndian.PutUint64(b[24-8*i:32-8*i], t[i])
	}
	return b
}

// LE returns t as 32 little-endian bytes, the byte order of a hash.
func (t Target) LE() [32]byte {
	var b [32]byte
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint64(b[8*i:8*i+8], t[i])
	}
	return b
}

// Big returns t as a new big.Int.
func (t Target) Big() *big.Int {
	b := t.Bytes()
	return new(big.Int).SetBytes(b[:])
}

// FromBig converts a non-negative big.Int of at most 256 bits.
func FromBig(x *big.Int) (Target, error) {
	if x.Sign() < 0 {
		return Target{}, ErrNegative
	}
	if x.BitLen() > 256 {
		return Target{}, ErrOverflow
	}
	var b [32]byte
	x.FillBytes(b[:])
	return fromBE(&b), nil
}

func fromBE(b *[32]byte) Target {
	var t Target
	for i := 0; i < 4; i++ {
		t[i] = binary.BigEndian.Uint64(b[24-8*i : 32-8*i])
	}
	return t
}

// FromHex parses a big-endian hex number of at most 64 digits, such as
// getblocktemplate's "target" field. An optional 0x prefix is accepted.
func FromHex(s string) (Target, error) {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) == 0 || len(s) > 64 {
		return Target{}, fmt.Errorf("%w: length %d", ErrSyntax, len(s))
	}
	var padded [64]byte
	for i := range padded {
		padded[i] = '0'
	}
	copy(padded[64-len(s):], s)
	var b [32]byte
	if _, err := hex.Decode(b[:], padded[:]); err != nil {
		return Target{}, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	return fromBE(&b), nil
}

// String returns t as 64 big-endian hex digits.
func (t Target) String() string {
	b := t.Bytes()
	return hex.EncodeToString(b[:])
}

// MarshalText implements encoding.TextMarshaler (64 hex digits).
func (t Target) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Target) UnmarshalText(b []byte) error {
	v, err := FromHex(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// FromCompact expands a compact nBits value the way Bitcoin Core's
// arith_uint256::SetCompact does, rejecting negative and overflowing
// encodings.
func FromCompact(nbits uint32) (Target, error) {
	size := uint(nbits >> 24)
	word := uint64(nbits & 0x007fffff)
	if word != 0 && nbits&0x00800000 != 0 {
		return Target{}, fmt.Errorf("%w: nbits %08x", ErrNegative, nbits)
	}
	if word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32)) {
		return Target{}, fmt.Errorf("%w: nbits %08x", ErrOverflow, nbits)
	}
	if size <= 3 {
		return Target{word >> (8 * (3 - size))}, nil
	}
	return Target{word}.lsh(8 * (size - 3)), nil
}

// Compact returns the compact nBits encoding of t (Bitcoin Core's
// arith_uint256::GetCompact); precision beyond 23 bits of mantissa is lost.
func (t Target) Compact() uint32 {
	size := uint((t.BitLen() + 7) / 8)
	var word uint64
	if size <= 3 {
		word = t[0] << (8 * (3 - size))
	} else {
		word = t.rsh(8 * (size - 3))[0]
	}
	if word&0x00800000 != 0 {
		word >>= 8
		size++
	}
	return uint32(word) | uint32(size)<<24
}

// lsh returns t << n, dropping bits shifted past 256.
func (t Target) lsh(n uint) Target {
	var r Target
	limbs, s := n/64, n%64
	for i := 3; i >= int(limbs); i-- {
		v := t[i-int(limbs)] << s
		if s > 0 && i-int(limbs)-1 >= 0 {
			v |= t[i-int(limbs)-1] >> (64 - s)
		}
		r[i] = v
	}
	return r
}

// rsh returns t >> n.
func (t Target) rsh(n uint) Target {
	var r Target
	limbs, s := n/64, n%64
	for i := 0; i+int(limbs) < 4; i++ {
		v := t[i+int(limbs)] >> s
		if s > 0 && i+int(limbs)+1 < 4 {
			v |= t[i+int(limbs)+1] << (64 - s)
		}
		r[i] = v
	}
	return r
}
