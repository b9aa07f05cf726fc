package pow

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/bits"
	"sync"
)

// Scrypt parameters of Litecoin's proof of work: scrypt(header, header,
// N=1024, r=1, p=1, dkLen=32) over the 80-byte header.
const (
	ScryptN = 1024
	// scryptWords is the size of one ROMix block (128·r bytes) in words.
	scryptWords = 32
)

// ScryptState holds the scratchpad (128 KiB) and hash states of one scrypt
// computation. A state is not safe for concurrent use; Scrypt draws them
// from a pool, a mining loop can own one.
type ScryptState struct {
	v      [ScryptN * scryptWords]uint32
	x      [scryptWords]uint32
	b      [128]byte
	inner  hash.Hash
	outer  hash.Hash
	ipad   [64]byte
	opad   [64]byte
	sum    [32]byte
	key    [32]byte
	ctr    [4]byte
	keySum [32]byte
}

// NewScryptState returns a state for ScryptState.Sum.
func NewScryptState() *ScryptState {
	return &ScryptState{inner: sha256.New(), outer: sha256.New()}
}

var scryptPool = sync.Pool{New: func() any { return NewScryptState() }}

// Scrypt returns Litecoin's proof-of-work hash of a header: scrypt with
// N=1024, r=1, p=1 and a 32-byte key, the header being both password and
// salt. Like SHA256d the result is in internal byte order (compare it with
// a target as a little-endian number). It does not allocate once the pool
// of scratchpads is warm.
func Scrypt(header []byte) [32]byte {
	s := scryptPool.Get().(*ScryptState)
	var out [32]byte
	s.Sum(header, &out)
	scryptPool.Put(s)
	return out
}

// Sum writes scrypt(in, in, 1024, 1, 1, 32) to out.
func (s *ScryptState) Sum(in []byte, out *[32]byte) {
	s.setKey(in)
	// B = PBKDF2-HMAC-SHA256(in, in, 1 iteration, 128 bytes).
	for i := 0; i < 4; i++ {
		s.hmac(in, uint32(i+1), s.b[i*32:i*32:i*32+32])
	}
	for i := range s.x {
		s.x[i] = binary.LittleEndian.Uint32(s.b[i*4:])
	}
	s.roMix()
	for i := range s.x {
		binary.LittleEndian.PutUint32(s.b[i*4:], s.x[i])
	}
	// Key = PBKDF2-HMAC-SHA256(in, B', 1 iteration, 32 bytes).
	s.hmac(s.b[:], 1, s.key[:0])
	*out = s.key
}

// setKey prepares the HMAC pads for key (hashed first when longer than a
// SHA-256 block, as an 80-byte header is).
func (s *ScryptState) setKey(key []byte) {
	k := key
	if len(k) > 64 {
		s.inner.Reset()
		s.inner.Write(k)
		k = s.inner.Sum(s.keySum[:0])
	}
	clear(s.ipad[:])
	copy(s.ipad[:], k)
	s.opad = s.ipad
	for i := range s.ipad {
		s.ipad[i] ^= 0x36
		s.opad[i] ^= 0x5c
	}
}

// hmac appends HMAC-SHA256(key, salt ‖ BE32(block)) to dst, with the key
// set by setKey: one PBKDF2 block of one iteration.
func (s *ScryptState) hmac(salt []byte, block uint32, dst []byte) {
	binary.BigEndian.PutUint32(s.ctr[:], block)
	s.inner.Reset()
	s.inner.Write(s.ipad[:])
	s.inner.Write(salt)
	s.inner.Write(s.ctr[:])
	first := s.inner.Sum(s.sum[:0])
	s.outer.Reset()
	s.outer.Write(s.opad[:])
	s.outer.Write(first)
	s.outer.Sum(dst)
}

// roMix is scrypt's ROMix with r=1 on s.x.
func (s *ScryptState) roMix() {
	for i := 0; i < ScryptN; i++ {
		copy(s.v[i*scryptWords:], s.x[:])
		blockMix(&s.x)
	}
	for i := 0; i < ScryptN; i++ {
		j := int(s.x[16]&(ScryptN-1)) * scryptWords
		for k := range s.x {
			s.x[k] ^= s.v[j+k]
		}
		blockMix(&s.x)
	}
}

// blockMix is scrypt's BlockMix with r=1: Y0 = Salsa(B1 ⊕ B0),
// Y1 = Salsa(Y0 ⊕ B1), result Y0 ‖ Y1.
func blockMix(b *[32]uint32) {
	var t [16]uint32
	for i := range t {
		t[i] = b[16+i] ^ b[i]
	}
	salsa8(&t)
	copy(b[:16], t[:])
	for i := range t {
		t[i] ^= b[16+i]
	}
	salsa8(&t)
	copy(b[16:], t[:])
}

// salsa8 replaces b with Salsa20/8(b): four double rounds, then the input
// added word by word.
func salsa8(b *[16]uint32) {
	x := *b
	for i := 0; i < 8; i += 2 {
		// Column round.
		x[4] ^= bits.RotateLeft32(x[0]+x[12], 7)
		x[8] ^= bits.RotateLeft32(x[4]+x[0], 9)
		x[12] ^= bits.RotateLeft32(x[8]+x[4], 13)
		x[0] ^= bits.RotateLeft32(x[12]+x[8], 18)
		x[9] ^= bits.RotateLeft32(x[5]+x[1], 7)
		x[13] ^= bits.RotateLeft32(x[9]+x[5], 9)
		x[1] ^= bits.RotateLeft32(x[13]+x[9], 13)
		x[5] ^= bits.RotateLeft32(x[1]+x[13], 18)
		x[14] ^= bits.RotateLeft32(x[10]+x[6], 7)
		x[2] ^= bits.RotateLeft32(x[14]+x[10], 9)
		x[6] ^= bits.RotateLeft32(x[2]+x[14], 13)
		x[10] ^= bits.RotateLeft32(x[6]+x[2], 18)
		x[3] ^= bits.RotateLeft32(x[15]+x[11], 7)
		x[7] ^= bits.RotateLeft32(x[3]+x[15], 9)
		x[11] ^= bits.RotateLeft32(x[7]+x[3], 13)
		x[15] ^= bits.RotateLeft32(x[11]+x[7], 18)
		// Row round.
		x[1] ^= bits.RotateLeft32(x[0]+x[3], 7)
		x[2] ^= bits.RotateLeft32(x[1]+x[0], 9)
		x[3] ^= bits.RotateLeft32(x[2]+x[1], 13)
		x[0] ^= bits.RotateLeft32(x[3]+x[2], 18)
		x[6] ^= bits.RotateLeft32(x[5]+x[4], 7)
		x[7] ^= bits.RotateLeft32(x[6]+x[5], 9)
		x[4] ^= bits.RotateLeft32(x[7]+x[6], 13)
		x[5] ^= bits.RotateLeft32(x[4]+x[7], 18)
		x[11] ^= bits.RotateLeft32(x[10]+x[9], 7)
		x[8] ^= bits.RotateLeft32(x[11]+x[10], 9)
		x[9] ^= bits.RotateLeft32(x[8]+x[11], 13)
		x[10] ^= bits.RotateLeft32(x[9]+x[8], 18)
		x[12] ^= bits.RotateLeft32(x[15]+x[14], 7)
		x[13] ^= bits.RotateLeft32(x[12]+x[15], 9)
		x[14] ^= bits.RotateLeft32(x[13]+x[12], 13)
		x[15] ^= bits.RotateLeft32(x[14]+x[13], 18)
	}
	for i := range b {
		b[i] += x[i]
	}
}

var _ Hasher = Scrypt
