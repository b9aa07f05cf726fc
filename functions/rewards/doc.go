// Package rewards is the function that turns blocks into miners' money. It
// consumes blocks.<coin>.found, .confirmed and .orphaned (durable consumer
// `rewards`):
//
//   - found: the block is split by scheme (pool.scheme from config; a block
//     found by a miner whose Stratum password says m=solo is always SOLO)
//     and recorded as immature rewards plus the pool fee
//     (pool.scheme_fee_bps[scheme], else pool.fee_bps), with
//     Σ rewards + fee = coinbase value exactly (see ledger.SplitProportional
//     for the remainder rule). PPLNS takes the last pool.pplns_window ×
//     network difficulty of share work before the block, PROP every share
//     of the round (since the previous block); both come from a
//     WindowSource and exclude solo miners' shares. Under PPS/FPPS the pps
//     function has paid the shares already: the pool keeps the block.
//   - confirmed: the block's rewards become balances (once).
//   - orphaned: the block's immature rewards are removed.
//
// Every step is keyed by block hash, so redelivery changes nothing.
//
// WindowSource contract over NATS (implemented by the statistics service,
// subject WindowSubject, queue group request/reply): request
// {"coin","kind":"pplns"|"round","until","from","work"} → reply
// {"miners":[{"address","work"}]} where work sums share difficulty
// (float64) of accepted, non-solo shares with time < until, for "pplns"
// the most recent shares whose work adds up to the requested work, for
// "round" every share with time >= from. When the miners would not fit one
// NATS message (100,000 miners are megabytes) the reply is
// {"miners":null,"object":{"bucket":"windows","name","sha256","size",
// "miners"}}: they are in that JetStream object store, encoded by
// stats.EncodeWindowMiners, and are used only when their size, SHA-256
// and count match the reply.
//
// Metrics (registered by Run): jetpool_rewards_blocks_total{coin,scheme,state}
// counts block steps applied once (state credited, unpaid for a block split
// after it was orphaned, confirmed, removed for an orphan);
// jetpool_rewards_credited_base_units_total{coin,kind} the base units of
// credited splits going to miners (kind miners, as immature rewards) and to
// the pool (kind fee); jetpool_rewards_split_seconds{coin} the time of a
// split, window request included; jetpool_rewards_duplicates_total{coin,event}
// the deliveries that found their step applied already (event found,
// confirmed, orphaned).
//
// It must not talk to nodes or wallets.
package rewards
