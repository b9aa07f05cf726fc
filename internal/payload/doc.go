// Package payload defines the messages that travel on the pool's subjects:
// share batches (shares.<coin>.<region>), found and submitted blocks
// (blocks.<coin>.…) and worker and block events (events.…). Producers and
// consumers share these types so a field means the same everywhere.
//
// It holds data definitions only and must not import NATS, databases or coin code.
package payload
