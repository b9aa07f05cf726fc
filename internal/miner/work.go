package miner

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"

	"github.com/jetpool/jetpool/internal/stratum"
)

// sha256dSum returns SHA-256(SHA-256(b)).
func sha256dSum(b []byte) [32]byte {
	first := sha256.Sum256(b)
	return sha256.Sum256(first[:])
}

// coinbaseTxid returns the txid (header byte order) of the coinbase
// coinb1‖extranonce1‖extranonce2‖coinb2. buf is scratch space, returned
// grown for reuse.
func coinbaseTxid(buf []byte, n *stratum.Notify, extranonce1, extranonce2 []byte) ([32]byte, []byte) {
	buf = append(buf[:0], n.Coinb1...)
	buf = append(buf, extranonce1...)
	buf = append(buf, extranonce2...)
	buf = append(buf, n.Coinb2...)
	return sha256dSum(buf), buf
}

// MerkleRoot folds the coinbase txid with the Stratum merkle branch: at each
// level root = sha256d(root ‖ branch[i]), everything in header byte order.
func merkleRoot(txid [32]byte, branch [][32]byte) [32]byte {
	var pair [64]byte
	root := txid
	for i := range branch {
		copy(pair[:32], root[:])
		copy(pair[32:], branch[i][:])
		root = sha256dSum(pair[:])
	}
	return root
}

// buildHeader lays out an 80-byte block header: version, prevhash,
// merkle root, ntime, nbits (little-endian uint32s, hashes in header byte
// order) and nonce.
func buildHeader(version uint32, prevHash, merkleRoot *[32]byte, ntime, nbits, nonce uint32) [80]byte {
	var h [80]byte
	binary.LittleEndian.PutUint32(h[0:4], version)
	copy(h[4:36], prevHash[:])
	copy(h[36:68], merkleRoot[:])
	binary.LittleEndian.PutUint32(h[68:72], ntime)
	binary.LittleEndian.PutUint32(h[72:76], nbits)
	binary.LittleEndian.PutUint32(h[76:80], nonce)
	return h
}

// shareHeader rebuilds the header a share commits to, exactly as a pool
// checking the submit would: job n, the session's extranonce1 and the
// submit's extranonce2, ntime, nonce and BIP310 version (the rolled
// version, or n.Version without rolling).
func shareHeader(n *stratum.Notify, extranonce1, extranonce2 []byte, version, ntime, nonce uint32) [80]byte {
	txid, _ := coinbaseTxid(nil, n, extranonce1, extranonce2)
	root := merkleRoot(txid, n.MerkleBranch)
	return buildHeader(version, &n.PrevHash, &root, ntime, n.NBits, nonce)
}

// shareTarget is a 256-bit target in header byte order (little-endian): a hash
// meets it when, read as the same kind of number, it is not greater.
type shareTarget [32]byte

// targetFromDifficulty returns diff1/difficulty, truncated, clamped to
// [1, 2^256-1]. Fractional difficulties (0.0001 on regtest) are exact to
// float64 precision; a non-positive or non-finite difficulty gives diff1.
func targetFromDifficulty(difficulty float64, diff1 *big.Int) shareTarget {
	if !(difficulty > 0) || math.IsInf(difficulty, 0) {
		difficulty = 1
	}
	q := new(big.Float).SetPrec(512).SetInt(diff1)
	q.Quo(q, new(big.Float).SetPrec(512).SetFloat64(difficulty))
	t, _ := q.Int(nil)
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	if t.Cmp(max) > 0 {
		t = max
	}
	if t.Sign() <= 0 {
		t.SetInt64(1)
	}
	var be [32]byte
	t.FillBytes(be[:])
	var out shareTarget
	for i := range be {
		out[i] = be[31-i]
	}
	return out
}

// Big returns t as an integer.
func (t *shareTarget) Big() *big.Int {
	var be [32]byte
	for i := range t {
		be[i] = t[31-i]
	}
	return new(big.Int).SetBytes(be[:])
}

// Meets reports whether hash (header byte order) is at or below t.
func (t *shareTarget) Meets(hash *[32]byte) bool {
	for i := 3; i >= 0; i-- {
		h := binary.LittleEndian.Uint64(hash[i*8:])
		g := binary.LittleEndian.Uint64(t[i*8:])
		if h != g {
			return h < g
		}
	}
	return true
}

// hashDifficulty returns diff1/hash, the difficulty a hash achieves.
func hashDifficulty(hash *[32]byte, diff1 *big.Int) float64 {
	var be [32]byte
	for i := range hash {
		be[i] = hash[31-i]
	}
	h := new(big.Int).SetBytes(be[:])
	if h.Sign() == 0 {
		return math.Inf(1)
	}
	q := new(big.Float).Quo(new(big.Float).SetInt(diff1), new(big.Float).SetInt(h))
	f, _ := q.Float64()
	return f
}

// depositBits spreads the low bits of v over the set bits of mask, lowest
// first (a software PDEP): the i-th rolled version value.
func depositBits(v, mask uint32) uint32 {
	var out uint32
	for m := mask; m != 0 && v != 0; m &= m - 1 {
		if v&1 != 0 {
			out |= m & -m
		}
		v >>= 1
	}
	return out
}

// maxRollBits bounds how many version bits one work unit rolls before it
// moves to the next extranonce2: 2^16 versions × 2^32 nonces is far more
// than a CPU covers, and keeping it small keeps shares spread over
// extranonce2 values for tests with tiny nonce spans.
const maxRollBits = 16

// rollCount returns how many distinct version values a mask allows, capped.
func rollCount(mask uint32) uint64 {
	n := bits.OnesCount32(mask)
	if n > maxRollBits {
		n = maxRollBits
	}
	return 1 << n
}

// extranonce2Count returns how many extranonce2 values size bytes hold,
// capped at 2^63.
func extranonce2Count(size int) uint64 {
	if size >= 8 {
		return 1 << 63
	}
	return 1 << (8 * size)
}

// putExtranonce2 writes v big-endian into dst (its low len(dst) bytes).
func putExtranonce2(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte(v)
		v >>= 8
	}
}
