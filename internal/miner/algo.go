package miner

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
	"math/big"
	"sort"

	"golang.org/x/crypto/scrypt"
)

// HeaderHasher computes the proof-of-work hash of an 80-byte block header
// for one algorithm. Every mining goroutine owns one, so implementations
// need not be safe for concurrent use and may keep per-header state
// (midstates, scratchpads).
type HeaderHasher interface {
	// SetHeader fixes the header for the following Hash calls; its last
	// four bytes (the nonce) are ignored.
	SetHeader(header *[80]byte)
	// Hash writes to out the PoW hash of the header with nonce (stored
	// little-endian in bytes 76..80), in header byte order: out[31] is the
	// most significant byte when compared against a target.
	Hash(nonce uint32, out *[32]byte)
}

// Algorithm describes a proof-of-work algorithm the miner can run.
type Algorithm struct {
	Name string
	// Diff1 is the share target at pool difficulty 1. For sha256d pools it
	// is 0x00000000FFFF0000…0000 (bdiff); scrypt pools use 0x0000FFFF…
	Diff1 *big.Int
	// NewHasher returns a fresh hasher for one mining goroutine.
	NewHasher func() HeaderHasher
}

// diff1SHA256 is the conventional pool difficulty-1 target for sha256d
// (the compact target 0x1d00ffff expanded). Never modified.
var diff1SHA256 = new(big.Int).Lsh(big.NewInt(0xffff), 208)

// algorithms is the table of built-in algorithms. Adding one (scrypt for
// Litecoin, say) is one entry here and its HeaderHasher; an algorithm kept
// elsewhere can be passed in Config.Algorithm instead.
var algorithms = map[string]Algorithm{
	"sha256d": {Name: "sha256d", Diff1: diff1SHA256, NewHasher: NewSHA256d},
	"scrypt":  {Name: "scrypt", Diff1: diff1Scrypt, NewHasher: NewScrypt},
}

// diff1Scrypt is the conventional pool difficulty-1 target for scrypt
// (Litecoin): 0x0000ffff << 224, 2^16 hashes per share on average.
var diff1Scrypt = new(big.Int).Lsh(big.NewInt(0xffff), 224)

// scryptHasher is Litecoin's scrypt(header, header, N=1024, r=1, p=1, 32).
type scryptHasher struct {
	hdr [80]byte
}

// NewScrypt returns a HeaderHasher for Litecoin's scrypt proof of work.
func NewScrypt() HeaderHasher { return &scryptHasher{} }

func (s *scryptHasher) SetHeader(header *[80]byte) { s.hdr = *header }

func (s *scryptHasher) Hash(nonce uint32, out *[32]byte) {
	binary.LittleEndian.PutUint32(s.hdr[76:], nonce)
	// scrypt.Key fails only for invalid parameters; these are constant.
	k, _ := scrypt.Key(s.hdr[:], s.hdr[:], 1024, 1, 1, 32)
	copy(out[:], k)
}

// LookupAlgorithm returns the built-in algorithm called name.
func LookupAlgorithm(name string) (Algorithm, error) {
	a, ok := algorithms[name]
	if !ok {
		names := make([]string, 0, len(algorithms))
		for n := range algorithms {
			names = append(names, n)
		}
		sort.Strings(names)
		return Algorithm{}, fmt.Errorf("miner: unknown algorithm %q (have %v)", name, names)
	}
	a.Diff1 = new(big.Int).Set(a.Diff1) // the table's value stays private
	return a, nil
}

// sha256d is double SHA-256 with a midstate: the first 64 header bytes are
// hashed once per header, each nonce costs the second block plus the outer
// hash.
type sha256d struct {
	h    hash.Hash
	u    encoding.BinaryUnmarshaler
	mid  []byte // marshalled state after header[0:64]
	tail [16]byte
	sum  [32]byte
}

// NewSHA256d returns a HeaderHasher for Bitcoin's sha256d.
func NewSHA256d() HeaderHasher {
	h := sha256.New()
	s := &sha256d{h: h, u: h.(encoding.BinaryUnmarshaler)}
	s.SetHeader(new([80]byte))
	return s
}

func (s *sha256d) SetHeader(header *[80]byte) {
	s.h.Reset()
	s.h.Write(header[:64])
	s.mid, _ = s.h.(encoding.BinaryAppender).AppendBinary(s.mid[:0])
	copy(s.tail[:], header[64:])
}

func (s *sha256d) Hash(nonce uint32, out *[32]byte) {
	binary.LittleEndian.PutUint32(s.tail[12:], nonce)
	// Restoring a state this digest marshalled itself cannot fail.
	_ = s.u.UnmarshalBinary(s.mid)
	s.h.Write(s.tail[:])
	first := s.h.Sum(s.sum[:0])
	*out = sha256.Sum256(first)
}
