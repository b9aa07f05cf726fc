package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// MaxResponseBytes bounds one JSON-RPC reply (a verbose getblock of a full
// mainnet block is tens of megabytes; a template a few).
const MaxResponseBytes = 128 << 20

// Sentinel errors; *RPCError carries errors reported by the node itself.
var (
	// ErrUnauthorized: the node refused the credentials (HTTP 401/403).
	ErrUnauthorized = errors.New("node: unauthorized (check rpc user/password)")
	// ErrResponseTooLarge: the reply exceeded MaxResponseBytes.
	ErrResponseTooLarge = errors.New("node: response too large")
	// ErrBadResponse: the reply was not a JSON-RPC response.
	ErrBadResponse = errors.New("node: malformed response")
)

// Error codes nodes of the bitcoin family return (bitcoind's rpc/protocol.h;
// btcd and litecoind use the same numbers).
const (
	CodeMisc              = -1     // generic error, also btcd's "Command unimplemented"
	CodeInvalidAddress    = -5     // invalid address or key, unknown block
	CodeInvalidParameter  = -8     // out-of-range parameter ("Block number out of range")
	CodeNotConnected      = -9     // litecoind/bitcoind: GBT without peers
	CodeInInitialDownload = -10    // GBT while the node is still syncing
	CodeDeserialization   = -22    // submitblock: "Block decode failed"
	CodeInWarmup          = -28    // node is starting (loading blocks, verifying)
	CodeMethodNotFound    = -32601 // method unknown to this node
	CodeInvalidParams     = -32602 // wrong parameter types
)

// RPCError is an error the node answered with.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("node: rpc error %d: %s", e.Code, e.Message)
}

// IsCode reports whether err carries a node error with the given code.
func IsCode(err error, code int) bool {
	var re *RPCError
	return errors.As(err, &re) && re.Code == code
}

// Config addresses one node.
type Config struct {
	// URL is the node's RPC endpoint, e.g. http://127.0.0.1:18443. Credentials
	// in the URL (http://user:pass@host:port) are used when User is empty.
	URL  string
	User string
	Pass string
	// HTTPClient defaults to a client without a global timeout: bound each
	// call with its context (long-poll templates wait for minutes).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Client talks JSON-RPC 1.0 over HTTP to one node. It is safe for concurrent use.
type Client struct {
	url  string
	user string
	pass string
	hc   *http.Client
	log  *slog.Logger
	id   atomic.Uint64
}

// New validates cfg and returns a client. It does not contact the node.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("node: url %q: %w", cfg.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("node: url %q: scheme must be http or https", cfg.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("node: url %q: missing host", cfg.URL)
	}
	if u.User != nil {
		if cfg.User == "" {
			cfg.User = u.User.Username()
			cfg.Pass, _ = u.User.Password()
		}
		u.User = nil
		cfg.URL = u.String()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{url: strings.TrimRight(cfg.URL, "/"), user: cfg.User, pass: cfg.Pass, hc: hc, log: log}, nil
}

// URL is the node endpoint this client calls.
func (c *Client) URL() string { return c.url }

type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type response struct {
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
}

// Call invokes method with params and decodes the result into out (which may
// be nil, or a *json.RawMessage to keep the raw result). Node errors come back
// wrapped around an *RPCError.
func (c *Client) Call(ctx context.Context, method string, params []any, out any) error {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(request{JSONRPC: "1.0", ID: c.id.Add(1), Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("node: %s: encode params: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("node: %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "text/plain")
	req.SetBasicAuth(c.user, c.pass)
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("node: %s: %w", method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("node: %s: %w", method, ErrUnauthorized)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("node: %s: read reply: %w", method, err)
	}
	if len(raw) > MaxResponseBytes {
		return fmt.Errorf("node: %s: %w", method, ErrResponseTooLarge)
	}
	if err := decodeResponse(raw, out); err != nil {
		if errors.Is(err, ErrBadResponse) && resp.StatusCode != http.StatusOK {
			return fmt.Errorf("node: %s: HTTP %d: %s", method, resp.StatusCode, snippet(raw))
		}
		return fmt.Errorf("node: %s: %w", method, err)
	}
	return nil
}

// decodeResponse parses one JSON-RPC reply: the node's error if it reported
// one, else the result decoded into out.
func decodeResponse(raw []byte, out any) error {
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	if r.Error != nil {
		return r.Error
	}
	if r.Result == nil {
		return fmt.Errorf("%w: no result and no error", ErrBadResponse)
	}
	if out == nil {
		return nil
	}
	if rm, ok := out.(*json.RawMessage); ok {
		*rm = append((*rm)[:0], r.Result...)
		return nil
	}
	if err := json.Unmarshal(r.Result, out); err != nil {
		return fmt.Errorf("%w: result: %v", ErrBadResponse, err)
	}
	return nil
}

func snippet(b []byte) string {
	const max = 200
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
