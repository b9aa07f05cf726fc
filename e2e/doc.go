// Package e2e holds end-to-end tests: the pool's real parts (embedded NATS,
// jobmaker, blocksubmit, the stratum gateway, the project's miner) against
// real coin nodes started by the tests. It has no non-test code.
package e2e
