package ledger_test

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/ledger"
)

// TestRecordRewardsOnceUnderRacingCopies: copies of the rewards function
// recording the same large block at once (the COPY path) write its rows
// once; the block's exact amounts and work survive the round trip.
func TestRecordRewardsOnceUnderRacingCopies(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	const coinbase = 312_512_345
	var work []ledger.MinerWork
	for i := range 5000 {
		w := new(big.Int).Lsh(big.NewInt(int64(1000+i%77)), 70) // above 2^64: numeric, not bigint
		work = append(work, ledger.MinerWork{Address: fmt.Sprintf("bc1qminer%05d", i), Work: w})
	}
	sp, err := ledger.SplitProportional("pplns", coinbase, 100, work)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordBlock(ctx, block("race", 7, coinbase, time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	const copies = 4
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		wrote int
	)
	for range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := st.RecordRewards(ctx, "btc", "race", sp, nil)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if out.Recorded() {
				wrote++
			}
		}()
	}
	wg.Wait()
	if wrote != 1 {
		t.Fatalf("%d of %d copies recorded the rewards, want 1", wrote, copies)
	}
	got, err := st.Rewards(ctx, "btc", "race")
	if err != nil || len(got) != len(sp.Rewards) {
		t.Fatalf("%d reward rows (%v), want %d", len(got), err, len(sp.Rewards))
	}
	for _, r := range sp.Rewards {
		if got[r.Address] != r.Amount {
			t.Fatalf("%s: %d, want %d", r.Address, got[r.Address], r.Amount)
		}
	}
	var mismatched int
	for _, r := range sp.Rewards[:50] {
		var w string
		if err := st.Pool().QueryRow(ctx, `SELECT work::text FROM rewards WHERE coin = 'btc' AND block_hash = 'race' AND address = $1`,
			r.Address).Scan(&w); err != nil {
			t.Fatal(err)
		}
		if w != r.Work.String() {
			mismatched++
		}
	}
	if mismatched > 0 {
		t.Fatalf("%d of 50 work values changed on the way into PostgreSQL", mismatched)
	}
}
