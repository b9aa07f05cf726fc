package stats

import (
	"math"

	"github.com/jetpool/jetpool/internal/chstore"
)

// z95 is the two-sided 95 % normal quantile.
const z95 = 1.959963984540054

// Estimate is a hashrate over one window with its 95 % interval.
//
// Hashrate = Σ share difficulty × hashes per difficulty 1 (2^32 for sha256d,
// 2^16 for scrypt) ÷ seconds. Shares arrive as a Poisson process, so the
// number seen in a window is Poisson: with n shares of equal difficulty the
// interval is the exact-coverage (Garwood) Poisson interval for n, here in
// the Wilson–Hilferty form, scaled by Hashrate ÷ n. With mixed difficulties
// n is the effective count (Σd)² ÷ Σd², which gives the right spread of a
// compound Poisson sum. RelError is the symmetric ±1.96/√n approximation.
type Estimate struct {
	Window     string  `json:"window"`
	FromMs     int64   `json:"from_ms"`
	ToMs       int64   `json:"to_ms"`
	Seconds    float64 `json:"seconds"`
	Shares     uint64  `json:"shares"`
	Difficulty float64 `json:"difficulty"` // Σ share difficulty
	Hashrate   float64 `json:"hashrate"`   // hashes per second
	Low        float64 `json:"low"`
	// High is the upper bound; with no shares it is unknown and omitted.
	High     *float64 `json:"high,omitempty"`
	RelError *float64 `json:"rel_error,omitempty"`
}

// estimate turns share sums into a hashrate with its uncertainty.
func estimate(name string, s chstore.Sums, multiplier float64) Estimate {
	e := Estimate{Window: name, FromMs: s.From.UnixMilli(), ToMs: s.To.UnixMilli(), Seconds: s.Seconds(),
		Shares: s.Shares, Difficulty: s.SumDifficulty}
	if e.Seconds <= 0 || s.Shares == 0 || !(s.SumDifficulty > 0) {
		return e
	}
	e.Hashrate = s.SumDifficulty * multiplier / e.Seconds
	k := float64(s.Shares)
	if s.SumDifficulty2 > 0 {
		k = s.SumDifficulty * s.SumDifficulty / s.SumDifficulty2 // effective share count
	}
	lo, hi := poissonInterval(k)
	e.Low = e.Hashrate * lo / k
	h := e.Hashrate * hi / k
	rel := z95 / math.Sqrt(k)
	e.High, e.RelError = &h, &rel
	return e
}

// poissonInterval is the 95 % confidence interval of a Poisson mean after
// observing k events (k may be fractional: an effective count), by the
// Wilson–Hilferty approximation of the chi-square quantiles of Garwood's
// exact interval (within about 1 % for k ≥ 1).
func poissonInterval(k float64) (lo, hi float64) {
	if k > 0 {
		c := 1 - 1/(9*k) - z95/(3*math.Sqrt(k))
		lo = k * c * c * c
		lo = max(lo, 0)
	}
	k1 := k + 1
	c := 1 - 1/(9*k1) + z95/(3*math.Sqrt(k1))
	hi = k1 * c * c * c
	return lo, hi
}
