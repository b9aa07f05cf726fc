// Package stats is the function that answers statistics questions from
// ClickHouse over NATS request/reply: a nats micro service "stats" whose
// endpoints (queue subscriptions shared by every copy) take JSON:
//
//	stats.hashrate  pool, miner or worker hashrate over 10 min, 1 h and 24 h,
//	                with its 95 % interval from the shares counted
//	stats.series    chart points: 5-minute buckets for 24 h, hourly for 30 days
//	stats.workers   a miner's workers: last share, online/offline
//	                (stats.offline_after), accepted/rejected/stale counts and rates
//	stats.pool      workers and miners online, hashrate, share rate, network
//	                difficulty and height, current round effort
//	stats.pplns     the exact PPLNS window of a block (chstore.Window)
//	stats.window    the rewards function's WindowSource contract (per-address
//	                PPLNS or round work), with exact units alongside; an
//	                answer too large for one message (InlineLimit) goes into
//	                the object store WindowBucket ("windows", created at
//	                start, objects kept WindowObjectTTL) under its SHA-256,
//	                and the reply points at it
//
// Bad input gets a 400 with the reason, an unknown block a 404, and a
// window whose shares are still on their way into ClickHouse a 503 (retry):
// windows are computed on a snapshot that every share published before the
// block is in, known from the `ingest` consumer's ack floor. Answers are
// cached for stats.cache_ttl (hot-reloaded from KV config `stats`, as is
// pool.pplns_window).
//
// It must not import the gateway, other functions or ledger code.
package stats
