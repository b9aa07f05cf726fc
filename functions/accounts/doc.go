// Package accounts is the registry of miners and workers. It consumes
// events.worker.> (durable consumer `accounts`): a miner (coin, payout
// address) and its worker are created the first time they authorize, and
// last-seen and the online flag follow every later event (an event older
// than what is recorded changes nothing, so redelivery is harmless). It
// answers, for other functions and the web:
//
//	accounts.get        {"coin","address"}              → ledger.Account (balance, immature, paid, workers)
//	accounts.threshold  {"coin","address","threshold"}  → the account; sets the miner's own payout threshold
//
// The web must authenticate the owner of the address before it forwards a
// threshold change. The package must not talk to nodes or wallets.
package accounts
