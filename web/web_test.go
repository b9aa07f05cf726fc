package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/blocks"
	"github.com/jetpool/jetpool/functions/stats"
	"github.com/jetpool/jetpool/internal/chstore"
	_ "github.com/jetpool/jetpool/internal/coin/btc"
	_ "github.com/jetpool/jetpool/internal/coin/ltc"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/promtest"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
	"github.com/jetpool/jetpool/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestAPIServesCoinsAndServicesWithoutSecrets(t *testing.T) {
	_, nc, js := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := natstest.Declare(t, js)
	log := natstest.Logger()
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

// responsesCounted reads jetpool_web_responses_total{route,code} from reg.
func responsesCounted(t *testing.T, reg *prometheus.Registry, route, code string) float64 {
	t.Helper()
	return promtest.Sum(t, reg, "jetpool_web_responses_total", map[string]string{"route": route, "code": code})
}

// syncBuffer is a log sink the server's goroutines may write while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// get fetches url and fails the test unless the status is want.
func get(t *testing.T, url string, want int) string {
	t.Helper()
	status, body := fetch(t, url)
	if status != want {
		t.Fatalf("GET %s = %d %s, want %d", url, status, body, want)
	}
	return body
}

// TestCoinRoutesFollowTheRegistryAndAskTheRealFunctions runs the real stats
// (ClickHouse) and blocks (PostgreSQL) functions behind the web: what the web
// serves per coin follows the coins KV registry live, answers come from the
// functions, and bad input gets a precise 4xx.
func TestCoinRoutesFollowTheRegistryAndAskTheRealFunctions(t *testing.T) {
	srvNATS := testenv.NATS(t)
	nc, js := natstest.Connect(t, srvNATS)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := natstest.DeclareSeeded(t, js, config.Default())
	coin := func(sym string, enabled bool) config.Coin {
		return config.Coin{Symbol: sym, Network: "regtest", PoolAddress: "pool-" + sym, Enabled: enabled,
			JobRefresh: config.Duration(time.Second), Node: config.Node{RPCURL: "http://127.0.0.1:1"}}
	}
	if _, err := kv.Put(ctx, store.Coins, "btc", coin("btc", true)); err != nil {
		t.Fatal(err)
	}
	log := testenv.Logger()
	deps := functions.Deps{PostgresDSN: testenv.PostgresDB(t), ClickHouseDSN: testenv.ClickHouseDB(t)}
	ch, err := chstore.Open(deps.ClickHouseDSN, log) // the ingest function migrates in a pool
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if _, err := ch.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	run := func(name string, f functions.Function) (stop func()) {
		fnc, fjs := natstest.Connect(t, srvNATS)
		fctx, fcancel := context.WithCancel(ctx)
		env := &functions.Env{NC: fnc, JS: fjs, KV: store, Log: log.With("fn", name), Ready: ops.NewReadiness(), Instance: name, Deps: deps}
		done := make(chan error, 1)
		go func() { done <- f.Run(fctx, env) }()
		stopped := false
		stop = func() {
			if stopped {
				return
			}
			stopped = true
			fcancel()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		t.Cleanup(stop)
		return stop
	}
	run("stats", stats.New())
	stopBlocks := run("blocks", blocks.New())

	reg := prometheus.NewRegistry()
	var webLog syncBuffer
	env := &functions.Env{NC: nc, JS: js, KV: store, Log: slog.New(slog.NewTextHandler(&webLog, nil)),
		Ready: ops.NewReadiness(), Instance: "web-test", Metrics: reg}
	srv := web.New("127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, env) }()
	<-srv.Ready()
	base := srv.URL() + "/api/coins"

	// A found block reaches the ledger through BLOCKS and the web lists it.
	found := payload.BlockFound{Coin: "btc", Network: "regtest", Height: 7, Hash: strings.Repeat("ab", 32),
		Address: "miner-a", Worker: "rig1", ShareDifficulty: 2, NetworkDifficulty: 1, CoinbaseValue: 5_000_000_000,
		Time: time.Now().UTC()}
	data, _ := json.Marshal(found)
	if _, err := js.Publish(ctx, streams.BlockFoundSubject("btc"), data); err != nil {
		t.Fatal(err)
	}
	var listed []struct {
		Hash   string `json:"hash"`
		Height int64  `json:"height"`
	}
	natstest.WaitFor(t, 20*time.Second, "the found block listed", func() bool {
		status, body := fetch(t, base+"/btc/blocks?limit=5")
		return status == http.StatusOK && json.Unmarshal([]byte(body), &listed) == nil && len(listed) == 1
	})
	if !strings.EqualFold(listed[0].Hash, found.Hash) || listed[0].Height != 7 {
		t.Errorf("blocks = %+v, want height 7 %s", listed, found.Hash)
	}
	var pool struct {
		Coin    string `json:"coin"`
		Workers uint64 `json:"workers"`
	}
	if err := json.Unmarshal([]byte(get(t, base+"/btc/pool", http.StatusOK)), &pool); err != nil || pool.Coin != "btc" {
		t.Errorf("pool = %+v (%v), want the stats function's answer for btc", pool, err)
	}
	var series struct {
		StepSeconds int64 `json:"step_seconds"`
	}
	if err := json.Unmarshal([]byte(get(t, base+"/btc/hashrate?range=30d", http.StatusOK)), &series); err != nil || series.StepSeconds != 3600 {
		t.Errorf("30d series step = %d (%v), want 3600", series.StepSeconds, err)
	}
	var miner struct {
		Scope  string  `json:"scope"`
		Worker *string `json:"worker"`
	}
	if err := json.Unmarshal([]byte(get(t, base+"/btc/miners/miner-a?worker=rig1", http.StatusBadRequest)), &miner); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(get(t, base+"/btc/miners/minera?worker=rig1", http.StatusOK)), &miner); err != nil ||
		miner.Scope != "worker" || miner.Worker == nil || *miner.Worker != "rig1" {
		t.Errorf("worker hashrate = %+v (%v)", miner, err)
	}
	get(t, base+"/btc/miners/minera/workers", http.StatusOK)

	// Bad input: a precise 400, nothing forwarded, a metric and a log line.
	refusedBlocks := responsesCounted(t, reg, "/api/coins/:coin/blocks", "400")
	for _, tc := range []struct{ path, want string }{
		{"/btc/blocks?limit=0", "limit must be an integer from 1 to 1000"},
		{"/btc/blocks?limit=ten", "limit must be an integer"},
		{"/btc/hashrate?range=7y", "range must be 24h or 30d"},
		{"/btc/miners/" + strings.Repeat("a", 129), "address must be"},
		{"/btc/miners/bad%21addr", "address must be"},
		{"/btc/miners/minera?worker=a%20b", "worker must be"},
	} {
		if body := get(t, base+tc.path, http.StatusBadRequest); !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %s, want %q", tc.path, body, tc.want)
		}
	}
	if n := responsesCounted(t, reg, "/api/coins/:coin/blocks", "400") - refusedBlocks; n != 2 {
		t.Errorf("jetpool_web_responses_total{route=blocks,code=400} grew by %v, want 2", n)
	}
	if logged := webLog.String(); !strings.Contains(logged, "web request refused") || !strings.Contains(logged, "limit must be an integer") ||
		!strings.Contains(logged, "path=/api/coins/btc/hashrate") {
		t.Errorf("refused requests not logged with path and reason:\n%s", logged)
	}

	// The registry drives the routes: ltc is unknown, appears when put,
	// disappears when disabled or deleted — no restart.
	if body := get(t, base+"/ltc", http.StatusNotFound); !strings.Contains(body, `unknown coin \"ltc\"`) {
		t.Errorf("unknown coin body %s", body)
	}
	if _, err := kv.Put(ctx, store.Coins, "ltc", coin("ltc", true)); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 20*time.Second, "ltc served", func() bool { status, _ := fetch(t, base+"/ltc"); return status == http.StatusOK })
	if body := get(t, base, http.StatusOK); !strings.Contains(body, `"symbol":"ltc"`) || strings.Contains(body, "127.0.0.1:1") {
		t.Errorf("coins = %s: want ltc listed, no node URL", body)
	}
	if _, err := kv.Put(ctx, store.Coins, "ltc", coin("ltc", false)); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 20*time.Second, "disabled ltc not served", func() bool { status, _ := fetch(t, base+"/ltc/pool"); return status == http.StatusNotFound })
	if err := store.Coins.Delete(ctx, "ltc"); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 20*time.Second, "deleted ltc not listed", func() bool { return !strings.Contains(get(t, base, http.StatusOK), `"ltc"`) })

	// No copy of a function running: 503, not a hang.
	stopBlocks()
	if body := get(t, base+"/btc/blocks", http.StatusServiceUnavailable); !strings.Contains(body, "service unavailable") {
		t.Errorf("blocks without the function: %s", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
