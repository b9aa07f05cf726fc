package promtest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/internal/promtest"
)

// registry holds one of each kind the helpers read, with known values.
func registry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	events := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "events_total", Help: "h"}, []string{"coin", "result"})
	events.WithLabelValues("btc", "ok").Add(3)
	events.WithLabelValues("btc", "bad").Add(2)
	events.WithLabelValues("ltc", "ok").Add(5)
	pending := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pending", Help: "h"}, []string{"coin"})
	pending.WithLabelValues("btc").Set(7)
	pending.WithLabelValues("ltc").Set(-1.5)
	malformed := prometheus.NewCounter(prometheus.CounterOpts{Name: "malformed_total", Help: "h"})
	malformed.Inc()
	split := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "split_seconds", Help: "h"}, []string{"coin"})
	split.WithLabelValues("btc").Observe(0.25)
	split.WithLabelValues("btc").Observe(4)
	// Label names that sort differently from `name=value` strings ("a1" < "a"
	// only when compared with the '=').
	order := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "order_total", Help: "h"}, []string{"a1", "a", "b"})
	order.WithLabelValues("x", "y", "z").Add(4)
	// A vector nothing was counted in yet gathers no series.
	prometheus.NewCounterVec(prometheus.CounterOpts{Name: "unused_total", Help: "h"}, []string{"coin"})
	reg.MustRegister(events, pending, malformed, split, order)
	return reg
}

func TestSum(t *testing.T) {
	reg := registry(t)
	for _, tc := range []struct {
		name   string
		metric string
		want   map[string]string
		sum    float64
	}{
		{"counter, every series", "events_total", nil, 10},
		{"counter, empty filter is every series", "events_total", map[string]string{}, 10},
		{"counter, one label", "events_total", map[string]string{"coin": "btc"}, 5},
		{"counter, all labels", "events_total", map[string]string{"coin": "btc", "result": "bad"}, 2},
		{"counter, across coins", "events_total", map[string]string{"result": "ok"}, 8},
		{"counter, no series matches", "events_total", map[string]string{"coin": "doge"}, 0},
		{"counter, label the metric lacks", "events_total", map[string]string{"state": "x"}, 0},
		{"counter, label the metric lacks is empty", "events_total", map[string]string{"state": ""}, 10},
		{"counter without labels", "malformed_total", nil, 1},
		{"gauge, one series", "pending", map[string]string{"coin": "btc"}, 7},
		{"gauge, negative", "pending", map[string]string{"coin": "ltc"}, -1.5},
		{"gauge, every series", "pending", nil, 5.5},
		{"histogram counts samples", "split_seconds", map[string]string{"coin": "btc"}, 2},
		{"absent metric", "never_registered_total", nil, 0},
		{"registered vector never counted", "unused_total", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := promtest.Sum(t, reg, tc.metric, tc.want); got != tc.sum {
				t.Errorf("Sum(%s, %v) = %v, want %v", tc.metric, tc.want, got, tc.sum)
			}
		})
	}
}

func TestSumFollowsTheRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "n_total", Help: "h"}, []string{"coin"})
	reg.MustRegister(c)
	if got := promtest.Sum(t, reg, "n_total", nil); got != 0 {
		t.Fatalf("before any count: %v, want 0", got)
	}
	c.WithLabelValues("btc").Add(2)
	before := promtest.Sum(t, reg, "n_total", map[string]string{"coin": "btc"})
	c.WithLabelValues("btc").Inc()
	c.WithLabelValues("ltc").Inc()
	if d := promtest.Sum(t, reg, "n_total", map[string]string{"coin": "btc"}) - before; d != 1 {
		t.Errorf("btc grew by %v, want 1", d)
	}
}

func TestSnapshot(t *testing.T) {
	got := promtest.Snapshot(t, registry(t))
	want := map[string]float64{
		"events_total{coin=btc,result=ok}":  3,
		"events_total{coin=btc,result=bad}": 2,
		"events_total{coin=ltc,result=ok}":  5,
		"pending{coin=btc}":                 7,
		"pending{coin=ltc}":                 -1.5,
		"malformed_total{}":                 1,
		"split_seconds{coin=btc}":           2,
		"order_total{a=y,a1=x,b=z}":         4,
	}
	for key, w := range want {
		v, ok := got[key]
		if !ok {
			t.Errorf("%s missing from %v", key, got)
			continue
		}
		if v != w {
			t.Errorf("%s = %v, want %v", key, v, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("snapshot has %d series, want %d: %v", len(got), len(want), got)
	}
	if v, ok := got["unused_total{}"]; ok || v != 0 {
		t.Errorf("a vector never counted is read as %v (present %v)", v, ok)
	}
}

// broken is a collector whose every collection fails.
type broken struct{ desc *prometheus.Desc }

func (b broken) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b broken) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(b.desc, errors.New("collector broke"))
}

// recorder is a testing.TB that records Fatalf instead of stopping.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func TestGatherErrorFailsTheTest(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(broken{prometheus.NewDesc("broken_total", "h", nil, nil)})
	for name, read := range map[string]func(tb testing.TB){
		"Sum":      func(tb testing.TB) { promtest.Sum(tb, reg, "broken_total", nil) },
		"Snapshot": func(tb testing.TB) { promtest.Snapshot(tb, reg) },
	} {
		t.Run(name, func(t *testing.T) {
			r := &recorder{TB: t}
			read(r)
			if !strings.Contains(r.fatal, "collector broke") {
				t.Errorf("Fatalf got %q, want the gather error", r.fatal)
			}
		})
	}
}
