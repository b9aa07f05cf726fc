// Package promtest holds test helpers for reading Prometheus metrics: Sum
// reads one metric's series (optionally filtered by labels) and Snapshot
// reads everything a registry gathers, keyed by name and labels, so tests can
// compare two readings of package-level vectors.
//
// It imports only the Prometheus client packages and the standard library,
// and is for tests only: no production package may import it.
package promtest
