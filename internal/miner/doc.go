// Package miner is jetpool's own Stratum v1 client and multi-threaded CPU
// miner, the engine of `jetpool miner`. End-to-end tests point it at a
// gateway in front of a regtest node, where almost every share is a block.
//
// It owns the client side of a pool session (configure/subscribe/authorize,
// reacting to notify, set_difficulty, set_extranonce, set_version_mask and
// client.reconnect, reconnecting with backoff), block-header assembly from a
// Stratum job (coinbase = coinb1‖extranonce1‖extranonce2‖coinb2, merkle root
// from the branch, header with the word-swapped prevhash undone), the search
// loop (nonce space split across threads, then BIP310 version bits, then
// extranonce2) and share submission with accepted/rejected accounting.
//
// Proof-of-work algorithms plug in through Algorithm/HeaderHasher; sha256d
// and scrypt (Litecoin, --algo scrypt) are built in. The package speaks the
// wire through internal/stratum and hashes with crypto/sha256 and
// golang.org/x/crypto/scrypt. It must not import the coin packages
// (internal/coin*, internal/pow, internal/target), NATS, pgx or clickhouse:
// it is a pool client, and must keep working against any Stratum v1 pool.
package miner
