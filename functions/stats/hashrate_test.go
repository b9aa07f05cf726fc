package stats

import (
	"math"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/chstore"
)

func TestPoissonIntervalMatchesGarwood(t *testing.T) {
	// Exact Garwood 95 % bounds (chi-square quantiles / 2).
	for _, tt := range []struct {
		name   string
		k      float64
		lo, hi float64
	}{
		{"no events", 0, 0, 3.689},
		{"one", 1, 0.0253, 5.572},
		{"ten", 10, 4.795, 18.39},
		{"hundred", 100, 81.36, 121.6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := poissonInterval(tt.k)
			if math.Abs(lo-tt.lo) > 0.02*tt.hi || math.Abs(hi-tt.hi) > 0.01*tt.hi {
				t.Fatalf("interval(%v) = [%.4f, %.4f], want about [%.4f, %.4f]", tt.k, lo, hi, tt.lo, tt.hi)
			}
		})
	}
}

func TestEstimate(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		name     string
		sums     chstore.Sums
		mult     float64
		hashrate float64
		relErr   float64 // 0: no interval
	}{
		{"sha256d, 100 shares of difficulty 1024 in 100 s", chstore.Sums{From: t0, To: t0.Add(100 * time.Second), Shares: 100,
			SumDifficulty: 102400, SumDifficulty2: 100 * 1024 * 1024}, 1 << 32, 102400 * (1 << 32) / 100.0, z95 / 10},
		{"scrypt multiplier", chstore.Sums{From: t0, To: t0.Add(10 * time.Second), Shares: 4, SumDifficulty: 8, SumDifficulty2: 16},
			1 << 16, 8 * (1 << 16) / 10.0, z95 / 2},
		{"mixed difficulty: effective count", chstore.Sums{From: t0, To: t0.Add(60 * time.Second), Shares: 2,
			SumDifficulty: 101, SumDifficulty2: 10001}, 1, 101 / 60.0, z95 / math.Sqrt(101.0*101/10001)},
		{"no shares", chstore.Sums{From: t0, To: t0.Add(time.Minute)}, 1 << 32, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := estimate("w", tt.sums, tt.mult)
			if math.Abs(e.Hashrate-tt.hashrate) > 1e-9*tt.hashrate {
				t.Fatalf("hashrate %v, want %v", e.Hashrate, tt.hashrate)
			}
			if tt.relErr == 0 {
				if e.High != nil || e.RelError != nil {
					t.Fatalf("no shares but an interval: %+v", e)
				}
				return
			}
			if e.RelError == nil || math.Abs(*e.RelError-tt.relErr) > 1e-12 {
				t.Fatalf("rel error %v, want %v", e.RelError, tt.relErr)
			}
			if !(e.Low < e.Hashrate && e.Hashrate < *e.High) {
				t.Fatalf("interval [%v, %v] does not hold %v", e.Low, *e.High, e.Hashrate)
			}
		})
	}
}
