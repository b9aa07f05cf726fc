package gateway

import "github.com/prometheus/client_golang/prometheus"

var (
	mConnections = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "jetpool", Subsystem: "gateway", Name: "connections",
		Help: "Open stratum connections.",
	}, []string{"coin", "region"})
	mShares = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "gateway", Name: "shares_total",
		Help: "Checked shares by result (accepted or the rejection reason).",
	}, []string{"coin", "region", "result"})
	mProtocolErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "gateway", Name: "protocol_errors_total",
		Help: "Bad input from miners, by kind (parse, too-long, rate, method, params, …).",
	}, []string{"coin", "region", "kind"})
	mBlocks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "gateway", Name: "blocks_found_total",
		Help: "Shares that met the network target.",
	}, []string{"coin", "region"})
	mBatchLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "jetpool", Subsystem: "gateway", Name: "share_batch_publish_seconds",
		Help:    "Time from a batch's first share to its JetStream acknowledgement.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	}, []string{"coin", "region"})
	mRejectedConns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "gateway", Name: "connections_refused_total",
		Help: "Connections refused at accept (banned, per-IP limit, shutting down).",
	}, []string{"coin", "region", "reason"})
)

// Collectors returns the gateway metrics for registration.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{mConnections, mShares, mProtocolErrors, mBlocks, mBatchLatency, mRejectedConns}
}
