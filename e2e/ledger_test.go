package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/miner"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// startMoneyPool is the Bitcoin simnet pool with btcwallet and payouts.
func startMoneyPool(t *testing.T) *pool {
	t.Helper()
	btcd := testenv.Btcd(t, "simnet")
	return startPool(t, poolSpec{btcd: btcd, wallet: startSimnetWallet(t, btcd), ledger: true, payouts: true})
}

// setScheme changes pool.scheme in KV config (every function hot-reloads it).
func (mp *pool) setScheme(t *testing.T, scheme string) {
	t.Helper()
	mp.cfg.Pool.Scheme = scheme
	if _, err := kv.Put(context.Background(), mp.proc.Env.KV.Config, config.KeyPool, mp.cfg.Pool); err != nil {
		t.Fatal(err)
	}
}

// mine runs the given miners (user, password) against the gateway until
// the ledger has at least n more blocks and every miner found one of them
// — and, for two or more miners under PPLNS, one of the new blocks on the
// best chain is split between miners — then stops them and waits until
// every block is rewarded. (PROP is left out: its rounds split almost
// always, and mining on makes two blocks in one millisecond likelier, the
// second of which has an empty PROP round that rewards waits 10 minutes
// for.)
func (mp *pool) mine(t *testing.T, n int, users ...[2]string) {
	t.Helper()
	what := fmt.Sprintf("%d blocks in the ledger, one by every miner", n)
	needSplit := len(users) >= 2 && mp.cfg.Pool.Scheme == config.SchemePPLNS
	if needSplit {
		what += ", one on the best chain split between miners"
	}
	ctx := context.Background()
	mp.mineUntil(t, what, func(before, now []ledger.Block) bool {
		known := map[string]bool{}
		for _, b := range before {
			known[b.Hash] = true
		}
		finders := map[string]bool{}
		var fresh []ledger.Block
		for _, b := range now {
			if !known[b.Hash] {
				finders[b.Finder] = true
				fresh = append(fresh, b)
			}
		}
		for _, u := range users {
			if addr, _, _ := strings.Cut(u[0], "."); !finders[addr] {
				return false
			}
		}
		if len(now) < len(before)+n {
			return false
		}
		if !needSplit {
			return true
		}
		// Two miners' blocks can all fall to one of them by chance (a
		// block whose window holds only the finder's shares, the other's
		// block stale at its height): mine on until a block on the best
		// chain shares its reward, so the split tests have one to check.
		for _, b := range fresh {
			if rw, err := mp.st.Rewards(ctx, mp.coin, b.Hash); err == nil && len(rw) >= 2 && mp.onBestChain(ctx, b) {
				return true
			}
		}
		return false
	}, users...)
}

// onBestChain reports whether block b is the node's best-chain block at
// its height.
func (mp *pool) onBestChain(ctx context.Context, b ledger.Block) bool {
	var hash string
	var err error
	if mp.litecoind != nil {
		hash, err = mp.litecoind.Client().GetBlockHash(ctx, b.Height)
	} else {
		hash, err = mp.btcd.Client().GetBlockHash(ctx, b.Height)
	}
	return err == nil && strings.EqualFold(hash, b.Hash)
}

// mineUntil runs the given miners until done(blocks before, blocks now)
// holds for the ledger's blocks, then stops them and waits until every
// block is rewarded.
func (mp *pool) mineUntil(t *testing.T, what string, done func(before, now []ledger.Block) bool, users ...[2]string) {
	t.Helper()
	ctx := context.Background()
	before, err := mp.st.Blocks(ctx, mp.coin, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var stops []func() miner.Stats
	for _, u := range users {
		stop, _ := mp.startMiner(t, u[0], u[1])
		stops = append(stops, stop)
	}
	natstest.WaitFor(t, 3*time.Minute, what, func() bool {
		bs, _ := mp.st.Blocks(ctx, mp.coin, 10000)
		return done(before, bs)
	})
	for _, stop := range stops {
		stop()
	}
	// A block published just before the stop reaches the ledger shortly.
	time.Sleep(2 * time.Second)
	natstest.WaitFor(t, 60*time.Second, "every block rewarded", func() bool {
		bs, _ := mp.st.Blocks(ctx, mp.coin, 10000)
		for _, b := range bs {
			if !b.Rewarded {
				return false
			}
		}
		return true
	})
}

// simnetDifficulty is the network difficulty of simnet's proof-of-work
// limit (bits 0x207fffff): 0xffff·2^208 ÷ (0x7fffff·2^232).
func simnetDifficulty() float64 {
	return 65535.0 / (8388607.0 * (1 << 24))
}

// shareLog collects every share batch of the SHARES stream: the pool's
// share record, read independently of ingest and ClickHouse.
type shareLog struct {
	cons   jetstream.Consumer
	seen   map[string]bool // batch message ids
	shares []loggedShare   // accepted pool (non-solo) shares, by time
	// batches are the message ids in stream order; every batch is listed,
	// even one without an accepted pool share.
	batches []string
	byBatch map[string][]loggedShare
}

type loggedShare struct {
	tsMs       int64
	gateway    string
	seq        uint64
	idx        int
	address    string
	difficulty float64
	netDiff    float64
	block      bool
	height     int64
}

func followShares(t *testing.T, js jetstream.JetStream, coin string) *shareLog {
	t.Helper()
	cons, err := js.OrderedConsumer(context.Background(), streams.Shares, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"shares." + coin + ".>"}})
	if err != nil {
		t.Fatal(err)
	}
	return &shareLog{cons: cons, seen: map[string]bool{}}
}

// poll reads everything published so far; accepted pool (non-solo)
// shares are kept.
func (l *shareLog) poll(t *testing.T) {
	t.Helper()
	if l.byBatch == nil {
		l.byBatch = map[string][]loggedShare{}
	}
	for {
		msgs, err := l.cons.FetchNoWait(500)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range msgs.Messages() {
			n++
			var b payload.ShareBatch
			if err := json.Unmarshal(m.Data(), &b); err != nil {
				t.Fatal(err)
			}
			if l.seen[b.MsgID()] {
				continue
			}
			l.seen[b.MsgID()] = true
			l.batches = append(l.batches, b.MsgID())
			for i, s := range b.Shares {
				if s.Accepted && !s.Solo {
					ls := loggedShare{tsMs: s.TimeMs, gateway: b.Gateway, seq: b.Seq, idx: i, address: s.Address,
						difficulty: s.Difficulty, netDiff: s.NetworkDifficulty, block: s.Block, height: s.Height}
					l.shares = append(l.shares, ls)
					l.byBatch[b.MsgID()] = append(l.byBatch[b.MsgID()], ls)
				}
			}
		}
		if n == 0 {
			break
		}
	}
	sort.Slice(l.shares, func(i, j int) bool {
		a, b := l.shares[i], l.shares[j]
		if a.tsMs != b.tsMs {
			return a.tsMs < b.tsMs
		}
		if a.gateway != b.gateway {
			return a.gateway < b.gateway
		}
		if a.seq != b.seq {
			return a.seq < b.seq
		}
		return a.idx < b.idx
	})
}

// pplnsWork is the independent PPLNS window: walking back from the newest
// share before untilMs, whole shares until the next would pass window,
// then the part of that share that fills it; exact rationals.
func (l *shareLog) pplnsWork(untilMs int64, window float64) map[string]*big.Rat {
	out := map[string]*big.Rat{}
	left := new(big.Rat).SetFloat64(window)
	for i := len(l.shares) - 1; i >= 0 && left.Sign() > 0; i-- {
		s := l.shares[i]
		if s.tsMs >= untilMs {
			continue
		}
		d := new(big.Rat).SetFloat64(s.difficulty)
		if d.Cmp(left) > 0 {
			d.Set(left)
		}
		left.Sub(left, d)
		add(out, s.address, d)
	}
	return out
}

// blockShareBefore reports whether the block share of addr at height is
// stamped before untilMs.
func (l *shareLog) blockShareBefore(addr string, height, untilMs int64) bool {
	for _, s := range l.shares {
		if s.block && s.address == addr && s.height == height && s.tsMs < untilMs {
			return true
		}
	}
	return false
}

// roundWork is every share with fromMs <= time < untilMs.
func (l *shareLog) roundWork(fromMs, untilMs int64) map[string]*big.Rat {
	out := map[string]*big.Rat{}
	for _, s := range l.shares {
		if s.tsMs >= fromMs && s.tsMs < untilMs {
			add(out, s.address, new(big.Rat).SetFloat64(s.difficulty))
		}
	}
	return out
}

func add(m map[string]*big.Rat, k string, v *big.Rat) {
	if m[k] == nil {
		m[k] = new(big.Rat)
	}
	m[k].Add(m[k], v)
}

// expectedSplit divides coinbase by the pool's published rules, computed
// here without the ledger package: fee = ⌊coinbase·bps/10000⌋; each
// miner's work is its window work as a float64 counted in whole 1e-8 units
// (half to even); every miner gets ⌊net·w/W⌋ and the base units left go
// one each to the largest remainders, ties to the smaller address.
func expectedSplit(coinbase int64, bps int, work map[string]*big.Rat) (fee int64, rewards map[string]int64) {
	fee = coinbase * int64(bps) / 10000
	type part struct {
		addr string
		w    *big.Int
		q    int64
		rem  *big.Int
	}
	var parts []part
	total := new(big.Int)
	for a, r := range work {
		f, _ := r.Float64()
		u := new(big.Rat).Mul(new(big.Rat).SetFloat64(f), big.NewRat(100_000_000, 1))
		q, rem := new(big.Int).QuoRem(u.Num(), u.Denom(), new(big.Int))
		twice := new(big.Int).Lsh(rem, 1)
		if c := twice.Cmp(u.Denom()); c > 0 || (c == 0 && q.Bit(0) == 1) {
			q.Add(q, big.NewInt(1))
		}
		if q.Sign() > 0 {
			parts = append(parts, part{addr: a, w: q})
			total.Add(total, q)
		}
	}
	rewards = map[string]int64{}
	if len(parts) == 0 {
		return coinbase, rewards
	}
	net := coinbase - fee
	left := net
	for i := range parts {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(big.NewInt(net), parts[i].w), total, new(big.Int))
		parts[i].q, parts[i].rem = q.Int64(), r
		left -= parts[i].q
	}
	sort.Slice(parts, func(i, j int) bool {
		if c := parts[i].rem.Cmp(parts[j].rem); c != 0 {
			return c > 0
		}
		return parts[i].addr < parts[j].addr
	})
	for i := range parts {
		if int64(i) < left {
			parts[i].q++
		}
		rewards[parts[i].addr] = parts[i].q
	}
	return fee, rewards
}

// TestLedgerMoneyCycleOnSimnet runs the whole money cycle on real
// components: two pool miners and a solo miner mine simnet blocks through
// the gateway; the blocks are recorded, split by PPLNS, PROP and SOLO,
// matured with 100 generated blocks, confirmed by chainwatch, credited by
// rewards and paid by payouts through btcwallet, and the payout
// transactions are confirmed on chain. Every split is checked against the
// chain's coinbase and against a split computed here from the SHARES
// stream; every payout against the chain's transaction outputs; the
// ledger invariants at the end.
func TestLedgerMoneyCycleOnSimnet(t *testing.T) {
	mp := startMoneyPool(t)
	ctx := context.Background()
	shares := followShares(t, mp.proc.Env.JS, "btc")
	alice, bob, carol := simnetAddress(t, 1), simnetAddress(t, 2), simnetAddress(t, 3)

	// PPLNS, then PROP: two pool miners with different addresses and workers.
	mp.mine(t, 6, [2]string{alice + ".rigA", "x"}, [2]string{bob + ".rigB", "x"})
	mp.setScheme(t, config.SchemePROP)
	mp.mine(t, 4, [2]string{alice + ".rigA2", "x"}, [2]string{bob + ".rigB2", "x"})
	// SOLO by password while the pool runs PROP.
	mp.mine(t, 2, [2]string{carol + ".solo", "m=solo"})
	shares.poll(t)

	// Mature: 100 blocks on top of the last pool block.
	all := mp.mature(t)
	credited, schemes, multiMiner := mp.checkSplits(t, all, shares)
	for _, b := range all {
		if b.State == ledger.StateConfirmed && b.Scheme == config.SchemeSOLO && b.Finder != carol {
			t.Errorf("block %d split SOLO, found by %s", b.Height, b.Finder)
		}
	}
	if schemes[config.SchemePPLNS] == 0 || schemes[config.SchemePROP] == 0 || schemes[config.SchemeSOLO] == 0 {
		t.Errorf("confirmed blocks per scheme %v: every scheme needs one", schemes)
	}
	t.Logf("confirmed blocks per scheme %v", schemes)
	if multiMiner == 0 {
		t.Error("no block split between two miners")
	}
	if credited[alice] == 0 || credited[bob] == 0 || credited[carol] == 0 {
		t.Fatalf("credited %v: every miner must earn", credited)
	}

	// Payouts: every balance is sent; the transactions confirm on chain.
	mine := func() error { return mp.generate(ctx, 1) }
	waitMining(t, 90*time.Second, "payouts sent", mine, func() bool {
		for _, a := range []string{alice, bob, carol} {
			acc, err := mp.st.Account(ctx, "btc", a)
			if err != nil || acc.Balance != 0 || acc.Paid != credited[a] {
				return false
			}
		}
		open, _ := mp.st.Payouts(ctx, "btc", ledger.PayoutIntent)
		return len(open) == 0
	})
	waitMining(t, 60*time.Second, "payouts confirmed", mine, func() bool {
		open, _ := mp.st.Payouts(ctx, "btc", ledger.PayoutIntent, ledger.PayoutSent)
		return len(open) == 0
	})
	// Every state named: ledger.Payouts with no states returns nothing
	// (a nil slice reaches SQL as NULL, and cardinality(NULL) is NULL).
	ps, err := mp.st.Payouts(ctx, "btc", ledger.PayoutIntent, ledger.PayoutSent, ledger.PayoutConfirmed, ledger.PayoutFailed)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) == 0 {
		t.Fatal("no payouts recorded")
	}
	paidOnChain := map[string]int64{}
	for _, p := range ps {
		if p.State != ledger.PayoutConfirmed || p.TxID == "" {
			t.Errorf("payout %s: state %s txid %q", p.ID, p.State, p.TxID)
			continue
		}
		outs := txOutputsOnChain(t, mp, p.TxID)
		for _, it := range p.Items {
			// Fee policy "pool": the full amount is sent.
			if outs[it.Address] != it.Amount || it.Sent != it.Amount {
				t.Errorf("payout %s tx %s pays %s %d on chain, ledger debited %d sent %d", p.ID, p.TxID, it.Address, outs[it.Address], it.Amount, it.Sent)
			}
			paidOnChain[it.Address] += outs[it.Address]
		}
	}
	for _, a := range []string{alice, bob, carol} {
		acc, err := mp.st.Account(ctx, "btc", a)
		if err != nil {
			t.Fatal(err)
		}
		if acc.Balance != 0 || acc.Immature != 0 || acc.Paid != credited[a] || paidOnChain[a] != credited[a] {
			t.Errorf("%s: credited %d, balance %d immature %d paid %d, on chain %d", a, credited[a], acc.Balance, acc.Immature, acc.Paid, paidOnChain[a])
		}
	}
	if err := mp.st.CheckInvariants(ctx); err != nil {
		t.Errorf("ledger invariants: %v", err)
	}
}

// mature has the node generate 100 blocks to an address outside the pool
// (see generate), waits until chainwatch has settled every block of the
// ledger and returns them by found time.
func (mp *pool) mature(t *testing.T) []ledger.Block {
	t.Helper()
	ctx := context.Background()
	if err := mp.generate(ctx, 100); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 60*time.Second, "every block confirmed or orphaned", func() bool {
		bs, _ := mp.st.Blocks(ctx, mp.coin, 10000)
		for _, b := range bs {
			if b.State == ledger.StatePending {
				return false
			}
		}
		return true
	})
	all, err := mp.st.Blocks(ctx, mp.coin, 10000)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].FoundAt.Equal(all[j].FoundAt) {
			return all[i].FoundAt.Before(all[j].FoundAt)
		}
		return all[i].Hash < all[j].Hash
	})
	return all
}

// generate has the node mine n blocks to an address outside the pool:
// btcd and bchd to their own mining address, litecoind to ltcAddress 9.
func (mp *pool) generate(ctx context.Context, n int) error {
	if mp.litecoind != nil {
		_, err := mp.litecoind.Client().GenerateToAddress(ctx, n, ltcAddress(mp.t, 9))
		return err
	}
	_, err := mp.btcd.Client().Generate(ctx, n)
	return err
}

// coinbaseOnChain reads a block's coinbase from the node: its total value
// and the part paid to the pool address.
func (mp *pool) coinbaseOnChain(t *testing.T, hash string) (total, toPool int64) {
	t.Helper()
	c, err := coin.Get(mp.coin, mp.cfg.Coins[mp.coin].Network)
	if err != nil {
		t.Fatal(err)
	}
	poolScript, err := c.ValidateAddress(mp.address)
	if err != nil {
		t.Fatal(err)
	}
	var cb *wire.MsgTx
	if mp.litecoind != nil {
		cb = ltcCoinbase(t, mp.litecoind.Client(), hash)
	} else {
		cb = fetchBlock(t, mp.btcd, hash).Transactions[0]
	}
	for _, out := range cb.TxOut {
		total += out.Value
		if bytes.Equal(out.PkScript, poolScript) {
			toPool += out.Value
		}
	}
	return total, toPool
}

// checkSplits checks every settled block (all, by found time) against the
// chain and the shares: an orphaned block has no rewards; a confirmed one
// has a coinbase on chain that pays exactly its recorded value to the
// pool, rewards + fee = coinbase, and the split recomputed from the shares
// by its scheme (PPS and FPPS: the pool keeps the block). It returns the
// confirmed rewards per miner, the confirmed blocks per scheme and how
// many blocks were split between two miners or more.
func (mp *pool) checkSplits(t *testing.T, all []ledger.Block, shares *shareLog) (credited map[string]int64, schemes map[string]int, multiMiner int) {
	t.Helper()
	credited, schemes = map[string]int64{}, map[string]int{}
	// Windows end just after the block's found millisecond (the gateway
	// stamps the block share and the block in the same millisecond), and a
	// round starts just after the previous block's millisecond.
	for i, b := range all {
		rw, confirmed := mp.settledRewards(t, b)
		if !confirmed {
			continue
		}
		schemes[b.Scheme]++
		// The coinbase on the chain pays exactly the recorded value, all to the pool.
		if onChain, toPool := mp.coinbaseOnChain(t, b.Hash); onChain != b.CoinbaseValue || toPool != b.CoinbaseValue {
			t.Errorf("block %d: chain coinbase %d (to pool %d), ledger %d", b.Height, onChain, toPool, b.CoinbaseValue)
		}
		// Σ rewards + fee = coinbase.
		if b.PoolFee == nil {
			t.Fatalf("block %d has no pool fee", b.Height)
		}
		sum := *b.PoolFee
		for _, v := range rw {
			sum += v
		}
		if sum != b.CoinbaseValue {
			t.Errorf("block %d: rewards %v + fee %d = %d, coinbase %d", b.Height, rw, *b.PoolFee, sum, b.CoinbaseValue)
		}
		// The split, recomputed from the shares.
		var work map[string]*big.Rat
		switch b.Scheme {
		case config.SchemePPLNS:
			work = shares.pplnsWork(b.FoundAt.UnixMilli()+1, mp.cfg.Pool.PPLNSWindow*b.NetworkDifficulty)
		case config.SchemePROP:
			from := int64(math.MinInt64)
			if i > 0 {
				from = all[i-1].FoundAt.UnixMilli() + 1
			}
			work = shares.roundWork(from, b.FoundAt.UnixMilli()+1)
		case config.SchemeSOLO:
			work = map[string]*big.Rat{b.Finder: big.NewRat(1, 1)}
			if !b.Solo {
				t.Errorf("block %d of pool miner %s split SOLO", b.Height, b.Finder)
			}
		case config.SchemePPS, config.SchemeFPPS:
			// The shares were paid as they came: the pool keeps the
			// block (no work to split: the fee is the whole coinbase).
			work = map[string]*big.Rat{}
		default:
			t.Fatalf("block %d: scheme %q", b.Height, b.Scheme)
		}
		if b.Solo && b.Scheme != config.SchemeSOLO {
			t.Errorf("solo block %d split %s", b.Height, b.Scheme)
		}
		if b.Scheme != config.SchemeSOLO && !shares.blockShareBefore(b.Finder, b.Height, b.FoundAt.UnixMilli()+1) {
			t.Errorf("block %d: the finder's own block share is not in its window", b.Height)
		}
		fee, want := expectedSplit(b.CoinbaseValue, mp.cfg.Pool.FeeFor(b.Scheme), work)
		if *b.PoolFee != fee || !equalAmounts(rw, want) {
			t.Errorf("block %d (%s): ledger fee %d rewards %v; from the shares fee %d rewards %v",
				b.Height, b.Scheme, *b.PoolFee, rw, fee, want)
		}
		if len(rw) >= 2 {
			multiMiner++
		}
		for a, v := range rw {
			credited[a] += v
		}
		t.Logf("block %d %s %s fee %d rewards %v", b.Height, b.Scheme, b.Worker, *b.PoolFee, rw)
	}
	return credited, schemes, multiMiner
}

// settledRewards returns the rewards of block b, which chainwatch has
// settled, and whether it is confirmed: an orphaned block must credit
// nothing, any other state fails the test.
func (mp *pool) settledRewards(t *testing.T, b ledger.Block) (rw map[string]int64, confirmed bool) {
	t.Helper()
	rw, err := mp.st.Rewards(context.Background(), mp.coin, b.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if b.State == ledger.StateOrphaned {
		if len(rw) != 0 {
			t.Errorf("orphaned block %d %s still has rewards %v", b.Height, b.Hash, rw)
		}
		t.Logf("block %d %s orphaned (%s)", b.Height, b.Hash, b.OrphanReason)
		return nil, false
	}
	if b.State != ledger.StateConfirmed {
		t.Fatalf("block %d %s in state %s", b.Height, b.Hash, b.State)
	}
	return rw, true
}

func equalAmounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// txOutputsOnChain finds txid in the chain through the wallet's block hash
// and returns its outputs per address, read from the block itself.
func txOutputsOnChain(t *testing.T, mp *pool, txid string) map[string]int64 {
	t.Helper()
	var tx struct {
		BlockHash string `json:"blockhash"`
	}
	if err := mp.wallet.client.Call(context.Background(), "gettransaction", []any{txid}, &tx); err != nil {
		t.Fatal(err)
	}
	if tx.BlockHash == "" {
		t.Fatalf("payout tx %s is in no block", txid)
	}
	blk := fetchBlock(t, mp.btcd, tx.BlockHash)
	c, err := coin.Get("btc", "simnet")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range blk.Transactions {
		if m.TxHash().String() != txid {
			continue
		}
		out := map[string]int64{}
		for _, a := range []string{simnetAddress(t, 1), simnetAddress(t, 2), simnetAddress(t, 3)} {
			script, err := c.ValidateAddress(a)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range m.TxOut {
				if bytes.Equal(o.PkScript, script) {
					out[a] += o.Value
				}
			}
		}
		return out
	}
	t.Fatalf("payout tx %s not in block %s", txid, tx.BlockHash)
	return nil
}
