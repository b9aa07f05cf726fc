// Package loadgen is jetpool's Stratum load generator, the engine of
// `jetpool bench stratum`. It measures one gateway end to end: how many
// connected workers it holds, its resident memory per connection, how many
// valid shares per second it checks and acknowledges (miner → gateway →
// SHARES stream → ack), the submit round-trip latency and how fast a new
// block's mining.notify reaches every worker.
//
// It owns:
//
//   - the client side: N Stratum v1 connections, each subscribed and
//     authorized as ADDRESS.wN, mining REAL shares from its own
//     mining.notify at the difficulty the gateway set (sha256d header,
//     coinbase and merkle branch rebuilt from the notify), and a central
//     scheduler per CPU that spreads an aggregate rate of R shares/s over
//     the connections. On Linux one epoll reader per CPU reads every
//     connection (elsewhere a goroutine each), and a mining.notify line is
//     decoded once per run, not once per connection: the generator shares
//     the machine with the gateway it measures, so it must cost little;
//   - the measurements: accepted / rejected / stale counts, log-linear
//     latency histograms (submit: request written → response read; notify:
//     new job published → mining.notify read), the gateway's VmRSS and CPU
//     time from /proc;
//   - the self-contained harness (Run without URL): an embedded NATS server
//     in a temp dir, streams and buckets, the pool configuration seeded into
//     KV (share difficulty fixed so a share costs the client about two
//     hashes: the bench measures the gateway, not the client's CPU),
//     synthetic jobs built from a hand-made getblocktemplate of
//     TemplateTxs transactions and published on jobs.<coin> (a new block
//     several times during the run), and the gateway in a SEPARATE process
//     (Options.Gateway starts it; RunGatewayChild is what that process
//     runs) so its memory can be read alone;
//   - RaiseFileLimit, since 10,000 connections need more descriptors than
//     the usual soft limit.
//
// Only sha256d coins (the bitcoin family) can be load-tested: the client
// hashes headers with internal/pow.SHA256d.
//
// It must not import pgx, clickhouse or the functions that need them; it
// imports the gateway only to run it in the child process.
package loadgen
