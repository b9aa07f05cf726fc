// Package pow owns the proof-of-work hash functions of the coins jetpool
// mines and the Hasher type through which a coin plugs its own function in.
//
// The hashes here are on the share hot path: they must not allocate.
//
// Package pow imports the standard library only; it must not import coin
// packages, btcd, NATS or any storage driver.
package pow
