// Package ledgerfn is the start shared by the functions that keep the
// PostgreSQL ledger (accounts, blocks, pps, rewards, chainwatch, payouts):
// open the ledger the Env names, then announce the function. It is
// internal to functions/ and must not import any function package, coin
// code or ClickHouse.
package ledgerfn
