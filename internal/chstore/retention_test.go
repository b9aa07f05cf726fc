package chstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/chstore"
	"github.com/jetpool/jetpool/internal/payload"
)

func TestRetentionCutoff(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		days int
		want int
	}{
		{"one day", 1, 20260228},
		{"across a month", 3, 20260226},
		{"ninety days", 90, 20251201},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := chstore.RetentionCutoff(tt.days, now); got != tt.want {
				t.Fatalf("RetentionCutoff(%d) = %d, want %d", tt.days, got, tt.want)
			}
		})
	}
}

func TestDropExpiredDropsOnlyExpiredPartitions(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	ages := []int{0, 1, 2, 3, 4, 9} // days before now
	var batches []*payload.ShareBatch
	for i, age := range ages {
		ts := now.AddDate(0, 0, -age)
		batches = append(batches, &payload.ShareBatch{Gateway: "gw", Coin: "btc", Region: "eu", Seq: uint64(i + 1), Shares: []payload.Share{
			{TimeMs: ts.UnixMilli(), Address: "a", Worker: "w", Difficulty: 1, Accepted: true},
			{TimeMs: ts.UnixMilli(), Address: "a", Worker: "w", Difficulty: 1, Reason: "stale"},
		}})
	}
	write(t, st, batches, 100)
	waitVisible(t, st)
	if _, err := st.Rollup(ctx, 15*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	const keep = 3
	cutoff := chstore.RetentionCutoff(keep, now)
	before, err := st.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	expired := map[chstore.Partition]bool{}
	for _, table := range chstore.PartitionedTables {
		for _, age := range []int{4, 9} { // long over: every table, rollups too, has them
			p := chstore.Partition{Table: table, Day: yyyymmdd(now.AddDate(0, 0, -age))}
			expired[p] = true
		}
	}
	for _, p := range before {
		if p.Day < cutoff && !expired[p] {
			t.Fatalf("unexpected expired partition %+v", p)
		}
	}
	present := map[chstore.Partition]bool{}
	for _, p := range before {
		present[p] = true
	}
	for p := range expired {
		if !present[p] {
			t.Fatalf("partition %+v missing before retention", p)
		}
	}
	dropped, err := st.DropExpired(ctx, keep, now)
	if err != nil {
		t.Fatal(err)
	}
	after, err := st.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != len(expired) {
		t.Errorf("dropped %d partitions, want the %d expired ones", len(dropped), len(expired))
	}
	for _, p := range dropped {
		if !expired[p] {
			t.Errorf("dropped %s/%d, not expired (cutoff %d)", p.Table, p.Day, cutoff)
		}
	}
	if len(after) != len(before)-len(expired) {
		t.Errorf("%d partitions kept of %d; want all but the %d expired", len(after), len(before), len(expired))
	}
	for _, p := range after {
		if expired[p] {
			t.Errorf("kept expired %s/%d", p.Table, p.Day)
		}
	}
	if n := count(t, st, "SELECT count() FROM shares FINAL"); n != 4 {
		t.Fatalf("%d shares left, want the 4 of the kept days", n)
	}
	// Again: nothing more to drop.
	if again, err := st.DropExpired(ctx, keep, now); err != nil || len(again) != 0 {
		t.Fatalf("second DropExpired = %v, %v; want nothing", again, err)
	}
}

func yyyymmdd(t time.Time) int { return t.Year()*10000 + int(t.Month())*100 + t.Day() }
