package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/web"
)

// FuzzAPIRequest sends arbitrary paths and queries under /api/ to a real web
// server on a real NATS (no functions running, so well-formed coin requests
// end in 503). Whatever arrives, the answer is a JSON object, a 5xx only
// ever the "no function" 503 or the "function failed" 502, an error always
// carries a message, and the server keeps answering.
func FuzzAPIRequest(f *testing.F) {
	for _, s := range []string{
		"coins", "services", "coins/btc", "coins/btc/pool", "coins/btc/blocks?limit=5",
		"coins/btc/blocks?limit=-1", "coins/btc/hashrate?range=30d", "coins/btc/hashrate?range=1y",
		"coins/btc/miners/bcrt1qexample?worker=rig1", "coins/btc/miners/bcrt1qexample/workers",
		"coins/btc/miners/%00/workers", "coins/xyz/pool", "coins/btc/miners/" + string(make([]byte, 200)),
		"coins/btc/blocks?limit=99999999999999999999", "../../etc/passwd", "coins/btc/miners/a?worker=%ff%fe",
	} {
		f.Add(s)
	}
	natsSrv, _, js := natstest.Start(f)
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	store := natstest.DeclareSeeded(f, js, config.Default())
	if _, err := kv.Put(ctx, store.Coins, "btc", config.Coin{Symbol: "btc", Network: "regtest", PoolAddress: "bcrt1qexample",
		Enabled: true, JobRefresh: config.Duration(time.Second), Node: config.Node{RPCURL: "http://127.0.0.1:1"}}); err != nil {
		f.Fatal(err)
	}
	env := natstest.Env(f, natsSrv, "web-fuzz", natstest.Logger())
	srv := web.New("127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, env) }()
	<-srv.Ready()
	f.Cleanup(func() {
		cancel()
		<-done
	})
	client := &http.Client{Timeout: 10 * time.Second}

	f.Fuzz(func(t *testing.T, rest string) {
		u, err := url.Parse(srv.URL() + "/api/" + rest)
		if err != nil || strings.ContainsFunc(u.String(), func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return // not a request line a client could send (net/http itself answers those)
		}
		resp, err := client.Get(u.String())
		if err != nil {
			t.Fatalf("GET %q: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable && resp.StatusCode != http.StatusBadGateway:
			t.Fatalf("GET %q = %d %s", u, resp.StatusCode, body)
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			return // echo's redirects carry no body to check
		case !json.Valid(body):
			t.Fatalf("GET %q = %d with a body that is not JSON: %q", u, resp.StatusCode, body)
		case resp.StatusCode >= 400:
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(body, &e) != nil || e.Error == "" {
				t.Fatalf("GET %q = %d without an error message: %s", u, resp.StatusCode, body)
			}
		}
		if resp, err := client.Get(srv.URL() + "/api/coins"); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("the server stopped answering after %q: %v", u, err)
		} else {
			resp.Body.Close()
		}
	})
}
