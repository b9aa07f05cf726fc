-- Raw shares. One row per share; a share's identity is (gateway, seq, idx):
-- the gateway id, the gateway's batch (NATS message) sequence and the
-- share's index in that batch. A redelivered or racing batch writes rows
-- that are identical in every column but `ins`/`ver`, and every such row has
-- the same sorting key, so ReplacingMergeTree collapses them when parts
-- merge and `FINAL` collapses them in every read before that (see doc.go).
-- `ver` makes the surviving copy the earliest one, so a share's `ins` (when
-- it first reached ClickHouse) never changes: "shares inserted before T" is
-- a stable snapshot, which rollups and PPLNS windows rely on.
CREATE TABLE IF NOT EXISTS shares (
    coin               String,
    region             String,
    gateway            String,
    seq                UInt64,
    idx                UInt32,
    ts_ms              Int64,
    time               DateTime DEFAULT toDateTime(intDiv(ts_ms, 1000)),
    address            String,
    worker             String,
    difficulty         Float64,
    actual_difficulty  Float64,
    height             Int64,
    network_difficulty Float64,
    job_id             String,
    block              UInt8,
    solo               UInt8,
    ins                DateTime DEFAULT now(),
    ver                UInt32 DEFAULT toUInt32(4294967295 - toUInt32(ins))
) ENGINE = ReplacingMergeTree(ver)
PARTITION BY toYYYYMMDD(time)
ORDER BY (coin, ts_ms, gateway, seq, idx);

-- Rejected shares, kept per share so that counts survive redelivery
-- exactly like accepted shares do; read with FINAL.
CREATE TABLE IF NOT EXISTS rejected_shares (
    coin       String,
    region     String,
    gateway    String,
    seq        UInt64,
    idx        UInt32,
    ts_ms      Int64,
    time       DateTime DEFAULT toDateTime(intDiv(ts_ms, 1000)),
    address    String,
    worker     String,
    difficulty Float64,
    height     Int64,
    reason     String,
    ins        DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (coin, address, worker, ts_ms, gateway, seq, idx);

-- Per-minute pool aggregates, one row per (minute, gateway batch). A batch
-- is always written whole by one INSERT block, so the row a batch yields is
-- the same every time it is written: duplicates collapse like raw shares.
CREATE TABLE IF NOT EXISTS pool_minute (
    coin        String,
    minute      DateTime,
    gateway     String,
    seq         UInt64,
    n           UInt64,
    sum_d       Float64,
    sum_d2      Float64,
    pool_d      Float64,
    blocks      UInt64,
    solo_blocks UInt64,
    first_ms    Int64,
    last_ms     Int64,
    nd          Float64,
    height      Int64,
    ins         DateTime
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(minute)
ORDER BY (coin, minute, gateway, seq);

CREATE MATERIALIZED VIEW IF NOT EXISTS pool_minute_mv TO pool_minute AS
SELECT
    coin,
    toStartOfMinute(time) AS minute,
    gateway,
    seq,
    count() AS n,
    sum(difficulty) AS sum_d,
    sum(difficulty * difficulty) AS sum_d2,
    sum(if(solo = 0, difficulty, 0)) AS pool_d,
    sum(if(solo = 0, block, 0)) AS blocks,
    sum(if(solo = 0, 0, block)) AS solo_blocks,
    min(ts_ms) AS first_ms,
    max(ts_ms) AS last_ms,
    argMax(network_difficulty, ts_ms) AS nd,
    max(height) AS height,
    now() AS ins
FROM shares
GROUP BY coin, minute, gateway, seq;

-- Shares by miner: the same rows as `shares`, sorted by a hash of the
-- payout address so that one miner's shares are one key range. It is not
-- aggregated: a worker rarely has two shares in one gateway batch, so rows
-- per (worker, minute, batch) would be as many as shares, and grouping by
-- strings in a view costs ClickHouse 18.16 about 4 µs a row — more than the
-- ingest budget. The key keeps the share's identity, so duplicates collapse
-- exactly as in `shares` (a hash collision only interleaves two miners'
-- rows; readers also filter on the address itself).
CREATE TABLE IF NOT EXISTS miner_shares (
    coin       String,
    akey       UInt64,
    address    String,
    worker     String,
    minute     DateTime,
    ts_ms      Int64,
    gateway    String,
    seq        UInt64,
    idx        UInt32,
    difficulty Float64,
    block      UInt8,
    solo       UInt8
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(minute)
ORDER BY (akey, ts_ms, gateway, seq, idx);

CREATE MATERIALIZED VIEW IF NOT EXISTS miner_shares_mv TO miner_shares AS
SELECT
    coin,
    cityHash64(address) AS akey,
    address,
    worker,
    toStartOfMinute(time) AS minute,
    ts_ms,
    gateway,
    seq,
    idx,
    difficulty,
    block,
    solo
FROM shares;

-- Hourly rollups, recomputed from `shares FINAL` by Store.Rollup for every
-- hour that received shares since its last rollup. A row holds the exact
-- count of distinct shares of one difficulty, so sums are exact; `version`
-- is the rollup's watermark (unix seconds): a row counts exactly the shares
-- of `shares FINAL` with ins < version, and FINAL keeps the newest version
-- of each key.
CREATE TABLE IF NOT EXISTS pool_hour (
    coin       String,
    hour       DateTime,
    solo       UInt8,
    difficulty Float64,
    n          UInt64,
    blocks     UInt64,
    last_ms    Int64,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(hour)
ORDER BY (coin, hour, solo, difficulty);

CREATE TABLE IF NOT EXISTS worker_hour (
    coin       String,
    address    String,
    worker     String,
    hour       DateTime,
    solo       UInt8,
    difficulty Float64,
    n          UInt64,
    blocks     UInt64,
    last_ms    Int64,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(hour)
ORDER BY (coin, address, worker, hour, solo, difficulty);
