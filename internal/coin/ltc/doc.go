// Package ltc is Litecoin for jetpool: scrypt proof of work
// (N=1024, r=1, p=1 over the 80-byte header), segwit, BIP34 coinbase
// heights, the MimbleWimble extension block (MWEB), and P2PKH, P2SH
// (both the M/Q version byte and the legacy 3/2 one), P2WPKH and P2WSH
// payout addresses on mainnet, testnet (testnet4) and regtest.
//
// Share difficulty follows the convention scrypt miners and pools use:
// difficulty 1 is the target 0x0000ffff << 224 (target.ScryptDiff1), which
// takes 2^16 scrypt hashes on average, so the hashrate multiplier is
// target.ScryptHashesPerDiff1 = 65536 (sha256d pools use 2^32). A Litecoin
// network difficulty as litecoind prints it (getdifficulty, based on
// 0x1d00ffff) is 65536 times smaller than the same target in pool
// difficulty.
//
// MWEB: after activation a getblocktemplate reply carries an "mweb" field
// (the serialised extension block) and its last transaction is the HogEx
// (integrating transaction, serialised with Litecoin's MWEB flag 0x08).
// ParseTemplate takes the HogEx's ids from the node, BuildBlock writes
// header ‖ varint(n) ‖ coinbase ‖ transactions (HogEx last) ‖ 0x01 ‖ mweb.
//
// Importing the package registers it as "ltc" with coin.Register.
//
// Package ltc must not import NATS, database drivers, the gateway or any
// function; it may import btcd's v2 modules (never btcd v1 types).
package ltc
