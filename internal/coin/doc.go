// Package coin owns the plug-in boundary between jetpool and a cryptocurrency:
// the Coin interface, the registry of coins, the block template and the
// compact Stratum job built from it, and a shared base for the bitcoin family
// (coinbase, merkle branch, 80-byte header, block serialisation, the length
// bound of payout addresses and the output scripts of their standard types).
//
// Everything coin-specific sits behind Coin (ARCHITECTURE rule 6): the
// gateway checks shares from a Job alone, with Job.Check and the coin's
// Hasher; the jobmaker turns a getblocktemplate reply into a Job with
// Coin.ParseTemplate and Coin.NewJob; blocksubmit serialises a solved block
// with Coin.BuildBlock. A new coin is a new package under internal/coin that
// calls Register from its init function; a binary makes it available with a
// blank import, for example
//
//	import _ "github.com/jetpool/jetpool/internal/coin/btc"
//
// and then finds it with coin.Get("btc", "regtest").
//
// Package coin imports the standard library, internal/pow and
// internal/target only. It must not import btcd (coin packages may), NATS,
// database drivers, the gateway or any function.
package coin
