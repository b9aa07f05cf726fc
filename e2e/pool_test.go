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
	_ "github.com/jetpool/jetpool/internal/coin/btc"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
)

// TestMinerFindsRealRegtestBlocksThroughThePool: the project's miner,
// connected over the gateway's TLS listener, finds at least three blocks
// that btcd accepts; the chain grows by exactly those blocks, each paying
// the pool address and carrying the pool tag.
func TestMinerFindsRealRegtestBlocksThroughThePool(t *testing.T) {
	btcd := testenv.Btcd(t, "regtest")
	ctx := context.Background()
	startHeight, err := btcd.Client().GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pl := startPool(t, poolSpec{btcd: btcd, address: regtestAddress(t, 7)})
	outs := pl.followOutcomes(t)

	// Over the TLS listener: the other tests mine over plain TCP.
	stop, m := pl.startMinerOn(t, "stratum+tls", pl.address+".rig1", "x")
	natstest.WaitFor(t, 3*time.Minute, "3 accepted blocks and 3 accepted shares", func() bool {
		return countAccepted(outs.poll()) >= 3 && m.Stats().Accepted >= 3
	})
	stats := stop()
	// Let blocks found just before the stop be settled.
	time.Sleep(2 * time.Second)
	all := outs.poll()
	acceptedBlocks := map[string]int64{}
	for _, o := range all {
		if o.Outcome == payload.SubmitAccepted {
			acceptedBlocks[o.Hash] = o.Height
		}
	}
	if len(acceptedBlocks) < 3 {
		t.Fatalf("accepted blocks %d, want >= 3 (outcomes %+v)", len(acceptedBlocks), all)
	}
	if stats.Accepted < 3 {
		t.Errorf("miner saw %d accepted shares, want >= 3", stats.Accepted)
	}

	// The chain grew by exactly the pool's accepted blocks, each paying the pool
	// address and carrying the pool tag.
	height, err := btcd.Client().GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := height - startHeight; got != int64(len(acceptedBlocks)) {
		t.Fatalf("chain grew by %d blocks, pool had %d accepted", got, len(acceptedBlocks))
	}
	c, err := coin.Get("btc", "regtest")
	if err != nil {
		t.Fatal(err)
	}
	poolScript, err := c.ValidateAddress(pl.address)
	if err != nil {
		t.Fatal(err)
	}
	for h := startHeight + 1; h <= height; h++ {
		hash, err := btcd.Client().GetBlockHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := acceptedBlocks[hash]; !ok {
			t.Errorf("block %d (%s) on chain was not submitted by the pool", h, hash)
		}
		blk := fetchBlock(t, btcd, hash)
		cb := blk.Transactions[0]
		if !bytes.Contains(cb.TxIn[0].SignatureScript, []byte(pl.cfg.Pool.Tag)) {
			t.Errorf("block %d coinbase scriptSig %x lacks the pool tag %q", h, cb.TxIn[0].SignatureScript, pl.cfg.Pool.Tag)
		}
		var paid int64
		for _, out := range cb.TxOut {
			if bytes.Equal(out.PkScript, poolScript) {
				paid += out.Value
			}
		}
		if paid <= 0 {
			t.Errorf("block %d coinbase does not pay the pool address", h)
		}
	}
}

func fetchBlock(t *testing.T, btcd *localsvc.Btcd, hash string) *wire.MsgBlock {
	t.Helper()
	raw, err := btcd.Client().GetBlock(context.Background(), hash, 0)
	if err != nil {
		t.Fatal(err)
	}
	var hexStr string
	if err := json.Unmarshal(raw, &hexStr); err != nil {
		t.Fatalf("getblock raw: %v", err)
	}
	b, err := hex.DecodeString(hexStr)
	if err != nil {
		t.Fatal(err)
	}
	var blk wire.MsgBlock
	if err := blk.Deserialize(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return &blk
}
