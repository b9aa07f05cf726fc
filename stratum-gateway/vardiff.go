package gateway

import (
	"math"
	"time"

	"github.com/jetpool/jetpool/internal/config"
)

// Vardiff is one worker's difficulty controller. It aims at one share every
// TargetSeconds: at each retarget it scales the difficulty by target/observed
// share time, at most ×8 or ÷8 at once, within Min..Max, and leaves it alone
// while the observed time is within VariancePercent.
//
// Shares are a Poisson process, so one retarget window of 9 expected shares
// is off by more than 30 % about half the time by chance alone. A change
// therefore also needs evidence: the share count must be more than
// significanceZ standard deviations (√expected) from the expected count.
// Without it the window grows by another Retarget period — up to
// maxLooks of them — and the estimate sharpens; at the last look the
// VariancePercent rule alone decides. Shares coming far too fast (4× the
// expected count) retarget at once; a worker that stops sending shares is
// retargeted from OnTick. It is pure logic on the times it is given, so
// tests drive it with a fake clock (testing/synctest).
type Vardiff struct {
	cfg        config.Vardiff
	diff       float64
	windowFrom time.Time
	shares     int
	looks      int // retarget periods the current window has been judged without a change
}

// Evidence a retarget needs (see Vardiff).
const (
	significanceZ = 2.5
	maxLooks      = 4
)

// NewVardiff starts a controller at difficulty d (clamped to the config range).
func NewVardiff(cfg config.Vardiff, d float64, now time.Time) *Vardiff {
	v := &Vardiff{}
	v.init(cfg, d, now)
	return v
}

// init starts v in place (a session holds its Vardiff by value).
func (v *Vardiff) init(cfg config.Vardiff, d float64, now time.Time) {
	*v = Vardiff{cfg: cfg, windowFrom: now}
	v.diff = v.clamp(d)
}

// Difficulty is the current difficulty.
func (v *Vardiff) Difficulty() float64 { return v.diff }

// SetConfig applies new settings (hot reload); the difficulty is re-clamped.
func (v *Vardiff) SetConfig(cfg config.Vardiff) { v.cfg = cfg; v.diff = v.clamp(v.diff) }

// Set forces a difficulty (mining.suggest_difficulty) and restarts the window.
func (v *Vardiff) Set(d float64, now time.Time) float64 {
	v.diff = v.clamp(d)
	v.windowFrom, v.shares, v.looks = now, 0, 0
	return v.diff
}

// OnShare records an accepted share and returns the new difficulty and true
// when it changed.
func (v *Vardiff) OnShare(now time.Time) (float64, bool) {
	v.shares++
	elapsed := now.Sub(v.windowFrom)
	if v.shares >= 4*v.expectedShares() && elapsed >= v.targetDuration() {
		return v.retarget(now, true)
	}
	if elapsed >= time.Duration(v.looks+1)*v.cfg.Retarget.D() {
		return v.retarget(now, false)
	}
	return v.diff, false
}

// OnTick lets a silent worker's difficulty fall: when its window has run a
// retarget period longer than OnShare would have judged it, it retargets on
// what was seen (possibly nothing).
func (v *Vardiff) OnTick(now time.Time) (float64, bool) {
	if now.Sub(v.windowFrom) >= time.Duration(v.looks+2)*v.cfg.Retarget.D() {
		return v.retarget(now, false)
	}
	return v.diff, false
}

func (v *Vardiff) expectedShares() int {
	n := int(v.cfg.Retarget.D() / v.targetDuration())
	if n < 1 {
		n = 1
	}
	return n
}

func (v *Vardiff) targetDuration() time.Duration {
	return time.Duration(v.cfg.TargetSeconds * float64(time.Second))
}

// retarget judges the window; fast skips the evidence test (shares far too
// fast need no statistics).
func (v *Vardiff) retarget(now time.Time, fast bool) (float64, bool) {
	elapsed := now.Sub(v.windowFrom).Seconds()
	shares := v.shares
	if elapsed <= 0 {
		return v.diff, false
	}
	var observed float64 // seconds per share
	if shares == 0 {
		observed = elapsed * 2 // at least this slow
	} else {
		observed = elapsed / float64(shares)
	}
	if math.Abs(observed-v.cfg.TargetSeconds)/v.cfg.TargetSeconds*100 <= v.cfg.VariancePercent {
		v.restart(now)
		return v.diff, false
	}
	if !fast && v.looks+1 < maxLooks {
		expected := elapsed / v.cfg.TargetSeconds
		if math.Abs(float64(shares)-expected) <= significanceZ*math.Sqrt(expected) {
			v.looks++ // not yet evidence: keep counting
			return v.diff, false
		}
	}
	v.restart(now)
	ratio := v.cfg.TargetSeconds / observed
	ratio = math.Max(1.0/8, math.Min(8, ratio))
	next := v.clamp(roundSignificant(v.diff*ratio, 4))
	if next == v.diff {
		return v.diff, false
	}
	v.diff = next
	return next, true
}

func (v *Vardiff) restart(now time.Time) { v.windowFrom, v.shares, v.looks = now, 0, 0 }

func (v *Vardiff) clamp(d float64) float64 {
	if math.IsNaN(d) || d <= 0 {
		d = v.cfg.Initial
	}
	return math.Max(v.cfg.Min, math.Min(v.cfg.Max, d))
}

// roundSignificant keeps n significant digits so difficulties stay readable.
func roundSignificant(x float64, n int) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}
