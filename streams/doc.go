// Package streams is the single source of truth for the pool's JetStream
// streams, their subjects and their durable consumers. Ensure creates or
// updates all of them idempotently at start; every process may call it.
//
// Subjects carry the coin symbol (jobs.btc, shares.btc.eu, blocks.btc.found),
// so adding a coin adds no stream. This package must not import databases,
// coin code or any function.
package streams
