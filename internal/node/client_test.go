package node

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeNode answers every request with status and body, recording the request.
type fakeNode struct {
	status int
	body   string
	got    struct {
		user, pass string
		ok         bool
		req        map[string]any
		ctype      string
	}
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.got.user, f.got.pass, f.got.ok = r.BasicAuth()
	f.got.ctype = r.Header.Get("Content-Type")
	b, _ := io.ReadAll(r.Body)
	f.got.req = nil
	_ = json.Unmarshal(b, &f.got.req)
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, f.body)
}

func newFake(t *testing.T, status int, body string) (*fakeNode, *Client) {
	t.Helper()
	f := &fakeNode{status: status, body: body}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL, User: "u", Pass: "p"})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func TestCallSendsJSONRPC10WithAuth(t *testing.T) {
	f, c := newFake(t, 200, `{"result":7,"error":null,"id":1}`)
	n, err := c.GetBlockCount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 {
		t.Fatalf("count = %d", n)
	}
	if !f.got.ok || f.got.user != "u" || f.got.pass != "p" {
		t.Fatalf("basic auth = %q/%q (%v)", f.got.user, f.got.pass, f.got.ok)
	}
	if f.got.req["jsonrpc"] != "1.0" || f.got.req["method"] != "getblockcount" {
		t.Fatalf("request = %v", f.got.req)
	}
	if params, ok := f.got.req["params"].([]any); !ok || len(params) != 0 {
		t.Fatalf("params = %#v, want [] (never null: bitcoind rejects it)", f.got.req["params"])
	}
	if _, ok := f.got.req["id"].(float64); !ok {
		t.Fatalf("id = %#v", f.got.req["id"])
	}
}

func TestCallErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		wantCode int // 0: no *RPCError expected
		wantIs   error
		wantText string
	}{
		{name: "node error on HTTP 500 (bitcoind)", status: 500, body: `{"result":null,"error":{"code":-22,"message":"Block decode failed"},"id":1}`, wantCode: CodeDeserialization, wantText: "Block decode failed"},
		{name: "node error on HTTP 200 (btcd)", status: 200, body: `{"result":null,"error":{"code":-1,"message":"Block number out of range"},"id":1}`, wantCode: CodeMisc},
		{name: "method not found on HTTP 404", status: 404, body: `{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":1}`, wantCode: CodeMethodNotFound},
		{name: "unauthorized", status: 401, body: "401 Unauthorized.", wantIs: ErrUnauthorized},
		{name: "proxy error page", status: 502, body: "<html>bad gateway</html>", wantText: "HTTP 502"},
		{name: "garbage on 200", status: 200, body: "hello", wantIs: ErrBadResponse},
		{name: "neither result nor error", status: 200, body: `{"id":1}`, wantIs: ErrBadResponse},
		{name: "result of the wrong type", status: 200, body: `{"result":"seven","error":null,"id":1}`, wantIs: ErrBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newFake(t, tc.status, tc.body)
			_, err := c.GetBlockCount(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			var re *RPCError
			if tc.wantCode != 0 {
				if !errors.As(err, &re) || re.Code != tc.wantCode || !IsCode(err, tc.wantCode) {
					t.Fatalf("err = %v, want RPC code %d", err, tc.wantCode)
				}
			} else if errors.As(err, &re) {
				t.Fatalf("err = %v is an RPCError", err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("err = %v, want %v", err, tc.wantIs)
			}
			if tc.wantText != "" && !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantText)
			}
			if !strings.Contains(err.Error(), "getblockcount") {
				t.Fatalf("err = %v does not name the method", err)
			}
		})
	}
}

func TestSubmitBlockResults(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"accepted", `{"result":null,"error":null,"id":1}`, ""},
		{"duplicate", `{"result":"duplicate","error":null,"id":1}`, "duplicate"},
		{"inconclusive", `{"result":"inconclusive","error":null,"id":1}`, "inconclusive"},
		{"btcd reject", `{"result":"rejected: already have block 00ab","error":null,"id":1}`, "rejected: already have block 00ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t, 200, tc.body)
			got, err := c.SubmitBlock(context.Background(), "00ff")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("SubmitBlock = %q, want %q", got, tc.want)
			}
			if p := f.got.req["params"].([]any); len(p) != 1 || p[0] != "00ff" {
				t.Fatalf("params = %v", p)
			}
		})
	}
}

func TestGetBlockTemplateSendsRules(t *testing.T) {
	f, c := newFake(t, 200, `{"result":{"height":5},"error":null,"id":1}`)
	raw, err := c.GetBlockTemplate(context.Background(), []string{"mweb", "segwit"})
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"height":5}` {
		t.Fatalf("raw = %s", raw)
	}
	p := f.got.req["params"].([]any)
	req, _ := json.Marshal(p)
	if string(req) != `[{"rules":["mweb","segwit"]}]` {
		t.Fatalf("params = %s", req)
	}
}

func TestNewConfig(t *testing.T) {
	for _, tc := range []struct {
		name, url, wantURL, wantUser, wantPass string
		wantErr                                bool
	}{
		{name: "plain", url: "http://127.0.0.1:8332", wantURL: "http://127.0.0.1:8332"},
		{name: "credentials in url", url: "http://alice:s3cret@127.0.0.1:8332/", wantURL: "http://127.0.0.1:8332", wantUser: "alice", wantPass: "s3cret"},
		{name: "no scheme", url: "127.0.0.1:8332", wantErr: true},
		{name: "websocket scheme", url: "ws://127.0.0.1:8332", wantErr: true},
		{name: "no host", url: "http://", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{URL: tc.url})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if c.URL() != tc.wantURL || c.user != tc.wantUser || c.pass != tc.wantPass {
				t.Fatalf("got %q %q %q", c.URL(), c.user, c.pass)
			}
		})
	}
}

func TestWSURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:18556", "ws://127.0.0.1:18556/ws"},
		{"https://node.example:8334/", "wss://node.example:8334/ws"},
		{"http://u:p@127.0.0.1:1", "ws://127.0.0.1:1/ws"},
	} {
		c, err := New(Config{URL: tc.in})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.WSURL(); got != tc.want {
			t.Errorf("WSURL(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseWSMessage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        string
		replyTo   uint64
		wantReply bool
		wantBlock bool
		wantErr   bool
	}{
		{name: "notifyblocks reply", in: `{"result":null,"error":null,"id":3}`, replyTo: 3, wantReply: true},
		{name: "reply to another id", in: `{"result":null,"error":null,"id":4}`, replyTo: 3},
		{name: "blockconnected", in: `{"jsonrpc":"1.0","method":"blockconnected","params":["00ab",12,1700000000],"id":null}`, wantBlock: true},
		{name: "blockdisconnected", in: `{"method":"blockdisconnected","params":[],"id":null}`, wantBlock: true},
		{name: "filteredblockconnected", in: `{"method":"filteredblockconnected","params":[12,"00",[]],"id":null}`, wantBlock: true},
		{name: "tx notification", in: `{"method":"txaccepted","params":["aa",1],"id":null}`},
		{name: "notification is not a reply", in: `{"method":"blockconnected","id":3}`, replyTo: 3, wantBlock: true},
		{name: "not json", in: `{"method":`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseWSMessage([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				if !errors.Is(err, ErrBadResponse) {
					t.Fatalf("err = %v, want ErrBadResponse", err)
				}
				return
			}
			if got := m.isReplyTo(tc.replyTo); got != tc.wantReply {
				t.Fatalf("isReplyTo = %v", got)
			}
			if got := m.isBlockEvent(); got != tc.wantBlock {
				t.Fatalf("isBlockEvent = %v", got)
			}
		})
	}
}

// FuzzDecodeResponse: any bytes from the network give a result or an error,
// never a panic, and a node error always surfaces as *RPCError.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"result":7,"error":null,"id":1}`,
		`{"result":null,"error":{"code":-22,"message":"Block decode failed"},"id":1}`,
		`{"result":{"height":5,"transactions":[]},"error":null,"id":1}`,
		`{"result":"duplicate","error":null,"id":1}`,
		`[]`, `null`, `{"error":{"code":"x"}}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, out := range []any{new(json.RawMessage), new(int64), new(*string), new(BlockHeader), nil} {
			err := decodeResponse(data, out)
			var re *RPCError
			if err != nil && !errors.As(err, &re) && !errors.Is(err, ErrBadResponse) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		}
		// Split in two like a network read: the halves alone must not panic.
		half := len(data) / 2
		_ = decodeResponse(data[:half], new(json.RawMessage))
		_ = decodeResponse(data[half:], new(json.RawMessage))
	})
}

// FuzzParseWSMessage: websocket frames never panic the watcher.
func FuzzParseWSMessage(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"1.0","method":"blockconnected","params":["00ab",12,1700000000],"id":null}`))
	f.Add([]byte(`{"result":null,"error":null,"id":3}`))
	f.Add([]byte(`{"id":"3"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseWSMessage(data)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if m.isBlockEvent() && m.Method == "" {
			t.Fatal("block event without method")
		}
		_ = m.isReplyTo(3)
	})
}
