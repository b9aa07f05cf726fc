package chstore

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// DefaultGrace is how long after its insert a share is assumed visible to
// every reader: ClickHouse commits an INSERT block within moments of
// evaluating the block's now(), so a share with ins < server now − grace is
// in every snapshot taken from then on.
const DefaultGrace = time.Minute

// SetGrace changes the grace (tests use a short one); it must be set before
// the store is used.
func (s *Store) SetGrace(d time.Duration) { s.grace = d }

// GraceSeconds is the grace in whole seconds (see DefaultGrace).
func (s *Store) GraceSeconds() int64 {
	if s.grace <= 0 {
		return int64(DefaultGrace / time.Second)
	}
	return max(1, int64(s.grace/time.Second))
}

// ServerNow is the ClickHouse server's clock (unix seconds). Snapshots are
// expressed in the server's time because `ins` is written by it.
func (s *Store) ServerNow(ctx context.Context) (int64, error) {
	var now uint32
	if err := s.conn.QueryRow(ctx, "SELECT toUInt32(now())").Scan(&now); err != nil {
		return 0, fmt.Errorf("chstore: server time: %w", err)
	}
	return int64(now), nil
}

// RollupResult says what one Rollup did.
type RollupResult struct {
	Version uint64 // watermark the rows were written with
	Hours   int    // (coin, hour) pairs recomputed
}

// Rollup recomputes the hourly tables for every hour of the last `lookback`
// that is over and received shares since it was last rolled up (or never
// was). Each
// recomputed row counts exactly the shares of `shares FINAL` with
// ins < version, version = server now − grace, so rows are deterministic
// and a later version always counts a superset: copies of the ingest
// function may roll up at the same time.
func (s *Store) Rollup(ctx context.Context, lookback time.Duration) (RollupResult, error) {
	now, err := s.ServerNow(ctx)
	if err != nil {
		return RollupResult{}, err
	}
	version := now - s.GraceSeconds()
	from := now - int64(lookback/time.Second)
	from -= mod(from, 3600)
	rctx := s.readCtx(ctx)

	type coinHour struct {
		coin string
		hour int64
	}
	latest := map[coinHour]int64{} // newest per-minute insert of each hour
	rows, err := s.conn.Query(rctx, fmt.Sprintf(`SELECT coin, toUInt32(toStartOfHour(minute)) AS h, toUInt32(max(ins))
		FROM pool_minute WHERE minute >= toDateTime(%d) GROUP BY coin, h`, from))
	if err != nil {
		return RollupResult{}, fmt.Errorf("chstore: rollup: %w", err)
	}
	for rows.Next() {
		var (
			coin    string
			h, last uint32
		)
		if err := rows.Scan(&coin, &h, &last); err != nil {
			rows.Close()
			return RollupResult{}, fmt.Errorf("chstore: rollup: %w", err)
		}
		latest[coinHour{coin, int64(h)}] = int64(last)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return RollupResult{}, fmt.Errorf("chstore: rollup: %w", err)
	}
	rolled := map[coinHour]int64{} // weakest version of each hour over both tables
	for _, table := range []string{"pool_hour", "worker_hour"} {
		rows, err := s.conn.Query(rctx, fmt.Sprintf(`SELECT coin, toUInt32(hour) AS h, min(version) FROM %s FINAL
			WHERE hour >= toDateTime(%d) GROUP BY coin, h`, table, from))
		if err != nil {
			return RollupResult{}, fmt.Errorf("chstore: rollup: %w", err)
		}
		for rows.Next() {
			var (
				coin string
				h    uint32
				v    uint64
			)
			if err := rows.Scan(&coin, &h, &v); err != nil {
				rows.Close()
				return RollupResult{}, fmt.Errorf("chstore: rollup: %w", err)
			}
			k := coinHour{coin, int64(h)}
			if old, ok := rolled[k]; !ok || int64(v) < old {
				rolled[k] = int64(v)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return RollupResult{}, fmt.Errorf("chstore: rollup: %w", err)
		}
	}
	stale := map[string][]uint32{}
	for k, last := range latest {
		if k.hour+3600 > version {
			// Not over yet (or still within the grace): the current hour is
			// read from the per-minute tables and raw shares, so that each
			// share is rolled up once, not once a minute.
			continue
		}
		if v, ok := rolled[k]; ok && last < v {
			continue // every share of the hour was inserted before its rollup's version
		}
		if v, ok := rolled[k]; ok && v >= version {
			continue // already rolled up as far as this run could
		}
		stale[k.coin] = append(stale[k.coin], uint32(k.hour))
	}
	res := RollupResult{Version: uint64(version)}
	coins := make([]string, 0, len(stale))
	for c := range stale {
		coins = append(coins, c)
	}
	sort.Strings(coins)
	for _, coin := range coins {
		hours := stale[coin]
		sort.Slice(hours, func(i, j int) bool { return hours[i] < hours[j] })
		lo, hi := int64(hours[0])*1000, (int64(hours[len(hours)-1])+3600)*1000
		where := fmt.Sprintf(`coin = ? AND ts_ms >= %d AND ts_ms < %d AND ins < toDateTime(%d) AND has(?, toUInt32(toStartOfHour(time)))`, lo, hi, version)
		if err := s.conn.Exec(ctx, fmt.Sprintf(`INSERT INTO pool_hour (coin, hour, solo, difficulty, n, blocks, last_ms, version)
			SELECT coin, toStartOfHour(time) AS hour, solo, difficulty, count(), sum(block), max(ts_ms), toUInt64(%d)
			FROM shares FINAL WHERE %s GROUP BY coin, hour, solo, difficulty`, version, where), coin, hours); err != nil {
			return res, fmt.Errorf("chstore: rollup pool_hour %s: %w", coin, err)
		}
		if err := s.conn.Exec(ctx, fmt.Sprintf(`INSERT INTO worker_hour (coin, address, worker, hour, solo, difficulty, n, blocks, last_ms, version)
			SELECT coin, address, worker, toStartOfHour(time) AS hour, solo, difficulty, count(), sum(block), max(ts_ms), toUInt64(%d)
			FROM shares FINAL WHERE %s GROUP BY coin, address, worker, hour, solo, difficulty`, version, where), coin, hours); err != nil {
			return res, fmt.Errorf("chstore: rollup worker_hour %s: %w", coin, err)
		}
		res.Hours += len(hours)
	}
	return res, nil
}
