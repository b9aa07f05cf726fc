// Package devpool is `jetpool dev`: the whole pool in one process. It starts
// an embedded nats-server with JetStream on disk, provisions PostgreSQL,
// ClickHouse and a btcd simnet node (simnet because btcd wipes a regtest chain
// at every start) as child processes with their data under
// the data dir, seeds configuration into KV, runs every function, gateway and
// the web server in-process through the same code the role commands use, and
// writes every endpoint to DATA/dev.json. Shutdown runs in order: units drain,
// the NATS connection drains, the embedded server stops, then the node,
// ClickHouse and PostgreSQL. Ports chosen on the first run are kept in
// DATA/ports.json so a second run on the same dir resumes with the same
// endpoints and the data kept.
package devpool
