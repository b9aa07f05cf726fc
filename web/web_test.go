package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
	"github.com/jetpool/jetpool/web"
)

func TestAPIServesCoinsAndServicesWithoutSecrets(t *testing.T) {
	_, nc, js := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := streams.Ensure(ctx, js, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	store, err := kv.Ensure(ctx, js, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := &functions.Env{NC: nc, JS: js, KV: store, Log: log, Ready: ops.NewReadiness(), Instance: "web-test"}
	coin := config.Coin{Symbol: "btc", Network: "regtest", PoolAddress: "bcrt1qexample", Enabled: true,
		JobRefresh: config.Duration(time.Second),
		Node:       config.Node{RPCURL: "http://127.0.0.1:1", User: "rpcuser", Pass: "sekrit-pass"},
		Regions:    map[string]config.Listeners{"eu": {TCP: "127.0.0.1:3333"}}}
	if _, err := kv.Put(ctx, store.Coins, "btc", coin); err != nil {
		t.Fatal(err)
	}
	if err := kv.Heartbeat(ctx, store.Services, kv.ServiceRecord{Kind: "gateway", ID: "gw1", Coin: "btc", Region: "eu"}, time.Second, log); err != nil {
		t.Fatal(err)
	}
	if _, err := functions.Announce(ctx, env, "jobmaker", "test"); err != nil {
		t.Fatal(err)
	}
	srv := web.New("127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, env) }()
	<-srv.Ready()

	body := get(t, srv.URL()+"/api/coins", http.StatusOK)
	if strings.Contains(body, "sekrit-pass") || strings.Contains(body, "rpcuser") || strings.Contains(body, "127.0.0.1:1") {
		t.Fatalf("coins leak node credentials: %s", body)
	}
	var coins []map[string]any
	if err := json.Unmarshal([]byte(body), &coins); err != nil || len(coins) != 1 || coins[0]["symbol"] != "btc" {
		t.Fatalf("coins = %s (%v)", body, err)
	}
	var svc struct {
		Gateways  []kv.ServiceRecord `json:"gateways"`
		Functions []struct{ Name, Instance string }
	}
	if err := json.Unmarshal([]byte(get(t, srv.URL()+"/api/services", http.StatusOK)), &svc); err != nil {
		t.Fatal(err)
	}
	if len(svc.Gateways) != 1 || svc.Gateways[0].ID != "gw1" {
		t.Errorf("gateways = %+v, want gw1", svc.Gateways)
	}
	if len(svc.Functions) != 1 || svc.Functions[0].Name != "jobmaker" || svc.Functions[0].Instance != "web-test" {
		t.Errorf("functions = %+v, want the jobmaker instance", svc.Functions)
	}
	if body := get(t, srv.URL()+"/api/nope", http.StatusNotFound); !strings.Contains(body, `"error"`) {
		t.Errorf("404 body %q is not a JSON error", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s = %d %s, want %d", url, resp.StatusCode, b, want)
	}
	return string(b)
}
