package gateway_test

import (
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/internal/target"
	"github.com/jetpool/jetpool/streams"
)

// displayHash is the block id as explorers print it: SHA256d of the
// header, bytes reversed.
func displayHash(header []byte) string {
	h := pow.SHA256d(header)
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return hex.EncodeToString(h[:])
}

// TestBlockFound: a share that meets the network target is in the BLOCKS
// stream (message id = block hash) when the miner hears true, with
// everything needed to rebuild the block; the share is marked a block.
func TestBlockFound(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	spec := jobSpec{id: "b1", bits: easyBits, height: 200, prev: 7, txs: 2}
	job := p.publishJob(spec)
	addr := regtestAddr(t, 15)
	c := dial(t, g.tcp())
	c.configureRolling(t, "1fffe000", 0x1fffe000)
	c.handshake(addr + ".finder")

	const bits = 0x00ffe000
	w := c.mine("", jobVersion|bits, meets(c.diff))
	w.sendBits, w.bits = true, bits
	netTarget := job.NetworkTarget
	if !netTarget.HashMeets(&w.hash) {
		t.Fatal("test share does not meet the regtest target")
	}
	wantTrue(t, c.submit(w))

	found := p.streamMsgs(streams.Blocks, streams.BlockFoundSubject("btc"))
	if len(found) != 1 {
		t.Fatalf("%d messages on blocks.btc.found when true arrived, want 1", len(found))
	}
	var b payload.BlockFound
	if err := json.Unmarshal(found[0].Data, &b); err != nil {
		t.Fatal(err)
	}
	hash := displayHash(w.header[:])
	if id := found[0].Header.Get(jetstream.MsgIDHeader); id != hash {
		t.Fatalf("message id %q, want the block hash %s", id, hash)
	}
	want := payload.BlockFound{Coin: "btc", Network: "regtest", Region: region, Gateway: g.ID(), Height: 200, Hash: hash,
		TemplateID: job.TemplateID, Extranonce1: hex.EncodeToString(c.en1), Extranonce2: hex.EncodeToString(w.en2),
		NTime: w.ntime, Nonce: w.nonce, Version: jobVersion | bits, Address: addr, Worker: "finder",
		ShareDifficulty: baseDiff, NetworkDifficulty: target.Difficulty(target.SHA256dDiff1, netTarget),
		CoinbaseValue: 5_000_000_000}
	got := b
	got.Job, got.Time, got.ActualDifficulty = nil, want.Time, 0
	if gj, _ := json.Marshal(got); string(gj) != mustJSON(t, want) {
		t.Fatalf("block found\n got %s\nwant %s", gj, mustJSON(t, want))
	}
	if b.ActualDifficulty < b.NetworkDifficulty || b.Time.IsZero() {
		t.Fatalf("actual difficulty %v (network %v), time %v", b.ActualDifficulty, b.NetworkDifficulty, b.Time)
	}
	// The embedded job and the template rebuild exactly this block.
	var bj coin.Job
	if err := json.Unmarshal(b.Job, &bj); err != nil || bj.ID != "b1" {
		t.Fatalf("embedded job %s: %v", b.Job, err)
	}
	tpl, err := p.coin.ParseTemplate(templateJSON(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	en1, _ := hex.DecodeString(b.Extranonce1)
	en2, _ := hex.DecodeString(b.Extranonce2)
	blk, err := p.coin.BuildBlock(&bj, tpl, coin.Submission{Extranonce1: en1, Extranonce2: en2, NTime: b.NTime, Nonce: b.Nonce, Version: b.Version})
	if err != nil {
		t.Fatal(err)
	}
	if blk.Hash.String() != hash || !blk.MeetsTarget || blk.Header != w.header {
		t.Fatalf("rebuilt block %s (meets %v), want %s", blk.Hash, blk.MeetsTarget, hash)
	}

	shares := p.shares()
	if len(shares) != 1 || !shares[0].Block || !shares[0].Accepted {
		t.Fatalf("shares %+v, want one accepted block share", shares)
	}
	// Sending it again is a duplicate and publishes nothing.
	wantError(t, c.submit(w), stratum.CodeDuplicateShare, "")
	if n := len(p.streamMsgs(streams.Blocks, streams.BlockFoundSubject("btc"))); n != 1 {
		t.Fatalf("%d block messages after a duplicate, want 1", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWorkerEvents: connect, authorize and disconnect are published on EVENTS.
func TestWorkerEvents(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "j1"})
	addr := regtestAddr(t, 16)
	c := dial(t, g.tcp())
	c.handshake(addr + ".ev")
	session := hex.EncodeToString(c.en1)
	c.conn.Close()

	byKind := map[string][]payload.WorkerEvent{}
	waitFor(t, "the disconnected event", func() bool {
		for _, k := range []string{payload.WorkerConnected, payload.WorkerAuthorized, payload.WorkerDisconnected} {
			byKind[k] = p.events(k)
		}
		return len(byKind[payload.WorkerDisconnected]) > 0
	})
	for kind, wantAddr := range map[string]string{payload.WorkerConnected: "", payload.WorkerAuthorized: addr, payload.WorkerDisconnected: addr} {
		evs := byKind[kind]
		if len(evs) != 1 {
			t.Fatalf("%d %s events, want 1", len(evs), kind)
		}
		ev := evs[0]
		if ev.Session != session || ev.RemoteIP != "127.0.0.1" || ev.Gateway != g.ID() || ev.Address != wantAddr {
			t.Fatalf("%s event %+v", kind, ev)
		}
		if wantAddr != "" && (ev.Worker != "ev" || ev.UserAgent != "jetpool-test/1.0") {
			t.Fatalf("%s event %+v: want worker ev and the user agent", kind, ev)
		}
	}
}
