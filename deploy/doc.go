// Package deploy holds the production-shaped deployment files that are not
// Go code, and the tests that check them with the same loaders the real
// tools use:
//
//   - ../nats.conf: one config for every node of the 3-node JetStream
//     cluster, parameterised by NATS_SERVER_NAME, NATS_HOST and
//     NATS_STORE_DIR. The tests parse it with nats-server and start a real
//     3-node cluster from it on loopback.
//   - ../docker-compose.yml and ../Dockerfile: the multi-node layout (three
//     NATS nodes, PostgreSQL, ClickHouse, bitcoind, one gateway per region,
//     N copies of each function, web). The tests load the compose file with
//     compose-go, the library `docker compose config` is built on, with
//     schema validation on.
//   - pool.yaml: the pool configuration the compose file mounts; it must
//     load and validate with internal/config.
//   - clickhouse/ and bitcoind/: the server settings the compose file mounts.
//
// The package has no Go API. Its tests must not import the pool's runtime
// packages (functions, gateway, web): they check files, not behaviour.
package deploy
