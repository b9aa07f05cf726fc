package bch

import (
	"errors"
	"fmt"
	"strings"
)

// CashAddr (https://upgradespecs.bitcoincashnode.org/cashaddr/): prefix ":"
// base32(version byte ‖ hash ‖ 40-bit BCH checksum), the checksum computed
// over the low 5 bits of every prefix character, a zero separator and the
// 5-bit payload.

// cashCharset is CashAddr's (and bech32's) base32 alphabet.
const cashCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// cashRev maps an ASCII character to its 5-bit value, or -1.
var cashRev = func() [128]int8 {
	var r [128]int8
	for i := range r {
		r[i] = -1
	}
	for i, c := range cashCharset {
		r[c] = int8(i)
	}
	return r
}()

// CashAddr address types (version byte bits 3..6). Types 2 and 3 are the
// token-aware forms (CHIP-2022-02 CashTokens) of the same output scripts.
const (
	CashP2PKH      = 0
	CashP2SH       = 1
	CashTokenP2PKH = 2
	CashTokenP2SH  = 3
)

// CashAddr decoding errors; they are wrapped in *coin.AddressError's Detail.
var (
	errCashChecksum = errors.New("cashaddr: checksum mismatch")
	errCashCase     = errors.New("cashaddr: mixed case")
	errCashChar     = errors.New("cashaddr: invalid character")
	errCashPadding  = errors.New("cashaddr: non-zero padding")
	errCashLength   = errors.New("cashaddr: payload length")
)

// cashPolymod is the CashAddr checksum generator (BCH code over GF(2^5)).
func cashPolymod(v []byte) uint64 {
	c := uint64(1)
	for _, d := range v {
		c0 := byte(c >> 35)
		c = ((c & 0x07ffffffff) << 5) ^ uint64(d)
		if c0&0x01 != 0 {
			c ^= 0x98f2bc8e61
		}
		if c0&0x02 != 0 {
			c ^= 0x79b76d99e2
		}
		if c0&0x04 != 0 {
			c ^= 0xf33e5fb3c4
		}
		if c0&0x08 != 0 {
			c ^= 0xae2eabe2a8
		}
		if c0&0x10 != 0 {
			c ^= 0x1e4f43e470
		}
	}
	return c ^ 1
}

// cashAddr is a decoded CashAddr.
type cashAddr struct {
	Prefix string // lower case, as written or the default
	Type   byte
	Hash   []byte
}

// decodeCashAddr decodes s; a string without ":" is read with
// defaultPrefix. It checks case, characters, checksum, padding and that
// the hash length matches the version byte's size bits. It does not judge
// the prefix or the type.
func decodeCashAddr(s, defaultPrefix string) (cashAddr, error) {
	if strings.ToLower(s) != s && strings.ToUpper(s) != s {
		return cashAddr{}, errCashCase
	}
	s = strings.ToLower(s)
	prefix, payload := defaultPrefix, s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		prefix, payload = s[:i], s[i+1:]
	}
	if prefix == "" {
		return cashAddr{}, fmt.Errorf("cashaddr: empty prefix")
	}
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i]; c < 0x21 || c > 0x7e || c == ':' {
			return cashAddr{}, errCashChar
		}
	}
	// 8 checksum characters plus at least the version byte.
	if len(payload) < 8+2 {
		return cashAddr{}, errCashLength
	}
	data := make([]byte, 0, len(prefix)+1+len(payload))
	for i := 0; i < len(prefix); i++ {
		data = append(data, prefix[i]&0x1f)
	}
	data = append(data, 0)
	for i := 0; i < len(payload); i++ {
		c := payload[i]
		if c >= 128 || cashRev[c] < 0 {
			return cashAddr{}, errCashChar
		}
		data = append(data, byte(cashRev[c]))
	}
	if cashPolymod(data) != 0 {
		return cashAddr{}, errCashChecksum
	}
	five := data[len(prefix)+1 : len(data)-8]
	raw, err := from5Bits(five)
	if err != nil {
		return cashAddr{}, err
	}
	ver := raw[0]
	if ver&0x80 != 0 {
		return cashAddr{}, fmt.Errorf("cashaddr: reserved version bit set (%#02x)", ver)
	}
	sizes := [8]int{20, 24, 28, 32, 40, 48, 56, 64}
	if want := sizes[ver&0x07]; len(raw)-1 != want {
		return cashAddr{}, fmt.Errorf("%w: %d-byte hash, version %#02x says %d", errCashLength, len(raw)-1, ver, want)
	}
	return cashAddr{Prefix: prefix, Type: ver >> 3 & 0x0f, Hash: raw[1:]}, nil
}

// from5Bits regroups 5-bit values into bytes; the padding must be under 5
// bits and zero.
func from5Bits(five []byte) ([]byte, error) {
	out := make([]byte, 0, len(five)*5/8)
	var acc uint32
	bits := 0
	for _, v := range five {
		acc = acc<<5 | uint32(v)
		bits += 5
		for bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	if bits >= 5 || acc&(1<<bits-1) != 0 {
		return nil, errCashPadding
	}
	if len(out) == 0 {
		return nil, errCashLength
	}
	return out, nil
}

// EncodeCashAddr returns the CashAddr of a 20-byte hash of type typ with
// prefix (lower case, with the prefix). Tests and tools use it to
// translate legacy addresses.
func EncodeCashAddr(prefix string, typ byte, hash []byte) (string, error) {
	if len(hash) != 20 || typ > 0x0f || prefix == "" {
		return "", fmt.Errorf("cashaddr: cannot encode type %d with a %d-byte hash", typ, len(hash))
	}
	raw := append([]byte{typ << 3}, hash...)
	var five []byte
	var acc uint32
	bits := 0
	for _, b := range raw {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			five = append(five, byte(acc>>bits)&0x1f)
		}
	}
	if bits > 0 {
		five = append(five, byte(acc<<(5-bits))&0x1f)
	}
	data := make([]byte, 0, len(prefix)+1+len(five)+8)
	for i := 0; i < len(prefix); i++ {
		data = append(data, prefix[i]&0x1f)
	}
	data = append(data, 0)
	data = append(data, five...)
	data = append(data, make([]byte, 8)...)
	mod := cashPolymod(data)
	var sb strings.Builder
	sb.WriteString(prefix)
	sb.WriteByte(':')
	for _, v := range five {
		sb.WriteByte(cashCharset[v])
	}
	for i := 0; i < 8; i++ {
		sb.WriteByte(cashCharset[(mod>>(5*(7-i)))&0x1f])
	}
	return sb.String(), nil
}
