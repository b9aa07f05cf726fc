-- Day prefixes of the hourly rollups, per payout address: the rows of hour
-- H hold, per (solo, address, difficulty), the number of shares from the
-- start of H's day (UTC) through the end of H. A PPLNS window's whole hours
-- [a, b] of one day are then P(b) − P(a − 1): two or three reads of one row
-- per miner instead of one row per miner and hour. Store.Rollup keeps them
-- (from worker_hour FINAL and the previous hour's prefix), versioned like
-- the hourly rollups; FINAL keeps the newest version of each key. Readers
-- never trust a prefix blindly: its per-difficulty counts must equal the
-- pool_hour counts of the hours it covers (see pplns_fast.go).
CREATE TABLE IF NOT EXISTS miner_prefix (
    coin       String,
    hour       DateTime,
    solo       UInt8,
    address    String,
    difficulty Float64,
    n          UInt64,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(hour)
ORDER BY (coin, hour, solo, address, difficulty);

-- One row per prefix written completely: (coin, hour) was rebuilt by the
-- rollup of `version`. Rollup reads it to find prefixes older than an hour
-- they cover (or missing), and rebuilds them.
CREATE TABLE IF NOT EXISTS miner_prefix_log (
    coin    String,
    hour    DateTime,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(hour)
ORDER BY (coin, hour);
