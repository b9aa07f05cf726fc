package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/ltc"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/node"
	"github.com/jetpool/jetpool/internal/testenv"
)

// ltcShareDiff is the pinned share difficulty of the Litecoin money test,
// a power of two (exact float64 sums of share work), high enough that the
// scrypt miner stays under the gateway's share rate limit (8192 hashes a
// share). Regtest's network difficulty is ltcRegtestDifficulty ≈ 3.05e-5,
// so every share is a block.
const ltcShareDiff = 1.0 / 8

// ltcRegtestDifficulty is 0xffff·2^224 ÷ (0x7fffff·2^232).
func ltcRegtestDifficulty() float64 { return 65535.0 / (8388607.0 * (1 << 8)) }

// ltcRawTx reads a confirmed transaction from litecoind (raw, so the test
// decodes it itself) and the block that holds it. Transactions without
// MWEB data decode as Bitcoin transactions.
func ltcRawTx(t *testing.T, c *node.Client, txid, blockHash string) *wire.MsgTx {
	t.Helper()
	var hexStr string
	if err := c.Call(context.Background(), "getrawtransaction", []any{txid, false, blockHash}, &hexStr); err != nil {
		t.Fatalf("getrawtransaction %s: %v", txid, err)
	}
	raw, err := hex.DecodeString(hexStr)
	if err != nil {
		t.Fatal(err)
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatalf("decode tx %s: %v", txid, err)
	}
	if got := tx.TxHash().String(); got != txid {
		t.Fatalf("decoded tx hashes to %s, want %s", got, txid)
	}
	return &tx
}

// ltcCoinbase reads the coinbase of block hash from litecoind.
func ltcCoinbase(t *testing.T, c *node.Client, hash string) *wire.MsgTx {
	t.Helper()
	var blk struct {
		Tx []string `json:"tx"`
	}
	raw, err := c.GetBlock(context.Background(), hash, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &blk); err != nil {
		t.Fatal(err)
	}
	return ltcRawTx(t, c, blk.Tx[0], hash)
}

// TestLitecoinMoneyCycle runs the money cycle for Litecoin on litecoind's
// own wallet: the pool address belongs to the node's "jetpool" wallet; two
// miners mine regtest blocks through the gateway with the project's scrypt
// miner under PPLNS; the node matures them; chainwatch confirms, rewards
// credits and payouts pays through litecoind's wallet RPC; one more block
// confirms the payout. Each split is checked against the chain's coinbase
// and a split recomputed from the SHARES stream, each payout against the
// outputs of its transaction on chain, and the ledger invariants at the
// end.
func TestLitecoinMoneyCycle(t *testing.T) {
	l := testenv.Litecoind(t)
	ctx := context.Background()
	rpc := l.Client()
	poolAddr, err := l.NewAddress(ctx, "bech32")
	if err != nil {
		t.Fatal(err)
	}
	walletURL := l.RPCURL() + "/wallet/jetpool"
	wc, err := node.New(node.Config{URL: walletURL, User: l.RPCUser(), Pass: l.RPCPass()})
	if err != nil {
		t.Fatal(err)
	}
	wallet := &poolWallet{client: wc, cfg: config.Wallet{RPCURL: walletURL, User: l.RPCUser(), Pass: l.RPCPass()}}
	mp := startPool(t, poolSpec{coin: ltc.Symbol, litecoind: l, address: poolAddr, wallet: wallet, ledger: true, payouts: true,
		mutate: func(cfg *config.Config) {
			cfg.Pool.Tag = "/jetpool-ltc-money/"
			// Eight shares' work: the window of a block spans both miners.
			cfg.Pool.PPLNSWindow = 8 * ltcShareDiff / ltcRegtestDifficulty()
			cfg.Vardiff.Initial, cfg.Vardiff.Min, cfg.Vardiff.Max = ltcShareDiff, ltcShareDiff, ltcShareDiff
		}})
	st, cfg := mp.st, mp.cfg
	shares := followShares(t, mp.proc.Env.JS, ltc.Symbol)

	// Two pool miners mine until each has found a block and there are 4.
	alice, bob := ltcAddress(t, 1), ltcAddress(t, 2)
	miners := []string{alice, bob}
	// Regtest's scrypt target is met every few hashes, so the miners find
	// many blocks at one height before the next job: only blocks on the
	// best chain count.
	mp.mineUntil(t, "best-chain blocks by both miners in the ledger", func(_, bs []ledger.Block) bool {
		finders, heights := map[string]bool{}, map[int64]bool{}
		for _, b := range bs {
			if hash, err := rpc.GetBlockHash(ctx, b.Height); err == nil && hash == b.Hash {
				finders[b.Finder] = true
				heights[b.Height] = true
			}
		}
		return len(heights) >= 4 && finders[alice] && finders[bob]
	}, [2]string{alice + ".rigA", "x"}, [2]string{bob + ".rigB", "x"})
	shares.poll(t)

	// Mature: the node mines 100 blocks to an address outside the pool.
	all := mp.mature(t)
	c, err := coin.Get(ltc.Symbol, "regtest")
	if err != nil {
		t.Fatal(err)
	}
	credited := map[string]int64{}
	confirmed, multiMiner := 0, 0
	for _, b := range all {
		rw, ok := mp.settledRewards(t, b)
		if !ok {
			continue
		}
		confirmed++
		// The coinbase on chain pays exactly the recorded value, all to the pool.
		if onChain, toPool := mp.coinbaseOnChain(t, b.Hash); onChain != b.CoinbaseValue || toPool != b.CoinbaseValue {
			t.Errorf("block %d: chain coinbase %d (to pool %d), ledger %d", b.Height, onChain, toPool, b.CoinbaseValue)
		}
		if b.PoolFee == nil {
			t.Fatalf("block %d has no pool fee", b.Height)
		}
		if b.Scheme != config.SchemePPLNS {
			t.Fatalf("block %d split %s, want PPLNS", b.Height, b.Scheme)
		}
		// The PPLNS split, recomputed from the shares.
		work := shares.pplnsWork(b.FoundAt.UnixMilli()+1, cfg.Pool.PPLNSWindow*b.NetworkDifficulty)
		fee, want := expectedSplit(b.CoinbaseValue, cfg.Pool.FeeFor(b.Scheme), work)
		if *b.PoolFee != fee || !equalAmounts(rw, want) {
			t.Errorf("block %d: ledger fee %d rewards %v; from the shares fee %d rewards %v", b.Height, *b.PoolFee, rw, fee, want)
		}
		if len(rw) >= 2 {
			multiMiner++
		}
		for a, v := range rw {
			credited[a] += v
		}
		t.Logf("block %d %s fee %d rewards %v", b.Height, b.Worker, *b.PoolFee, rw)
	}
	if confirmed == 0 {
		t.Fatal("no pool block confirmed")
	}
	if multiMiner == 0 {
		t.Error("no block split between both miners")
	}
	if credited[alice] == 0 || credited[bob] == 0 {
		t.Fatalf("credited %v: both miners must earn", credited)
	}

	// Payouts through litecoind's wallet, blocks until they confirm.
	mine := func() error { return mp.generate(ctx, 1) }
	natstest.WaitFor(t, 90*time.Second, "payouts sent", func() bool {
		if failed, _ := st.Payouts(ctx, ltc.Symbol, ledger.PayoutFailed); len(failed) > 0 {
			t.Fatalf("litecoind's wallet refused payout %s: %s", failed[0].ID, failed[0].Error)
		}
		for _, a := range miners {
			acc, err := st.Account(ctx, ltc.Symbol, a)
			if err != nil || acc.Balance != 0 || acc.Paid != credited[a] {
				return false
			}
		}
		open, _ := st.Payouts(ctx, ltc.Symbol, ledger.PayoutIntent)
		return len(open) == 0
	})
	waitMining(t, 60*time.Second, "payouts confirmed", mine, func() bool {
		open, _ := st.Payouts(ctx, ltc.Symbol, ledger.PayoutIntent, ledger.PayoutSent)
		return len(open) == 0
	})
	ps, err := st.Payouts(ctx, ltc.Symbol, ledger.PayoutIntent, ledger.PayoutSent, ledger.PayoutConfirmed, ledger.PayoutFailed)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) == 0 {
		t.Fatal("no payouts recorded")
	}
	scripts := map[string][]byte{}
	for _, a := range miners {
		if scripts[a], err = c.ValidateAddress(a); err != nil {
			t.Fatal(err)
		}
	}
	paidOnChain := map[string]int64{}
	for _, py := range ps {
		if py.State != ledger.PayoutConfirmed || py.TxID == "" {
			t.Errorf("payout %s: state %s txid %q error %q", py.ID, py.State, py.TxID, py.Error)
			continue
		}
		var wtx struct {
			BlockHash string `json:"blockhash"`
		}
		if err := wc.Call(ctx, "gettransaction", []any{py.TxID}, &wtx); err != nil {
			t.Fatal(err)
		}
		if wtx.BlockHash == "" {
			t.Fatalf("payout tx %s is in no block", py.TxID)
		}
		tx := ltcRawTx(t, rpc, py.TxID, wtx.BlockHash)
		outs := map[string]int64{}
		for a, s := range scripts {
			for _, o := range tx.TxOut {
				if bytes.Equal(o.PkScript, s) {
					outs[a] += o.Value
				}
			}
		}
		for _, it := range py.Items {
			// Fee policy "pool": the full amount is sent.
			if outs[it.Address] != it.Amount || it.Sent != it.Amount {
				t.Errorf("payout %s tx %s pays %s %d on chain, ledger debited %d sent %d", py.ID, py.TxID, it.Address, outs[it.Address], it.Amount, it.Sent)
			}
			paidOnChain[it.Address] += outs[it.Address]
		}
	}
	for _, a := range miners {
		acc, err := st.Account(ctx, ltc.Symbol, a)
		if err != nil {
			t.Fatal(err)
		}
		if acc.Balance != 0 || acc.Immature != 0 || acc.Paid != credited[a] || paidOnChain[a] != credited[a] {
			t.Errorf("%s: credited %d, balance %d immature %d paid %d, on chain %d", a, credited[a], acc.Balance, acc.Immature, acc.Paid, paidOnChain[a])
		}
	}
	if err := st.CheckInvariants(ctx); err != nil {
		t.Errorf("ledger invariants: %v", err)
	}
}
