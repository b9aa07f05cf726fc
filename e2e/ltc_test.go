package e2e

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/functions/blocksubmit"
	"github.com/jetpool/jetpool/functions/jobmaker"
	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/ltc"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/miner"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/process"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
	"github.com/jetpool/jetpool/streams"
)

// startLTCPool runs NATS, jobmaker, blocksubmit and an "ltc" gateway in
// front of a real litecoind; the same functions and gateway code as for
// btc, only the configuration names another coin.
func startLTCPool(t *testing.T, l *localsvc.Litecoind, payTo string) (*process.Process, *gateway.Gateway) {
	t.Helper()
	ns := testenv.NATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	p, err := process.Start(ctx, process.Options{Name: "e2e-ltc", Dial: func(opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(ns.ClientURL(), opts...)
	}, OpsAddr: "127.0.0.1:0", Log: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Pool.Tag = "/jetpool-e2e/"
	cfg.Vardiff.Initial, cfg.Vardiff.Min = 0.00001, 0.000001
	cfg.Coins = map[string]config.Coin{ltc.Symbol: {Symbol: ltc.Symbol, Network: "regtest", PoolAddress: payTo, Enabled: true,
		JobRefresh: config.Duration(30 * time.Second),
		Node:       config.Node{RPCURL: l.RPCURL(), User: l.RPCUser(), Pass: l.RPCPass()},
		Regions:    map[string]config.Listeners{"test": {TCP: "127.0.0.1:0", TLS: "127.0.0.1:0"}}}}
	if _, err := kv.Seed(ctx, p.Env.KV, cfg, true); err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Symbol: ltc.Symbol, Network: "regtest", Region: "test", TCPAddr: "127.0.0.1:0",
		TLSAddr: "127.0.0.1:0", Stratum: cfg.Stratum, Vardiff: cfg.Vardiff, ReconnectWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, jobmaker.New(), blocksubmit.New(), gw) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("pool run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("pool did not stop in 30s")
		}
		p.Close()
	})
	select {
	case <-gw.Ready():
	case err := <-done:
		t.Fatalf("pool stopped before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("gateway not ready in 30s")
	}
	return p, gw
}

// scryptMiner runs the project's miner with --algo scrypt until stop.
func scryptMiner(t *testing.T, url, user string) (stop func() miner.Stats) {
	t.Helper()
	m, err := miner.New(miner.Config{URL: url, User: user, Pass: "x", Threads: 1, Algo: "scrypt", Logger: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = m.Run(ctx) }()
	var once sync.Once
	stop = func() miner.Stats {
		once.Do(func() { cancel(); <-done })
		return m.Stats()
	}
	t.Cleanup(func() { stop() })
	return stop
}

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
	p, gw := startLTCPool(t, l, payTo)
	cons, err := p.Env.JS.OrderedConsumer(ctx, streams.Blocks, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{streams.BlockSubmittedSubject(ltc.Symbol)}})
	if err != nil {
		t.Fatal(err)
	}
	outs := &outcomes{t: t, cons: cons}
	url := "stratum+tcp://" + gw.Addrs()["stratum+tcp"]

	mineUntil := func(height int64) {
		t.Helper()
		stop := scryptMiner(t, url, payTo+".rig1")
		waitFor(t, 3*time.Minute, "pool blocks", func() bool {
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
