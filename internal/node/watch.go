package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/websocket"
)

// Websocket and polling tunables.
const (
	wsHandshakeTimeout = 10 * time.Second
	wsMaxBackoff       = 5 * time.Second
	wsMinBackoff       = 250 * time.Millisecond
)

// WSURL is the node's websocket endpoint derived from its RPC URL
// (btcd/bchd serve it on the RPC port at /ws).
func (c *Client) WSURL() string {
	u, err := url.Parse(c.url)
	if err != nil {
		return ""
	}
	scheme := "ws"
	if u.Scheme == "https" {
		scheme = "wss"
	}
	return (&url.URL{Scheme: scheme, Host: u.Host, Path: "/ws"}).String()
}

// WatchBlocks subscribes to block notifications on the node's websocket
// (btcd/bchd `notifyblocks`). The returned channel receives a value whenever a
// block is connected or disconnected, and after every reconnect (blocks may
// have been missed meanwhile); values are coalesced, so a slow reader sees one
// pending signal, never a backlog. It means "the tip may have changed: read
// it". The first connection and subscription happen before WatchBlocks
// returns, so a node without websocket support is an error here (fall back to
// PollBlocks); later failures are retried with backoff until ctx ends, which
// closes the channel.
func (c *Client) WatchBlocks(ctx context.Context) (<-chan struct{}, error) {
	conn, err := c.dialWS(ctx)
	if err != nil {
		return nil, err
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		for {
			err := c.readNotifications(ctx, conn, ch)
			conn.Close()
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("node websocket lost; reconnecting", "url", c.WSURL(), "err", err)
			backoff := wsMinBackoff
			for {
				if !sleepCtx(ctx, backoff) {
					return
				}
				conn, err = c.dialWS(ctx)
				if err == nil {
					break
				}
				c.log.Warn("node websocket reconnect failed", "url", c.WSURL(), "err", err)
				backoff = min(2*backoff, wsMaxBackoff)
			}
			signal(ch)
		}
	}()
	return ch, nil
}

// dialWS connects, authenticates with basic auth and sends notifyblocks,
// waiting for the node's reply to it.
func (c *Client) dialWS(ctx context.Context) (*websocket.Conn, error) {
	cfg, err := websocket.NewConfig(c.WSURL(), c.url)
	if err != nil {
		return nil, fmt.Errorf("node: websocket config: %w", err)
	}
	cfg.Header = http.Header{}
	cfg.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.user+":"+c.pass)))
	dctx, cancel := context.WithTimeout(ctx, wsHandshakeTimeout)
	defer cancel()
	conn, err := cfg.DialContext(dctx)
	if err != nil {
		return nil, fmt.Errorf("node: websocket dial %s: %w", c.WSURL(), err)
	}
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	defer stop()
	id := c.id.Add(1)
	if err := websocket.JSON.Send(conn, request{JSONRPC: "1.0", ID: id, Method: "notifyblocks", Params: []any{}}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("node: websocket notifyblocks: %w", err)
	}
	for {
		var data []byte
		if err := websocket.Message.Receive(conn, &data); err != nil {
			conn.Close()
			return nil, fmt.Errorf("node: websocket notifyblocks reply: %w", err)
		}
		m, err := parseWSMessage(data)
		if err != nil {
			conn.Close()
			return nil, err
		}
		if m.isReplyTo(id) {
			if m.Error != nil {
				conn.Close()
				return nil, fmt.Errorf("node: notifyblocks: %w", m.Error)
			}
			return conn, nil
		}
	}
}

// readNotifications forwards block notifications until the connection fails
// or ctx ends.
func (c *Client) readNotifications(ctx context.Context, conn *websocket.Conn, ch chan<- struct{}) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	for {
		var data []byte
		if err := websocket.Message.Receive(conn, &data); err != nil {
			return err
		}
		m, err := parseWSMessage(data)
		if err != nil {
			c.log.Warn("node websocket: bad message", "err", err)
			continue
		}
		if m.isBlockEvent() {
			signal(ch)
		}
	}
}

// wsMessage is a reply or a notification on the node websocket.
type wsMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Error  *RPCError       `json:"error"`
}

func parseWSMessage(data []byte) (wsMessage, error) {
	var m wsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return wsMessage{}, fmt.Errorf("%w: websocket: %v", ErrBadResponse, err)
	}
	return m, nil
}

func (m wsMessage) isReplyTo(id uint64) bool {
	var got uint64
	return m.Method == "" && json.Unmarshal(m.ID, &got) == nil && got == id
}

func (m wsMessage) isBlockEvent() bool {
	switch m.Method {
	case "blockconnected", "blockdisconnected", "filteredblockconnected", "filteredblockdisconnected":
		return true
	}
	return false
}

// PollBlocks polls getbestblockhash every interval and signals on the
// returned channel when the tip changes (coalesced like WatchBlocks). It reads
// the current tip before returning, so any later change is signalled; if that
// read fails, the first successful one signals. Errors are logged and polling
// continues; the channel is closed when ctx ends.
func (c *Client) PollBlocks(ctx context.Context, every time.Duration) <-chan struct{} {
	if every <= 0 {
		every = time.Second
	}
	ch := make(chan struct{}, 1)
	last, err := c.GetBestBlockHash(ctx)
	if err != nil && ctx.Err() == nil {
		c.log.Warn("node poll failed", "url", c.url, "err", err)
	}
	go func() {
		defer close(ch)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			h, err := c.GetBestBlockHash(ctx)
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
					c.log.Warn("node poll failed", "url", c.url, "err", err)
				}
				continue
			}
			if h != last {
				last = h
				signal(ch)
			}
		}
	}()
	return ch
}

func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
