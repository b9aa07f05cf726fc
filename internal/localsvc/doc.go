// Package localsvc runs real PostgreSQL, ClickHouse and coin nodes (btcd, bchd,
// litecoind with its peer) as child
// processes of the current process, on loopback, with all their data under a
// given directory. `jetpool dev` uses it to give a fresh machine a working
// pool with one command; internal/testenv uses it to start the same servers
// for integration tests.
//
// It owns process hygiene: every child runs in its own process group with
// Pdeathsig SIGKILL (so nothing outlives us, even on a crash), is forked from
// one locked OS thread (the parent-death signal follows the forking thread),
// and Stop ends the whole group, gracefully first. It also owns finding or
// installing what those servers need: PostgreSQL and ClickHouse binaries
// (apt-get when allowed and root) and Go-built nodes (`go install` into a bin
// dir, serialised by a lock file).
//
// It must not import the testing package, NATS, or any pool package beyond
// internal/node (used to wait for btcd) and internal/natsrv (free ports).
package localsvc
