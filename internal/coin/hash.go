package coin

import (
	"encoding/hex"
	"fmt"
)

// Hash is a 32-byte double-SHA256 hash in internal byte order: the order in
// which it is serialised inside headers and transactions and in which
// SHA256d returns it.
//
// Its text form (String, MarshalText) is the reversed "display" hex that
// bitcoind RPC and block explorers print (previousblockhash, txid).
type Hash [32]byte

// String returns the display (byte-reversed) hex form.
func (h Hash) String() string {
	var r [32]byte
	for i := range h {
		r[31-i] = h[i]
	}
	return hex.EncodeToString(r[:])
}

// MarshalText implements encoding.TextMarshaler with the display form.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (display form).
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := HashFromString(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// HashFromString parses a 64-digit display (byte-reversed) hex hash as
// printed by bitcoind RPC.
func HashFromString(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("hash %q: want 64 hex digits, got %d", truncate(s), len(s))
	}
	var b [32]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return h, fmt.Errorf("hash %q: %w", truncate(s), err)
	}
	for i := range b {
		h[31-i] = b[i]
	}
	return h, nil
}

// StratumPrevHash returns the Stratum mining.notify form of a previous-block
// hash: the internal byte order with the bytes of each 32-bit word swapped
// (equivalently, the display hex with its eight 4-byte words in reverse
// order).
func StratumPrevHash(h Hash) string {
	var b [32]byte
	for w := 0; w < 8; w++ {
		for i := 0; i < 4; i++ {
			b[4*w+i] = h[4*w+3-i]
		}
	}
	return hex.EncodeToString(b[:])
}

// HexBytes is a byte slice whose JSON form is a hex string.
type HexBytes []byte

// String returns the hex form.
func (b HexBytes) String() string { return hex.EncodeToString(b) }

// MarshalText implements encoding.TextMarshaler.
func (b HexBytes) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(len(b)))
	hex.Encode(out, b)
	return out, nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *HexBytes) UnmarshalText(text []byte) error {
	out := make([]byte, hex.DecodedLen(len(text)))
	if _, err := hex.Decode(out, text); err != nil {
		return fmt.Errorf("hex bytes: %w", err)
	}
	*b = out
	return nil
}

// truncate shortens untrusted input quoted in error messages.
func truncate(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
