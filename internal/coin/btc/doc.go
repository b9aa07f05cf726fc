// Package btc is Bitcoin for jetpool: sha256d proof of work, segwit, BIP34
// coinbase heights, and P2PKH, P2SH, P2WPKH, P2WSH and P2TR payout
// addresses on mainnet, testnet (testnet3), testnet4, regtest and simnet
// (btcd's). It configures the bitcoin-family base of package coin with
// btcd's chaincfg/v2 parameters and address/v2 decoding (scripts and
// errors from package btcdaddr, shared with Litecoin).
//
// Importing the package registers it as "btc" with coin.Register; a binary
// makes Bitcoin available with a blank import:
//
//	import _ "github.com/jetpool/jetpool/internal/coin/btc"
//
// Note that testnet3, testnet4 and regtest share base58 version bytes, so a
// testnet P2PKH or P2SH address is also valid on regtest (as in Bitcoin
// Core); bech32 addresses carry their network in the prefix (bc, tb, bcrt,
// sb).
//
// Package btc must not import NATS, database drivers, the gateway or any
// function; it may import btcd's v2 modules (never btcd v1 types).
package btc
