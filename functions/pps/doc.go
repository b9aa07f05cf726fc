// Package pps is the function that pays shares as they come when the pool
// runs PPS or FPPS (pool.scheme). It consumes SHARES (durable consumer
// `pps`) and credits each accepted share of a non-solo miner its expected
// value straight to the miner's balance:
//
//	share work ÷ network difficulty × block value × (1 − fee)
//
// where block value is the coin's block subsidy at the share's height
// (coin.Coin.BlockSubsidy: Litecoin halves every 840,000 blocks, Bitcoin
// every 210,000) for PPS, or the subsidy plus the average transaction fees
// of the coin's last FeeWindowBlocks blocks (FPPS), and the fee is
// pool.scheme_fee_bps[scheme] or pool.fee_bps. Work is summed per miner,
// network difficulty and height within one batch in exact integer units
// (ledger.WorkUnits); the network difficulty is taken exactly from its
// float64 (a regtest difficulty of 4.66e-10 is far below one work unit);
// each group is rounded down once (ledger.PPSValue):
//
//	⌊work units × block value × (10000 − fee bps) ÷ (network difficulty × 1e8 × 10000)⌋
//
// The fractions stay with the pool, which carries the luck and keeps the
// blocks. A batch is credited once, keyed by its message id (<gateway>-<seq>).
//
// Under any other scheme the function acknowledges shares and credits
// nothing.
//
// Metrics (registered by Run), per coin and scheme (pps, fpps):
// jetpool_pps_batches_credited_total, jetpool_pps_shares_credited_total
// (accepted non-solo shares of credited batches) and
// jetpool_pps_credited_base_units_total (what went to balances);
// jetpool_pps_duplicates_total{coin} counts batches skipped because they
// were credited already, jetpool_pps_batches_terminated_total{reason}
// batches terminated as undecodable or unpayable (their value overflows).
//
// It must not talk to nodes or wallets.
package pps
