package chstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
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
	// Prefixes counts the (coin, hour) day prefixes (miner_prefix) rebuilt.
	Prefixes int
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
	day := from - mod(from, 86400)
	n, err := s.rollupPrefixes(ctx, rctx, day, version)
	res.Prefixes = n
	return res, err
}

// rollupPrefixes brings miner_prefix up to date for every day since `from`
// (a day start): for each day, the prefix of every hour from the day's first
// rolled-up hour to its last is (re)built when it is missing or older than
// the rollup of an hour it covers. A prefix whose previous hour is current
// is that prefix plus the hour's shares (`shares FINAL` with ins below the
// hour's rollup version: exactly what the hour's rollup counts); otherwise
// it is summed from worker_hour. Prefixes are written at `version` and
// logged in miner_prefix_log once complete. They only make reads faster:
// readers check them against pool_hour (pplns_fast.go).
func (s *Store) rollupPrefixes(ctx, rctx context.Context, from, version int64) (int, error) {
	rolled, err := s.hourVersions(rctx, "pool_hour FINAL", from) // coin → hour → pool_hour version
	if err != nil {
		return 0, err
	}
	built, err := s.hourVersions(rctx, "miner_prefix_log", from) // coin → hour → version of its complete prefix
	if err != nil {
		return 0, err
	}
	coins := make([]string, 0, len(rolled))
	for c := range rolled {
		coins = append(coins, c)
	}
	sort.Strings(coins)
	n := 0
	for _, coin := range coins {
		days := map[int64][2]int64{} // day → first, last rolled hour
		for h := range rolled[coin] {
			d := h - mod(h, 86400)
			r, ok := days[d]
			if !ok {
				r = [2]int64{h, h}
			}
			days[d] = [2]int64{min(r[0], h), max(r[1], h)}
		}
		for d, r := range days {
			need, current := int64(0), false
			for h := r[0]; h <= r[1]; h += 3600 {
				need = max(need, rolled[coin][h])
				if built[coin][h] >= need {
					current = true
					continue
				}
				var q string
				if v, ok := rolled[coin][h]; current && ok {
					q = fmt.Sprintf(`INSERT INTO miner_prefix (coin, hour, solo, address, difficulty, n, version)
						SELECT coin, toDateTime(%[1]d), solo, address, difficulty, sum(n), toUInt64(%[3]d) FROM (
							SELECT coin, solo, address, difficulty, n FROM miner_prefix FINAL WHERE coin = ? AND hour = toDateTime(%[2]d)
							UNION ALL
							SELECT coin, solo, address, difficulty, toUInt64(1) AS n FROM shares FINAL
							WHERE coin = ? AND ts_ms >= %[4]d AND ts_ms < %[5]d AND ins < toDateTime(%[6]d)
						) GROUP BY coin, solo, address, difficulty`, h, h-3600, version, h*1000, (h+3600)*1000, v)
				} else if current {
					// An hour without shares: the previous prefix again.
					q = fmt.Sprintf(`INSERT INTO miner_prefix (coin, hour, solo, address, difficulty, n, version)
						SELECT coin, toDateTime(%d), solo, address, difficulty, n, toUInt64(%d) FROM miner_prefix FINAL
						WHERE coin = ? AND hour = toDateTime(%d)`, h, version, h-3600)
				} else {
					q = fmt.Sprintf(`INSERT INTO miner_prefix (coin, hour, solo, address, difficulty, n, version)
						SELECT coin, toDateTime(%d), solo, address, difficulty, sum(n), toUInt64(%d) FROM worker_hour FINAL
						WHERE coin = ? AND hour >= toDateTime(%d) AND hour <= toDateTime(%d) GROUP BY coin, solo, address, difficulty`,
						h, version, d, h)
				}
				args := []any{coin}
				if strings.Count(q, "?") == 2 {
					args = append(args, coin)
				}
				if err := s.conn.Exec(ctx, q, args...); err != nil {
					return n, fmt.Errorf("chstore: rollup prefix %s %d: %w", coin, h, err)
				}
				if err := s.conn.Exec(ctx, fmt.Sprintf(`INSERT INTO miner_prefix_log (coin, hour, version)
					SELECT ?, toDateTime(%d), toUInt64(%d)`, h, version), coin); err != nil {
					return n, fmt.Errorf("chstore: rollup prefix log %s %d: %w", coin, h, err)
				}
				current = true
				n++
			}
		}
	}
	return n, nil
}

// hourVersions reads coin → hour → max(version) of table for hours >= from.
func (s *Store) hourVersions(ctx context.Context, table string, from int64) (map[string]map[int64]int64, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf(`SELECT coin, toUInt32(hour) AS h, max(version) FROM %s
		WHERE hour >= toDateTime(%d) GROUP BY coin, h`, table, from))
	if err != nil {
		return nil, fmt.Errorf("chstore: rollup prefixes: %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]map[int64]int64{}
	for rows.Next() {
		var (
			coin string
			h    uint32
			v    uint64
		)
		if err := rows.Scan(&coin, &h, &v); err != nil {
			return nil, fmt.Errorf("chstore: rollup prefixes: %s: %w", table, err)
		}
		if out[coin] == nil {
			out[coin] = map[int64]int64{}
		}
		out[coin][int64(h)] = int64(v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chstore: rollup prefixes: %s: %w", table, err)
	}
	return out, nil
}
