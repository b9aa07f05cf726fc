package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/wire/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/functions/blocksubmit"
	"github.com/jetpool/jetpool/functions/jobmaker"
	"github.com/jetpool/jetpool/internal/coin"
	_ "github.com/jetpool/jetpool/internal/coin/btc"
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

// regtestAddress is a P2WPKH regtest address of a fixed test key.
func regtestAddress(t *testing.T, seed byte) string {
	t.Helper()
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{seed}, 32))
	a, err := address.NewAddressWitnessPubKeyHash(address.Hash160(priv.PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

// pool is a running pool on a real btcd: NATS, jobmaker, blocksubmit, gateway.
type pool struct {
	t       *testing.T
	btcd    *localsvc.Btcd
	proc    *process.Process
	gw      *gateway.Gateway
	address string
	tag     string
	cancel  context.CancelFunc
	done    chan error
}

func startPool(t *testing.T, btcd *localsvc.Btcd, mutate func(*config.Config)) *pool {
	t.Helper()
	ns := testenv.NATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	p, err := process.Start(ctx, process.Options{Name: "e2e", Dial: func(opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(ns.ClientURL(), opts...)
	}, OpsAddr: "127.0.0.1:0", Log: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	addr := regtestAddress(t, 7)
	cfg := config.Default()
	cfg.Pool.Tag = "/jetpool-e2e/"
	cfg.Vardiff.Initial, cfg.Vardiff.Min = 0.00001, 0.000001
	cfg.Coins = map[string]config.Coin{"btc": {Symbol: "btc", Network: "regtest", PoolAddress: addr, Enabled: true,
		JobRefresh: config.Duration(30 * time.Second),
		Node:       config.Node{RPCURL: btcd.RPCURL(), WSURL: btcd.WSURL(), User: btcd.RPCUser(), Pass: btcd.RPCPass()},
		Regions:    map[string]config.Listeners{"test": {TCP: "127.0.0.1:0", TLS: "127.0.0.1:0"}}}}
	if mutate != nil {
		mutate(&cfg)
	}
	if _, err := kv.Seed(ctx, p.Env.KV, cfg, true); err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Symbol: "btc", Network: "regtest", Region: "test", TCPAddr: "127.0.0.1:0",
		TLSAddr: "127.0.0.1:0", Stratum: cfg.Stratum, Vardiff: cfg.Vardiff, ReconnectWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pl := &pool{t: t, btcd: btcd, proc: p, gw: gw, address: addr, tag: cfg.Pool.Tag, cancel: cancel, done: make(chan error, 1)}
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

func (p *pool) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Errorf("pool run: %v", err)
		}
	case <-time.After(30 * time.Second):
		p.t.Error("pool did not stop in 30s")
	}
	p.proc.Close()
	p.cancel = nil
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitMining is waitFor that has mine add a block to the chain every
// second while cond is false. Payouts need it twice: btcwallet selects
// inputs against its chain client's best block, which can lag behind the
// balance it reports, and answers sendmany with "insufficient funds"
// until a new block arrives (seen in CI after the 100 maturing blocks);
// and a block mined before a payout reached the mempool would leave it
// unconfirmed. In production blocks keep coming and a refused payout
// returns to the balance for the next pass.
func waitMining(t *testing.T, d time.Duration, what string, mine func() error, cond func() bool) {
	t.Helper()
	var last time.Time
	waitFor(t, d, what, func() bool {
		if cond() {
			return true
		}
		if time.Since(last) > time.Second {
			if err := mine(); err != nil {
				t.Fatalf("%s: mining a block: %v", what, err)
			}
			last = time.Now()
		}
		return false
	})
}

// runMiner mines against url until stop is called.
func runMiner(t *testing.T, url, user string, onShare func(miner.ShareResult)) (stop func() miner.Stats, m *miner.Miner) {
	t.Helper()
	var err error
	m, err = miner.New(miner.Config{URL: url, User: user, Pass: "x", Threads: 1, InsecureSkipVerify: true,
		Logger: testenv.Logger(), OnShare: onShare})
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
	return stop, m
}

// outcomes follows blocks.<coin>.submitted with one ordered consumer.
type outcomes struct {
	t    *testing.T
	cons jetstream.Consumer
	all  []payload.BlockSubmitted
}

func followOutcomes(t *testing.T, js jetstream.JetStream) *outcomes {
	t.Helper()
	cons, err := js.OrderedConsumer(context.Background(), streams.Blocks, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{streams.BlockSubmittedSubject("btc")}})
	if err != nil {
		t.Fatal(err)
	}
	return &outcomes{t: t, cons: cons}
}

// poll reads what arrived since the last call and returns everything so far.
func (o *outcomes) poll() []payload.BlockSubmitted {
	for {
		msgs, err := o.cons.FetchNoWait(100)
		if err != nil {
			o.t.Fatal(err)
		}
		n := 0
		for m := range msgs.Messages() {
			n++
			var s payload.BlockSubmitted
			if err := json.Unmarshal(m.Data(), &s); err != nil {
				o.t.Fatal(err)
			}
			o.all = append(o.all, s)
		}
		if n == 0 {
			return o.all
		}
	}
}

func TestMinerFindsRealRegtestBlocksThroughThePool(t *testing.T) {
	btcd := testenv.Btcd(t, "regtest")
	ctx := context.Background()
	startHeight, err := btcd.Client().GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pl := startPool(t, btcd, nil)
	outs := followOutcomes(t, pl.proc.Env.JS)

	stop, m := runMiner(t, "stratum+tcp://"+pl.gw.Addrs()["stratum+tcp"], pl.address+".rig1", nil)
	waitFor(t, 3*time.Minute, "3 accepted blocks and 3 accepted shares", func() bool {
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
		if !bytes.Contains(cb.TxIn[0].SignatureScript, []byte(pl.tag)) {
			t.Errorf("block %d coinbase scriptSig %x lacks the pool tag %q", h, cb.TxIn[0].SignatureScript, pl.tag)
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

func countAccepted(outs []payload.BlockSubmitted) int {
	n := 0
	for _, o := range outs {
		if o.Outcome == payload.SubmitAccepted {
			n++
		}
	}
	return n
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
