// Package blocks is the function that records found blocks in the ledger.
// It consumes blocks.<coin>.found (durable consumer `ledger`, shared by
// every copy) and inserts one block row per block hash in state pending
// (height, hash, finder, worker, network difficulty, coinbase value, time);
// a redelivered message changes nothing. It answers `ledger.blocks`
// requests ({"coin":"btc","limit":50} → the latest blocks) for the web.
//
// Metrics (registered by Run): jetpool_blocks_found_total{coin} counts
// blocks recorded, jetpool_blocks_duplicates_total{coin} found-block
// messages for a block already recorded, jetpool_blocks_malformed_total{reason}
// messages dropped as undecodable or incomplete, and
// jetpool_blocks_requests_total{result} ledger.blocks requests answered
// ok, bad_request or error.
//
// It must not talk to coin nodes (chainwatch does) or compute rewards
// (the rewards function does).
package blocks
