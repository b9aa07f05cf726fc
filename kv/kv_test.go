package kv_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/kv"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestEnsureIsIdempotentAndKeepsValues(t *testing.T) {
	_, _, js := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := kv.Ensure(ctx, js, kv.Options{})
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if _, err := kv.Put(ctx, s.Config, config.KeyPool, config.Default().Pool); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Templates.PutBytes(ctx, "btc/1", []byte("template")); err != nil {
		t.Fatal(err)
	}
	s2, err := kv.Ensure(ctx, js, kv.Options{})
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	got, _, err := kv.Get[config.Pool](ctx, s2.Config, config.KeyPool)
	if err != nil || got.Name != "jetpool" {
		t.Fatalf("value lost after re-Ensure: %+v, %v", got, err)
	}
	b, err := s2.Templates.GetBytes(ctx, "btc/1")
	if err != nil || string(b) != "template" {
		t.Fatalf("template lost after re-Ensure: %q, %v", b, err)
	}
	for _, name := range []string{kv.Config, kv.Coins, kv.Services, kv.Vardiff, kv.Bans} {
		if _, err := js.KeyValue(ctx, name); err != nil {
			t.Errorf("bucket %s missing: %v", name, err)
		}
	}
}

func TestSeedWritesMissingKeysOnlyUnlessOverwrite(t *testing.T) {
	_, _, js := natstest.Start(t)
	ctx := context.Background()
	s, err := kv.Ensure(ctx, js, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	ltc := cfg.Vardiff
	ltc.Initial = 0.05
	cfg.VardiffCoins = map[string]config.Vardiff{"ltc": ltc}
	written, err := kv.Seed(ctx, s, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 7 {
		t.Fatalf("first seed wrote %v, want 6 sections and ltc's vardiff", written)
	}
	if v, _, err := kv.Get[config.Vardiff](ctx, s.Config, config.VardiffKey("ltc")); err != nil || v.Initial != 0.05 {
		t.Fatalf("ltc vardiff = %+v (%v), want initial 0.05 under %s", v, err, config.VardiffKey("ltc"))
	}
	changed := cfg.Pool
	changed.FeeBasisPoints = 250
	if _, err := kv.Put(ctx, s.Config, config.KeyPool, changed); err != nil {
		t.Fatal(err)
	}
	if written, _ := kv.Seed(ctx, s, cfg, false); len(written) != 0 {
		t.Fatalf("re-seed without overwrite wrote %v", written)
	}
	if p, _, _ := kv.Get[config.Pool](ctx, s.Config, config.KeyPool); p.FeeBasisPoints != 250 {
		t.Fatalf("runtime change lost: fee %d", p.FeeBasisPoints)
	}
	if _, err := kv.Seed(ctx, s, cfg, true); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := kv.Get[config.Pool](ctx, s.Config, config.KeyPool); p.FeeBasisPoints != cfg.Pool.FeeBasisPoints {
		t.Fatalf("overwrite did not win: fee %d", p.FeeBasisPoints)
	}
	bad := cfg
	bad.Pool.FeeBasisPoints = -1
	if _, err := kv.Seed(ctx, s, bad, true); err == nil {
		t.Fatal("Seed accepted an invalid configuration")
	}
}

func TestWatchAppliesGoodValuesAndRefusesBadOnes(t *testing.T) {
	_, _, js := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := kv.Ensure(ctx, js, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := config.Default().Vardiff
	if _, err := kv.Put(ctx, s.Config, config.KeyVardiff, start); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []float64
	current := func() float64 { mu.Lock(); defer mu.Unlock(); return seen[len(seen)-1] }
	err = kv.Watch(ctx, s.Config, config.KeyVardiff, config.Vardiff.Validate, func(v config.Vardiff) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, v.TargetSeconds)
	}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if got := current(); got != start.TargetSeconds {
		t.Fatalf("initial value not applied before Watch returned: %v", got)
	}
	bad := start
	bad.TargetSeconds = -5
	if _, err := kv.Put(ctx, s.Config, config.KeyVardiff, bad); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Config.Put(ctx, config.KeyVardiff, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	good := start
	good.TargetSeconds = 42
	if _, err := kv.Put(ctx, s.Config, config.KeyVardiff, good); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for current() != 42 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != start.TargetSeconds || seen[1] != 42 {
		t.Fatalf("applied values %v, want [%v 42]: the invalid ones must be refused", seen, start.TargetSeconds)
	}
}

func TestHeartbeatRegistersAndDeregisters(t *testing.T) {
	_, _, js := natstest.Start(t)
	ctx := context.Background()
	s, err := kv.Ensure(ctx, js, kv.Options{ServiceTTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	hctx, stop := context.WithCancel(ctx)
	rec := kv.ServiceRecord{Kind: "gateway", Coin: "btc", Region: "eu", ID: "gw-1", Endpoints: map[string]string{"stratum+tcp": "127.0.0.1:3333"}}
	if err := kv.Heartbeat(hctx, s.Services, rec, 200*time.Millisecond, quiet()); err != nil {
		t.Fatal(err)
	}
	// Outlive the TTL: heartbeats must keep the record alive.
	time.Sleep(2500 * time.Millisecond)
	list, err := kv.ListServices(ctx, s.Services, "gateway.btc")
	if err != nil || len(list) != 1 || list[0].ID != "gw-1" {
		t.Fatalf("ListServices = %+v, %v; want the live gateway", list, err)
	}
	stop()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := s.Services.Get(ctx, rec.Key()); errors.Is(err, kv.ErrNotFound) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("record still present after the heartbeat stopped")
}

func TestSafeKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rig1", "rig1"},
		{"bc1qxyz", "bc1qxyz"},
		{"a.b", "a=2Eb"},
		{"", "=00"},
		{"w*1 ", "w=2A1=20"},
	}
	for _, tt := range tests {
		if got := kv.SafeKey(tt.in); got != tt.want {
			t.Errorf("SafeKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWatchBucketFollowsEveryKeyAndDeletions(t *testing.T) {
	_, _, js := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := kv.Ensure(ctx, js, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sym := range []string{"btc", "ltc"} {
		if _, err := kv.Put(ctx, s.Coins, sym, config.Coin{Symbol: sym, Network: "regtest"}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	coins := map[string]string{}
	snapshot := func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]string{}
		for k, v := range coins {
			out[k] = v
		}
		return out
	}
	validate := func(c config.Coin) error {
		if c.Symbol == "" {
			return errors.New("no symbol")
		}
		return nil
	}
	err = kv.WatchBucket(ctx, s.Coins, validate, func(key string, c config.Coin, deleted bool) {
		mu.Lock()
		defer mu.Unlock()
		if deleted {
			delete(coins, key)
			return
		}
		coins[key] = c.Network
	}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if got := snapshot(); len(got) != 2 || got["btc"] != "regtest" || got["ltc"] != "regtest" {
		t.Fatalf("initial values not applied before WatchBucket returned: %v", got)
	}
	// An invalid value keeps the last good one; a new key, a change and a
	// deletion arrive in order.
	if _, err := kv.Put(ctx, s.Coins, "btc", config.Coin{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, s.Coins, "bch", config.Coin{Symbol: "bch", Network: "mainnet"}); err != nil {
		t.Fatal(err)
	}
	waitCoins := func(want map[string]string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !maps.Equal(snapshot(), want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := snapshot(); !maps.Equal(got, want) {
			t.Fatalf("coins = %v, want %v", got, want)
		}
	}
	waitCoins(map[string]string{"btc": "regtest", "ltc": "regtest", "bch": "mainnet"})
	if err := s.Coins.Delete(ctx, "ltc"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, s.Coins, "btc", config.Coin{Symbol: "btc", Network: "simnet"}); err != nil {
		t.Fatal(err)
	}
	waitCoins(map[string]string{"btc": "simnet", "bch": "mainnet"})
}
