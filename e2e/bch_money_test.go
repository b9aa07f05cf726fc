package e2e

import (
	"context"
	"testing"

	"github.com/jetpool/jetpool/internal/coin/bch"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/testenv"
)

// TestBitcoinCashRewardsReachBalances runs the ledger path for Bitcoin Cash
// on bchd regtest: two miners mine through the gateway with the project's
// miner under PPLNS; accounts, blocks, rewards record the blocks and their
// immature rewards; bchd generates 100 blocks to its own mining address
// (not the pool's) so chainwatch confirms them at bch's coinbase maturity
// and rewards moves them to balances. Each confirmed block's coinbase is
// read from bchd, its split recomputed from the SHARES stream, each
// miner's balance must be the sum of its confirmed rewards, and the ledger
// invariants must hold. bchd has no wallet, so Bitcoin Cash payouts are
// not exercised here (the payouts function only ever talks to a wallet).
func TestBitcoinCashRewardsReachBalances(t *testing.T) {
	bchd := testenv.Bchd(t)
	mp := startPool(t, poolSpec{coin: bch.Symbol, btcd: bchd, address: bchregAddress(t, 7), ledger: true})
	ctx := context.Background()
	shares := followShares(t, mp.proc.Env.JS, bch.Symbol)
	alice, bob := bchregAddress(t, 1), bchregAddress(t, 2)

	mp.mine(t, 5, [2]string{alice + ".rigA", "x"}, [2]string{bob + ".rigB", "x"})
	shares.poll(t)
	// Before maturity: every reward is immature, nothing is payable.
	for _, a := range []string{alice, bob} {
		acc, err := mp.st.Account(ctx, bch.Symbol, a)
		if err != nil {
			t.Fatal(err)
		}
		if !acc.Known || acc.Balance != 0 || acc.Immature == 0 {
			t.Errorf("%s before maturity: known %v balance %d immature %d", a, acc.Known, acc.Balance, acc.Immature)
		}
	}

	all := mp.mature(t)
	tip, err := bchd.Client().GetBestBlockHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, toPool := mp.coinbaseOnChain(t, tip); toPool != 0 {
		t.Fatalf("bchd's generated block %s pays the pool %d", tip, toPool)
	}
	credited, schemes, multiMiner := mp.checkSplits(t, all, shares)
	if schemes[config.SchemePPLNS] == 0 || len(schemes) != 1 {
		t.Errorf("confirmed blocks per scheme %v, want PPLNS only", schemes)
	}
	if multiMiner == 0 {
		t.Error("no block split between both miners")
	}
	if credited[alice] == 0 || credited[bob] == 0 {
		t.Fatalf("credited %v: both miners must earn", credited)
	}
	for _, a := range []string{alice, bob} {
		acc, err := mp.st.Account(ctx, bch.Symbol, a)
		if err != nil {
			t.Fatal(err)
		}
		if acc.Balance != credited[a] || acc.Immature != 0 || acc.Paid != 0 {
			t.Errorf("%s: confirmed rewards %d, balance %d immature %d paid %d", a, credited[a], acc.Balance, acc.Immature, acc.Paid)
		}
	}
	if err := mp.st.CheckInvariants(ctx); err != nil {
		t.Errorf("ledger invariants: %v", err)
	}
	t.Logf("bch: %d blocks, confirmed per scheme %v, balances %v", len(all), schemes, credited)
}
