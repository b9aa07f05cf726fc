package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/ltc"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
)

// TestLitecoinMinesAcrossMWEBActivation mines Litecoin regtest blocks
// through the pool with the project's scrypt miner before MWEB exists,
// lets the node's own generatetoaddress bring the chain to height 431,
// makes a peg-in, and has the pool mine the activation block 432 (HogEx
// and MWEB extension) and the blocks after it. Every block the pool
// submits must be valid (accepted, or stale when regtest lets the miner
// solve one job twice), and the chain must hold exactly those.
func TestLitecoinMinesAcrossMWEBActivation(t *testing.T) {
	l := testenv.Litecoind(t)
	ctx := context.Background()
	rpc := l.Client()
	payTo, err := l.NewAddress(ctx, "bech32")
	if err != nil {
		t.Fatal(err)
	}
	pl := startPool(t, poolSpec{coin: ltc.Symbol, litecoind: l, address: payTo})
	outs := pl.followOutcomes(t)

	mineUntil := func(height int64) {
		t.Helper()
		stop, _ := pl.startMiner(t, payTo+".rig1", "x")
		natstest.WaitFor(t, 3*time.Minute, "pool blocks", func() bool {
			n, err := rpc.GetBlockCount(ctx)
			return err == nil && n >= height
		})
		stop()
		time.Sleep(2 * time.Second) // let blocks found at the stop settle
	}
	checkOutcomes := func() map[string]int64 {
		t.Helper()
		accepted := map[string]int64{}
		for _, o := range outs.poll() {
			switch o.Outcome {
			case payload.SubmitAccepted:
				accepted[o.Hash] = o.Height
			case payload.SubmitStale:
				// Regtest's trivial target lets the miner solve one job
				// twice; the node validated the second block too.
			default:
				t.Fatalf("pool block at height %d rejected by litecoind: %+v", o.Height, o)
			}
		}
		return accepted
	}

	// Before MWEB: the pool mines from height 1.
	mineUntil(4)
	pre := checkOutcomes()
	if len(pre) < 3 {
		t.Fatalf("%d accepted pre-MWEB pool blocks, want >= 3", len(pre))
	}

	// The node itself mines to 431, then a peg-in waits in the mempool.
	n, err := rpc.GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rpc.GenerateToAddress(ctx, int(ltc.MWEBActivationRegtest-1-n), payTo); err != nil {
		t.Fatal(err)
	}
	mw, err := l.NewAddress(ctx, "mweb")
	if err != nil {
		t.Fatal(err)
	}
	var pegin string
	if err := rpc.Call(ctx, "sendtoaddress", []any{mw, 1}, &pegin); err != nil {
		t.Fatalf("peg-in: %v", err)
	}

	// The pool mines the activation block and beyond.
	mineUntil(ltc.MWEBActivationRegtest + 2)
	accepted := checkOutcomes()
	c, err := coin.Get(ltc.Symbol, "regtest")
	if err != nil {
		t.Fatal(err)
	}
	poolScript, err := c.ValidateAddress(payTo)
	if err != nil {
		t.Fatal(err)
	}
	top, err := rpc.GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for h := int64(ltc.MWEBActivationRegtest); h <= top; h++ {
		hash, err := rpc.GetBlockHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := accepted[hash]; !ok {
			t.Fatalf("block %d (%s) on chain was not mined by the pool", h, hash)
		}
		var blk struct {
			Tx []struct {
				TxID string `json:"txid"`
				Vout []struct {
					ScriptPubKey struct {
						Hex string `json:"hex"`
					} `json:"scriptPubKey"`
				} `json:"vout"`
			} `json:"tx"`
			MWEB json.RawMessage `json:"mweb"`
		}
		raw, err := rpc.GetBlock(ctx, hash, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &blk); err != nil {
			t.Fatal(err)
		}
		if len(blk.MWEB) == 0 || string(blk.MWEB) == "null" {
			t.Errorf("block %d has no MWEB extension", h)
		}
		if got := blk.Tx[0].Vout[0].ScriptPubKey.Hex; got != hexOf(poolScript) {
			t.Errorf("block %d coinbase pays %s, want the pool %x", h, got, poolScript)
		}
		if h == ltc.MWEBActivationRegtest {
			found := false
			for _, tx := range blk.Tx {
				found = found || tx.TxID == pegin
			}
			if !found {
				t.Errorf("activation block lacks the peg-in %s", pegin)
			}
		}
	}
	if top < ltc.MWEBActivationRegtest+2 {
		t.Fatalf("chain at %d", top)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
