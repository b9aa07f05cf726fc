package chstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"time"
)

// ShareID identifies one share: the gateway that checked it, the sequence
// of the gateway's batch (its NATS message) and the index in the batch.
type ShareID struct {
	Gateway string `json:"gateway"`
	Seq     uint64 `json:"seq"`
	Idx     uint32 `json:"idx"`
}

// ShareRef is one share with what a window needs of it.
type ShareRef struct {
	ShareID
	TimeMs            int64   `json:"time_ms"`
	Address           string  `json:"address"`
	Worker            string  `json:"worker"`
	Difficulty        float64 `json:"difficulty"`
	Height            int64   `json:"height,omitempty"`
	NetworkDifficulty float64 `json:"network_difficulty,omitempty"`
}

// before reports whether r comes before the share (ts, id) in the order
// PPLNS walks: time, then gateway, batch sequence and index.
func (r *ShareRef) before(ts int64, id ShareID) bool {
	if r.TimeMs != ts {
		return r.TimeMs < ts
	}
	if r.Gateway != id.Gateway {
		return r.Gateway < id.Gateway
	}
	if r.Seq != id.Seq {
		return r.Seq < id.Seq
	}
	return r.Idx < id.Idx
}

// PPLNSRequest asks for the PPLNS window of one block.
type PPLNSRequest struct {
	Coin string
	// Height finds the block share: the earliest pool (non-solo) share
	// marked as a block at that height. Without it, EndMs (and Share, when
	// known) place the end of the window: every share up to EndMs and, at
	// EndMs, up to Share in (gateway, seq, idx) order.
	Height int64
	EndMs  int64
	Share  *ShareID
	// NetworkDifficulty of the block; 0 takes the block share's.
	NetworkDifficulty float64
	// N: the window holds N × network difficulty of share difficulty.
	N float64
	// AsOf (unix seconds, server clock) limits the window to shares that
	// reached ClickHouse before it; 0 means now − grace. The same AsOf
	// always gives the same window.
	AsOf int64
	// ByAddress sums the workers of each payout address into one entry
	// (Worker ""): what a reward split needs, and the day prefixes
	// (miner_prefix) can then stand in for the hourly rollups.
	ByAddress bool
	// StepByStep skips the fast path (pplns_fast.go) and walks hour by hour
	// and minute by minute: the reference for tests and benchmarks.
	StepByStep bool
}

// Window is the share work of pool (non-solo) shares, per worker. For
// PPLNS it is the window of a block: walking back from the block share
// (inclusive) in the order (time, gateway, seq, idx), the shares whose
// difficulties add up to N × network difficulty, the last one — the
// boundary share — counted only in the part that fills the window. For a
// round (Store.Round) it is every share of a time range, and TargetUnits and
// Boundary are nil.
//
// Amounts are exact: every *Units is an integer number of 2^ScaleExp
// difficulty, each share counts its float64 difficulty exactly, and
// TotalUnits = Σ Miners[i].Units (= TargetUnits when Complete). A reward of
// R base units splits as R × Units_i / TotalUnits with integer arithmetic.
type Window struct {
	Coin              string  `json:"coin"`
	N                 float64 `json:"n,omitempty"`
	NetworkDifficulty float64 `json:"network_difficulty,omitempty"`
	AsOf              int64   `json:"as_of"`
	ScaleExp          int     `json:"scale_exp"`
	TargetUnits       *Units  `json:"target_units,omitempty"`
	TotalUnits        *Units  `json:"total_units"`
	// Complete is false when every share kept is fewer than the window;
	// TotalUnits then is all of them.
	Complete bool `json:"complete"`
	// Shares counts the shares in the window, the boundary share included.
	Shares   uint64         `json:"shares"`
	FromMs   int64          `json:"from_ms"`
	ToMs     int64          `json:"to_ms"` // inclusive
	End      *ShareRef      `json:"end,omitempty"`
	Boundary *BoundaryShare `json:"boundary,omitempty"`
	Miners   []WindowShare  `json:"miners"`
	// RolledHours and RawHours count the whole hours read from the hourly
	// rollups and, because a rollup did not match the snapshot, from raw
	// shares.
	RolledHours int `json:"rolled_hours"`
	RawHours    int `json:"raw_hours"`
	// Fast says the window came from the fast path (a few reads, see
	// pplns_fast.go) rather than the step-by-step walk; both are exact.
	// Prefixes counts the day prefixes (miner_prefix) it read.
	Fast     bool `json:"fast,omitempty"`
	Prefixes int  `json:"prefixes,omitempty"`
}

// BoundaryShare is the oldest share of a complete window.
type BoundaryShare struct {
	ShareRef
	CountedUnits *Units `json:"counted_units"` // the part inside the window
	ShareUnits   *Units `json:"share_units"`   // the whole share
}

// WindowShare is one worker's part of a window.
type WindowShare struct {
	Address string `json:"address"`
	Worker  string `json:"worker"`
	Units   *Units `json:"units"`
	Shares  uint64 `json:"shares"` // the boundary share counts as one
	// Difficulty is Units as a float64, for display.
	Difficulty float64 `json:"difficulty"`
}

type wkey struct{ address, worker string }

type wacc struct {
	units  *big.Int
	shares uint64
}

// walker accumulates a window from the newest share backwards.
type walker struct {
	target, cum *big.Int
	workers     map[wkey]*wacc
	shares      uint64
	boundary    *BoundaryShare
	fromMs      int64
	rolled, raw int // whole hours by source
	fixedCache  map[float64]*big.Int
	byAddress   bool // one entry per address
}

// fixed returns n × d × 2^-fixExp exactly, converting each difficulty once.
func (w *walker) fixed(d float64, n uint64) *big.Int {
	if w.fixedCache == nil {
		w.fixedCache = map[float64]*big.Int{}
	}
	u, ok := w.fixedCache[d]
	if !ok {
		u = fixedOf(d)
		w.fixedCache[d] = u
	}
	if n == 1 {
		return new(big.Int).Set(u)
	}
	return new(big.Int).Mul(u, new(big.Int).SetUint64(n))
}

func (w *walker) credit(k wkey, units *big.Int, n uint64) {
	if w.byAddress {
		k.worker = ""
	}
	a, ok := w.workers[k]
	if !ok {
		a = &wacc{units: new(big.Int)}
		w.workers[k] = a
	}
	a.units.Add(a.units, units)
	a.shares += n
	w.shares += n
}

// fits reports whether adding amount leaves the window short of its target
// (always, for a window without one).
func (w *walker) fits(amount *big.Int) bool {
	return w.target == nil || new(big.Int).Add(w.cum, amount).Cmp(w.target) < 0
}

// PPLNS computes the window of a block. Whole hours come from the hourly
// rollups when they provably hold exactly the shares of the snapshot, and
// from `shares FINAL` otherwise; the hour of the block and the hour of the
// boundary come from `shares FINAL`. Every read is limited to shares
// inserted before AsOf, so all reads see one snapshot.
func (s *Store) PPLNS(ctx context.Context, req PPLNSRequest) (*Window, error) {
	if req.Coin == "" {
		return nil, fmt.Errorf("%w: coin is required", ErrBadRequest)
	}
	if !(req.N > 0) || math.IsInf(req.N, 0) {
		return nil, fmt.Errorf("%w: window N must be > 0, got %v", ErrBadRequest, req.N)
	}
	if req.NetworkDifficulty < 0 || math.IsNaN(req.NetworkDifficulty) || math.IsInf(req.NetworkDifficulty, 0) {
		return nil, fmt.Errorf("%w: network difficulty %v", ErrBadRequest, req.NetworkDifficulty)
	}
	if req.Height <= 0 && req.EndMs <= 0 {
		return nil, fmt.Errorf("%w: height or end time is required", ErrBadRequest)
	}
	now, err := s.ServerNow(ctx)
	if err != nil {
		return nil, err
	}
	asOf := now - s.GraceSeconds()
	if req.AsOf > 0 && req.AsOf < asOf {
		asOf = req.AsOf
	}
	rctx := s.readCtx(ctx)
	var end *ShareRef
	endMs, endID := req.EndMs, req.Share
	if req.Height > 0 || req.Share != nil {
		e, err := s.windowEnd(rctx, req, asOf)
		if err != nil {
			return nil, err
		}
		end, endMs, endID = &e, e.TimeMs, &e.ShareID
	}
	nd := req.NetworkDifficulty
	if nd == 0 && end != nil {
		nd = end.NetworkDifficulty
	}
	if !(nd > 0) {
		return nil, fmt.Errorf("%w: no network difficulty (pass one, or a block share that carries it)", ErrBadRequest)
	}
	target, err := fixedProduct(req.N, nd)
	if err != nil {
		return nil, err
	}
	q := &pplnsQuery{s: s, ctx: rctx, coin: req.Coin, asOf: asOf}
	if !req.StepByStep {
		fw, err := q.fastPPLNS(target, req.N*nd, endMs, endID, req.ByAddress)
		if err != nil {
			return nil, err
		}
		if fw != nil {
			fw.N, fw.NetworkDifficulty, fw.End, fw.Fast = req.N, nd, end, true
			return fw, nil
		}
	}
	w := &walker{target: target, cum: new(big.Int), workers: map[wkey]*wacc{}, byAddress: req.ByAddress}
	endHour := endMs/1000 - mod(endMs/1000, 3600)
	done, err := q.walkRaw(w, endHour*1000, endMs, endID)
	if err != nil {
		return nil, err
	}
	if !done {
		oldest, err := q.oldestHour()
		if err != nil {
			return nil, err
		}
		if done, err = q.walkHoursBack(w, oldest, endHour); err != nil {
			return nil, err
		}
	}
	out, err := w.result(req.Coin, asOf, endMs)
	if err != nil {
		return nil, err
	}
	out.N, out.NetworkDifficulty, out.End = req.N, nd, end
	return out, nil
}

// walkHoursBack walks whole hours from hi back to lo, a day per query,
// until the window fills.
func (q *pplnsQuery) walkHoursBack(w *walker, lo, hi int64) (bool, error) {
	const chunk = 24 * 3600
	for ; hi > lo; hi -= chunk {
		done, err := q.walkHours(w, max(hi-chunk, lo), hi)
		if err != nil || done {
			return done, err
		}
	}
	return false, nil
}

// RoundRequest asks for the work of every pool share in a time range.
type RoundRequest struct {
	Coin         string
	FromMs, ToMs int64 // shares with FromMs <= time < ToMs; FromMs 0: from the oldest share kept
	AsOf         int64 // as in PPLNSRequest
	ByAddress    bool  // as in PPLNSRequest
}

// Round sums the work of every pool (non-solo) share with time in
// [FromMs, ToMs), per worker, exactly: the hours inside the range from the
// rollups (when they equal the snapshot) and the edges from raw shares.
func (s *Store) Round(ctx context.Context, req RoundRequest) (*Window, error) {
	if req.Coin == "" {
		return nil, fmt.Errorf("%w: coin is required", ErrBadRequest)
	}
	if req.ToMs <= req.FromMs || req.FromMs < 0 {
		return nil, fmt.Errorf("%w: empty range [%d, %d)", ErrBadRequest, req.FromMs, req.ToMs)
	}
	now, err := s.ServerNow(ctx)
	if err != nil {
		return nil, err
	}
	asOf := now - s.GraceSeconds()
	if req.AsOf > 0 && req.AsOf < asOf {
		asOf = req.AsOf
	}
	w := &walker{cum: new(big.Int), workers: map[wkey]*wacc{}, byAddress: req.ByAddress}
	q := &pplnsQuery{s: s, ctx: s.readCtx(ctx), coin: req.Coin, asOf: asOf}
	// A round without a start (the coin's first block) begins with the
	// oldest share kept.
	oldest, err := q.oldestHour()
	if err != nil {
		return nil, err
	}
	req.FromMs = max(req.FromMs, oldest*1000)
	if req.ToMs <= req.FromMs {
		out, err := w.result(req.Coin, asOf, req.ToMs-1)
		if err == nil {
			out.FromMs = req.FromMs
		}
		return out, err
	}
	const hourMs = 3600 * 1000
	firstHour := (req.FromMs + hourMs - 1) / hourMs * hourMs // first whole hour inside
	lastHour := req.ToMs / hourMs * hourMs                   // end of the last whole hour inside
	if firstHour >= lastHour {
		if _, err := q.walkRaw(w, req.FromMs, req.ToMs-1, nil); err != nil {
			return nil, err
		}
	} else {
		if lastHour < req.ToMs {
			if _, err := q.walkRaw(w, lastHour, req.ToMs-1, nil); err != nil {
				return nil, err
			}
		}
		if _, err := q.walkHoursBack(w, firstHour/1000, lastHour/1000); err != nil {
			return nil, err
		}
		if req.FromMs < firstHour {
			if _, err := q.walkRaw(w, req.FromMs, firstHour-1, nil); err != nil {
				return nil, err
			}
		}
	}
	out, err := w.result(req.Coin, asOf, req.ToMs-1)
	if err != nil {
		return nil, err
	}
	out.FromMs = req.FromMs
	return out, nil
}

type pplnsQuery struct {
	s    *Store
	ctx  context.Context
	coin string
	asOf int64
}

// windowEnd finds the block share.
func (s *Store) windowEnd(ctx context.Context, req PPLNSRequest, asOf int64) (ShareRef, error) {
	const cols = `ts_ms, gateway, seq, idx, address, worker, difficulty, height, network_difficulty`
	var (
		q    string
		args []any
	)
	switch {
	case req.Height > 0:
		// No FINAL: copies of a share are identical and LIMIT 1 keeps one;
		// a copy with ins < asOf exists exactly when the share is in the
		// snapshot. (FINAL would merge the whole table.)
		q = `SELECT ` + cols + ` FROM shares WHERE coin = ? AND block = 1 AND solo = 0 AND height = ? AND ins < toDateTime(?)
			ORDER BY ts_ms, gateway, seq, idx LIMIT 1`
		args = []any{req.Coin, req.Height, asOf}
	case req.Share != nil:
		q = `SELECT ` + cols + ` FROM shares WHERE coin = ? AND ts_ms = ? AND gateway = ? AND seq = ? AND idx = ? AND ins < toDateTime(?) LIMIT 1`
		args = []any{req.Coin, req.EndMs, req.Share.Gateway, req.Share.Seq, req.Share.Idx, asOf}
	default:
		q = `SELECT ` + cols + ` FROM shares WHERE coin = ? AND ts_ms <= ? AND ts_ms > ? AND solo = 0 AND ins < toDateTime(?)
			ORDER BY ts_ms DESC, gateway DESC, seq DESC, idx DESC LIMIT 1`
		args = []any{req.Coin, req.EndMs, req.EndMs - 3600*1000, asOf}
	}
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return ShareRef{}, fmt.Errorf("chstore: pplns: block share: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return ShareRef{}, fmt.Errorf("chstore: pplns: block share: %w", err)
		}
		return ShareRef{}, fmt.Errorf("%w: no block share for %s (height %d, end %d) in the shares written before %s",
			ErrNotFound, req.Coin, req.Height, req.EndMs, time.Unix(asOf, 0).UTC().Format(time.RFC3339))
	}
	var r ShareRef
	if err := rows.Scan(&r.TimeMs, &r.Gateway, &r.Seq, &r.Idx, &r.Address, &r.Worker, &r.Difficulty, &r.Height, &r.NetworkDifficulty); err != nil {
		return ShareRef{}, fmt.Errorf("chstore: pplns: block share: %w", err)
	}
	return r, nil
}

// oldestHour is the start of the oldest day partition of `shares`.
func (q *pplnsQuery) oldestHour() (int64, error) {
	parts, err := q.s.Partitions(q.ctx)
	if err != nil {
		return 0, err
	}
	oldest := int64(math.MaxInt64)
	for _, p := range parts {
		if p.Table != "shares" {
			continue
		}
		t := time.Date(p.Day/10000, time.Month(p.Day/100%100), p.Day%100, 0, 0, 0, 0, time.UTC).Unix()
		oldest = min(oldest, t)
	}
	if oldest == math.MaxInt64 {
		return 0, nil
	}
	return oldest, nil
}

// rawFilter selects pool shares of the snapshot with loMs <= ts_ms and
// ts_ms <= hiMs and, when last is set, (ts_ms, id) <= (hiMs, last).
func (q *pplnsQuery) rawFilter(loMs, hiMs int64, last *ShareID) (string, []any) {
	where := `coin = ? AND ts_ms >= ? AND ts_ms <= ? AND solo = 0 AND ins < toDateTime(?)`
	args := []any{q.coin, loMs, hiMs, q.asOf}
	if last != nil {
		where += ` AND (ts_ms, gateway, seq, idx) <= (?, ?, ?, ?)`
		args = append(args, hiMs, last.Gateway, last.Seq, last.Idx)
	}
	return where, args
}

// walkRaw walks the raw shares of [loMs, hiMs] (bounded by last) newest
// first; it reports whether the window filled up.
func (q *pplnsQuery) walkRaw(w *walker, loMs, hiMs int64, last *ShareID) (bool, error) {
	where, args := q.rawFilter(loMs, hiMs, last)
	// Exact totals per minute locate the boundary's minute.
	rows, err := q.s.conn.Query(q.ctx, `SELECT toUInt32(toStartOfMinute(time)) AS m, difficulty, count()
		FROM shares FINAL WHERE `+where+` GROUP BY m, difficulty`, args...)
	if err != nil {
		return false, fmt.Errorf("chstore: pplns: minutes: %w", err)
	}
	totals := map[int64]*big.Int{}
	for rows.Next() {
		var (
			m uint32
			d float64
			n uint64
		)
		if err := rows.Scan(&m, &d, &n); err != nil {
			rows.Close()
			return false, fmt.Errorf("chstore: pplns: minutes: %w", err)
		}
		t, ok := totals[int64(m)]
		if !ok {
			t = new(big.Int)
			totals[int64(m)] = t
		}
		t.Add(t, w.fixed(d, n))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("chstore: pplns: minutes: %w", err)
	}
	minutes := make([]int64, 0, len(totals))
	for m := range totals {
		minutes = append(minutes, m)
	}
	sort.Slice(minutes, func(i, j int) bool { return minutes[i] > minutes[j] })
	boundaryMinute := int64(-1)
	cum := new(big.Int).Set(w.cum)
	for _, m := range minutes {
		if w.target != nil && new(big.Int).Add(cum, totals[m]).Cmp(w.target) >= 0 {
			boundaryMinute = m
			break
		}
		cum.Add(cum, totals[m])
	}
	// Whole minutes after the boundary's (all of them without a boundary).
	fullFrom := loMs
	if boundaryMinute >= 0 {
		fullFrom = (boundaryMinute + 60) * 1000
	}
	if fullFrom <= hiMs {
		fw, fa := q.rawFilter(fullFrom, hiMs, last)
		if err := q.creditGrouped(w, `SELECT address, worker, difficulty, count() FROM shares FINAL WHERE `+fw+
			` GROUP BY address, worker, difficulty`, fa...); err != nil {
			return false, err
		}
		if len(minutes) > 0 {
			w.fromMs = max(fullFrom, minutes[len(minutes)-1]*1000)
		}
	}
	if w.cum.Cmp(cum) != 0 {
		return false, fmt.Errorf("chstore: pplns: per-worker sums (%s) differ from per-minute sums (%s) in one snapshot", w.cum, cum)
	}
	if boundaryMinute < 0 {
		return false, nil
	}
	// The boundary's minute, share by share.
	bHi, bLast := hiMs, last
	if boundaryMinute*1000+59999 < hiMs {
		bHi, bLast = boundaryMinute*1000+59999, nil // the whole minute lies before the end
	}
	bw, ba := q.rawFilter(boundaryMinute*1000, bHi, bLast)
	rows, err = q.s.conn.Query(q.ctx, `SELECT ts_ms, gateway, seq, idx, address, worker, difficulty FROM shares FINAL WHERE `+bw+
		` ORDER BY ts_ms DESC, gateway DESC, seq DESC, idx DESC`, ba...)
	if err != nil {
		return false, fmt.Errorf("chstore: pplns: boundary minute: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r ShareRef
		if err := rows.Scan(&r.TimeMs, &r.Gateway, &r.Seq, &r.Idx, &r.Address, &r.Worker, &r.Difficulty); err != nil {
			return false, fmt.Errorf("chstore: pplns: boundary minute: %w", err)
		}
		u := w.fixed(r.Difficulty, 1)
		k := wkey{r.Address, r.Worker}
		w.fromMs = r.TimeMs
		if w.fits(u) {
			w.credit(k, u, 1)
			w.cum.Add(w.cum, u)
			continue
		}
		part := new(big.Int).Sub(w.target, w.cum)
		w.credit(k, part, 1)
		w.cum.Add(w.cum, part)
		w.boundary = &BoundaryShare{ShareRef: r, CountedUnits: NewUnits(part), ShareUnits: NewUnits(u)}
		return true, nil
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("chstore: pplns: boundary minute: %w", err)
	}
	return false, fmt.Errorf("chstore: pplns: the boundary minute's shares fell short of its total")
}

// creditGrouped credits every (address, worker, difficulty, count) row.
func (q *pplnsQuery) creditGrouped(w *walker, query string, args ...any) error {
	rows, err := q.s.conn.Query(q.ctx, query, args...)
	if err != nil {
		return fmt.Errorf("chstore: pplns: workers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k wkey
			d float64
			n uint64
		)
		if err := rows.Scan(&k.address, &k.worker, &d, &n); err != nil {
			return fmt.Errorf("chstore: pplns: workers: %w", err)
		}
		u := w.fixed(d, n)
		w.credit(k, u, n)
		w.cum.Add(w.cum, u)
	}
	return rows.Err()
}

// walkHours walks the whole hours [lo, hi) (unix seconds) newest first.
//
// Hour totals come from worker_hour where a rollup provably equals the
// snapshot, from `shares FINAL` otherwise; the hour that holds the boundary
// is walked share by share (walkRaw); the hours after it are credited per
// worker with one grouped query per source, and their sum is checked
// against the hour totals: rollups only ever grow, so equal sums prove both
// reads saw the same rows.
func (q *pplnsQuery) walkHours(w *walker, lo, hi int64) (bool, error) {
	for attempt := 0; ; attempt++ {
		done, err := q.walkHoursOnce(w, lo, hi)
		if !errors.Is(err, errMoved) || attempt >= 3 {
			return done, err
		}
	}
}

// errMoved: a rollup was rewritten between two reads; read again.
var errMoved = errors.New("chstore: pplns: rollups changed while reading")

func (q *pplnsQuery) walkHoursOnce(w *walker, lo, hi int64) (bool, error) {
	type hourInfo struct {
		total  *big.Int
		minV   int64
		rolled bool
	}
	hours := map[int64]*hourInfo{}
	get := func(h int64) *hourInfo {
		hi, ok := hours[h]
		if !ok {
			hi = &hourInfo{total: new(big.Int), minV: math.MaxInt64}
			hours[h] = hi
		}
		return hi
	}
	// (a) Rollup totals and versions per hour.
	rows, err := q.s.conn.Query(q.ctx, `SELECT toUInt32(hour) AS h, difficulty, sum(n), min(version) FROM worker_hour FINAL
		WHERE coin = ? AND solo = 0 AND hour >= toDateTime(?) AND hour < toDateTime(?) GROUP BY h, difficulty`, q.coin, lo, hi)
	if err != nil {
		return false, fmt.Errorf("chstore: pplns: rollups: %w", err)
	}
	globalMinV := int64(math.MaxInt64)
	for rows.Next() {
		var (
			h    uint32
			d    float64
			n, v uint64
		)
		if err := rows.Scan(&h, &d, &n, &v); err != nil {
			rows.Close()
			return false, fmt.Errorf("chstore: pplns: rollups: %w", err)
		}
		hi := get(int64(h))
		hi.rolled = true
		hi.total.Add(hi.total, w.fixed(d, n))
		hi.minV = min(hi.minV, int64(v))
		globalMinV = min(globalMinV, int64(v))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("chstore: pplns: rollups: %w", err)
	}
	// (b) Which hours hold shares at all (the per-minute table is small).
	rows, err = q.s.conn.Query(q.ctx, `SELECT DISTINCT toUInt32(toStartOfHour(minute)) FROM pool_minute
		WHERE coin = ? AND minute >= toDateTime(?) AND minute < toDateTime(?)`, q.coin, lo, hi)
	if err != nil {
		return false, fmt.Errorf("chstore: pplns: hours: %w", err)
	}
	for rows.Next() {
		var h uint32
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return false, fmt.Errorf("chstore: pplns: hours: %w", err)
		}
		get(int64(h))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("chstore: pplns: hours: %w", err)
	}
	// (c) Snapshot shares inserted at or after a rollup's version make it
	// stale. Only rows with ins >= the smallest version can: PREWHERE reads
	// just the ins column of the rest.
	if globalMinV != math.MaxInt64 {
		rows, err = q.s.conn.Query(q.ctx, `SELECT toUInt32(toStartOfHour(time)) AS h, toUInt32(max(ins)) FROM shares
			PREWHERE ins >= toDateTime(?) WHERE coin = ? AND ts_ms >= ? AND ts_ms < ? AND ins < toDateTime(?) GROUP BY h`,
			globalMinV, q.coin, lo*1000, hi*1000, q.asOf)
		if err != nil {
			return false, fmt.Errorf("chstore: pplns: freshness: %w", err)
		}
		for rows.Next() {
			var h, last uint32
			if err := rows.Scan(&h, &last); err != nil {
				rows.Close()
				return false, fmt.Errorf("chstore: pplns: freshness: %w", err)
			}
			if hi := get(int64(h)); hi.rolled && int64(last) >= hi.minV {
				hi.rolled = false
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("chstore: pplns: freshness: %w", err)
		}
	}
	var usable, stale []uint32
	for h, hi := range hours {
		if hi.rolled && hi.minV <= q.asOf {
			usable = append(usable, uint32(h))
			continue
		}
		hi.rolled = false
		hi.total.SetInt64(0)
		stale = append(stale, uint32(h))
	}
	// (d) Totals of stale hours from raw shares.
	if len(stale) > 0 {
		sortU32(stale)
		rows, err := q.s.conn.Query(q.ctx, `SELECT toUInt32(toStartOfHour(time)) AS h, difficulty, count() FROM shares FINAL
			WHERE coin = ? AND ts_ms >= ? AND ts_ms < ? AND solo = 0 AND ins < toDateTime(?) AND has(?, toUInt32(toStartOfHour(time)))
			GROUP BY h, difficulty`, q.coin, int64(stale[0])*1000, (int64(stale[len(stale)-1])+3600)*1000, q.asOf, stale)
		if err != nil {
			return false, fmt.Errorf("chstore: pplns: raw hours: %w", err)
		}
		for rows.Next() {
			var (
				h uint32
				d float64
				n uint64
			)
			if err := rows.Scan(&h, &d, &n); err != nil {
				rows.Close()
				return false, fmt.Errorf("chstore: pplns: raw hours: %w", err)
			}
			hi := get(int64(h))
			hi.total.Add(hi.total, w.fixed(d, n))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("chstore: pplns: raw hours: %w", err)
		}
	}
	// Walk the hours, newest first, to the one that fills the window.
	order := make([]int64, 0, len(hours))
	for h, hi := range hours {
		if hi.total.Sign() > 0 {
			order = append(order, h)
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i] > order[j] })
	cum := new(big.Int).Set(w.cum)
	boundaryHour := int64(-1)
	var full []int64
	for _, h := range order {
		if w.target != nil && new(big.Int).Add(cum, hours[h].total).Cmp(w.target) >= 0 {
			boundaryHour = h
			break
		}
		cum.Add(cum, hours[h].total)
		full = append(full, h)
	}
	// (e) Credit the whole hours per worker, one query per source.
	var fullRolled, fullStale []uint32
	want := new(big.Int).Sub(cum, w.cum)
	for _, h := range full {
		if hours[h].rolled {
			fullRolled = append(fullRolled, uint32(h))
		} else {
			fullStale = append(fullStale, uint32(h))
		}
	}
	before := new(big.Int).Set(w.cum)
	pending := &walker{target: nil, cum: new(big.Int), workers: map[wkey]*wacc{}, fixedCache: w.fixedCache, byAddress: w.byAddress}
	if len(fullRolled) > 0 {
		sortU32(fullRolled)
		if err := q.creditGrouped(pending, `SELECT address, worker, difficulty, sum(n) FROM worker_hour FINAL
			WHERE coin = ? AND solo = 0 AND hour >= toDateTime(?) AND hour <= toDateTime(?) AND has(?, toUInt32(hour))
			GROUP BY address, worker, difficulty`, q.coin, fullRolled[0], fullRolled[len(fullRolled)-1], fullRolled); err != nil {
			return false, err
		}
	}
	if len(fullStale) > 0 {
		sortU32(fullStale)
		if err := q.creditGrouped(pending, `SELECT address, worker, difficulty, count() FROM shares FINAL
			WHERE coin = ? AND ts_ms >= ? AND ts_ms < ? AND solo = 0 AND ins < toDateTime(?) AND has(?, toUInt32(toStartOfHour(time)))
			GROUP BY address, worker, difficulty`, q.coin, int64(fullStale[0])*1000, (int64(fullStale[len(fullStale)-1])+3600)*1000,
			q.asOf, fullStale); err != nil {
			return false, err
		}
	}
	if pending.cum.Cmp(want) != 0 {
		return false, errMoved
	}
	for k, a := range pending.workers {
		w.credit(k, a.units, a.shares)
	}
	w.cum.Add(before, want)
	w.rolled += len(fullRolled)
	w.raw += len(fullStale)
	if len(full) > 0 {
		w.fromMs = full[len(full)-1] * 1000
	}
	if boundaryHour < 0 {
		return false, nil
	}
	// The boundary's hour, share by share. (Raw shares are the truth:
	// should they not fill the window after all, the walk carries on.)
	return q.walkRaw(w, boundaryHour*1000, boundaryHour*1000+3599999, nil)
}

func sortU32(s []uint32) { sort.Slice(s, func(i, j int) bool { return s[i] < s[j] }) }

// result normalises the amounts to the coarsest common binary scale.
func (w *walker) result(coin string, asOf, toMs int64) (*Window, error) {
	keys := make([]wkey, 0, len(w.workers))
	for k := range w.workers {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].address != keys[j].address {
			return keys[i].address < keys[j].address
		}
		return keys[i].worker < keys[j].worker
	})
	total := new(big.Int)
	var vals []*big.Int
	if w.target != nil {
		vals = append(vals, w.target)
	}
	for _, k := range keys {
		total.Add(total, w.workers[k].units)
		vals = append(vals, w.workers[k].units)
	}
	if total.Cmp(w.cum) != 0 {
		return nil, fmt.Errorf("chstore: pplns: worker sums %s differ from the walk's %s", total, w.cum)
	}
	complete := w.boundary != nil || w.target == nil
	if w.boundary != nil && total.Cmp(w.target) != 0 {
		return nil, fmt.Errorf("chstore: pplns: window total %s differs from target %s", total, w.target)
	}
	if w.boundary != nil {
		vals = append(vals, &w.boundary.ShareUnits.v, &w.boundary.CountedUnits.v)
	}
	shift := uint(math.MaxUint32)
	for _, v := range vals {
		if v.Sign() != 0 {
			shift = min(shift, v.TrailingZeroBits())
		}
	}
	if shift == math.MaxUint32 {
		shift = 0
	}
	scale := func(v *big.Int) *Units { return NewUnits(new(big.Int).Rsh(v, shift)) }
	out := &Window{
		Coin: coin, AsOf: asOf, ScaleExp: fixExp + int(shift), TotalUnits: scale(total),
		Complete: complete, Shares: w.shares, FromMs: w.fromMs, ToMs: toMs,
		Miners: make([]WindowShare, 0, len(keys)), RolledHours: w.rolled, RawHours: w.raw,
	}
	if w.target != nil {
		out.TargetUnits = scale(w.target)
	}
	if w.boundary != nil {
		b := *w.boundary
		b.CountedUnits = scale(&w.boundary.CountedUnits.v)
		b.ShareUnits = scale(&w.boundary.ShareUnits.v)
		out.Boundary = &b
	}
	for _, k := range keys {
		a := w.workers[k]
		x := new(big.Float).SetInt(a.units)
		f, _ := x.SetMantExp(x, fixExp).Float64()
		out.Miners = append(out.Miners, WindowShare{Address: k.address, Worker: k.worker, Units: scale(a.units),
			Shares: a.shares, Difficulty: f})
	}
	return out, nil
}
