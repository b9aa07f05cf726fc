// Package jsretry retries JetStream administration calls (creating or
// looking up streams, consumers, KV buckets and object stores) through the
// transient failures of a cluster that is starting or electing a meta
// leader. It owns nothing else; kv and streams use it.
package jsretry
