// Package blocks is the function that records found blocks in the ledger.
// It consumes blocks.<coin>.found (durable consumer `ledger`, shared by
// every copy) and inserts one block row per block hash in state pending
// (height, hash, finder, worker, network difficulty, coinbase value, time);
// a redelivered message changes nothing. It answers `ledger.blocks`
// requests ({"coin":"btc","limit":50} → the latest blocks) for the web.
//
// It must not talk to coin nodes (chainwatch does) or compute rewards
// (the rewards function does).
package blocks
