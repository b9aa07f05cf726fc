package node_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/node"
	"github.com/jetpool/jetpool/internal/testenv"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// blockHash is the RPC-order hex hash of a serialised block's header.
func blockHash(t *testing.T, hexBlock string) string {
	t.Helper()
	b, err := hex.DecodeString(hexBlock)
	if err != nil || len(b) < 80 {
		t.Fatalf("block hex: %v (%d bytes)", err, len(b))
	}
	h1 := sha256.Sum256(b[:80])
	h2 := sha256.Sum256(h1[:])
	for i, j := 0, len(h2)-1; i < j; i, j = i+1, j-1 {
		h2[i], h2[j] = h2[j], h2[i]
	}
	return hex.EncodeToString(h2[:])
}

func rawBlockHex(t *testing.T, ctx context.Context, c *node.Client, hash string) string {
	t.Helper()
	raw, err := c.GetBlock(ctx, hash, 0)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("getblock verbosity 0 is not a hex string: %v", err)
	}
	return s
}

func TestClientAgainstBtcd(t *testing.T) {
	b := testenv.Btcd(t, "regtest")
	c := b.Client()
	ctx := ctxFor(t, time.Minute)

	hashes, err := c.Generate(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(hashes) != 3 {
		t.Fatalf("generate returned %d hashes", len(hashes))
	}
	height, err := c.GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if height != 4 {
		t.Fatalf("height = %d, want 4 (primed + 3)", height)
	}
	best, err := c.GetBestBlockHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if best != hashes[2] {
		t.Fatalf("best = %s, want last generated %s", best, hashes[2])
	}
	atHeight, err := c.GetBlockHash(ctx, height)
	if err != nil {
		t.Fatal(err)
	}
	if atHeight != best {
		t.Fatalf("getblockhash(%d) = %s, want %s", height, atHeight, best)
	}
	if got := blockHash(t, rawBlockHex(t, ctx, c, best)); got != best {
		t.Fatalf("raw block hashes to %s, want %s", got, best)
	}
	raw, err := c.GetBlock(ctx, best, 1)
	if err != nil {
		t.Fatal(err)
	}
	var verbose struct {
		Height int64    `json:"height"`
		Tx     []string `json:"tx"`
	}
	if err := json.Unmarshal(raw, &verbose); err != nil {
		t.Fatal(err)
	}
	if verbose.Height != height || len(verbose.Tx) != 1 {
		t.Fatalf("verbose block = %+v", verbose)
	}
	hdr, err := c.GetBlockHeader(ctx, hashes[1])
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Hash != hashes[1] || hdr.Height != 3 || hdr.PreviousBlockHash != hashes[0] ||
		hdr.NextBlockHash != hashes[2] || hdr.Confirmations != 2 || hdr.Bits != "207fffff" {
		t.Fatalf("header = %+v", hdr)
	}
	mi, err := c.GetMiningInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mi.Blocks != height || mi.Difficulty <= 0 {
		t.Fatalf("mining info = %+v", mi)
	}
	bi, err := c.GetBlockchainInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bi.Chain != "regtest" || bi.Blocks != height || bi.BestBlockHash != best {
		t.Fatalf("blockchain info = %+v", bi)
	}
	pool, err := c.GetRawMempool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pool) != 0 {
		t.Fatalf("mempool = %v, want empty", pool)
	}
	tmpl, err := c.GetBlockTemplate(ctx, []string{"segwit"})
	if err != nil {
		t.Fatal(err)
	}
	var gbt struct {
		Height       int64  `json:"height"`
		PreviousHash string `json:"previousblockhash"`
		Bits         string `json:"bits"`
	}
	if err := json.Unmarshal(tmpl, &gbt); err != nil {
		t.Fatal(err)
	}
	if gbt.Height != height+1 || gbt.PreviousHash != best || gbt.Bits != "207fffff" {
		t.Fatalf("template = %+v", gbt)
	}

	t.Run("node errors are typed", func(t *testing.T) {
		_, err := c.GetBlockHash(ctx, 1_000_000)
		var re *node.RPCError
		if !errors.As(err, &re) || !strings.Contains(re.Message, "out of range") {
			t.Fatalf("getblockhash out of range: %v", err)
		}
		_, err = c.GetNetworkInfo(ctx) // btcd: "Command unimplemented"
		if !node.IsCode(err, node.CodeMisc) {
			t.Fatalf("getnetworkinfo on btcd: %v", err)
		}
		if err := c.Call(ctx, "nosuchmethod", nil, nil); !node.IsCode(err, node.CodeMethodNotFound) {
			t.Fatalf("unknown method: %v", err)
		}
		reason, err := c.SubmitBlock(ctx, "00")
		if !node.IsCode(err, node.CodeDeserialization) || reason != "" {
			t.Fatalf("submit garbage: %q, %v", reason, err)
		}
	})
	t.Run("duplicate block is rejected with a reason", func(t *testing.T) {
		reason, err := c.SubmitBlock(ctx, rawBlockHex(t, ctx, c, best))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(reason, "rejected:") || !strings.Contains(reason, "already have") {
			t.Fatalf("reason = %q", reason)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		bad, err := node.New(node.Config{URL: b.RPCURL(), User: b.RPCUser(), Pass: "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bad.GetBlockCount(ctx); !errors.Is(err, node.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		if _, err := bad.WatchBlocks(ctx); err == nil {
			t.Fatal("websocket accepted a wrong password")
		}
	})
}

// TestSubmitBlockAccepted: blocks mined on one node, submitted to another
// that never saw them, are accepted ("" result) and win by length.
func TestSubmitBlockAccepted(t *testing.T) {
	a := testenv.Btcd(t, "regtest")
	b := testenv.Btcd(t, "regtest")
	ctx := ctxFor(t, time.Minute)
	if _, err := a.Client().Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for h := int64(1); h <= 2; h++ {
		hash, err := a.Client().GetBlockHash(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		reason, err := b.Client().SubmitBlock(ctx, rawBlockHex(t, ctx, a.Client(), hash))
		if err != nil || reason != "" {
			t.Fatalf("submit block %d: %q, %v", h, reason, err)
		}
	}
	wantTip, _ := a.Client().GetBestBlockHash(ctx)
	gotTip, err := b.Client().GetBestBlockHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gotTip != wantTip {
		t.Fatalf("tip after submit = %s, want %s", gotTip, wantTip)
	}
}

func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no signal", what)
	}
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestWatchBlocks: websocket notifications arrive for new blocks, survive a
// node restart (with a signal on reconnect), and the channel closes with ctx.
func TestWatchBlocks(t *testing.T) {
	dir := t.TempDir()
	b := testenv.BtcdWith(t, localsvc.BtcdOptions{DataDir: dir, Network: "simnet"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.Client().WatchBlocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Client().Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "block connected")

	// Restart the node on the same ports: the watcher reconnects by itself.
	sctx := ctxFor(t, time.Minute)
	if err := b.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	drain(ch)
	b2 := testenv.BtcdWith(t, localsvc.BtcdOptions{DataDir: dir, Network: "simnet", RPCPort: b.RPCPort(), P2PPort: b.P2PPort()})
	waitSignal(t, ch, "reconnect")
	drain(ch)
	// Only a new block may signal now; mine one and wait for it.
	before, _ := b2.Client().GetBestBlockHash(sctx)
	if _, err := b2.Client().Generate(sctx, 1); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "block after reconnect")
	after, _ := b2.Client().GetBestBlockHash(sctx)
	if after == before {
		t.Fatal("tip did not move")
	}

	cancel()
	for range ch { // must close
	}
}

func TestPollBlocks(t *testing.T) {
	b := testenv.Btcd(t, "regtest")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := b.Client().PollBlocks(ctx, 20*time.Millisecond) // has read the tip when it returns
	if _, err := b.Client().Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, ch, "poll")
	cancel()
	for range ch {
	}
}

// TestRawBlockLinksToGenesis: the primed block's serialised header points at genesis.
func TestRawBlockLinksToGenesis(t *testing.T) {
	b := testenv.Btcd(t, "regtest")
	ctx := ctxFor(t, time.Minute)
	best, err := b.Client().GetBestBlockHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hexBlock := rawBlockHex(t, ctx, b.Client(), best)
	raw, _ := hex.DecodeString(hexBlock)
	if len(raw) < 81 {
		t.Fatalf("block too short: %d bytes", len(raw))
	}
	genesis, err := b.Client().GetBlockHash(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	prev := make([]byte, 32)
	copy(prev, raw[4:36])
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		prev[i], prev[j] = prev[j], prev[i]
	}
	if hex.EncodeToString(prev) != genesis {
		t.Fatalf("primed block's prev hash = %x, want genesis %s", prev, genesis)
	}
}

// BenchmarkGetBlockCountBtcd measures one JSON-RPC round trip to a local btcd.
func BenchmarkGetBlockCountBtcd(b *testing.B) {
	c := testenv.Btcd(b, "regtest").Client()
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.GetBlockCount(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetBlockTemplateBtcd measures fetching an (empty-mempool) template.
func BenchmarkGetBlockTemplateBtcd(b *testing.B) {
	c := testenv.Btcd(b, "regtest").Client()
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.GetBlockTemplate(ctx, []string{"segwit"}); err != nil {
			b.Fatal(err)
		}
	}
}
