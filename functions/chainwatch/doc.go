// Package chainwatch is the function that follows pending blocks on their
// coin's node. It holds no state: on every tick it reads the pending blocks
// of each enabled coin from the ledger and asks the node about each one.
//
//   - A block in the best chain gets its confirmation count recorded; at the
//     coin's coinbase maturity (100 for Bitcoin) chainwatch publishes
//     blocks.<coin>.confirmed.
//   - A block that is not the best chain's block at its height (a reorg
//     replaced it, another block won the height, or the node never had it),
//     once the best chain is OrphanDepth blocks past its height, is
//     published on blocks.<coin>.orphaned.
//
// A node that is unreachable, restarting or still syncing (initial block
// download, or its chain not yet past the block) changes nothing: the block
// stays pending until the node can answer. Publishing is idempotent (message
// id "<state>-<hash>"), and the rewards function applies the state once, so
// chainwatch may run in any number of copies and repeat itself freely.
//
// Metrics (Collectors): jetpool_chainwatch_blocks_total{coin,state} counts
// blocks published confirmed or orphaned (a repeat the stream drops as a
// duplicate is not counted); jetpool_chainwatch_node_errors_total{coin}
// counts passes over a coin in which the node could not be asked;
// the gauge jetpool_chainwatch_pending_blocks{coin} is the number of blocks
// the ledger held pending at the last pass.
//
// It must not write balances (the rewards function does).
package chainwatch
