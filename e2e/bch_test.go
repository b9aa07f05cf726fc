package e2e

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/bch"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
)

// TestMinerFindsBchdBlocksThroughThePool: the project's miner mines
// Bitcoin Cash through the pool; bchd accepts the blocks, which carry no
// witness commitment and pay the pool's CashAddr address.
func TestMinerFindsBchdBlocksThroughThePool(t *testing.T) {
	bchd := testenv.Bchd(t)
	ctx := context.Background()
	startHeight, err := bchd.Client().GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pl := startPool(t, poolSpec{coin: bch.Symbol, btcd: bchd, address: bchregAddress(t, 7)})
	outs := pl.followOutcomes(t)

	stop, m := pl.startMiner(t, pl.address+".rig1", "x")
	natstest.WaitFor(t, 3*time.Minute, "2 accepted blocks and 2 accepted shares", func() bool {
		return countAccepted(outs.poll()) >= 2 && m.Stats().Accepted >= 2
	})
	stop()
	time.Sleep(2 * time.Second)
	accepted := map[string]bool{}
	for _, o := range outs.poll() {
		if o.Outcome == payload.SubmitAccepted {
			accepted[o.Hash] = true
		}
	}
	if len(accepted) < 2 {
		t.Fatalf("accepted blocks %d, want >= 2", len(accepted))
	}
	height, err := bchd.Client().GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := height - startHeight; got != int64(len(accepted)) {
		t.Fatalf("chain grew by %d blocks, pool had %d accepted", got, len(accepted))
	}
	c, err := coin.Get(bch.Symbol, "regtest")
	if err != nil {
		t.Fatal(err)
	}
	poolScript, err := c.ValidateAddress(pl.address)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bchd accepted %d pool blocks, heights %d..%d, paying %s", len(accepted), startHeight+1, height, pl.address)
	for h := startHeight + 1; h <= height; h++ {
		hash, err := bchd.Client().GetBlockHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if !accepted[hash] {
			t.Errorf("block %d (%s) on chain was not submitted by the pool", h, hash)
		}
		blk := fetchBlock(t, bchd, hash)
		cb := blk.Transactions[0]
		if !bytes.Contains(cb.TxIn[0].SignatureScript, []byte(pl.cfg.Pool.Tag)) {
			t.Errorf("block %d coinbase lacks the pool tag", h)
		}
		if cb.HasWitness() {
			t.Errorf("block %d coinbase has a witness", h)
		}
		if _, ok := blockchain.ExtractWitnessCommitment(btcutil.NewTx(cb)); ok {
			t.Errorf("block %d coinbase carries a witness commitment", h)
		}
		if size := cb.SerializeSize(); size < bch.MinCoinbaseSize {
			t.Errorf("block %d coinbase is %d bytes", h, size)
		}
		if len(cb.TxOut) != 1 || !bytes.Equal(cb.TxOut[0].PkScript, poolScript) || cb.TxOut[0].Value <= 0 {
			t.Errorf("block %d coinbase outputs %+v do not pay the pool's CashAddr %s", h, cb.TxOut, pl.address)
		}
	}
}

// TestBchdAcceptsPaddedCoinbaseAfterMagneticAnomaly: from height 1000
// bchd's regtest rejects transactions under 100 bytes. Without a pool tag
// the pool's coinbase would be 97 bytes; NewJob pads it and bchd takes the
// block.
func TestBchdAcceptsPaddedCoinbaseAfterMagneticAnomaly(t *testing.T) {
	bchd := testenv.Bchd(t)
	ctx := context.Background()
	for n := int64(0); n < 1000; {
		h, err := bchd.Client().GetBlockCount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n = h; n >= 1000 {
			break
		}
		if _, err := bchd.Client().Generate(ctx, int(min(200, 1000-n))); err != nil {
			t.Fatal(err)
		}
	}
	startHeight, err := bchd.Client().GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pl := startPool(t, poolSpec{coin: bch.Symbol, btcd: bchd, address: bchregAddress(t, 7),
		mutate: func(c *config.Config) { c.Pool.Tag = "" }})
	outs := pl.followOutcomes(t)
	stop, _ := pl.startMiner(t, pl.address, "x")
	natstest.WaitFor(t, 3*time.Minute, "a submitted block", func() bool { return len(outs.poll()) >= 1 })
	stop()
	first := outs.poll()[0]
	if first.Outcome != payload.SubmitAccepted {
		t.Fatalf("bchd did not accept the block at height %d: %+v", first.Height, first)
	}
	blk := fetchBlock(t, bchd, first.Hash)
	if size := blk.Transactions[0].SerializeSize(); first.Height <= startHeight || size != bch.MinCoinbaseSize {
		t.Fatalf("block at height %d (start %d) has a %d-byte coinbase, want %d", first.Height, startHeight, size, bch.MinCoinbaseSize)
	}
}
