// Package blocksubmit is the function that takes found blocks to the coin
// node. It consumes blocks.<coin>.found (durable consumer `blocksubmit`,
// shared by every copy), rebuilds the full block from the solution, the job
// carried in the message and the template in the object store, and calls
// submitblock — retrying while the node is unreachable until the node
// accepts the block, reports it invalid, or another block has taken its
// height (stale). The outcome goes to blocks.<coin>.submitted and to
// events.block.<coin>.<outcome>.
//
// Metrics (Collectors): jetpool_blocksubmit_submissions_total{coin,outcome}
// counts judged submissions by outcome (accepted, rejected, stale; a
// redelivered block is counted again); jetpool_blocksubmit_node_retries_total{coin}
// counts submitblock calls that did not reach the node and are tried again.
package blocksubmit
