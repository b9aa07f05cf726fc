// Package ingest is the function that writes every share into ClickHouse.
// It pulls shares.<coin>.<region> batches from the SHARES stream through the
// durable consumer `ingest` (shared by every copy), gathers gateway batches
// until ingest.batch_size shares or ingest.max_delay (hot-reloaded from KV
// config `ingest`), writes them with one INSERT block per table through
// chstore.Writer and acknowledges the messages only after the insert
// succeeded. While ClickHouse is down it retries with backoff, keeping its
// batch in progress and fetching nothing more, so JetStream holds the
// shares; a batch written twice (redelivery, racing copies) is invisible to
// every reader (see chstore). Rejected shares go to rejected_shares.
//
// It also runs, on the schedules of the ingest config, the hourly rollups
// (chstore.Rollup) and retention (chstore.DropExpired). Every copy runs
// them; both are idempotent.
//
// It must not import the gateway, coin code or other functions.
package ingest
