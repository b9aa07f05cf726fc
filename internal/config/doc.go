// Package config defines the pool's configuration: its sections, their
// defaults, validation that reports every error at once, loading from a YAML
// file with JETPOOL_* environment overrides, and the KV keys each section is
// stored under.
//
// The file and the environment only seed the KV bucket `config` (and `coins`);
// at run time every process reads and watches KV (package kv), so a change made
// there (by the admin API or `nats kv put`) is applied without a restart. A
// value that fails Validate is refused by its readers and the last good value
// stays in force.
//
// This package must not import NATS, databases or coin code.
package config
