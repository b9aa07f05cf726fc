// Package ledger owns the pool's money: the PostgreSQL schema (embedded
// migrations applied at start), the SQL that records miners, workers,
// blocks, block rewards, PPS credits, balances and payouts, the invariant
// check, and the pure reward-split arithmetic of every payout scheme.
//
// This is financial software. Amounts are int64 base units (satoshis) and
// never floats. Share difficulty is a float64 on the wire; it enters the
// money arithmetic only through WorkUnits, which turns it into an exact
// integer count of 1e-8 difficulty units (math/big, round half to even), so
// the same shares always give the same split. Every split obeys
// Σ rewards + fee = coinbase value exactly; the rule for remainders is the
// largest-remainder method with ties broken by address (see Split).
//
// Every write is keyed (block hash, share-batch id, payout id) so a handler
// that sees a message twice changes nothing the second time.
//
// The package must not import NATS, ClickHouse, node RPC or any function
// package: callers bring the facts, the ledger records them.
package ledger
