package pow

import "crypto/sha256"

// Hasher computes the proof-of-work hash of a serialised block header.
//
// The result is the hash exactly as the hash function produces it; for the
// bitcoin family that is the little-endian 256-bit number compared with the
// target (see package target). A Hasher must be safe for concurrent use and
// should not allocate.
type Hasher func(header []byte) [32]byte

// Algorithm names as used in coin parameters and configuration.
const (
	AlgoSHA256d = "sha256d"
	AlgoScrypt  = "scrypt"
)

// SHA256d returns SHA-256(SHA-256(b)), Bitcoin's block, transaction and
// merkle hash. It does not allocate.
func SHA256d(b []byte) [32]byte {
	first := sha256.Sum256(b)
	return sha256.Sum256(first[:])
}

// SHA256dPair returns SHA256d(left ‖ right), one node of a bitcoin merkle
// tree. It does not allocate.
func SHA256dPair(left, right *[32]byte) [32]byte {
	var buf [64]byte
	copy(buf[:32], left[:])
	copy(buf[32:], right[:])
	first := sha256.Sum256(buf[:])
	return sha256.Sum256(first[:])
}

var _ Hasher = SHA256d
