// Package testenv starts the real components integration tests run against:
// PostgreSQL, ClickHouse and coin nodes — btcd, bchd, litecoind — (through internal/localsvc, as child
// processes on free loopback ports with data in temp dirs) and embedded NATS
// servers, single or a route cluster (through internal/natsrv).
//
// Every helper takes a testing.TB, registers a Cleanup that stops what it
// started, and fails the test with t.Fatalf and the reason (including the
// server's last output) when a component cannot start. It never skips: a test
// that needs PostgreSQL fails on a machine that cannot run it, in CI and
// locally alike. Servers that may be installed on demand (ClickHouse,
// PostgreSQL through apt-get, btcd through go install) are installed when the
// test runs as root.
//
// One server per test is simple but slow; SharedPostgres and
// SharedClickHouse start one server per test binary (stopped by Main, which
// the package's TestMain must call), and PostgresDB / ClickHouseDB give each
// test a fresh database on it.
//
// testenv is for tests only: no production package may import it.
package testenv
