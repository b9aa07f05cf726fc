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
// Connections. On Linux, plain TCP connections are served by a few poller
// goroutines (one per CPU), each owning an epoll set (level triggered): a
// readable connection is read once into the poller's buffer, its complete
// lines are handled and their answers leave in one write; only a partial
// line stays with the connection. Writes never block: what a miner's socket
// does not take is queued (64 KiB at most) and sent on EPOLLOUT. A request
// that must wait on the network before its answer (an authorize that looks
// up the worker's difficulty in KV) is handed, with whatever followed it,
// to a goroutine while the connection is out of the epoll set, so one slow
// lookup never stalls the other miners and a connection's requests are
// still answered in order. Idle miners (stratum.idle_timeout) and miners
// that stop reading are found by one periodic sweep, not per-connection
// timers. An idle connection costs about 2 KB of resident memory.
//
// TLS connections, and every connection on other systems, keep a goroutine
// each (read, handle, blocking write with a deadline): TLS is served by
// crypto/tls on a net.Conn, which the pollers do not speak.
//
// Everything coin-specific comes through internal/coin. This package must not
// import pgx, clickhouse or any function package (enforced by a test).
package gateway
