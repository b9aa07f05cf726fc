package payouts_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/jetpool/jetpool/functions/payouts"
	"github.com/jetpool/jetpool/internal/node"
)

// sendmanyServer answers sendmany the way a wallet of the given kind
// does: btcwallet needs the account "default"; Bitcoin Core and litecoind
// refuse any first parameter but "" with -8. It records every call's
// first parameter.
func sendmanyServer(t *testing.T, core bool, calls chan<- string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage   `json:"id"`
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Method != "sendmany" || len(req.Params) < 2 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var account string
		_ = json.Unmarshal(req.Params[0], &account)
		calls <- account
		reply := map[string]any{"id": req.ID}
		switch {
		case core && account != "":
			w.WriteHeader(http.StatusInternalServerError)
			reply["error"] = map[string]any{"code": -8, "message": `Dummy value must be set to ""`}
		case !core && account != "default":
			w.WriteHeader(http.StatusInternalServerError)
			reply["error"] = map[string]any{"code": -18, "message": "account not found"}
		default:
			reply["result"] = "ab" + account
		}
		_ = json.NewEncoder(w).Encode(reply)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSendManyFirstParameter(t *testing.T) {
	cases := []struct {
		name  string
		core  bool
		txid  string
		calls []string
	}{
		{"btcwallet takes the default account", false, "abdefault", []string{"default"}},
		{"bitcoind and litecoind take the empty dummy", true, "ab", []string{"default", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := make(chan string, 10)
			srv := sendmanyServer(t, c.core, ch)
			cl, err := node.New(node.Config{URL: srv.URL, User: "u", Pass: "p"})
			if err != nil {
				t.Fatal(err)
			}
			txid, err := payouts.Wallet{C: cl}.SendMany(context.Background(), map[string]int64{"addr": 1})
			if err != nil || txid != c.txid {
				t.Fatalf("SendMany = %q, %v; want %q", txid, err, c.txid)
			}
			close(ch)
			var calls []string
			for a := range ch {
				calls = append(calls, a)
			}
			if !slices.Equal(calls, c.calls) {
				t.Errorf("sendmany called with %q, want %q", calls, c.calls)
			}
		})
	}
}

// A refusal of the retried call is the wallet's real answer: an RPC error
// (nothing sent), naming both attempts.
func TestSendManyRefusalAfterRetryIsRPCError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage   `json:"id"`
			Params []json.RawMessage `json:"params"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		var account string
		_ = json.Unmarshal(req.Params[0], &account)
		e := map[string]any{"code": -8, "message": `Dummy value must be set to ""`}
		if account == "" {
			e = map[string]any{"code": -6, "message": "Insufficient funds"}
		}
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": req.ID, "error": e})
	}))
	defer srv.Close()
	cl, err := node.New(node.Config{URL: srv.URL, User: "u", Pass: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = payouts.Wallet{C: cl}.SendMany(context.Background(), map[string]int64{"addr": 1})
	var re *node.RPCError
	if !errors.As(err, &re) || re.Code != -6 {
		t.Fatalf("err = %v, want the wallet's -6 refusal", err)
	}
}
