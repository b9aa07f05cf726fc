// Package kv declares the pool's JetStream key-value buckets (config, coins,
// services, vardiff, bans) and the object store `templates`, ensures them
// idempotently, and offers typed JSON Get/Put/Watch on top of them.
//
// Watch is how hot reload works: a process watches the keys it uses, every
// new value is validated before it is applied, and an invalid value is logged
// and refused while the last good value stays in force.
//
// It must not import databases, coin code or any function.
package kv
