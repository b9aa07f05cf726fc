package chainwatch_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/chainwatch"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/ledger/ledgertest"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/promtest"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"

	_ "github.com/jetpool/jetpool/internal/coin/btc"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// states reads every confirmed/orphaned message of the BLOCKS stream.
func states(t *testing.T, env *functions.Env) map[string]ledger.BlockState {
	t.Helper()
	ctx := context.Background()
	cons, err := env.JS.OrderedConsumer(ctx, streams.Blocks, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{streams.BlockConfirmedSubject("btc"), streams.BlockOrphanedSubject("btc")}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ledger.BlockState{}
	batch, err := cons.FetchNoWait(1000)
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		var s ledger.BlockState
		if err := json.Unmarshal(m.Data(), &s); err != nil {
			t.Fatal(err)
		}
		if prev, dup := out[s.Hash]; dup {
			t.Errorf("block %s published twice (%s, %s)", s.Hash, prev.State, s.State)
		}
		out[s.Hash] = s
	}
	return out
}

// watchMetrics are chainwatch's counters for btc; the vectors live for the
// whole test binary, so tests compare readings.
type watchMetrics struct{ confirmed, orphaned, nodeErrors float64 }

func readWatchMetrics(t *testing.T, reg *prometheus.Registry) watchMetrics {
	t.Helper()
	blocks := func(state string) float64 {
		return promtest.Sum(t, reg, "jetpool_chainwatch_blocks_total", map[string]string{"coin": "btc", "state": state})
	}
	return watchMetrics{confirmed: blocks(ledger.StateConfirmed), orphaned: blocks(ledger.StateOrphaned),
		nodeErrors: promtest.Sum(t, reg, "jetpool_chainwatch_node_errors_total", map[string]string{"coin": "btc"})}
}

// checkMetrics compares the counters' growth since before, and the pending
// gauge (set by every pass), with what the test expects.
func checkMetrics(t *testing.T, reg *prometheus.Registry, before, want watchMetrics, pending float64) {
	t.Helper()
	now := readWatchMetrics(t, reg)
	got := watchMetrics{now.confirmed - before.confirmed, now.orphaned - before.orphaned, now.nodeErrors - before.nodeErrors}
	if got != want {
		t.Errorf("metrics grew by %+v, want %+v", got, want)
	}
	if g := promtest.Sum(t, reg, "jetpool_chainwatch_pending_blocks", map[string]string{"coin": "btc"}); g != pending {
		t.Errorf("pending_blocks = %v, want %v", g, pending)
	}
}

func metricsEnv(env *functions.Env) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	env.Metrics = reg
	env.RegisterMetrics(chainwatch.Collectors()...)
	return reg
}

func TestConfirmationsOrphansAndReorgOnRealBtcd(t *testing.T) {
	ctx := context.Background()
	btcd := testenv.Btcd(t, "regtest")
	env, st := ledgertest.Env(t)
	reg := metricsEnv(env)
	before := readWatchMetrics(t, reg)
	cli := btcd.Client()
	if _, err := kv.Put(ctx, env.KV.Coins, "btc", config.Coin{Symbol: "btc", Network: "regtest", Enabled: true,
		PoolAddress: localsvc.RegtestMiningAddress,
		Node:        config.Node{RPCURL: btcd.RPCURL(), User: btcd.RPCUser(), Pass: btcd.RPCPass()}}); err != nil {
		t.Fatal(err)
	}
	record := func(hash string, height int64) {
		t.Helper()
		if _, err := st.RecordBlock(ctx, ledger.Block{Coin: "btc", Hash: hash, Height: height, Finder: "bcrt1qfinder",
			NetworkDifficulty: 1, ShareDifficulty: 1, CoinbaseValue: 5_000_000_000, FoundAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	// A real block, a hash that lost its height, and a block above the tip
	// (the node has not seen that height yet: it must stay pending).
	hashes, err := cli.Generate(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := hashes[0]
	h0, _ := cli.GetBlockCount(ctx)
	record(good, h0)
	lost := "00000000000000000000000000000000000000000000000000000000000000aa"
	record(lost, h0)
	future := "00000000000000000000000000000000000000000000000000000000000000bb"
	record(future, h0+500)

	// A block that a reorg removes: mined, recorded, then invalidated and
	// replaced by a longer chain.
	hashes, err = cli.Generate(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	reorged := hashes[0]
	record(reorged, h0+1)

	cw := &chainwatch.Function{OrphanDepth: 3}
	pass := func() {
		t.Helper()
		if err := cw.Pass(ctx, env, st); err != nil {
			t.Fatal(err)
		}
	}
	pass()
	if got := states(t, env); len(got) != 0 {
		t.Fatalf("published before anything happened: %v", got)
	}
	b, _ := st.Block(ctx, "btc", good)
	if b.Confirmations != 2 {
		t.Fatalf("confirmations = %d, want 2", b.Confirmations)
	}
	checkMetrics(t, reg, before, watchMetrics{}, 4)
	if err := cli.Call(ctx, "invalidateblock", []any{reorged}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Generate(ctx, 4); err != nil { // the competing chain
		t.Fatal(err)
	}
	pass()
	pass() // repeating a pass publishes nothing new
	got := states(t, env)
	if got[lost].State != ledger.StateOrphaned || got[reorged].State != ledger.StateOrphaned {
		t.Fatalf("orphans not detected: %+v", got)
	}
	if _, ok := got[good]; ok {
		t.Fatalf("good block judged early: %+v", got[good])
	}
	if _, ok := got[future]; ok {
		t.Fatalf("block above the tip judged: %+v", got[future])
	}
	// Two orphans, counted once though two passes published them.
	checkMetrics(t, reg, before, watchMetrics{orphaned: 2}, 4)
	// Mature the good block: 100 confirmations on regtest.
	if _, err := cli.Generate(ctx, 95); err != nil {
		t.Fatal(err)
	}
	pass()
	got = states(t, env)
	if s := got[good]; s.State != ledger.StateConfirmed || s.Confirmations < 100 {
		t.Fatalf("good block after maturity: %+v", s)
	}
	// The ledger still holds all four pending (rewards applies states):
	// the orphans' repeat publications are not counted again.
	checkMetrics(t, reg, before, watchMetrics{confirmed: 1, orphaned: 2}, 4)
}

// TestNodeDownOrRestartedChangesNothing: while the node is unreachable a
// pass fails and judges nothing (no block is orphaned because the node
// cannot be asked); after the node restarts on the same simnet chain the
// pending blocks are followed from where they were, to maturity.
func TestNodeDownOrRestartedChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	btcd := testenv.BtcdWith(t, localsvc.BtcdOptions{DataDir: dir, Network: "simnet"})
	env, st := ledgertest.Env(t)
	reg := metricsEnv(env)
	before := readWatchMetrics(t, reg)
	if _, err := kv.Put(ctx, env.KV.Coins, "btc", config.Coin{Symbol: "btc", Network: "simnet", Enabled: true,
		PoolAddress: btcd.MiningAddr(),
		Node:        config.Node{RPCURL: btcd.RPCURL(), User: btcd.RPCUser(), Pass: btcd.RPCPass()}}); err != nil {
		t.Fatal(err)
	}
	hashes, err := btcd.Client().Generate(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := hashes[0]
	height, _ := btcd.Client().GetBlockCount(ctx)
	lost := "00000000000000000000000000000000000000000000000000000000000000cc"
	for _, h := range []string{good, lost} {
		if _, err := st.RecordBlock(ctx, ledger.Block{Coin: "btc", Hash: h, Height: height, Finder: "Sfinder",
			NetworkDifficulty: 1, ShareDifficulty: 1, CoinbaseValue: 5_000_000_000, FoundAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	// The best chain 10 blocks past both: the lost hash would be orphaned
	// by any pass that reaches the node.
	if _, err := btcd.Client().Generate(ctx, 10); err != nil {
		t.Fatal(err)
	}
	rpcPort, p2pPort := btcd.RPCPort(), btcd.P2PPort()
	stopCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := btcd.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}

	cw := &chainwatch.Function{OrphanDepth: 3}
	if err := cw.Pass(ctx, env, st); err == nil {
		t.Fatal("a pass with the node down reported no error")
	}
	if got := states(t, env); len(got) != 0 {
		t.Fatalf("published with the node down: %+v", got)
	}
	for _, h := range []string{good, lost} {
		b, err := st.Block(ctx, "btc", h)
		if err != nil {
			t.Fatal(err)
		}
		if b.State != ledger.StatePending || b.Confirmations != 0 {
			t.Fatalf("block %s with the node down: state %s, %d confirmations", h, b.State, b.Confirmations)
		}
	}
	checkMetrics(t, reg, before, watchMetrics{nodeErrors: 1}, 2)

	// Same chain, same ports: the configuration did not change.
	btcd = testenv.BtcdWith(t, localsvc.BtcdOptions{DataDir: dir, Network: "simnet", RPCPort: rpcPort, P2PPort: p2pPort})
	if err := cw.Pass(ctx, env, st); err != nil {
		t.Fatal(err)
	}
	got := states(t, env)
	if got[lost].State != ledger.StateOrphaned {
		t.Fatalf("lost block after the restart: %+v", got[lost])
	}
	if _, judged := got[good]; judged {
		t.Fatalf("good block judged before maturity: %+v", got[good])
	}
	if b, _ := st.Block(ctx, "btc", good); b.Confirmations != 11 {
		t.Fatalf("good block after the restart: %d confirmations, want 11", b.Confirmations)
	}
	checkMetrics(t, reg, before, watchMetrics{orphaned: 1, nodeErrors: 1}, 2)
	if _, err := btcd.Client().Generate(ctx, 89); err != nil {
		t.Fatal(err)
	}
	if err := cw.Pass(ctx, env, st); err != nil {
		t.Fatal(err)
	}
	if s := states(t, env)[good]; s.State != ledger.StateConfirmed || s.Confirmations != 100 {
		t.Fatalf("good block at maturity: %+v", s)
	}
	checkMetrics(t, reg, before, watchMetrics{confirmed: 1, orphaned: 1, nodeErrors: 1}, 2)
}
