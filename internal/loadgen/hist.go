package loadgen

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histBuckets covers every uint64 microsecond value: 32 exact buckets, then
// 16 per power of two (about 6% resolution).
const histBuckets = 32 + 59*16

// Histogram is a lock-free log-linear latency histogram with microsecond
// resolution below 32 µs and 1/16 of a power of two above. Many goroutines
// may Record at once.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
}

func bucketOf(us uint64) int {
	if us < 32 {
		return int(us)
	}
	shift := bits.Len64(us) - 5 // keep the top five bits: 16..31
	return 32 + (shift-1)*16 + int(us>>shift) - 16
}

// bucketMid is the middle of bucket i, in microseconds.
func bucketMid(i int) float64 {
	if i < 32 {
		return float64(i)
	}
	shift := (i-32)/16 + 1
	lo := uint64((i-32)%16+16) << shift
	return float64(lo) + float64(uint64(1)<<shift)/2
}

// Record adds one observation; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	us := uint64(0)
	if d > 0 {
		us = uint64(d / time.Microsecond)
	}
	h.counts[bucketOf(us)].Add(1)
	h.n.Add(1)
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Quantile returns the q-quantile (0 < q <= 1) in milliseconds, or 0 when
// the histogram is empty.
func (h *Histogram) Quantile(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= rank {
			return bucketMid(i) / 1000
		}
	}
	return bucketMid(histBuckets-1) / 1000
}
