package chstore

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PartitionedTables are the tables partitioned by day (toYYYYMMDD) that
// retention trims.
var PartitionedTables = []string{"shares", "rejected_shares", "pool_minute", "miner_shares", "pool_hour", "worker_hour",
	"miner_prefix", "miner_prefix_log"}

// Partition is one day partition of one table.
type Partition struct {
	Table string
	Day   int // YYYYMMDD
}

// Partitions lists the day partitions that hold data, per table.
func (s *Store) Partitions(ctx context.Context) ([]Partition, error) {
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT table, partition FROM system.parts
		WHERE database = ? AND active AND has(?, table)`, s.db, PartitionedTables)
	if err != nil {
		return nil, fmt.Errorf("chstore: list partitions: %w", err)
	}
	defer rows.Close()
	var out []Partition
	for rows.Next() {
		var table, part string
		if err := rows.Scan(&table, &part); err != nil {
			return nil, fmt.Errorf("chstore: list partitions: %w", err)
		}
		day, err := strconv.Atoi(strings.Trim(part, "'"))
		if err != nil {
			return nil, fmt.Errorf("chstore: table %s has partition %q, not YYYYMMDD", table, part)
		}
		out = append(out, Partition{Table: table, Day: day})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chstore: list partitions: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Day < out[j].Day
	})
	return out, nil
}

// RetentionCutoff is the first day (YYYYMMDD, UTC) that retention keeps:
// the day of now − retentionDays. Every share younger than retentionDays
// days is kept; a day partition goes once its whole day is older.
func RetentionCutoff(retentionDays int, now time.Time) int {
	return yyyymmdd(now.UTC().AddDate(0, 0, -retentionDays))
}

func yyyymmdd(t time.Time) int { return t.Year()*10000 + int(t.Month())*100 + t.Day() }

// DropExpired drops every day partition before RetentionCutoff from the
// share tables and returns what it dropped. ClickHouse 18.16 has no TTL, so
// this runs on a schedule. Dropping is idempotent: copies of the ingest
// function may run it at the same time.
func (s *Store) DropExpired(ctx context.Context, retentionDays int, now time.Time) ([]Partition, error) {
	if retentionDays < 1 {
		return nil, fmt.Errorf("chstore: retention of %d days", retentionDays)
	}
	parts, err := s.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	cutoff := RetentionCutoff(retentionDays, now)
	var dropped []Partition
	for _, p := range parts {
		if p.Day >= cutoff {
			continue
		}
		if err := s.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION %d", p.Table, p.Day)); err != nil {
			return dropped, fmt.Errorf("chstore: drop %s partition %d: %w", p.Table, p.Day, err)
		}
		s.log.Info("dropped expired partition", "table", p.Table, "day", p.Day)
		dropped = append(dropped, p)
	}
	return dropped, nil
}
