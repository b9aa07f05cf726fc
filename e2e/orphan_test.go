package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/testenv"
)

// TestForcedOrphanCreditsNothing orphans pool blocks for real: two miners
// mine simnet blocks through the pool under PPLNS; once their immature
// rewards are recorded, btcd invalidates the pool's block one below the
// tip (so the tip above it falls too, with any sibling the miners found at
// those heights) and generates a longer competing chain to its own mining
// address. Chainwatch must mark every one of those blocks orphaned, the
// rewards function must remove their immature rewards (each miner's
// immature amount becomes exactly the rewards of the blocks still
// pending), and after the remaining blocks mature no balance and no
// credit includes them: balances are the sum of the confirmed rewards,
// recomputed from the shares, and the ledger invariants hold.
func TestForcedOrphanCreditsNothing(t *testing.T) {
	mp := startPool(t, poolSpec{btcd: testenv.Btcd(t, "simnet"), address: simnetAddress(t, 7), ledger: true})
	ctx := context.Background()
	cli := mp.btcd.Client()
	shares := followShares(t, mp.proc.Env.JS, "btc")
	alice, bob := simnetAddress(t, 1), simnetAddress(t, 2)
	miners := []string{alice, bob}

	mp.mine(t, 4, [2]string{alice + ".rigA", "x"}, [2]string{bob + ".rigB", "x"})
	shares.poll(t)

	// The pool mined every block since the start. The victims are its
	// blocks at the tip's height and one below, on the best chain or not
	// (two miners can find a block at the same height).
	tipHeight, err := cli.GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, err := mp.st.Blocks(ctx, "btc", 10000)
	if err != nil {
		t.Fatal(err)
	}
	rewardsBefore := map[string]map[string]int64{}
	for _, b := range before {
		if rewardsBefore[b.Hash], err = mp.st.Rewards(ctx, "btc", b.Hash); err != nil {
			t.Fatal(err)
		}
	}
	var victims []ledger.Block
	isVictim := map[string]bool{}
	for _, b := range before {
		if b.Height >= tipHeight-1 {
			if b.State != ledger.StatePending || !b.Rewarded {
				t.Fatalf("block %d before the reorg: state %s rewarded %v", b.Height, b.State, b.Rewarded)
			}
			victims = append(victims, b)
			isVictim[b.Hash] = true
		}
	}
	lost := map[string]int64{}
	for _, h := range []int64{tipHeight - 1, tipHeight} {
		hash, err := cli.GetBlockHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if !isVictim[hash] || len(rewardsBefore[hash]) == 0 {
			t.Fatalf("best-chain block %d %s: in the ledger %v, immature rewards %v", h, hash, isVictim[hash], rewardsBefore[hash])
		}
	}
	for _, v := range victims {
		for a, m := range rewardsBefore[v.Hash] {
			lost[a] += m
		}
	}

	// The reorg: invalidate the pool's block one below the tip (and any
	// pool block at that height the node falls back to), then a competing
	// chain that is OrphanDepth (3) past the old tip.
	for i := 0; ; i++ {
		hash, err := cli.GetBlockHash(ctx, tipHeight-1)
		if err != nil || !isVictim[hash] {
			break
		}
		if i == 5 {
			t.Fatalf("the node keeps a pool block at height %d after %d invalidations", tipHeight-1, i)
		}
		if err := cli.Call(ctx, "invalidateblock", []any{hash}, nil); err != nil {
			t.Fatal(err)
		}
	}
	competing, err := cli.Generate(ctx, 6)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range []int64{tipHeight - 1, tipHeight} {
		hash, err := cli.GetBlockHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if hash != competing[i] {
			t.Fatalf("height %d: best chain has %s, want the competing block %s", h, hash, competing[i])
		}
	}
	natstest.WaitFor(t, 30*time.Second, "chainwatch to orphan the invalidated blocks", func() bool {
		for _, v := range victims {
			if b, _ := mp.st.Block(ctx, "btc", v.Hash); b.State != ledger.StateOrphaned {
				return false
			}
		}
		return true
	})
	// Let chainwatch finish its pass: a natural orphan of the same
	// heights is judged in the same pass.
	time.Sleep(time.Second)
	now, err := mp.st.Blocks(ctx, "btc", 10000)
	if err != nil {
		t.Fatal(err)
	}
	immature := map[string]int64{}
	for _, b := range now {
		rw, err := mp.st.Rewards(ctx, "btc", b.Hash)
		if err != nil {
			t.Fatal(err)
		}
		switch b.State {
		case ledger.StateOrphaned:
			if len(rw) != 0 {
				t.Errorf("orphaned block %d %s keeps rewards %v", b.Height, b.Hash, rw)
			}
			if b.OrphanReason == "" {
				t.Errorf("orphaned block %d %s has no reason", b.Height, b.Hash)
			}
		case ledger.StatePending:
			// A pending block keeps exactly the rewards it was given.
			if !equalAmounts(rw, rewardsBefore[b.Hash]) {
				t.Errorf("pending block %d %s: rewards %v, before the reorg %v", b.Height, b.Hash, rw, rewardsBefore[b.Hash])
			}
			for a, m := range rw {
				immature[a] += m
			}
		default:
			t.Fatalf("block %d %s is %s before maturity", b.Height, b.Hash, b.State)
		}
	}
	for _, v := range victims {
		b, err := mp.st.Block(ctx, "btc", v.Hash)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("block %d %s orphaned: %s", b.Height, b.Hash, b.OrphanReason)
	}
	for _, a := range miners {
		acc, err := mp.st.Account(ctx, "btc", a)
		if err != nil {
			t.Fatal(err)
		}
		if acc.Immature != immature[a] || acc.Balance != 0 {
			t.Errorf("%s after the reorg: immature %d (pending blocks' rewards %d), balance %d", a, acc.Immature, immature[a], acc.Balance)
		}
	}

	// Mature the rest: the orphans never reach a balance.
	all := mp.mature(t)
	credited, schemes, _ := mp.checkSplits(t, all, shares)
	for _, v := range victims {
		b, err := mp.st.Block(ctx, "btc", v.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if b.State != ledger.StateOrphaned {
			t.Errorf("victim %d %s ended %s", b.Height, b.Hash, b.State)
		}
		var n int
		if err := mp.st.Pool().QueryRow(ctx, `SELECT count(*) FROM credits WHERE coin = 'btc' AND ref = $1`, v.Hash).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("orphaned block %s has %d credits", v.Hash, n)
		}
	}
	if schemes[config.SchemePPLNS] == 0 {
		t.Fatalf("no confirmed PPLNS block besides the orphans (%v)", schemes)
	}
	for _, a := range miners {
		acc, err := mp.st.Account(ctx, "btc", a)
		if err != nil {
			t.Fatal(err)
		}
		if acc.Balance != credited[a] || acc.Immature != 0 {
			t.Errorf("%s: confirmed rewards %d, balance %d immature %d", a, credited[a], acc.Balance, acc.Immature)
		}
	}
	if err := mp.st.CheckInvariants(ctx); err != nil {
		t.Errorf("ledger invariants: %v", err)
	}
	t.Logf("%d blocks orphaned by the reorg; immature rewards removed %v; balances %v", len(victims), lost, credited)
}
