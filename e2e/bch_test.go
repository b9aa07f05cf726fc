package e2e

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/functions/blocksubmit"
	"github.com/jetpool/jetpool/functions/jobmaker"
	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/bch"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/process"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
	"github.com/jetpool/jetpool/streams"
)

// bchregAddress is the CashAddr (bchreg:q…) P2PKH address of a fixed test key.
func bchregAddress(t *testing.T, seed byte) string {
	t.Helper()
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{seed}, 32))
	a, err := bch.EncodeCashAddr("bchreg", bch.CashP2PKH, address.Hash160(priv.PubKey().SerializeCompressed()))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// startBchPool is startPool for Bitcoin Cash on bchd: NATS, jobmaker,
// blocksubmit and a bch gateway, the pool paid at a CashAddr address.
func startBchPool(t *testing.T, bchd *localsvc.Bchd, tag string) *pool {
	t.Helper()
	ns := testenv.NATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	p, err := process.Start(ctx, process.Options{Name: "e2e-bch", Dial: func(opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(ns.ClientURL(), opts...)
	}, OpsAddr: "127.0.0.1:0", Log: testenv.Logger()})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	addr := bchregAddress(t, 7)
	cfg := config.Default()
	cfg.Pool.Tag = tag
	cfg.Vardiff.Initial, cfg.Vardiff.Min = 0.00001, 0.000001
	cfg.Coins = map[string]config.Coin{bch.Symbol: {Symbol: bch.Symbol, Network: "regtest", PoolAddress: addr, Enabled: true,
		JobRefresh: config.Duration(30 * time.Second),
		Node:       config.Node{RPCURL: bchd.RPCURL(), WSURL: bchd.WSURL(), User: bchd.RPCUser(), Pass: bchd.RPCPass()},
		Regions:    map[string]config.Listeners{"test": {TCP: "127.0.0.1:0", TLS: "127.0.0.1:0"}}}}
	if _, err := kv.Seed(ctx, p.Env.KV, cfg, true); err != nil {
		cancel()
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Symbol: bch.Symbol, Network: "regtest", Region: "test", TCPAddr: "127.0.0.1:0",
		TLSAddr: "127.0.0.1:0", Stratum: cfg.Stratum, Vardiff: cfg.Vardiff, ReconnectWait: time.Second})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	pl := &pool{t: t, btcd: bchd, proc: p, gw: gw, address: addr, tag: cfg.Pool.Tag, cancel: cancel, done: make(chan error, 1)}
	go func() { pl.done <- p.Run(ctx, jobmaker.New(), blocksubmit.New(), gw) }()
	t.Cleanup(pl.stop)
	select {
	case <-gw.Ready():
	case err := <-pl.done:
		t.Fatalf("pool stopped before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("gateway not ready in 30s")
	}
	waitFor(t, 30*time.Second, "first job", func() bool {
		st, _ := p.Env.Ready.Status(context.Background())
		return st[gw.Name()] == ""
	})
	return pl
}

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
	pl := startBchPool(t, bchd, "/jetpool-e2e/")
	outs := followBchOutcomes(t, pl)

	stop, m := runMiner(t, "stratum+tcp://"+pl.gw.Addrs()["stratum+tcp"], pl.address+".rig1", nil)
	waitFor(t, 3*time.Minute, "2 accepted blocks and 2 accepted shares", func() bool {
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
		if !bytes.Contains(cb.TxIn[0].SignatureScript, []byte(pl.tag)) {
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

func followBchOutcomes(t *testing.T, pl *pool) *outcomes {
	t.Helper()
	cons, err := pl.proc.Env.JS.OrderedConsumer(context.Background(), streams.Blocks, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{streams.BlockSubmittedSubject(bch.Symbol)}})
	if err != nil {
		t.Fatal(err)
	}
	return &outcomes{t: t, cons: cons}
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
	pl := startBchPool(t, bchd, "")
	outs := followBchOutcomes(t, pl)
	stop, _ := runMiner(t, "stratum+tcp://"+pl.gw.Addrs()["stratum+tcp"], pl.address, nil)
	waitFor(t, 3*time.Minute, "a submitted block", func() bool { return len(outs.poll()) >= 1 })
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
