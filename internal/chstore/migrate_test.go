package chstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/chstore"
	"github.com/jetpool/jetpool/internal/testenv"
)

func TestMigrationsAreNumberedAndIdempotent(t *testing.T) {
	migs, err := chstore.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migs {
		if m.Version != i+1 {
			t.Errorf("migration %d has version %d; versions must run 1, 2, 3…", i, m.Version)
		}
		for _, s := range m.Statements {
			up := strings.ToUpper(s)
			if strings.HasPrefix(up, "CREATE") && !strings.Contains(up, "IF NOT EXISTS") {
				t.Errorf("migration %d: %q is not idempotent (copies of a function migrate at once)", m.Version, s[:40])
			}
		}
	}
}

func TestMigrateConcurrentlyThenNothingLeft(t *testing.T) {
	dsn := testenv.ClickHouseDB(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			st, err := chstore.Open(dsn, quiet())
			if err != nil {
				errs[i] = err
				return
			}
			defer st.Close()
			_, errs[i] = st.Migrate(ctx)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := chstore.Open(dsn, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate applied %v, %v; want nothing", applied, err)
	}
	migs, _ := chstore.Migrations()
	done, err := st.AppliedMigrations(ctx)
	if err != nil || len(done) != len(migs) {
		t.Fatalf("recorded %v, %v; want all %d", done, err, len(migs))
	}
	for _, table := range append(chstore.PartitionedTables, "pool_minute_mv", "miner_shares_mv") {
		if n := count(t, st, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", st.Database(), table); n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
	// The views are attached once: a share written now is counted once.
	g := gen{seed: 1, coin: "btc", gateways: 1, miners: 1, workers: 1, perBatch: 10, shares: 10,
		from: time.Now().Add(-time.Minute), to: time.Now()}
	b, _ := g.batches()
	write(t, st, b, 100)
	if n := count(t, st, "SELECT sum(n) FROM pool_minute"); n != 10 {
		t.Fatalf("pool_minute counts %d shares, want 10", n)
	}
}

func TestOpenRejectsBadDSN(t *testing.T) {
	if _, err := chstore.Open("postgres://nope", quiet()); err == nil {
		t.Fatal("Open accepted a non-ClickHouse DSN")
	}
}
