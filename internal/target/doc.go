// Package target owns 256-bit proof-of-work targets and their conversion to
// and from compact nBits and floating-point difficulty.
//
// A Target is an unsigned 256-bit integer held in four 64-bit limbs, so the
// share hot path (HashMeets, HashDifficulty) runs without allocation; the
// conversions that are not on the hot path (FromDifficulty, FromBig) use
// math/big.
//
// Difficulty is always relative to a "difficulty 1" target (diff1) that
// depends on the proof-of-work family: SHA256dDiff1 (0x00000000ffff0000…,
// "bdiff") for sha256d coins and ScryptDiff1 (0x0000ffff0000…) for scrypt
// pool shares. Network difficulty as nodes print it (getdifficulty) is
// computed from nBits with BitsDifficulty.
//
// Package target imports the standard library only.
package target
