// Package bch is Bitcoin Cash for jetpool: sha256d proof of work (diff1
// target.SHA256dDiff1, 2^32 hashes per share), BIP34 coinbase heights, no
// segwit, and payout addresses in CashAddr (with or without the
// "bitcoincash:", "bchtest:", "bchreg:" or "bchsim:" prefix, one case)
// or legacy base58 form, P2PKH and P2SH, on mainnet, testnet (testnet3),
// testnet4, regtest and simnet (bchd's). The CashAddr codec (polymod
// checksum, 5-bit regrouping) is implemented here; token-aware CashAddr
// types 2 and 3 pay the same scripts as types 0 and 1. Bech32 (segwit)
// addresses are rejected with coin.ErrUnsupportedAddress, and so are
// CashAddrs of other hash sizes (P2SH-32).
//
// Templates: getblocktemplate takes no "rules" (TemplateRules is empty;
// bchd ignores the field). A witness transaction in a template is an
// error and a "default_witness_commitment", which no Bitcoin Cash node
// sends, is ignored: the coinbase never carries a witness commitment.
//
// Limits: the pool mines the node's template as it is, so the block size
// limit (MaxBlockSize, 32 MB on mainnet since May 2018 and adaptive above
// it since May 2024) and the sigchecks limit (sizelimit/141) are the
// node's. ParseTemplate checks the template against its own "sizelimit"
// and "sigchecklimit" (bchd and BCHN send both), reserving room for the
// largest coinbase the pool builds, and fails with ErrTemplateLimit
// (wrapping coin.ErrBadTemplate) when the transactions do not fit. The
// coinbase has no signature checks. NewJob pads the pool tag so that the
// coinbase is at least MinCoinbaseSize (100) bytes, the minimum
// transaction size of the November 2018 rules (65 since May 2023).
//
// Importing the package registers it as "bch" with coin.Register:
//
//	import _ "github.com/jetpool/jetpool/internal/coin/bch"
//
// Package bch must not import NATS, database drivers, the gateway or any
// function; it may import btcd's v2 modules (never btcd v1 types).
package bch
