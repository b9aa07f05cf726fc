package blocks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jetpool/jetpool/functions/blocks"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/ledger/ledgertest"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/streams"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestFoundBlockRecordedOnceAndListed(t *testing.T) {
	env, st := ledgertest.Env(t)
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
	bad := []byte(`{"coin":"btc"`)
	if _, err := env.JS.Publish(ctx, streams.BlockFoundSubject("btc"), bad); err != nil {
		t.Fatal(err)
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
}
