package ledger_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func openStore(t *testing.T) *ledger.Store {
	t.Helper()
	ctx := context.Background()
	st, err := ledger.Open(ctx, testenv.PostgresDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.CheckInvariants(context.Background()); err != nil {
			t.Errorf("ledger invariants after the test: %v", err)
		}
		st.Close()
	})
	return st
}

func TestMigrateTwiceIsANoop(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDB(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	v1, err := ledger.Migrate(ctx, pool)
	if err != nil || v1 < 1 {
		t.Fatalf("first migrate: %d, %v", v1, err)
	}
	v2, err := ledger.Migrate(ctx, pool)
	if err != nil || v2 != v1 {
		t.Fatalf("second migrate: %d, %v (want %d)", v2, err, v1)
	}
}

func block(hash string, height, coinbase int64, at time.Time) ledger.Block {
	return ledger.Block{Coin: "btc", Hash: hash, Height: height, Finder: "finder", Worker: "rig1",
		NetworkDifficulty: 1000, ShareDifficulty: 1, CoinbaseValue: coinbase, FoundAt: at}
}

func mustSplit(t *testing.T, coinbase int64, bps int, work map[string]int64) ledger.Split {
	t.Helper()
	var mw []ledger.MinerWork
	for a, w := range work {
		mw = append(mw, ledger.MinerWork{Address: a, Work: big.NewInt(w)})
	}
	s, err := ledger.SplitProportional("pplns", coinbase, bps, mw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBlockLifecycleIsIdempotent(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := block("aa", 100, 5_000_000_000, t0)
	for i, want := range []bool{true, false, false} {
		got, err := st.RecordBlock(ctx, b)
		if err != nil || got != want {
			t.Fatalf("RecordBlock #%d = %v, %v; want %v", i, got, err, want)
		}
	}
	if _, err := st.ConfirmBlock(ctx, "btc", "aa", 100); !errors.Is(err, ledger.ErrNotRewarded) {
		t.Fatalf("confirm before rewards: %v", err)
	}
	sp := mustSplit(t, 5_000_000_000, 100, map[string]int64{"alice": 3, "bob": 1})
	if _, err := st.RecordRewards(ctx, "btc", "aa", mustSplit(t, 4, 0, map[string]int64{"x": 1}), nil); !errors.Is(err, ledger.ErrSplitMismatch) {
		t.Fatalf("split of another coinbase: %v", err)
	}
	for i, want := range []ledger.RewardsOutcome{ledger.RewardsCredited, ledger.RewardsAlreadyRecorded} {
		got, err := st.RecordRewards(ctx, "btc", "aa", sp, nil)
		if err != nil || got != want {
			t.Fatalf("RecordRewards #%d = %v, %v", i, got, err)
		}
	}
	acc, err := st.Account(ctx, "btc", "alice")
	if err != nil || acc.Immature != 3_712_500_000 || acc.Balance != 0 {
		t.Fatalf("alice before confirmation: %+v, %v", acc, err)
	}
	for i, want := range []bool{true, false, false} {
		got, err := st.ConfirmBlock(ctx, "btc", "aa", 101)
		if err != nil || got != want {
			t.Fatalf("ConfirmBlock #%d = %v, %v", i, got, err)
		}
	}
	acc, _ = st.Account(ctx, "btc", "alice")
	bob, _ := st.Account(ctx, "btc", "bob")
	if acc.Immature != 0 || acc.Balance != 3_712_500_000 || bob.Balance != 1_237_500_000 {
		t.Fatalf("after confirmation: alice %+v bob %+v", acc, bob)
	}
	if _, err := st.OrphanBlock(ctx, "btc", "aa", "late"); !errors.Is(err, ledger.ErrBlockConfirmed) {
		t.Fatalf("orphaning a confirmed block: %v", err)
	}
	got, _ := st.Block(ctx, "btc", "aa")
	if got.State != ledger.StateConfirmed || got.PoolFee == nil || *got.PoolFee != 50_000_000 || got.Scheme != "pplns" {
		t.Fatalf("block row: %+v", got)
	}
}

func TestOrphanedBlockCreditsNothing(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	t0 := time.Now().UTC()
	if _, err := st.RecordBlock(ctx, block("bb", 7, 1000, t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordRewards(ctx, "btc", "bb", mustSplit(t, 1000, 0, map[string]int64{"alice": 1}), nil); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		got, err := st.OrphanBlock(ctx, "btc", "bb", "another block at height 7")
		if err != nil || got != want {
			t.Fatalf("OrphanBlock #%d = %v, %v", i, got, err)
		}
	}
	if _, err := st.ConfirmBlock(ctx, "btc", "bb", 100); !errors.Is(err, ledger.ErrBlockOrphaned) {
		t.Fatalf("confirm orphan: %v", err)
	}
	acc, _ := st.Account(ctx, "btc", "alice")
	if acc.Immature != 0 || acc.Balance != 0 {
		t.Fatalf("orphan left money: %+v", acc)
	}
	// Orphaned before its rewards were computed: recording them is a no-op.
	if _, err := st.RecordBlock(ctx, block("cc", 8, 1000, t0.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	if _, err := st.OrphanBlock(ctx, "btc", "cc", "gone"); err != nil {
		t.Fatal(err)
	}
	if out, err := st.RecordRewards(ctx, "btc", "cc", mustSplit(t, 1000, 0, map[string]int64{"alice": 1}), nil); err != nil || out != ledger.RewardsOrphanUnpaid {
		t.Fatalf("rewards of an orphan: %v %v", out, err)
	}
	if r, _ := st.Rewards(ctx, "btc", "cc"); len(r) != 0 {
		t.Fatalf("orphan got rewards %v", r)
	}
	start, err := st.RoundStart(ctx, "btc", "cc")
	if err != nil || !start.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("round start = %v, %v; want %v", start, err, t0)
	}
}

func TestPPSCreditsOnce(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	for i, want := range []bool{true, false} {
		got, err := st.CreditPPS(ctx, "btc", "gw1-5", 3, map[string]int64{"alice": 10, "bob": 0, "carol": 7})
		if err != nil || got != want {
			t.Fatalf("CreditPPS #%d = %v, %v", i, got, err)
		}
	}
	a, _ := st.Account(ctx, "btc", "alice")
	c, _ := st.Account(ctx, "btc", "carol")
	if a.Balance != 10 || c.Balance != 7 {
		t.Fatalf("balances %d %d", a.Balance, c.Balance)
	}
}

func TestPayoutsDebitRefundAndThresholds(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if _, err := st.CreditPPS(ctx, "btc", "b1", 1, map[string]int64{"alice": 5000, "bob": 3000, "carol": 900, "dave": 4000}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPayoutThreshold(ctx, "btc", "dave", 4500); err != nil { // dave raised his threshold
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0).UTC()
	pos, err := st.CreatePayouts(ctx, ledger.PayoutPlan{Coin: "btc", Minimum: 1000, FeePolicy: ledger.FeePolicyMiner, FeePerOutput: 100, BatchSize: 1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 2 || pos[0].Items[0].Address != "alice" || pos[0].Items[0].Sent != 4900 || pos[1].Items[0].Address != "bob" {
		t.Fatalf("payouts: %+v", pos)
	}
	again, err := st.CreatePayouts(ctx, ledger.PayoutPlan{Coin: "btc", Minimum: 1000, FeePolicy: ledger.FeePolicyPool, BatchSize: 10, Now: now.Add(time.Second)})
	if err != nil || len(again) != 0 {
		t.Fatalf("second run paid again: %+v %v", again, err)
	}
	if err := st.MarkPayoutSent(ctx, pos[0].ID, "tx1"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPayoutSent(ctx, pos[0].ID, "tx1"); err != nil {
		t.Fatalf("same txid again: %v", err)
	}
	if err := st.MarkPayoutSent(ctx, pos[0].ID, "tx2"); !errors.Is(err, ledger.ErrPayoutState) {
		t.Fatalf("another txid: %v", err)
	}
	for i, want := range []bool{true, false} {
		got, err := st.FailPayout(ctx, pos[1].ID, "wallet refused")
		if err != nil || got != want {
			t.Fatalf("FailPayout #%d = %v, %v", i, got, err)
		}
	}
	if err := st.SetPayoutConfirmations(ctx, pos[0].ID, 6, true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FailPayout(ctx, pos[0].ID, "late"); !errors.Is(err, ledger.ErrPayoutState) {
		t.Fatalf("failing a confirmed payout: %v", err)
	}
	a, _ := st.Account(ctx, "btc", "alice")
	b, _ := st.Account(ctx, "btc", "bob")
	if a.Balance != 0 || a.Paid != 5000 || b.Balance != 3000 || b.Paid != 0 {
		t.Fatalf("alice %+v bob %+v", a, b)
	}
	owed, err := st.Owed(ctx, "btc")
	if err != nil || owed.Balances != 3000+900+4000 {
		t.Fatalf("owed %+v %v", owed, err)
	}
	known, _ := st.KnownTxIDs(ctx, "btc")
	if !known["tx1"] || len(known) != 1 {
		t.Fatalf("known txids %v", known)
	}
}

func TestInvariantCheckCatchesCorruption(t *testing.T) {
	cases := []struct{ name, sql string }{
		{"clean ledger", ``},
		{"balance moved without a credit", `UPDATE balances SET confirmed = confirmed + 1`},
		{"reward changed", `UPDATE rewards SET amount = amount + 1`},
		{"orphan kept rewards", `UPDATE blocks SET state = 'orphaned'`},
		{"credit for a pending block", `INSERT INTO credits (coin, address, kind, ref, amount) VALUES ('btc', 'x', 'block', 'dd', 0)`},
		{"reward of an unknown block", `UPDATE rewards SET block_hash = 'ee'`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := ledger.Open(ctx, testenv.PostgresDB(t))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.CreditPPS(ctx, "btc", "b1", 1, map[string]int64{"alice": 5000}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.RecordBlock(ctx, block("dd", 9, 1000, time.Now())); err != nil {
				t.Fatal(err)
			}
			if _, err := st.RecordRewards(ctx, "btc", "dd", mustSplit(t, 1000, 100, map[string]int64{"alice": 1}), nil); err != nil {
				t.Fatal(err)
			}
			if c.sql == "" {
				if err := st.CheckInvariants(ctx); err != nil {
					t.Fatalf("clean ledger: %v", err)
				}
				return
			}
			if _, err := st.Pool().Exec(ctx, c.sql); err != nil {
				t.Fatal(err)
			}
			if err := st.CheckInvariants(ctx); !errors.Is(err, ledger.ErrInvariant) {
				t.Fatalf("corruption not detected: %v", err)
			}
		})
	}
}
