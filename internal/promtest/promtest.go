package promtest

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Sum adds the values of the series of name in g whose labels include want
// (nil: all series); 0 when none match or name was never gathered (a vector
// before its first count). A label want names but a series lacks matches "".
// Counters and gauges count by value, histograms by sample count.
func Sum(t testing.TB, g prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	var sum float64
	each(t, g, func(n string, labels map[string]string, v float64) {
		if n != name {
			return
		}
		for k, w := range want {
			if labels[k] != w {
				return
			}
		}
		sum += v
	})
	return sum
}

// Snapshot reads every series g gathers, keyed `name{label=value,…}` with
// labels sorted by name (`name{}` for a series without labels). Counters and
// gauges count by value, histograms by sample count.
func Snapshot(t testing.TB, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	each(t, g, func(name string, labels map[string]string, v float64) {
		names := make([]string, 0, len(labels))
		for k := range labels {
			names = append(names, k)
		}
		sort.Strings(names)
		pairs := make([]string, len(names))
		for i, k := range names {
			pairs[i] = k + "=" + labels[k]
		}
		out[name+"{"+strings.Join(pairs, ",")+"}"] += v
	})
	return out
}

// each gathers g, failing the test on error, and calls fn once per series
// with its metric name, labels and value.
func each(t testing.TB, g prometheus.Gatherer, fn func(name string, labels map[string]string, v float64)) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := make(map[string]string, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			fn(mf.GetName(), labels, v)
		}
	}
}
