// Package btcdaddr turns payout addresses decoded with btcd's address/v2
// into output scripts, for the bitcoin-family coins whose address formats
// btcd decodes (base58check P2PKH and P2SH, bech32 and bech32m segwit):
// Bitcoin and Litecoin. It owns the part of address decoding those coins
// share: the script of each btcd address type and the mapping of btcd's
// errors to *coin.AddressError. Each coin package keeps what differs: its
// chain parameters, which address types it pays and how it tells a
// wrong-network address from a malformed one.
//
// Package btcdaddr imports package coin and btcd's address/v2 only (its
// tests also chaincfg/v2); it
// must not import a coin package, NATS, database drivers, the gateway or
// any function.
package btcdaddr
