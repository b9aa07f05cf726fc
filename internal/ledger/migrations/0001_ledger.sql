-- jetpool ledger schema, version 1. Amounts are bigint base units.

CREATE TABLE miners (
    coin             text        NOT NULL,
    address          text        NOT NULL,
    -- payout_threshold overrides the pool minimum when it is higher (NULL = pool minimum).
    payout_threshold bigint      CHECK (payout_threshold IS NULL OR payout_threshold > 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_seen        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (coin, address)
);

CREATE TABLE workers (
    coin        text        NOT NULL,
    address     text        NOT NULL,
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL,
    last_event  text        NOT NULL,
    last_ip     text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT '',
    gateway     text        NOT NULL DEFAULT '',
    region      text        NOT NULL DEFAULT '',
    online      boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (coin, address, name),
    FOREIGN KEY (coin, address) REFERENCES miners (coin, address)
);

CREATE TABLE blocks (
    coin               text             NOT NULL,
    hash               text             NOT NULL,
    height             bigint           NOT NULL,
    finder             text             NOT NULL,
    worker             text             NOT NULL DEFAULT '',
    solo               boolean          NOT NULL DEFAULT false,
    network_difficulty double precision NOT NULL,
    share_difficulty   double precision NOT NULL,
    coinbase_value     bigint           NOT NULL CHECK (coinbase_value >= 0),
    effort             double precision,             -- round work ÷ network difficulty, when known
    found_at           timestamptz      NOT NULL,
    state              text             NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'confirmed', 'orphaned')),
    confirmations      bigint           NOT NULL DEFAULT 0,
    orphan_reason      text             NOT NULL DEFAULT '',
    -- Filled by the rewards function: the scheme used and the pool fee kept.
    scheme             text,
    pool_fee           bigint           CHECK (pool_fee IS NULL OR pool_fee >= 0),
    rewarded_at        timestamptz,
    updated_at         timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (coin, hash)
);
CREATE INDEX blocks_pending ON blocks (coin, height) WHERE state = 'pending';
CREATE INDEX blocks_found_at ON blocks (coin, found_at);

-- One row per miner and block. immature while the block is pending, mature
-- once it is confirmed (the amount is then also in credits and balances);
-- rows of an orphaned block are deleted.
CREATE TABLE rewards (
    coin       text   NOT NULL,
    block_hash text   NOT NULL,
    address    text   NOT NULL,
    amount     bigint NOT NULL CHECK (amount >= 0),
    work       numeric NOT NULL DEFAULT 0,   -- the miner's work units in the window
    state      text   NOT NULL DEFAULT 'immature' CHECK (state IN ('immature', 'mature')),
    PRIMARY KEY (coin, block_hash, address),
    FOREIGN KEY (coin, block_hash) REFERENCES blocks (coin, hash)
);
CREATE INDEX rewards_address ON rewards (coin, address);

-- Every amount that ever entered a balance: kind 'block' (ref = block hash)
-- or 'pps' (ref = share-batch id), or 'refund' (ref = failed payout id).
CREATE TABLE credits (
    id         bigserial   PRIMARY KEY,
    coin       text        NOT NULL,
    address    text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('block', 'pps', 'refund')),
    ref        text        NOT NULL,
    amount     bigint      NOT NULL CHECK (amount >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (coin, kind, ref, address)
);

CREATE TABLE balances (
    coin      text   NOT NULL,
    address   text   NOT NULL,
    confirmed bigint NOT NULL DEFAULT 0 CHECK (confirmed >= 0),
    PRIMARY KEY (coin, address)
);

-- Share batches already credited by the pps function (idempotency).
CREATE TABLE pps_batches (
    coin       text        NOT NULL,
    batch_id   text        NOT NULL,
    shares     integer     NOT NULL,
    amount     bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (coin, batch_id)
);

-- A payout is one wallet transaction. state: intent (recorded, balances
-- debited, the wallet may or may not have sent it), sent (txid known),
-- confirmed, failed (amounts returned to balances).
CREATE TABLE payouts (
    id            text        PRIMARY KEY,
    coin          text        NOT NULL,
    state         text        NOT NULL CHECK (state IN ('intent', 'sent', 'confirmed', 'failed')),
    fee_policy    text        NOT NULL CHECK (fee_policy IN ('pool', 'miner')),
    txid          text        UNIQUE,
    confirmations bigint      NOT NULL DEFAULT 0,
    error         text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    confirmed_at  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payouts_open ON payouts (coin, state) WHERE state IN ('intent', 'sent');

-- amount is what left the miner's balance; sent is what the transaction
-- pays the miner (amount minus the miner's share of the network fee when
-- the miner pays it).
CREATE TABLE payout_items (
    payout_id text   NOT NULL REFERENCES payouts (id),
    coin      text   NOT NULL,
    address   text   NOT NULL,
    amount    bigint NOT NULL CHECK (amount > 0),
    sent      bigint NOT NULL CHECK (sent > 0 AND sent <= amount),
    PRIMARY KEY (payout_id, address)
);
CREATE INDEX payout_items_address ON payout_items (coin, address);
