package chstore

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// The fast PPLNS window: a handful of reads instead of a walk.
//
//  1. Approximate walk: pool_hour (exact counts of whole hours) and
//     pool_minute (float sums per minute, copies of a batch dropped)
//     locate the boundary hour H and minute M. Approximate only: nothing
//     read here is credited.
//  2. Credit, read concurrently, as per-key, per-difficulty share counts:
//     the block's hour up to the block share and stale whole hours from
//     `shares FINAL`; the usable whole hours (walkHours' rules: rolled up,
//     version ≤ AsOf, no snapshot share inserted since) from the day
//     prefixes (miner_prefix, per address) or worker_hour; H's part after
//     M either raw, or — when M is in H's first half and H is usable — as
//     H's rollup minus H's raw shares up to the end of M. Rollup counts
//     are used only when their per-difficulty sums equal the pool_hour
//     counts of the same hours: counts of a rollup only ever grow with its
//     version and a prefix or worker_hour row is never newer than its
//     pool_hour rows (Rollup writes pool_hour first), so equal sums prove
//     equal counts, key by key.
//  3. The exact sum of the credit must be short of the target; then M is
//     walked share by share, newest first, to the boundary share.
//
// Whenever a step cannot prove its part — an approximation that misled, a
// rollup that does not match, a window with fewer shares than the target —
// fastPPLNS returns nil and PPLNS walks step by step. Amounts are exact
// integers in units of 2^exp, exp the lowest set bit of any difficulty or
// of the target, normalised like walker.result.

// fastMaxWalkMinutes bounds how many minutes before the approximate
// boundary minute are walked share by share before giving up.
const fastMaxWalkMinutes = 10

// dn is a (signed) share count of one difficulty.
type dn struct {
	d float64
	n int64
}

// keyed is one key's counts in one source, in key order.
type keyed struct {
	k  wkey
	ds []dn
}

type fastHour struct {
	counts map[float64]uint64 // pool_hour, pool shares
	approx float64            // Σ n × d
	minV   int64
	rolled bool // pool_hour has it
	shares bool // pool_minute has it
	usable bool // rolled, and equal to the snapshot
}

// fastState is what the approximate walk has loaded: pool_hour and which
// hours hold shares for [loaded, endHour), per-minute sums of some hours.
type fastState struct {
	q           *pplnsQuery
	endMs       int64
	endHour     int64
	hours       map[int64]*fastHour
	minutes     map[int64]float64
	minuteHours map[int64]bool // hours whose per-minute sums are loaded
	loaded      int64
}

func (st *fastState) hour(h int64) *fastHour {
	x, ok := st.hours[h]
	if !ok {
		x = &fastHour{counts: map[float64]uint64{}, minV: math.MaxInt64}
		st.hours[h] = x
	}
	return x
}

type poolHourRow struct {
	h, v uint32
	d    float64
	n    uint64
}

// fetch reads, concurrently, pool_hour and which hours hold shares for
// [from, loaded) (when from < loaded), and the per-minute sums of the
// hours [lo, hi) (when lo < hi; the block's hour through the block).
func (st *fastState) fetch(from, lo, hi int64) error {
	var (
		wg                      sync.WaitGroup
		ph                      []poolHourRow
		withShares              []int64
		mins                    map[int64]float64
		errPH, errShares, errMn error
	)
	run := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	to := st.loaded
	if from < to {
		run(func() { ph, errPH = st.q.poolHours(from, to) })
		run(func() { withShares, errShares = st.q.shareHours(from, to) })
	}
	if lo < hi {
		last := hi - 1
		if hi > st.endHour {
			last = st.endMs / 1000
		}
		run(func() { mins, errMn = st.q.minuteSums(lo, last) })
	}
	wg.Wait()
	for _, err := range []error{errPH, errShares, errMn} {
		if err != nil {
			return err
		}
	}
	for _, r := range ph {
		x := st.hour(int64(r.h))
		x.rolled = true
		x.counts[r.d] += r.n
		x.approx += float64(r.n) * r.d
		x.minV = min(x.minV, int64(r.v))
	}
	for _, h := range withShares {
		st.hour(h).shares = true
	}
	for m, v := range mins {
		st.minutes[m] = v
	}
	for h := lo; h < hi; h += 3600 {
		st.minuteHours[h] = true
	}
	if from < to {
		st.loaded = from
	}
	return nil
}

// minuteOf lists the loaded minutes with shares in [from, to), newest first.
func (st *fastState) minuteOf(from, to int64) []int64 {
	var out []int64
	for m := range st.minutes {
		if m >= from && m < to {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out
}

// locate walks the approximate sums back from the block to the boundary
// hour and minute, loading a day more at a time; ok is false when the
// shares kept fall short of the target.
func (st *fastState) locate(targetF float64, oldest int64) (bHour, bMinute int64, ok bool, err error) {
	cum := 0.0
	for _, m := range st.minuteOf(st.endHour, st.endMs/1000+1) {
		if cum += st.minutes[m]; cum >= targetF {
			return st.endHour, m, true, nil
		}
	}
	for h := st.endHour - 3600; h >= oldest; h -= 3600 {
		if h < st.loaded {
			if err := st.fetch(max(st.loaded-86400, oldest), 0, 0); err != nil {
				return 0, 0, false, err
			}
		}
		x := st.hours[h]
		if x == nil || !(x.rolled || x.shares) {
			continue
		}
		minutes := func() ([]int64, error) {
			if !st.minuteHours[h] {
				if err := st.fetch(st.loaded, h, h+3600); err != nil {
					return nil, err
				}
			}
			return st.minuteOf(h, h+3600), nil
		}
		v := x.approx
		if !x.rolled {
			ms, err := minutes()
			if err != nil {
				return 0, 0, false, err
			}
			v = 0
			for _, m := range ms {
				v += st.minutes[m]
			}
		}
		if cum+v < targetF {
			cum += v
			continue
		}
		ms, err := minutes()
		if err != nil {
			return 0, 0, false, err
		}
		for _, m := range ms {
			if cum += st.minutes[m]; cum >= targetF {
				return h, m, true, nil
			}
		}
		if len(ms) == 0 {
			return 0, 0, false, nil
		}
		// pool_minute fell short of pool_hour by rounding: the first minute.
		return h, ms[len(ms)-1], true, nil
	}
	return 0, 0, false, nil
}

func (q *pplnsQuery) fastPPLNS(target *big.Int, targetF float64, endMs int64, endID *ShareID, byAddress bool) (*Window, error) {
	t0 := time.Now()
	endHour := endMs/1000 - mod(endMs/1000, 3600)
	st := &fastState{q: q, endMs: endMs, endHour: endHour, hours: map[int64]*fastHour{}, minutes: map[int64]float64{},
		minuteHours: map[int64]bool{}, loaded: endHour}
	// 1. The approximate walk. At once: the oldest partition, a day of
	// pool_hour, and the minutes of the block's hour and the two before it
	// (maybe not rolled up yet); most windows end within the day.
	var (
		oldest    int64
		errOldest error
		wg        sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		oldest, errOldest = q.oldestHour()
	}()
	errLoad := st.fetch(endHour-86400, endHour-2*3600, endHour+3600)
	wg.Wait()
	if errOldest != nil {
		return nil, errOldest
	}
	if errLoad != nil {
		return nil, errLoad
	}
	bHour, bMinute, ok, err := st.locate(targetF, oldest)
	if err != nil {
		return nil, err
	}
	if !ok {
		return q.notFast("fewer shares than the window")
	}
	// Whole hours inside the window; whether the boundary hour's head
	// (through M) is the smaller side to read raw.
	var full []int64
	for h := endHour - 3600; h > bHour; h -= 3600 {
		if x := st.hours[h]; x != nil && (x.rolled || x.shares) {
			full = append(full, h)
		}
	}
	headMinutes := (bMinute-bHour)/60 + 1
	headCandidate := bHour != endHour && headMinutes < 30 && st.hours[bHour] != nil && st.hours[bHour].rolled
	freshFrom := bHour + 3600
	if headCandidate {
		freshFrom = bHour
	}
	minV := int64(math.MaxInt64)
	for h := freshFrom; h < endHour; h += 3600 {
		if x := st.hours[h]; x != nil && x.rolled {
			minV = min(minV, x.minV)
		}
	}
	if minV != math.MaxInt64 {
		if err := q.freshness(freshFrom, endHour, minV, st.hour); err != nil {
			return nil, err
		}
	}
	usable := func(h int64) bool { x := st.hours[h]; return x != nil && x.rolled && x.usable && x.minV <= q.asOf }
	var rolledHours, staleHours []int64
	for _, h := range full {
		if usable(h) {
			rolledHours = append(rolledHours, h)
		} else {
			staleHours = append(staleHours, h)
		}
	}
	useHead := headCandidate && usable(bHour)
	t1 := time.Now()

	// 2. The credit, read concurrently.
	bm := bMinute * 1000
	var plus []string
	switch {
	case bHour == endHour:
		plus = append(plus, q.rangeCond(bm+60000, endMs, endID))
	default:
		plus = append(plus, q.rangeCond(endHour*1000, endMs, endID))
		if !useHead && bm+60000 < (bHour+3600)*1000 {
			plus = append(plus, q.rangeCond(bm+60000, (bHour+3600)*1000-1, nil))
		}
	}
	for _, h := range staleHours {
		plus = append(plus, q.rangeCond(h*1000, (h+3600)*1000-1, nil))
	}
	rollHours := rolledHours
	if useHead {
		rollHours = append(slices.Clone(rolledHours), bHour)
	}
	var (
		raw, head, roll          []keyed
		rollSums, rollWant       []map[float64]uint64
		walkRows                 []ShareRef
		errRaw, errHead, errWalk error
		errRoll                  error
		tRaw                     time.Duration
		prefixes                 int
		rollBad                  string
		reads                    sync.WaitGroup
	)
	concurrently := func(f func()) {
		reads.Add(1)
		go func() {
			defer reads.Done()
			f()
		}()
	}
	rawStart := time.Now()
	concurrently(func() { raw, errRaw = q.rawCredit(plus, byAddress, 1); tRaw = time.Since(rawStart) })
	if useHead {
		concurrently(func() { head, errHead = q.rawCredit([]string{q.rangeCond(bHour*1000, bm+59999, nil)}, byAddress, -1) })
	}
	concurrently(func() { walkRows, errWalk = q.minuteShares(bMinute, endMs, endID) })
	rollStart := time.Now()
	if len(rollHours) > 0 {
		if byAddress {
			roll, rollSums, rollWant, errRoll = q.prefixCredit(rollHours, st)
			prefixes = len(rollSums)
		}
		if !byAddress || errRoll != nil || !equalSums(rollSums, rollWant) {
			if errRoll != nil {
				q.s.log.Debug("pplns: day prefixes not used", "err", errRoll)
			}
			prefixes = 0
			roll, rollSums, rollWant, errRoll = q.hourCredit(rollHours, st, byAddress)
			if errRoll == nil && !equalSums(rollSums, rollWant) {
				rollBad = "worker_hour does not match pool_hour"
			}
		}
	}
	tRoll := time.Since(rollStart)
	reads.Wait()
	t2 := time.Now()
	for _, err := range []error{errRaw, errHead, errWalk, errRoll} {
		if err != nil {
			return nil, err
		}
	}
	if rollBad != "" {
		return q.notFast(rollBad)
	}

	// 3. Exact sums; then the boundary minute(s), share by share.
	sources := [][]keyed{raw, head, roll}
	sc := newScaler(target)
	perD := map[float64]int64{}
	for _, src := range sources {
		for _, k := range src {
			for _, x := range k.ds {
				sc.see(x.d)
				perD[x.d] += x.n
			}
		}
	}
	for _, r := range walkRows {
		sc.see(r.Difficulty)
	}
	cumU := new(big.Int)
	var shares uint64
	for d, n := range perD {
		if n < 0 {
			return q.notFast("the boundary hour's rollup is smaller than its head")
		}
		cumU.Add(cumU, sc.times(d, uint64(n)))
		shares += uint64(n)
	}
	if cumU.Cmp(sc.target) >= 0 {
		return q.notFast("the boundary is after the approximate minute")
	}
	walked := map[wkey]*dnAcc{}
	var (
		boundary *BoundaryShare
		partU    *big.Int
		fromMs   int64
	)
	for m, tries := bMinute, 0; boundary == nil; m, tries = m-60, tries+1 {
		if tries > 0 {
			if tries > fastMaxWalkMinutes || m < st.loaded {
				return q.notFast("the boundary is far before the approximate minute")
			}
			if walkRows, err = q.minuteShares(m, endMs, endID); err != nil {
				return nil, err
			}
			for _, r := range walkRows {
				if sc.see(r.Difficulty) {
					cumU.Lsh(cumU, sc.lastShift)
				}
			}
		}
		for i := range walkRows {
			r := &walkRows[i]
			k := wkey{r.Address, r.Worker}
			if byAddress {
				k.worker = ""
			}
			a := walked[k]
			if a == nil {
				a = &dnAcc{}
				walked[k] = a
			}
			u := sc.of(r.Difficulty)
			fromMs = r.TimeMs
			shares++
			if sum := new(big.Int).Add(cumU, u); sum.Cmp(sc.target) < 0 {
				cumU = sum
				a.add(r.Difficulty, 1)
				continue
			}
			partU = new(big.Int).Sub(sc.target, cumU)
			a.part = partU
			boundary = &BoundaryShare{ShareRef: *r, ShareUnits: &Units{}}
			boundary.ShareUnits.v.Set(u)
			break
		}
	}
	t3 := time.Now()

	// 4. Merge the sources key by key, sum each key, normalise.
	walkList := make([]keyed, 0, len(walked))
	for k, a := range walked {
		walkList = append(walkList, keyed{k: k, ds: a.ds})
	}
	slices.SortFunc(walkList, func(a, b keyed) int { return cmpKey(a.k, b.k) })
	sources = append(sources, walkList)
	type out struct {
		k      wkey
		amt    amount
		shares uint64
	}
	outs := make([]out, 0, len(raw)+len(walkList))
	pos := make([]int, len(sources))
	var arena []dn
	for {
		var next *wkey
		for i, src := range sources {
			if pos[i] < len(src) && (next == nil || cmpKey(src[pos[i]].k, *next) < 0) {
				next = &src[pos[i]].k
			}
		}
		if next == nil {
			break
		}
		k := *next
		arena = arena[:0]
		for i, src := range sources {
			for pos[i] < len(src) && src[pos[i]].k == k {
				arena = append(arena, src[pos[i]].ds...)
				pos[i]++
			}
		}
		o := out{k: k}
		for i := range arena { // net count per difficulty
			if arena[i].n == 0 {
				continue
			}
			n := arena[i].n
			for j := i + 1; j < len(arena); j++ {
				if arena[j].d == arena[i].d {
					n += arena[j].n
					arena[j].n = 0
				}
			}
			if n < 0 {
				return q.notFast("a key's rollup is smaller than its raw head")
			}
			o.amt.add(sc, arena[i].d, uint64(n))
			o.shares += uint64(n)
		}
		if a := walked[k]; a != nil && a.part != nil {
			o.amt.addBig(a.part)
			o.shares++
		}
		if o.shares > 0 {
			outs = append(outs, o)
		}
	}
	total := new(big.Int)
	shift := uint(math.MaxUint32)
	for _, v := range []*big.Int{sc.target, &boundary.ShareUnits.v, partU} {
		if v.Sign() != 0 {
			shift = min(shift, v.TrailingZeroBits())
		}
	}
	for i := range outs {
		outs[i].amt.addTo(total)
		shift = min(shift, outs[i].amt.trailingZeros())
	}
	if total.Cmp(sc.target) != 0 {
		q.s.log.Error("pplns: fast window total differs from its target", "total", total, "target", sc.target)
		return q.notFast("total differs from target")
	}
	if shift == math.MaxUint32 {
		shift = 0
	}
	exp := sc.exp + int(shift)
	scale := func(v *big.Int) *Units { u := &Units{}; u.v.Rsh(v, shift); return u }
	w := &Window{Coin: q.coin, AsOf: q.asOf, ScaleExp: exp, TargetUnits: scale(sc.target), TotalUnits: scale(total),
		Complete: true, Shares: shares, FromMs: fromMs, ToMs: endMs, Miners: make([]WindowShare, len(outs)),
		RolledHours: len(rolledHours), RawHours: len(staleHours), Prefixes: prefixes}
	b := *boundary
	b.ShareUnits = scale(&boundary.ShareUnits.v)
	b.CountedUnits = scale(partU)
	w.Boundary = &b
	for i, o := range outs {
		u := o.amt.units(shift)
		w.Miners[i] = WindowShare{Address: o.k.address, Worker: o.k.worker, Units: u, Shares: o.shares, Difficulty: unitsFloat(&u.v, exp)}
	}
	q.s.log.Debug("pplns: fast window", "coin", q.coin, "locate", t1.Sub(t0), "read", t2.Sub(t1), "raw", tRaw, "rollups", tRoll,
		"walk", t3.Sub(t2), "sum", time.Since(t3), "raw_ranges", len(plus), "head", useHead, "prefixes", prefixes, "keys", len(outs))
	return w, nil
}

// notFast logs why the fast path gave up; PPLNS then walks step by step.
func (q *pplnsQuery) notFast(why string) (*Window, error) {
	q.s.log.Debug("pplns: fast path not taken", "coin", q.coin, "why", why)
	return nil, nil
}

// dnAcc is a key's walked shares.
type dnAcc struct {
	ds   []dn
	part *big.Int // the boundary share's counted part, at the scaler's scale
}

func (a *dnAcc) add(d float64, n int64) {
	for i := range a.ds {
		if a.ds[i].d == d {
			a.ds[i].n += n
			return
		}
	}
	a.ds = append(a.ds, dn{d, n})
}

func cmpKey(a, b wkey) int {
	if c := strings.Compare(a.address, b.address); c != 0 {
		return c
	}
	return strings.Compare(a.worker, b.worker)
}

// amount is a key's sum in units of 2^exp: 128 bits while it fits.
type amount struct {
	hi, lo uint64
	big    *big.Int // once it does not fit
}

func (a *amount) add(sc *scaler, d float64, n uint64) {
	if a.big == nil {
		if w, ok := sc.word(d); ok {
			hi, lo := bits.Mul64(w, n)
			l, c := bits.Add64(a.lo, lo, 0)
			h, c2 := bits.Add64(a.hi, hi, c)
			if c2 == 0 {
				a.hi, a.lo = h, l
				return
			}
		}
		a.toBig()
	}
	a.big.Add(a.big, sc.times(d, n))
}

func (a *amount) addBig(v *big.Int) {
	if a.big == nil {
		a.toBig()
	}
	a.big.Add(a.big, v)
}

func (a *amount) toBig() {
	a.big = new(big.Int).SetUint64(a.hi)
	a.big.Lsh(a.big, 64).Or(a.big, new(big.Int).SetUint64(a.lo))
}

func (a *amount) addTo(z *big.Int) {
	if a.big != nil {
		z.Add(z, a.big)
		return
	}
	v := new(big.Int).SetUint64(a.hi)
	z.Add(z, v.Lsh(v, 64).Or(v, new(big.Int).SetUint64(a.lo)))
}

func (a *amount) trailingZeros() uint {
	switch {
	case a.big != nil && a.big.Sign() != 0:
		return a.big.TrailingZeroBits()
	case a.big != nil:
		return math.MaxUint32
	case a.lo != 0:
		return uint(bits.TrailingZeros64(a.lo))
	case a.hi != 0:
		return 64 + uint(bits.TrailingZeros64(a.hi))
	}
	return math.MaxUint32
}

// units returns the amount shifted right by shift (exact: shift is at
// most its trailing zeros).
func (a *amount) units(shift uint) *Units {
	u := &Units{}
	if a.big != nil {
		u.v.Rsh(a.big, shift)
		return u
	}
	hi, lo := a.hi, a.lo
	switch {
	case shift >= 128:
		hi, lo = 0, 0
	case shift >= 64:
		hi, lo = 0, hi>>(shift-64)
	case shift > 0:
		hi, lo = hi>>shift, lo>>shift|hi<<(64-shift)
	}
	if hi == 0 {
		u.v.SetUint64(lo)
		return u
	}
	u.v.SetUint64(hi)
	u.v.Lsh(&u.v, 64).Or(&u.v, new(big.Int).SetUint64(lo))
	return u
}

// poolHours reads pool_hour's pool-share counts for [from, to).
func (q *pplnsQuery) poolHours(from, to int64) ([]poolHourRow, error) {
	rows, err := q.s.conn.Query(q.ctx, `SELECT toUInt32(hour) AS h, difficulty, sum(n), toUInt32(min(version)) FROM pool_hour FINAL
		WHERE coin = ? AND solo = 0 AND hour >= toDateTime(?) AND hour < toDateTime(?) GROUP BY h, difficulty`, q.coin, from, to)
	if err != nil {
		return nil, fmt.Errorf("chstore: pplns: pool hours: %w", err)
	}
	defer rows.Close()
	var out []poolHourRow
	for rows.Next() {
		var r poolHourRow
		if err := rows.Scan(&r.h, &r.d, &r.n, &r.v); err != nil {
			return nil, fmt.Errorf("chstore: pplns: pool hours: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// shareHours lists the hours of [from, to) that hold shares.
func (q *pplnsQuery) shareHours(from, to int64) ([]int64, error) {
	rows, err := q.s.conn.Query(q.ctx, `SELECT DISTINCT toUInt32(toStartOfHour(minute)) FROM pool_minute
		WHERE coin = ? AND minute >= toDateTime(?) AND minute < toDateTime(?)`, q.coin, from, to)
	if err != nil {
		return nil, fmt.Errorf("chstore: pplns: hours: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var h uint32
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("chstore: pplns: hours: %w", err)
		}
		out = append(out, int64(h))
	}
	return out, rows.Err()
}

// minuteSums reads pool_minute's pool difficulty per minute of [from, to]
// (unix seconds), one row per gateway batch and minute (copies of a batch
// are dropped). Every row counts, snapshot or not: the sums only guide,
// and say which hours hold shares.
func (q *pplnsQuery) minuteSums(from, to int64) (map[int64]float64, error) {
	rows, err := q.s.conn.Query(q.ctx, `SELECT toUInt32(minute) AS m, sum(d) FROM (
			SELECT minute, any(pool_d) AS d FROM pool_minute
			WHERE coin = ? AND minute >= toDateTime(?) AND minute <= toDateTime(?) GROUP BY minute, gateway, seq)
		GROUP BY m`, q.coin, from, to)
	if err != nil {
		return nil, fmt.Errorf("chstore: pplns: minutes: %w", err)
	}
	defer rows.Close()
	out := map[int64]float64{}
	for rows.Next() {
		var (
			m uint32
			v float64
		)
		if err := rows.Scan(&m, &v); err != nil {
			return nil, fmt.Errorf("chstore: pplns: minutes: %w", err)
		}
		out[int64(m)] = v
	}
	return out, rows.Err()
}

// freshness marks the rolled hours of [from, to) whose rollup counts every
// snapshot share of the hour (no snapshot share inserted at or after its
// version).
func (q *pplnsQuery) freshness(from, to, minV int64, hour func(int64) *fastHour) error {
	stale := map[int64]bool{}
	rows, err := q.s.conn.Query(q.ctx, `SELECT toUInt32(toStartOfHour(time)) AS h, toUInt32(max(ins)) FROM shares
		PREWHERE ins >= toDateTime(?) WHERE coin = ? AND ts_ms >= ? AND ts_ms < ? AND ins < toDateTime(?) GROUP BY h`,
		minV, q.coin, from*1000, to*1000, q.asOf)
	if err != nil {
		return fmt.Errorf("chstore: pplns: freshness: %w", err)
	}
	for rows.Next() {
		var h, last uint32
		if err := rows.Scan(&h, &last); err != nil {
			rows.Close()
			return fmt.Errorf("chstore: pplns: freshness: %w", err)
		}
		if int64(last) >= hour(int64(h)).minV {
			stale[int64(h)] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("chstore: pplns: freshness: %w", err)
	}
	for h := from; h < to; h += 3600 {
		if x := hour(h); x.rolled && !stale[h] {
			x.usable = true
		}
	}
	return nil
}

// rangeCond is the condition for pool shares of [loMs, hiMs], bounded by
// last at hiMs. Literal integers and a quoted gateway only.
func (q *pplnsQuery) rangeCond(loMs, hiMs int64, last *ShareID) string {
	c := fmt.Sprintf("(ts_ms >= %d AND ts_ms <= %d", loMs, hiMs)
	if last != nil {
		c += fmt.Sprintf(" AND (ts_ms, gateway, seq, idx) <= (%d, '%s', %d, %d)", hiMs, quote(last.Gateway), last.Seq, last.Idx)
	}
	return c + ")"
}

// quote escapes a string for a single-quoted ClickHouse literal.
func quote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// rawCredit counts the snapshot's pool shares in ranges per key and
// difficulty, times sign.
func (q *pplnsQuery) rawCredit(ranges []string, byAddress bool, sign int64) ([]keyed, error) {
	key, group := "address, worker", "address, worker"
	if byAddress {
		key, group = "address, ''", "address"
	}
	return q.keyedRows(`SELECT `+key+`, difficulty, count() FROM shares FINAL
		WHERE coin = ? AND solo = 0 AND ins < toDateTime(?) AND (`+strings.Join(ranges, " OR ")+`)
		GROUP BY `+group+`, difficulty ORDER BY `+group+`, difficulty`, 1, func(ns []uint64, _ float64) (int64, bool) {
		return sign * int64(ns[0]), true
	}, q.coin, q.asOf)
}

var errPrefixMismatch = fmt.Errorf("chstore: pplns: a day prefix is smaller than an earlier one")

// keyedRows reads (address, worker, difficulty, n1…nk) rows in key order;
// combine turns the k counts into one, false when they are inconsistent.
func (q *pplnsQuery) keyedRows(query string, k int, combine func([]uint64, float64) (int64, bool), args ...any) ([]keyed, error) {
	rows, err := q.s.conn.Query(q.ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: pplns: credit: %w", err)
	}
	defer rows.Close()
	var (
		out  []keyed
		a, w string
		d    float64
		ns   = make([]uint64, k)
		dst  = make([]any, 3+k)
	)
	dst[0], dst[1], dst[2] = &a, &w, &d
	for i := range ns {
		dst[3+i] = &ns[i]
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("chstore: pplns: credit: %w", err)
		}
		n, ok := combine(ns, d)
		if !ok {
			return nil, errPrefixMismatch
		}
		if n == 0 {
			continue
		}
		if l := len(out); l > 0 && out[l-1].k.address == a && out[l-1].k.worker == w {
			out[l-1].ds = append(out[l-1].ds, dn{d, n})
			continue
		}
		out = append(out, keyed{k: wkey{a, w}, ds: []dn{{d, n}}})
	}
	return out, rows.Err()
}

// prefixCredit credits the rolled hours from day prefixes: per day, each
// run [a, b] of rolled hours (hours without shares may sit inside) is
// P(b) − P(a−1). It returns the per-difficulty sums of every prefix read
// and what pool_hour says they must be.
func (q *pplnsQuery) prefixCredit(rolled []int64, st *fastState) ([]keyed, []map[float64]uint64, []map[float64]uint64, error) {
	type term struct {
		hour, sign int64
	}
	var terms []term
	sorted := slices.Clone(rolled)
	slices.Sort(sorted)
	for i := 0; i < len(sorted); {
		a := sorted[i]
		day := a - mod(a, 86400)
		b, j := a, i+1
	run:
		for ; j < len(sorted) && sorted[j]-mod(sorted[j], 86400) == day; j++ {
			for h := b + 3600; h < sorted[j]; h += 3600 {
				if x := st.hours[h]; x != nil && (x.rolled || x.shares) {
					break run // a stale hour in between is read raw
				}
			}
			b = sorted[j]
		}
		terms = append(terms, term{b, 1})
		if a > day {
			terms = append(terms, term{a - 3600, -1})
		}
		i = j
	}
	if len(terms) > 8 {
		return nil, nil, nil, fmt.Errorf("chstore: pplns: %d day prefixes needed", len(terms))
	}
	// A prefix covers its day from midnight: its pool_hour counts must be loaded.
	first := int64(math.MaxInt64)
	for _, t := range terms {
		first = min(first, t.hour-mod(t.hour, 86400))
	}
	if first < st.loaded {
		ph, err := q.poolHours(first, st.loaded)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, r := range ph {
			if int64(r.h) < st.loaded {
				st.hour(int64(r.h)).counts[r.d] += r.n
			}
		}
	}
	var cols, list []string
	sums := make([]map[float64]uint64, len(terms))
	want := make([]map[float64]uint64, len(terms))
	for i, t := range terms {
		cols = append(cols, fmt.Sprintf("sumIf(n, hour = toDateTime(%d))", t.hour))
		list = append(list, fmt.Sprintf("toDateTime(%d)", t.hour))
		sums[i], want[i] = map[float64]uint64{}, map[float64]uint64{}
		for h := t.hour - mod(t.hour, 86400); h <= t.hour; h += 3600 {
			if x := st.hours[h]; x != nil {
				for d, n := range x.counts {
					want[i][d] += n
				}
			}
		}
	}
	out, err := q.keyedRows(`SELECT address, '', difficulty, `+strings.Join(cols, ", ")+` FROM miner_prefix FINAL
		WHERE coin = ? AND solo = 0 AND hour IN (`+strings.Join(list, ", ")+`) GROUP BY address, difficulty ORDER BY address, difficulty`,
		len(terms), func(ns []uint64, d float64) (int64, bool) {
			var v int64
			for i, t := range terms {
				sums[i][d] += ns[i]
				v += t.sign * int64(ns[i])
			}
			return v, v >= 0
		}, q.coin)
	return out, sums, want, err
}

// hourCredit credits the rolled hours from worker_hour.
func (q *pplnsQuery) hourCredit(rolled []int64, st *fastState, byAddress bool) ([]keyed, []map[float64]uint64, []map[float64]uint64, error) {
	sorted := slices.Clone(rolled)
	slices.Sort(sorted)
	list := make([]uint32, len(sorted))
	want := map[float64]uint64{}
	for i, h := range sorted {
		list[i] = uint32(h)
		for d, n := range st.hours[h].counts {
			want[d] += n
		}
	}
	sums := map[float64]uint64{}
	key, group := "address, worker", "address, worker"
	if byAddress {
		key, group = "address, ''", "address"
	}
	out, err := q.keyedRows(`SELECT `+key+`, difficulty, sum(n) FROM worker_hour FINAL
		WHERE coin = ? AND solo = 0 AND hour >= toDateTime(?) AND hour <= toDateTime(?) AND has(?, toUInt32(hour))
		GROUP BY `+group+`, difficulty ORDER BY `+group+`, difficulty`, 1, func(ns []uint64, d float64) (int64, bool) {
		sums[d] += ns[0]
		return int64(ns[0]), true
	}, q.coin, sorted[0], sorted[len(sorted)-1], list)
	return out, []map[float64]uint64{sums}, []map[float64]uint64{want}, err
}

func equalSums(got, want []map[float64]uint64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		for d, n := range got[i] {
			if n != 0 && want[i][d] != n {
				return false
			}
		}
		for d, n := range want[i] {
			if n != 0 && got[i][d] != n {
				return false
			}
		}
	}
	return true
}

// minuteShares reads the snapshot's pool shares of one minute (up to the
// block share), newest first.
func (q *pplnsQuery) minuteShares(m, endMs int64, endID *ShareID) ([]ShareRef, error) {
	hi, last := m*1000+59999, (*ShareID)(nil)
	if hi >= endMs {
		hi, last = endMs, endID
	}
	where, args := q.rawFilter(m*1000, hi, last)
	rows, err := q.s.conn.Query(q.ctx, `SELECT ts_ms, gateway, seq, idx, address, worker, difficulty FROM shares FINAL WHERE `+where+
		` ORDER BY ts_ms DESC, gateway DESC, seq DESC, idx DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: pplns: boundary minute: %w", err)
	}
	defer rows.Close()
	var out []ShareRef
	for rows.Next() {
		var r ShareRef
		if err := rows.Scan(&r.TimeMs, &r.Gateway, &r.Seq, &r.Idx, &r.Address, &r.Worker, &r.Difficulty); err != nil {
			return nil, fmt.Errorf("chstore: pplns: boundary minute: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// scaler expresses amounts as integers in units of 2^exp, exp the lowest
// set bit of the target and of every difficulty seen.
type scaler struct {
	exp       int
	target    *big.Int
	cache     map[float64]*big.Int
	words     map[float64]uint64 // cache entries that fit 64 bits
	lastShift uint               // by how much see last lowered exp
}

func newScaler(fixedTarget *big.Int) *scaler {
	s := &scaler{exp: fixExp, target: new(big.Int).Set(fixedTarget), cache: map[float64]*big.Int{}, words: map[float64]uint64{}}
	if fixedTarget.Sign() != 0 {
		tz := fixedTarget.TrailingZeroBits()
		s.exp += int(tz)
		s.target.Rsh(s.target, tz)
	}
	return s
}

// lowBit is the exponent of d's lowest set bit (d finite, > 0).
func lowBit(d float64) int {
	frac, e := math.Frexp(d)
	return e - 53 + bits.TrailingZeros64(uint64(frac*(1<<53)))
}

// see makes d representable; it reports whether exp was lowered (every
// amount computed before must then be shifted left by lastShift).
func (s *scaler) see(d float64) bool {
	if d == 0 {
		return false
	}
	if _, ok := s.cache[d]; ok {
		return false
	}
	lb := lowBit(d)
	lowered := false
	if lb < s.exp {
		s.lastShift = uint(s.exp - lb)
		s.target.Lsh(s.target, s.lastShift)
		clear(s.words)
		for k, v := range s.cache {
			v.Lsh(v, s.lastShift)
			if v.IsUint64() {
				s.words[k] = v.Uint64()
			}
		}
		s.exp = lb
		lowered = true
	}
	frac, _ := math.Frexp(d)
	m := uint64(frac * (1 << 53))
	v := new(big.Int).SetUint64(m >> bits.TrailingZeros64(m)) // d = v × 2^lb
	v.Lsh(v, uint(lb-s.exp))
	s.cache[d] = v
	if v.IsUint64() {
		s.words[d] = v.Uint64()
	}
	return lowered
}

// word returns d in units of 2^exp when it fits 64 bits (d seen).
func (s *scaler) word(d float64) (uint64, bool) {
	if d == 0 {
		return 0, true
	}
	w, ok := s.words[d]
	return w, ok
}

// of returns d in units of 2^exp (d seen).
func (s *scaler) of(d float64) *big.Int {
	if d == 0 {
		return new(big.Int)
	}
	return new(big.Int).Set(s.cache[d])
}

// times returns n × d in units of 2^exp (d seen).
func (s *scaler) times(d float64, n uint64) *big.Int {
	if d == 0 || n == 0 {
		return new(big.Int)
	}
	return new(big.Int).Mul(s.cache[d], new(big.Int).SetUint64(n))
}

// unitsFloat returns v × 2^exp rounded to the nearest float64.
func unitsFloat(v *big.Int, exp int) float64 {
	if v.IsUint64() {
		if f := math.Ldexp(float64(v.Uint64()), exp); f == 0 || f >= 0x1p-1022 {
			return f // float64(uint64) rounds once; a normal result scales exactly
		}
	}
	x := new(big.Float).SetInt(v)
	f, _ := x.SetMantExp(x, exp).Float64()
	return f
}
