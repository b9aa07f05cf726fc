// Package chstore owns the pool's ClickHouse database: the schema and its
// versioned migrations (embedded, applied at start), the batch writer for
// shares, the readers behind the statistics service (hashrate sums, chart
// series, workers, pool figures), the exact PPLNS window, the hourly
// rollups and retention by dropping day partitions. It speaks the native
// protocol (clickhouse-go/v2) and runs on ClickHouse 18.16 as on current
// releases: no TTL, DateTime64, LowCardinality or window functions; every
// INSERT names its columns.
//
// # Tables
//
//	shares           accepted shares, one row each, partitioned by day
//	rejected_shares  rejected shares with their reason
//	pool_minute      per minute and gateway batch (materialized view)
//	miner_shares     the accepted shares again, sorted by a hash of the
//	                 address: a miner's and its workers' shares are one
//	                 key range (materialized view)
//	pool_hour        per hour and difficulty, exact share counts (rollup)
//	worker_hour      per worker, hour and difficulty (rollup)
//	miner_prefix     per address and difficulty, the day's shares from
//	                 midnight through each rolled-up hour (rollup)
//	miner_prefix_log which day prefixes were written completely, by version
//
// # Exactly once
//
// A share's identity is (gateway, seq, idx): the gateway, the sequence of
// its batch — one NATS message — and the share's index in it. The ingest
// function acknowledges a message only after its shares are in ClickHouse,
// so a message can be written twice (redelivered after a crash or an
// ambiguous error, or handled by two racing copies) but never lost. The
// rule that makes the second write invisible:
//
//  1. Every table is a ReplacingMergeTree whose sorting key contains the
//     identity of what a row counts — (ts_ms, gateway, seq, idx) for a
//     share, (minute, gateway, seq) for a batch's minute row — next to
//     columns that are functions of it (coin, address hash, minute).
//     Two writes of one message therefore give rows with equal keys.
//  2. Every read that sums uses FINAL, which keeps one row per key, and
//     merges keep one row per key on disk. Equal keys never meet in one
//     read's result twice, whatever the parts look like.
//  3. The views are exact under rule 2 because their rows are deterministic
//     per message: a gateway batch is always written whole by one INSERT
//     block (the Writer sends each table as one block and a batch never
//     spans writes), so pool_minute groups the same shares into the same
//     (minute, gateway, seq) rows every time the batch is written, and
//     miner_shares copies shares one to one.
//  4. Sums over many messages (hours) cannot keep the identity of what they
//     count, so they are not fed by views: Rollup recomputes an hour from
//     `shares FINAL` and writes rows versioned by its watermark, and FINAL
//     keeps the newest version. A rollup row counts exactly the shares with
//     ins < version; `ver` makes the copy that survives the earliest one, so
//     a share's ins never changes and a recomputation never counts a share
//     twice or drops one.
//
// TestDuplicatesInvisible proves it: with merges stopped, every batch is
// written two and three times (physically present, as count() without
// FINAL shows), and every reader returns what a single write gives.
//
// # Exact PPLNS
//
// The window walks back from the block share in the order (ts_ms, gateway,
// seq, idx) until the share difficulties reach N × network difficulty; the
// boundary share counts only with the part that fills the window. All
// amounts are computed with big integers from the float64 difficulties, so
// nothing depends on the order ClickHouse sums in: a window is returned as
// integers in units of 2^ScaleExp difficulty whose sum is exactly the
// target. Reads are limited to shares inserted before AsOf (a snapshot),
// whole hours come from rollups only when provably equal to that snapshot.
//
// Two ways compute the same window. The fast path (pplns_fast.go) locates
// the boundary minute from approximate sums (pool_hour, pool_minute), then
// reads everything after it at once — raw shares of the block's hour, of
// stale hours and of the smaller side of the boundary hour; whole hours
// from the day prefixes (P(b) − P(a−1): one row per miner and prefix, not
// per miner and hour) or worker_hour — and walks the boundary minute share
// by share. A rollup is credited only when its per-difficulty counts equal
// pool_hour's for the same hours: counts only grow with the version and
// pool_hour is written first, so equal sums mean equal counts key by key.
// What it cannot prove it leaves to the step-by-step walk (walkRaw,
// walkHours), which its tests also compare it with.
//
// chstore must not import NATS, functions or coin code: it stores and
// answers; the functions decide.
package chstore
