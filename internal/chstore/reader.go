package chstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Errors callers decide on.
var (
	// ErrNotFound: the thing asked for (a block share, say) is not in the
	// database, or not yet in the snapshot the answer is computed on.
	ErrNotFound = errors.New("chstore: not found")
	// ErrBadRequest: the question cannot be answered as asked.
	ErrBadRequest = errors.New("chstore: bad request")
)

// Level is what a Scope covers.
type Level int

// Levels of a Scope.
const (
	LevelPool   Level = iota // every share of the coin
	LevelMiner               // one payout address
	LevelWorker              // one worker of one address
)

// Scope selects the shares a statistic is computed over.
type Scope struct {
	Level   Level
	Coin    string
	Address string // LevelMiner and LevelWorker
	Worker  string // LevelWorker ("" is the default worker's name)
}

// Pool, Miner and Worker build scopes.
func Pool(coin string) Scope { return Scope{Level: LevelPool, Coin: coin} }

// Miner is the scope of one payout address.
func Miner(coin, address string) Scope { return Scope{Level: LevelMiner, Coin: coin, Address: address} }

// Worker is the scope of one worker.
func Worker(coin, address, worker string) Scope {
	return Scope{Level: LevelWorker, Coin: coin, Address: address, Worker: worker}
}

func (sc Scope) validate() error {
	if sc.Coin == "" {
		return fmt.Errorf("%w: coin is required", ErrBadRequest)
	}
	if sc.Level != LevelPool && sc.Address == "" {
		return fmt.Errorf("%w: address is required", ErrBadRequest)
	}
	return nil
}

// source is where a scope's recent shares are summed from, read with FINAL
// so that a gateway batch written twice counts once: n, d and d2 are the
// expressions of a row's share count, Σ difficulty and Σ difficulty².
type source struct {
	from, where string
	args        []any
	n, d, d2    string
}

// minuteSource is the per-minute pool table, or a miner's range of
// miner_shares.
func (sc Scope) minuteSource() source {
	switch sc.Level {
	case LevelPool:
		return source{"pool_minute FINAL", "coin = ?", []any{sc.Coin}, "n", "sum_d", "sum_d2"}
	case LevelMiner:
		return source{"miner_shares FINAL", "akey = cityHash64(?) AND coin = ? AND address = ?",
			[]any{sc.Address, sc.Coin, sc.Address}, "1", "difficulty", "difficulty * difficulty"}
	default:
		return source{"miner_shares FINAL", "akey = cityHash64(?) AND coin = ? AND address = ? AND worker = ?",
			[]any{sc.Address, sc.Coin, sc.Address, sc.Worker}, "1", "difficulty", "difficulty * difficulty"}
	}
}

func (sc Scope) hourSource() (from, where string, args []any) {
	switch sc.Level {
	case LevelPool:
		return "pool_hour FINAL", "coin = ?", []any{sc.Coin}
	case LevelMiner:
		return "worker_hour FINAL", "coin = ? AND address = ?", []any{sc.Coin, sc.Address}
	default:
		return "worker_hour FINAL", "coin = ? AND address = ? AND worker = ?", []any{sc.Coin, sc.Address, sc.Worker}
	}
}

// Sums are the accepted shares of a scope in a time span.
type Sums struct {
	From, To       time.Time
	Shares         uint64
	SumDifficulty  float64 // Σ share difficulty
	SumDifficulty2 float64 // Σ share difficulty², for the estimate's spread
}

// Seconds is the length of the span.
func (s Sums) Seconds() float64 { return s.To.Sub(s.From).Seconds() }

func floorMinute(t time.Time) int64 { return t.Unix() - mod(t.Unix(), 60) }
func floorHour(t time.Time) int64   { return t.Unix() - mod(t.Unix(), 3600) }

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Hashrate sums the scope's shares over each window ending at `at`. A
// window of length w covers whole minutes from the one holding at − w to the
// one holding at, so Sums.From is at most a minute before at − w and
// Sums.Seconds is the exact span the shares were counted over.
func (s *Store) Hashrate(ctx context.Context, sc Scope, at time.Time, windows []time.Duration) ([]Sums, error) {
	if err := sc.validate(); err != nil {
		return nil, err
	}
	if len(windows) == 0 {
		return nil, nil
	}
	src := sc.minuteSource()
	var cols []string
	oldest := floorMinute(at)
	starts := make([]int64, len(windows))
	for i, w := range windows {
		if w <= 0 {
			return nil, fmt.Errorf("%w: window %s", ErrBadRequest, w)
		}
		starts[i] = floorMinute(at.Add(-w))
		oldest = min(oldest, starts[i])
		c := fmt.Sprintf("minute >= toDateTime(%d)", starts[i])
		cols = append(cols, "sumIf("+src.n+", "+c+")", "sumIf("+src.d+", "+c+")", "sumIf("+src.d2+", "+c+")")
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + src.from + " WHERE " + src.where +
		fmt.Sprintf(" AND minute >= toDateTime(%d) AND minute <= toDateTime(%d)", oldest, floorMinute(at))
	row := s.conn.QueryRow(s.readCtx(ctx), q, src.args...)
	dest := make([]any, 0, 3*len(windows))
	out := make([]Sums, len(windows))
	for i := range out {
		out[i].From, out[i].To = time.Unix(starts[i], 0).UTC(), at.UTC()
		dest = append(dest, &out[i].Shares, &out[i].SumDifficulty, &out[i].SumDifficulty2)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, fmt.Errorf("chstore: hashrate: %w", err)
	}
	return out, nil
}

// Point is one bucket of a chart.
type Point struct {
	Time          time.Time // start of the bucket
	Shares        uint64
	SumDifficulty float64
}

// Series buckets the scope's shares in [from, to) by step: one Point per
// bucket, empty buckets included. Steps below an hour (1, 5, 15 minutes…)
// read the per-minute tables; an hour reads the hourly rollups for hours
// rolled up after they ended and the per-minute tables for the rest (the
// current hour, or any hour a rollup has not reached yet).
func (s *Store) Series(ctx context.Context, sc Scope, from, to time.Time, step time.Duration) ([]Point, error) {
	if err := sc.validate(); err != nil {
		return nil, err
	}
	if step < time.Minute || step%time.Minute != 0 || (step > time.Hour) || (time.Hour%step != 0) {
		return nil, fmt.Errorf("%w: step %s (want whole minutes dividing an hour, or an hour)", ErrBadRequest, step)
	}
	stepS := int64(step / time.Second)
	lo := from.Unix() - mod(from.Unix(), stepS)
	hi := to.Unix()
	if hi <= lo {
		return nil, fmt.Errorf("%w: empty range", ErrBadRequest)
	}
	if (hi-lo)/stepS > 50000 {
		return nil, fmt.Errorf("%w: %d buckets is too many", ErrBadRequest, (hi-lo)/stepS)
	}
	buckets := map[int64]*Point{}
	add := func(t int64, n uint64, d float64) {
		if p, ok := buckets[t]; ok {
			p.Shares += n
			p.SumDifficulty += d
		}
	}
	var pts []Point
	for t := lo; t < hi; t += stepS {
		pts = append(pts, Point{Time: time.Unix(t, 0).UTC()})
	}
	for i := range pts {
		buckets[pts[i].Time.Unix()] = &pts[i]
	}
	spans := [][2]int64{{lo, hi}} // minutes read from the per-minute tables
	if step == time.Hour {
		// Hours covered by rollups come from them; the rest, in runs of
		// consecutive hours, from the per-minute tables.
		covered, err := s.rolledHours(ctx, sc, lo, hi, add)
		if err != nil {
			return nil, err
		}
		spans = spans[:0]
		for t := lo; t < hi; t += 3600 {
			switch {
			case covered[t]:
			case len(spans) > 0 && spans[len(spans)-1][1] == t:
				spans[len(spans)-1][1] = t + 3600
			default:
				spans = append(spans, [2]int64{t, t + 3600})
			}
		}
		if len(spans) == 0 {
			return pts, nil
		}
	}
	var ors []string
	for _, sp := range spans {
		ors = append(ors, fmt.Sprintf("(minute >= toDateTime(%d) AND minute < toDateTime(%d))", sp[0], sp[1]))
	}
	src := sc.minuteSource()
	q := fmt.Sprintf(`SELECT toUInt32(intDiv(toUInt32(minute), %d) * %d) AS b, sum(%s), sum(%s) FROM %s
		WHERE %s AND minute >= toDateTime(%d) AND minute < toDateTime(%d) AND (%s) GROUP BY b`,
		stepS, stepS, src.n, src.d, src.from, src.where, spans[0][0], min(hi, spans[len(spans)-1][1]), strings.Join(ors, " OR "))
	rows, err := s.conn.Query(s.readCtx(ctx), q, src.args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			b uint32
			n uint64
			d float64
		)
		if err := rows.Scan(&b, &n, &d); err != nil {
			return nil, fmt.Errorf("chstore: series: %w", err)
		}
		add(int64(b), n, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chstore: series: %w", err)
	}
	return pts, nil
}

// rolledHours adds the hourly rollups of [lo, hi) and reports which hours
// they cover: those whose rollup was computed after the hour ended.
func (s *Store) rolledHours(ctx context.Context, sc Scope, lo, hi int64, add func(int64, uint64, float64)) (map[int64]bool, error) {
	src, where, args := sc.hourSource()
	q := fmt.Sprintf(`SELECT toUInt32(hour) AS h, sum(n), sum(toFloat64(n) * difficulty), min(version) FROM %s
		WHERE %s AND hour >= toDateTime(%d) AND hour < toDateTime(%d) GROUP BY h`, src, where, lo, hi)
	rows, err := s.conn.Query(s.readCtx(ctx), q, args...)
	if err != nil {
		return nil, fmt.Errorf("chstore: hourly series: %w", err)
	}
	defer rows.Close()
	covered := map[int64]bool{}
	for rows.Next() {
		var (
			h    uint32
			n, v uint64
			d    float64
		)
		if err := rows.Scan(&h, &n, &d, &v); err != nil {
			return nil, fmt.Errorf("chstore: hourly series: %w", err)
		}
		if int64(v) >= int64(h)+3600 {
			covered[int64(h)] = true
			add(int64(h), n, d)
		}
	}
	return covered, rows.Err()
}

// WorkerStats describes one worker of a miner.
type WorkerStats struct {
	Worker    string
	LastShare time.Time // zero if never seen within retention
	// Windows holds the worker's sums for each window asked for.
	Windows []Sums
	// Accepted, Rejected and Stale count shares over the longest window;
	// Stale is the part of Rejected with reason "stale".
	Accepted, Rejected, Stale uint64
}

// Workers lists every worker of a miner seen within retention, with its
// sums over each window ending at `at` and its rejected shares over the
// longest window. Sorted by worker name.
func (s *Store) Workers(ctx context.Context, coin, address string, at time.Time, windows []time.Duration) ([]WorkerStats, error) {
	sc := Miner(coin, address)
	if err := sc.validate(); err != nil {
		return nil, err
	}
	if len(windows) == 0 {
		return nil, fmt.Errorf("%w: no windows", ErrBadRequest)
	}
	rctx := s.readCtx(ctx)
	byName := map[string]*WorkerStats{}
	get := func(name string) *WorkerStats {
		w, ok := byName[name]
		if !ok {
			w = &WorkerStats{Worker: name, Windows: make([]Sums, len(windows))}
			byName[name] = w
		}
		return w
	}
	// Last share of every worker ever rolled up (cheap: the miner's rows).
	rows, err := s.conn.Query(rctx, `SELECT worker, max(last_ms) FROM worker_hour WHERE coin = ? AND address = ? GROUP BY worker`, coin, address)
	if err != nil {
		return nil, fmt.Errorf("chstore: workers: %w", err)
	}
	for rows.Next() {
		var (
			name string
			last int64
		)
		if err := rows.Scan(&name, &last); err != nil {
			rows.Close()
			return nil, fmt.Errorf("chstore: workers: %w", err)
		}
		get(name).LastShare = time.UnixMilli(last).UTC()
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chstore: workers: %w", err)
	}
	oldest := floorMinute(at)
	starts := make([]int64, len(windows))
	var cols []string
	for i, w := range windows {
		starts[i] = floorMinute(at.Add(-w))
		oldest = min(oldest, starts[i])
		c := fmt.Sprintf("minute >= toDateTime(%d)", starts[i])
		cols = append(cols, "sumIf(1, "+c+")", "sumIf(difficulty, "+c+")", "sumIf(difficulty * difficulty, "+c+")")
	}
	q := "SELECT worker, max(ts_ms), " + strings.Join(cols, ", ") +
		fmt.Sprintf(` FROM miner_shares FINAL WHERE akey = cityHash64(?) AND coin = ? AND address = ?
			AND minute >= toDateTime(%d) AND minute <= toDateTime(%d) GROUP BY worker`, oldest, floorMinute(at))
	rows, err = s.conn.Query(rctx, q, address, coin, address)
	if err != nil {
		return nil, fmt.Errorf("chstore: workers: %w", err)
	}
	for rows.Next() {
		var (
			name string
			last int64
			tmp  = make([]Sums, len(windows))
		)
		dest := []any{&name, &last}
		for i := range tmp {
			dest = append(dest, &tmp[i].Shares, &tmp[i].SumDifficulty, &tmp[i].SumDifficulty2)
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("chstore: workers: %w", err)
		}
		w := get(name)
		if t := time.UnixMilli(last).UTC(); t.After(w.LastShare) {
			w.LastShare = t
		}
		for i := range tmp {
			tmp[i].From, tmp[i].To = time.Unix(starts[i], 0).UTC(), at.UTC()
		}
		w.Windows = tmp
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chstore: workers: %w", err)
	}
	longest := oldest
	rows, err = s.conn.Query(rctx, `SELECT worker, count(), countIf(reason = 'stale') FROM rejected_shares FINAL
		WHERE coin = ? AND address = ? AND ts_ms >= ? AND ts_ms <= ? GROUP BY worker`, coin, address, longest*1000, at.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("chstore: workers: rejected: %w", err)
	}
	for rows.Next() {
		var (
			name       string
			rej, stale uint64
		)
		if err := rows.Scan(&name, &rej, &stale); err != nil {
			rows.Close()
			return nil, fmt.Errorf("chstore: workers: rejected: %w", err)
		}
		w := get(name)
		w.Rejected, w.Stale = rej, stale
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chstore: workers: rejected: %w", err)
	}
	longestIdx := 0
	for i := range starts {
		if starts[i] < starts[longestIdx] {
			longestIdx = i
		}
	}
	out := make([]WorkerStats, 0, len(byName))
	for _, w := range byName {
		for i := range w.Windows {
			if w.Windows[i].From.IsZero() {
				w.Windows[i].From, w.Windows[i].To = time.Unix(starts[i], 0).UTC(), at.UTC()
			}
		}
		w.Accepted = w.Windows[longestIdx].Shares
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Worker < out[j].Worker })
	return out, nil
}

// PoolStats are the pool-wide figures of one coin at one moment.
type PoolStats struct {
	// Workers and Miners sent at least one share within the online span.
	Workers, Miners uint64
	Windows         []Sums
	// Rejected and Stale count rejected shares over the longest window.
	Rejected, Stale uint64
	// NetworkDifficulty and Height come from the newest share.
	NetworkDifficulty float64
	Height            int64
	LastShare         time.Time
	// LastBlock is the newest pool (non-solo) share that solved a block,
	// nil if none is within retention.
	LastBlock *ShareRef
	// RoundDifficulty is Σ difficulty of pool (non-solo) shares after
	// LastBlock (or since the oldest share kept, if there is none).
	RoundDifficulty float64
}

// PoolStats computes the pool figures of a coin at `at`; online is how long
// a worker stays online after its last share.
func (s *Store) PoolStats(ctx context.Context, coin string, at time.Time, online time.Duration, windows []time.Duration) (*PoolStats, error) {
	sc := Pool(coin)
	if err := sc.validate(); err != nil {
		return nil, err
	}
	rctx := s.readCtx(ctx)
	out := &PoolStats{}
	var err error
	if out.Windows, err = s.Hashrate(ctx, sc, at, windows); err != nil {
		return nil, err
	}
	atMs := at.UnixMilli()
	if err := s.conn.QueryRow(rctx, `SELECT uniqExact(address, worker), uniqExact(address) FROM shares
		WHERE coin = ? AND ts_ms > ? AND ts_ms <= ?`, coin, at.Add(-online).UnixMilli(), atMs).Scan(&out.Workers, &out.Miners); err != nil {
		return nil, fmt.Errorf("chstore: pool: online: %w", err)
	}
	var last int64
	if err := s.conn.QueryRow(rctx, fmt.Sprintf(`SELECT argMax(nd, last_ms), max(height), max(last_ms) FROM pool_minute
		WHERE coin = ? AND minute >= toDateTime(%d) AND minute <= toDateTime(%d)`, floorMinute(at.Add(-24*time.Hour)), floorMinute(at)),
		coin).Scan(&out.NetworkDifficulty, &out.Height, &last); err != nil {
		return nil, fmt.Errorf("chstore: pool: network: %w", err)
	}
	if last > 0 {
		out.LastShare = time.UnixMilli(last).UTC()
	}
	longest := floorMinute(at)
	for _, w := range windows {
		longest = min(longest, floorMinute(at.Add(-w)))
	}
	if err := s.conn.QueryRow(rctx, `SELECT count(), countIf(reason = 'stale') FROM rejected_shares FINAL
		WHERE coin = ? AND ts_ms >= ? AND ts_ms <= ?`, coin, longest*1000, atMs).Scan(&out.Rejected, &out.Stale); err != nil {
		return nil, fmt.Errorf("chstore: pool: rejected: %w", err)
	}
	if out.LastBlock, err = s.lastBlock(rctx, coin, at); err != nil {
		return nil, err
	}
	if out.RoundDifficulty, err = s.roundDifficulty(rctx, coin, at, out.LastBlock); err != nil {
		return nil, err
	}
	return out, nil
}

// lastBlock finds the newest pool share at or before `at` that solved a
// block: the per-minute table narrows it to a minute, the raw table finds
// the share.
func (s *Store) lastBlock(ctx context.Context, coin string, at time.Time) (*ShareRef, error) {
	var m uint32
	if err := s.conn.QueryRow(ctx, fmt.Sprintf(`SELECT toUInt32(max(minute)) FROM pool_minute
		WHERE coin = ? AND blocks > 0 AND minute <= toDateTime(%d)`, floorMinute(at)), coin).Scan(&m); err != nil {
		return nil, fmt.Errorf("chstore: last block: %w", err)
	}
	if m == 0 {
		return nil, nil
	}
	rows, err := s.conn.Query(ctx, `SELECT ts_ms, gateway, seq, idx, address, worker, difficulty, height, network_difficulty
		FROM shares FINAL WHERE coin = ? AND ts_ms >= ? AND ts_ms < ? AND ts_ms <= ? AND block = 1 AND solo = 0
		ORDER BY ts_ms DESC, gateway DESC, seq DESC, idx DESC LIMIT 1`, coin, int64(m)*1000, int64(m)*1000+60000, at.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("chstore: last block: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var r ShareRef
	if err := rows.Scan(&r.TimeMs, &r.Gateway, &r.Seq, &r.Idx, &r.Address, &r.Worker, &r.Difficulty, &r.Height, &r.NetworkDifficulty); err != nil {
		return nil, fmt.Errorf("chstore: last block: %w", err)
	}
	return &r, nil
}

// roundDifficulty sums pool share difficulty after the block share (all of
// it without one), up to `at`.
func (s *Store) roundDifficulty(ctx context.Context, coin string, at time.Time, block *ShareRef) (float64, error) {
	var sum, edge float64
	start := int64(0)
	if block != nil {
		start = block.TimeMs - mod(block.TimeMs, 60000) + 60000 // first whole minute after the block's
		if err := s.conn.QueryRow(ctx, `SELECT sum(difficulty) FROM shares FINAL
			WHERE coin = ? AND solo = 0 AND ts_ms >= ? AND ts_ms < ? AND ts_ms <= ? AND (ts_ms, gateway, seq, idx) > (?, ?, ?, ?)`,
			coin, block.TimeMs, start, at.UnixMilli(), block.TimeMs, block.Gateway, block.Seq, block.Idx).Scan(&edge); err != nil {
			return 0, fmt.Errorf("chstore: round: %w", err)
		}
	}
	if err := s.conn.QueryRow(ctx, fmt.Sprintf(`SELECT sum(pool_d) FROM pool_minute FINAL
		WHERE coin = ? AND minute >= toDateTime(%d) AND minute <= toDateTime(%d)`, start/1000, floorMinute(at)), coin).Scan(&sum); err != nil {
		return 0, fmt.Errorf("chstore: round: %w", err)
	}
	return sum + edge, nil
}
