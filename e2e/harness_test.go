package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/accounts"
	"github.com/jetpool/jetpool/functions/blocks"
	"github.com/jetpool/jetpool/functions/blocksubmit"
	"github.com/jetpool/jetpool/functions/chainwatch"
	"github.com/jetpool/jetpool/functions/ingest"
	"github.com/jetpool/jetpool/functions/jobmaker"
	"github.com/jetpool/jetpool/functions/payouts"
	"github.com/jetpool/jetpool/functions/rewards"
	"github.com/jetpool/jetpool/functions/stats"
	"github.com/jetpool/jetpool/internal/coin/bch"
	"github.com/jetpool/jetpool/internal/coin/ltc"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/miner"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/node"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/process"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
	"github.com/jetpool/jetpool/streams"
)

// This file is how every e2e test starts a pool (startPool), runs miners
// against it (pool.startMiner) and waits for what the pool publishes.

// pool is the pool under test, in one process on one embedded NATS: the
// stratum gateway, jobmaker and blocksubmit in front of a real node; with
// poolSpec.ledger also ingest, stats, blocks, accounts, chainwatch and
// rewards on PostgreSQL and ClickHouse, and payouts when asked.
type pool struct {
	t         *testing.T
	coin      string
	btcd      *localsvc.Btcd      // the node: btcd or bchd,
	litecoind *localsvc.Litecoind // or litecoind
	wallet    *poolWallet         // nil without a wallet
	proc      *process.Process
	gw        *gateway.Gateway
	st        *ledger.Store // nil without the ledger
	address   string        // pool address, paid by every coinbase
	cfg       config.Config // as seeded into KV
	algo      string        // the miner's proof-of-work algorithm ("" is sha256d)
	cancel    context.CancelFunc
	done      chan error // p.Run's result, once it runs
}

// poolSpec says which pool startPool starts.
type poolSpec struct {
	coin string // default "btc"
	// The node, exactly one: btcd (or bchd, the same type) or litecoind.
	// The network is the btcd's; litecoind runs regtest.
	btcd      *localsvc.Btcd
	litecoind *localsvc.Litecoind
	// address is the pool address; default the wallet's newest.
	address string
	// wallet is the pool wallet: the coin's wallet config, and what
	// payouts pays from.
	wallet *poolWallet
	// ledger runs the money path (ledgerConfig, PostgreSQL, ClickHouse and
	// the ledger functions); without it the pool only mines (miningConfig).
	ledger  bool
	payouts bool // with ledger: run payouts too
	extra   []functions.Function
	mutate  func(*config.Config) // applied last, before seeding KV
}

// poolWallet is a wallet the pool is paid to and pays from.
type poolWallet struct {
	client *node.Client
	cfg    config.Wallet // how the payouts function reaches it
}

// newAddress asks the wallet for a fresh receiving address.
func (w *poolWallet) newAddress(t *testing.T) string {
	t.Helper()
	var addr string
	if err := w.client.Call(context.Background(), "getnewaddress", nil, &addr); err != nil {
		t.Fatal(err)
	}
	return addr
}

// miningConfig is a pool that only mines: a low share difficulty that
// vardiff may move.
func miningConfig(cfg *config.Config) {
	cfg.Pool.Tag = "/jetpool-e2e/"
	cfg.Vardiff.Initial, cfg.Vardiff.Min = 0.00001, 0.000001
}

// Share difficulty of every miner in the money tests, pinned (vardiff min =
// max): a power of two, so sums of share work are exact in float64. On
// simnet the network difficulty is ≈4.7e-10, so every share is a block.
const moneyShareDiff = 1.0 / (1 << 10)

// ledgerConfig is the money path: PPLNS (fee 1.5 %, SOLO 0.5 %), every
// miner pinned at moneyShareDiff, a PPLNS window of 3.5 shares, fast
// ingest and payouts of 10 000 base units and more after 1 confirmation.
func ledgerConfig(cfg *config.Config, coin string) {
	cfg.Pool.Tag = "/jetpool-money/"
	cfg.Pool.FeeBasisPoints = 150
	cfg.Pool.SchemeFeeBasisPoints = map[string]int{config.SchemeSOLO: 50}
	cfg.Pool.Scheme = config.SchemePPLNS
	// The window holds 3.5 shares' work: it spans both miners and cuts the
	// oldest share it reaches in half.
	cfg.Pool.PPLNSWindow = 3.5 * moneyShareDiff / simnetDifficulty()
	cfg.Vardiff.Initial, cfg.Vardiff.Min, cfg.Vardiff.Max = moneyShareDiff, moneyShareDiff, moneyShareDiff
	cfg.Ingest.MaxDelay = config.Duration(100 * time.Millisecond)
	cfg.Payouts.Interval = config.Duration(time.Second)
	cfg.Payouts.Minimum = map[string]int64{coin: 10_000}
	cfg.Payouts.Confirmations = 1
}

// startPool starts the pool of spec, seeds its configuration into KV and
// returns once the gateway listens and has its first job. The pool stops
// when the test ends.
func startPool(t *testing.T, spec poolSpec) *pool {
	t.Helper()
	if spec.coin == "" {
		spec.coin = "btc"
	}
	var network string
	var nodeCfg config.Node
	switch {
	case spec.btcd != nil && spec.litecoind == nil:
		b := spec.btcd
		network = b.Network()
		nodeCfg = config.Node{RPCURL: b.RPCURL(), WSURL: b.WSURL(), User: b.RPCUser(), Pass: b.RPCPass()}
	case spec.litecoind != nil && spec.btcd == nil:
		l := spec.litecoind
		network = "regtest"
		nodeCfg = config.Node{RPCURL: l.RPCURL(), User: l.RPCUser(), Pass: l.RPCPass()}
	default:
		t.Fatal("poolSpec: give exactly one node, btcd or litecoind")
	}
	addr := spec.address
	if addr == "" && spec.wallet != nil {
		addr = spec.wallet.newAddress(t)
	}
	if addr == "" {
		t.Fatal("poolSpec: no pool address and no wallet")
	}

	var deps functions.Deps
	if spec.ledger {
		deps = functions.Deps{PostgresDSN: testenv.PostgresDB(t), ClickHouseDSN: testenv.ClickHouseDB(t)}
	}
	ns := testenv.NATS(t)
	ctx, cancel := context.WithCancel(context.Background())
	pl := &pool{t: t, coin: spec.coin, btcd: spec.btcd, litecoind: spec.litecoind, wallet: spec.wallet, address: addr, cancel: cancel}
	if spec.coin == ltc.Symbol {
		pl.algo = "scrypt"
	}
	t.Cleanup(pl.stop)
	var err error
	pl.proc, err = process.Start(ctx, process.Options{Name: "e2e-" + spec.coin, Dial: func(opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(ns.ClientURL(), opts...)
	}, OpsAddr: "127.0.0.1:0", Log: testenv.Logger(), Deps: deps})
	if err != nil {
		t.Fatal(err)
	}

	cfg := config.Default()
	if spec.ledger {
		ledgerConfig(&cfg, spec.coin)
	} else {
		miningConfig(&cfg)
	}
	cc := config.Coin{Symbol: spec.coin, Network: network, PoolAddress: addr, Enabled: true,
		JobRefresh: config.Duration(30 * time.Second),
		Node:       nodeCfg,
		Regions:    map[string]config.Listeners{"test": {TCP: "127.0.0.1:0", TLS: "127.0.0.1:0"}}}
	if spec.wallet != nil {
		cc.Wallet = spec.wallet.cfg
	}
	cfg.Coins = map[string]config.Coin{spec.coin: cc}
	if spec.mutate != nil {
		spec.mutate(&cfg)
	}
	pl.cfg = cfg
	if _, err := kv.Seed(ctx, pl.proc.Env.KV, cfg, true); err != nil {
		t.Fatal(err)
	}
	pl.gw, err = gateway.New(gateway.Options{Symbol: spec.coin, Network: network, Region: "test", TCPAddr: "127.0.0.1:0",
		TLSAddr: "127.0.0.1:0", Stratum: cfg.Stratum, Vardiff: cfg.Vardiff, ReconnectWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}

	fns := []functions.Function{jobmaker.New(), blocksubmit.New(), pl.gw}
	if spec.ledger {
		if pl.st, err = ledger.Open(ctx, deps.PostgresDSN); err != nil {
			t.Fatal(err)
		}
		fns = append(fns,
			&ingest.Function{Grace: time.Second},
			&stats.Function{Grace: time.Second, SettleEvery: 250 * time.Millisecond},
			blocks.New(), accounts.New(),
			&chainwatch.Function{Interval: 500 * time.Millisecond},
			// An empty window is final after 2s (default 10 min): the
			// pool keeps the block, and the money tests check that too.
			&rewards.Function{EmptyWindowGrace: 2 * time.Second})
		if spec.payouts {
			fns = append(fns, &payouts.Function{Interval: time.Second})
		}
	}
	fns = append(fns, spec.extra...)
	pl.done = make(chan error, 1)
	go func() { pl.done <- pl.proc.Run(ctx, fns...) }()

	select {
	case <-pl.gw.Ready():
	case err := <-pl.done:
		t.Fatalf("pool stopped before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("gateway not ready in 30s")
	}
	natstest.WaitFor(t, 30*time.Second, "first job", func() bool {
		st, _ := pl.proc.Env.Ready.Status(context.Background())
		return st[pl.gw.Name()] == ""
	})
	return pl
}

// stop stops the pool and waits for it; startPool has the test's cleanup
// call it.
func (p *pool) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	if p.done != nil {
		select {
		case err := <-p.done:
			if err != nil {
				p.t.Errorf("pool run: %v", err)
			}
		case <-time.After(30 * time.Second):
			p.t.Error("pool did not stop in 30s")
		}
	}
	if p.proc != nil {
		p.proc.Close()
	}
	if p.st != nil {
		p.st.Close()
	}
	p.cancel = nil
}

// startMiner runs the project's miner (one thread, the coin's algorithm)
// as user/pass against the pool's TCP listener until stop is called, at
// the latest when the test ends.
func (p *pool) startMiner(t *testing.T, user, pass string) (stop func() miner.Stats, m *miner.Miner) {
	t.Helper()
	return p.startMinerOn(t, "stratum+tcp", user, pass)
}

// startMinerOn is startMiner on the listener of scheme ("stratum+tcp" or
// "stratum+tls"; the dev certificate the gateway generated is accepted).
func (p *pool) startMinerOn(t *testing.T, scheme, user, pass string) (stop func() miner.Stats, m *miner.Miner) {
	t.Helper()
	addr := p.gw.Addrs()[scheme]
	if addr == "" {
		t.Fatalf("the gateway has no %s listener: %v", scheme, p.gw.Addrs())
	}
	m, err := miner.New(miner.Config{URL: scheme + "://" + addr, User: user, Pass: pass,
		Threads: 1, Algo: p.algo, Logger: testenv.Logger(), InsecureSkipVerify: scheme == "stratum+tls"})
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

// followOutcomes follows the pool's block submissions from now on.
func (p *pool) followOutcomes(t *testing.T) *outcomes {
	t.Helper()
	cons, err := p.proc.Env.JS.OrderedConsumer(context.Background(), streams.Blocks, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{streams.BlockSubmittedSubject(p.coin)}})
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

func countAccepted(outs []payload.BlockSubmitted) int {
	n := 0
	for _, o := range outs {
		if o.Outcome == payload.SubmitAccepted {
			n++
		}
	}
	return n
}

// waitMining is natstest.WaitFor that has mine add a block to the chain every
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
	natstest.WaitFor(t, d, what, func() bool {
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

// Test addresses: the addresses of fixed test keys (private key: 32 bytes
// of seed) that no wallet in the tests owns.

func simnetAddress(t *testing.T, seed byte) string  { return testAddress(t, "btc simnet", seed) }  // P2PKH
func regtestAddress(t *testing.T, seed byte) string { return testAddress(t, "btc regtest", seed) } // P2WPKH
func ltcAddress(t *testing.T, seed byte) string     { return testAddress(t, "ltc regtest", seed) } // legacy P2PKH
func bchregAddress(t *testing.T, seed byte) string  { return testAddress(t, "bch regtest", seed) } // CashAddr P2PKH

func testAddress(t *testing.T, coinNet string, seed byte) string {
	t.Helper()
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{seed}, 32))
	hash := address.Hash160(priv.PubKey().SerializeCompressed())
	var a address.Address
	var err error
	switch coinNet {
	case "btc simnet":
		a, err = address.NewAddressPubKeyHash(hash, &chaincfg.SimNetParams)
	case "btc regtest":
		a, err = address.NewAddressWitnessPubKeyHash(hash, &chaincfg.RegressionNetParams)
	case "ltc regtest":
		a, err = address.NewAddressPubKeyHash(hash, &ltc.RegressionNetParams)
	case "bch regtest":
		s, err := bch.EncodeCashAddr("bchreg", bch.CashP2PKH, hash)
		if err != nil {
			t.Fatal(err)
		}
		return s
	default:
		t.Fatalf("testAddress: no %q", coinNet)
	}
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}
