// Package gateway is the Stratum v1 gateway: the only stateful part of the
// pool. One Gateway serves one coin in one region on a TCP and a TLS port.
//
// It follows jobs on jobs.<coin> (made by the jobmaker function), hands them
// to miners, checks every share (job, extranonce2 size, ntime window, BIP310
// version mask, duplicates, difficulty with a grace for the previous one),
// runs vardiff per worker with the difficulty kept in KV `vardiff`, and
// publishes shares to the SHARES stream in small batches with a message id:
// a miner hears `true` only once its share's batch is acknowledged by
// JetStream. A share that meets the network target is published on
// blocks.<coin>.found, where the blocksubmit function takes it to the node.
// Worker events go to EVENTS; bans live in KV `bans` so every gateway
// honours them; the gateway heartbeats its record in KV `services`.
//
// Everything coin-specific comes through internal/coin. This package must not
// import pgx, clickhouse or any function package (enforced by a test).
package gateway
