package blocks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions/blocks"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/ledger/ledgertest"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/promtest"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/streams"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// current reads the package's metrics as they are now (the vectors are
// package-level: tests compare deltas).
func current(t *testing.T) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(blocks.Collectors()...)
	return promtest.Snapshot(t, reg)
}

func TestFoundBlockRecordedOnceAndListed(t *testing.T) {
	env, st := ledgertest.Env(t)
	reg := prometheus.NewRegistry()
	env.Metrics = reg
	before := current(t)
	ledgertest.Run(t, env, blocks.New())
	ctx := context.Background()
	found := payload.BlockFound{Coin: "btc", Height: 812, Hash: "00000000000000000001aa", Address: "bcrt1qfinder", Worker: "rig",
		ShareDifficulty: 2, NetworkDifficulty: 1000.5, CoinbaseValue: 625_012_345, Time: time.Unix(1700000000, 0)}
	data, _ := json.Marshal(found)
	// The same fact three times, as redeliveries (no message id: the stream keeps all three).
	for range 3 {
		if _, err := env.JS.Publish(ctx, streams.BlockFoundSubject("btc"), data); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{`{"coin":"btc"`, `{"coin":"btc","hash":"00aa"}`} { // undecodable; no finder
		if _, err := env.JS.Publish(ctx, streams.BlockFoundSubject("btc"), []byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	natstest.WaitFor(t, 10*time.Second, "consumer to catch up", func() bool {
		info, err := env.JS.Consumer(ctx, streams.Blocks, streams.ConsumerLedger)
		if err != nil {
			return false
		}
		ci, err := info.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	b, err := st.Block(ctx, "btc", found.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if b.State != ledger.StatePending || b.Height != 812 || b.Finder != "bcrt1qfinder" || b.CoinbaseValue != 625_012_345 ||
		b.NetworkDifficulty != 1000.5 || !b.FoundAt.Equal(found.Time) {
		t.Fatalf("block row: %+v", b)
	}
	msg, err := env.NC.Request(blocks.ListSubject, []byte(`{"coin":"btc"}`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var list []ledger.Block
	if err := json.Unmarshal(msg.Data, &list); err != nil || len(list) != 1 || list[0].Hash != found.Hash {
		t.Fatalf("list: %s (%v)", msg.Data, err)
	}
	msg, err = env.NC.Request(blocks.ListSubject, []byte(`{"limit":5}`), 5*time.Second)
	if err != nil || msg.Header.Get("Nats-Service-Error-Code") != "400" {
		t.Fatalf("list without coin answered %v %v", msg.Header, err)
	}
	now := promtest.Snapshot(t, reg)
	for key, want := range map[string]float64{
		"jetpool_blocks_found_total{coin=btc}":               1,
		"jetpool_blocks_duplicates_total{coin=btc}":          2,
		"jetpool_blocks_malformed_total{reason=undecodable}": 1,
		"jetpool_blocks_malformed_total{reason=incomplete}":  1,
		"jetpool_blocks_requests_total{result=ok}":           1,
		"jetpool_blocks_requests_total{result=bad_request}":  1,
		"jetpool_blocks_requests_total{result=error}":        0,
	} {
		if got := now[key] - before[key]; got != want {
			t.Errorf("%s grew by %v, want %v", key, got, want)
		}
	}
}
