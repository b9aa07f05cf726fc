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
// Metrics (registered by Run): jetpool_accounts_events_total{coin,event,result}
// counts worker events recorded (result applied) or without a miner to
// record (result anonymous), event being the gateway's event name or
// "other"; jetpool_accounts_events_malformed_total the undecodable events
// dropped; jetpool_accounts_requests_total{endpoint,result} the requests
// of endpoint get or threshold answered ok, bad_request or error (no coin
// label: requests carry whatever the caller sent).
//
// The web must authenticate the owner of the address before it forwards a
// threshold change. The package must not talk to nodes or wallets.
package accounts
