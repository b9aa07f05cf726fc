package e2e

import (
	"context"
	"math/big"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/pps"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/testenv"
)

// Pool fees of the PPS test, distinct per scheme so that the fee each
// share pays is the one of the scheme it was credited under.
const (
	ppsFeeBps  = 200
	fppsFeeBps = 250
)

// simnetSubsidy is simnet's block subsidy: 50 coins halved every
// SubsidyReductionInterval blocks.
func simnetSubsidy(height int64) int64 {
	return (50 * 100_000_000) >> (height / int64(chaincfg.SimNetParams.SubsidyReductionInterval))
}

// workUnits is a share difficulty counted in whole 1e-8 units, rounded
// half to even on the exact value of the float64.
func workUnits(d float64) *big.Int {
	u := new(big.Rat).Mul(new(big.Rat).SetFloat64(d), big.NewRat(100_000_000, 1))
	q, rem := new(big.Int).QuoRem(u.Num(), u.Denom(), new(big.Int))
	twice := new(big.Int).Lsh(rem, 1)
	if c := twice.Cmp(u.Denom()); c > 0 || (c == 0 && q.Bit(0) == 1) {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// ppsCredit is what one share batch earns under PPS/FPPS by the rule of
// functions/pps, computed here: per miner, network difficulty and height,
// work W = Σ workUnits(share difficulty); the group earns
// ⌊W × value(height) × (10000 − bps) ÷ (D × 1e8 × 10000)⌋, D the exact
// value of the float64 network difficulty (rounded down once per group);
// a miner's credit is the sum over its groups. It also returns how many
// shares count.
func ppsCredit(shares []loggedShare, value func(height int64) int64, bps int) (map[string]int64, int) {
	type group struct {
		addr   string
		nd     float64
		height int64
	}
	work := map[group]*big.Int{}
	n := 0
	for _, s := range shares {
		if s.address == "" || !(s.netDiff > 0) {
			continue
		}
		g := group{s.address, s.netDiff, s.height}
		if work[g] == nil {
			work[g] = new(big.Int)
		}
		work[g].Add(work[g], workUnits(s.difficulty))
		n++
	}
	out := map[string]int64{}
	for g, w := range work {
		num := new(big.Rat).SetInt(w)
		num.Mul(num, new(big.Rat).SetInt64(value(g.height)))
		num.Mul(num, big.NewRat(int64(10000-bps), 1))
		den := new(big.Rat).SetFloat64(g.nd)
		den.Mul(den, big.NewRat(100_000_000*10000, 1))
		q := new(big.Rat).Quo(num, den)
		if v := new(big.Int).Quo(q.Num(), q.Denom()).Int64(); v > 0 {
			out[g.addr] += v
		}
	}
	return out, n
}

// ppsLedger is what the ledger recorded for PPS/FPPS: every credited
// batch (id → share count, amount) and its credits (id → miner → amount).
type ppsLedger struct {
	batches map[string][2]int64
	credits map[string]map[string]int64
}

func (mp *pool) ppsLedger(t *testing.T) ppsLedger {
	t.Helper()
	ctx := context.Background()
	l := ppsLedger{batches: map[string][2]int64{}, credits: map[string]map[string]int64{}}
	rows, err := mp.st.Pool().Query(ctx, `SELECT batch_id, shares, amount FROM pps_batches WHERE coin = $1`, mp.coin)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var n, m int64
		if err := rows.Scan(&id, &n, &m); err != nil {
			t.Fatal(err)
		}
		l.batches[id] = [2]int64{n, m}
	}
	rows.Close()
	rows, err = mp.st.Pool().Query(ctx, `SELECT ref, address, amount FROM credits WHERE coin = $1 AND kind = 'pps'`, mp.coin)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, a string
		var m int64
		if err := rows.Scan(&id, &a, &m); err != nil {
			t.Fatal(err)
		}
		if l.credits[id] == nil {
			l.credits[id] = map[string]int64{}
		}
		l.credits[id][a] = m
	}
	rows.Close()
	return l
}

// waitPPSCredited waits until the pps function has credited every share
// batch published so far.
func (mp *pool) waitPPSCredited(t *testing.T, shares *shareLog) ppsLedger {
	t.Helper()
	time.Sleep(time.Second) // the gateway's last batch after the miners stopped
	shares.poll(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := mp.ppsLedger(t)
		missing := 0
		for _, id := range shares.batches {
			if _, ok := l.batches[id]; !ok {
				missing++
			}
		}
		if missing == 0 {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("pps credited %d of %d share batches in 30s (%d missing): the pps function terminated or never took them",
				len(shares.batches)-missing, len(shares.batches), missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPPSAndFPPSCreditSharesOnSimnet runs pay-per-share on real components:
// two pool miners mine simnet blocks through the gateway while the pool
// runs PPS; the pool's mature coinbase then pays a wallet transaction whose
// fee a pool block collects; then the scheme is switched to FPPS in KV and
// the miners mine again. The pps function must credit every share batch
// of the SHARES stream exactly as recomputed here (ppsCredit): under PPS at
// the simnet subsidy with the PPS fee; under FPPS at the subsidy plus the
// average fees (coinbase − subsidy, coinbases checked against the chain)
// of the ledger's blocks with the FPPS fee. Blocks found while FPPS
// credits are recorded concurrently, so the number of blocks averaged
// over is only bounded (see below); the sum of fees is fixed. Every
// block found under PPS or FPPS must credit the miners nothing further
// (the pool keeps the whole coinbase), balances must equal the PPS
// credits, and the ledger invariants hold.
//
// The payouts function does not run: on simnet a share is worth about two
// million blocks (share difficulty ÷ network difficulty ≈ 2.1e6), so the
// balances are far beyond what the pool wallet holds.
func TestPPSAndFPPSCreditSharesOnSimnet(t *testing.T) {
	btcd := testenv.Btcd(t, "simnet")
	mp := startPool(t, poolSpec{btcd: btcd, wallet: startSimnetWallet(t, btcd), ledger: true, extra: []functions.Function{pps.New()}, mutate: func(c *config.Config) {
		c.Pool.Scheme = config.SchemePPS
		c.Pool.SchemeFeeBasisPoints = map[string]int{config.SchemePPS: ppsFeeBps, config.SchemeFPPS: fppsFeeBps}
	}})
	ctx := context.Background()
	shares := followShares(t, mp.proc.Env.JS, "btc")
	alice, bob := simnetAddress(t, 1), simnetAddress(t, 2)
	miners := []string{alice, bob}

	// PPS.
	mp.mine(t, 3, [2]string{alice + ".rigA", "x"}, [2]string{bob + ".rigB", "x"})
	mp.waitPPSCredited(t, shares)

	// Transaction fees for FPPS: mature the pool's coinbases, let the pool
	// wallet send a transaction, and have one miner mine through the pool
	// until a best-chain block carries its fee.
	mp.mature(t)
	if err := mp.wallet.client.Call(ctx, "walletpassphrase", []any{"password", 120}, nil); err != nil {
		t.Fatal(err)
	}
	var txid string
	natstest.WaitFor(t, 60*time.Second, "the pool wallet to send a transaction", func() bool {
		return mp.wallet.client.Call(ctx, "sendtoaddress", []any{simnetAddress(t, 9), 1.0}, &txid) == nil
	})
	mp.mineUntil(t, "a best-chain pool block that collects the fee", func(before, now []ledger.Block) bool {
		for _, b := range now {
			if b.CoinbaseValue > simnetSubsidy(b.Height) {
				if hash, err := mp.btcd.Client().GetBlockHash(ctx, b.Height); err == nil && hash == b.Hash {
					return true
				}
			}
		}
		return false
	}, [2]string{alice + ".rigA", "x"})
	// Settle the chain before the switch (a miner can find two blocks at
	// one height, from two jobs): 4 blocks on top, then every ledger block
	// off the best chain is orphaned and the fees FPPS averages are fixed.
	if _, err := mp.btcd.Client().Generate(ctx, 4); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 30*time.Second, "chainwatch to orphan every block off the best chain", func() bool {
		bs, _ := mp.st.Blocks(ctx, "btc", 10000)
		for _, b := range bs {
			hash, err := mp.btcd.Client().GetBlockHash(ctx, b.Height)
			if err != nil || (hash == b.Hash) == (b.State == ledger.StateOrphaned) {
				return false
			}
		}
		return true
	})
	if pool, err := mp.btcd.Client().GetRawMempool(ctx); err != nil || len(pool) != 0 {
		t.Fatalf("mempool after the fee block: %v %v", pool, err)
	}
	mp.waitPPSCredited(t, shares)
	ppsBatches := slices.Clone(shares.batches)
	beforeSwitch, err := mp.st.Blocks(ctx, "btc", 10000)
	if err != nil {
		t.Fatal(err)
	}

	// FPPS.
	mp.setScheme(t, config.SchemeFPPS)
	mp.mine(t, 3, [2]string{alice + ".rigA2", "x"}, [2]string{bob + ".rigB2", "x"})
	got := mp.waitPPSCredited(t, shares)

	// Every block, PPS or FPPS, is the pool's.
	all := mp.mature(t)
	credited, schemes, _ := mp.checkSplits(t, all, shares)
	if len(credited) != 0 {
		t.Errorf("blocks credited miners %v under PPS/FPPS", credited)
	}
	if schemes[config.SchemePPS] == 0 || schemes[config.SchemeFPPS] == 0 || len(schemes) != 2 {
		t.Errorf("confirmed blocks per scheme %v, want PPS and FPPS only", schemes)
	}
	wasBefore := map[string]bool{}
	for _, b := range beforeSwitch {
		wasBefore[b.Hash] = true
	}
	for _, b := range all {
		want := config.SchemeFPPS
		if wasBefore[b.Hash] {
			want = config.SchemePPS
		}
		if b.State == ledger.StateConfirmed && b.Scheme != want {
			t.Errorf("block %d %s split %s, want %s", b.Height, b.Hash, b.Scheme, want)
		}
	}
	var blockCredits int
	if err := mp.st.Pool().QueryRow(ctx, `SELECT count(*) FROM credits WHERE coin = 'btc' AND kind = 'block'`).Scan(&blockCredits); err != nil {
		t.Fatal(err)
	}
	if blockCredits != 0 {
		t.Errorf("%d block credits under PPS/FPPS", blockCredits)
	}

	// FPPS's average fees: the blocks found before the switch were
	// settled then, so the sum of fees F and their count c0 were fixed;
	// FPPS blocks collect no fees (the mempool was empty) and are recorded
	// concurrently with the crediting of share batches, so a batch's
	// average is F ÷ c for some c in c0 .. c0 + the FPPS blocks.
	var fees, cLo, cHi int64
	settled := map[string]string{}
	for _, b := range beforeSwitch {
		settled[b.Hash] = b.State
	}
	for _, b := range all {
		f := b.CoinbaseValue - simnetSubsidy(b.Height)
		switch {
		case !wasBefore[b.Hash]:
			if f > 0 {
				t.Fatalf("FPPS block %d %s collected fees %d", b.Height, b.Hash, f)
			}
			cHi++
		case settled[b.Hash] != ledger.StateOrphaned:
			if b.State != ledger.StateConfirmed {
				t.Fatalf("block %d %s settled before the switch ended %s", b.Height, b.Hash, b.State)
			}
			fees += max(f, 0)
			cLo++
			cHi++
		}
	}
	if fees == 0 || fees/cHi == 0 || cHi > pps.FeeWindowBlocks {
		t.Fatalf("fees %d over %d..%d blocks: the FPPS check needs an average of at least 1 over at most %d blocks", fees, cLo, cHi, pps.FeeWindowBlocks)
	}
	t.Logf("FPPS: fees %d sat (tx %s) averaged over %d..%d blocks", fees, txid, cLo, cHi)

	// Every batch, credited exactly as recomputed from the shares.
	isPPS := map[string]bool{}
	for _, id := range ppsBatches {
		isPPS[id] = true
	}
	total := map[string]int64{}
	nPPS, nFPPS := 0, 0
	for _, id := range shares.batches {
		row, rec := got.batches[id], got.credits[id]
		if rec == nil {
			rec = map[string]int64{}
		}
		var sum int64
		for a, m := range rec {
			sum += m
			total[a] += m
		}
		if row[1] != sum {
			t.Errorf("batch %s: recorded amount %d, credits %v", id, row[1], rec)
		}
		if isPPS[id] {
			want, n := ppsCredit(shares.byBatch[id], simnetSubsidy, ppsFeeBps)
			if int64(n) != row[0] || !equalAmounts(rec, want) {
				t.Errorf("PPS batch %s: ledger %d shares %v; from the shares %d shares %v", id, row[0], rec, n, want)
			}
			nPPS += n
			continue
		}
		nFPPS += len(shares.byBatch[id])
		var avgs []int64
		matched := false
		for c := cHi; c >= cLo && !matched; c-- {
			avg := fees / c
			avgs = append(avgs, avg)
			want, n := ppsCredit(shares.byBatch[id], func(h int64) int64 { return simnetSubsidy(h) + avg }, fppsFeeBps)
			matched = int64(n) == row[0] && equalAmounts(rec, want)
		}
		if !matched {
			plain, _ := ppsCredit(shares.byBatch[id], simnetSubsidy, fppsFeeBps)
			t.Errorf("FPPS batch %s: ledger %d shares %v; no average fee in %v gives it (without fees: %v)", id, row[0], rec, avgs, plain)
		}
	}
	if nPPS == 0 || nFPPS == 0 {
		t.Fatalf("shares credited: PPS %d, FPPS %d; both schemes need some", nPPS, nFPPS)
	}
	for id := range got.batches {
		if !shares.seen[id] {
			t.Errorf("pps credited batch %s, which is not in the SHARES stream", id)
		}
	}
	keys := make([]string, 0, len(total))
	for a := range total {
		keys = append(keys, a)
	}
	sort.Strings(keys)
	want := []string{alice, bob}
	sort.Strings(want)
	if !slices.Equal(keys, want) {
		t.Errorf("PPS credited %v, want both miners", total)
	}
	for _, a := range miners {
		acc, err := mp.st.Account(ctx, "btc", a)
		if err != nil {
			t.Fatal(err)
		}
		if acc.Balance != total[a] || acc.Immature != 0 || acc.Paid != 0 {
			t.Errorf("%s: PPS credits %d, balance %d immature %d paid %d", a, total[a], acc.Balance, acc.Immature, acc.Paid)
		}
	}
	if err := mp.st.CheckInvariants(ctx); err != nil {
		t.Errorf("ledger invariants: %v", err)
	}
	t.Logf("%d PPS and %d FPPS shares in %d batches; credits %v", nPPS, nFPPS, len(shares.batches), total)
}
