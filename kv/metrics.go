package kv

import "github.com/prometheus/client_golang/prometheus"

var (
	applied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "kv", Name: "values_applied_total",
		Help: "Watched KV values accepted and applied.",
	}, []string{"bucket", "key"})
	rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "kv", Name: "values_rejected_total",
		Help: "Watched KV values refused as invalid; the last good value stays in force.",
	}, []string{"bucket", "key"})
)

// Collectors returns the package's metrics for registration.
func Collectors() []prometheus.Collector { return []prometheus.Collector{applied, rejected} }
