// Package node is a small JSON-RPC 1.0 client for bitcoin-family coin nodes
// (btcd, bchd, litecoind, bitcoind).
//
// It owns the wire conversation with a node: HTTP basic auth, request ids,
// decoding of results, and node errors returned as *RPCError carrying the
// node's own code and message so callers can decide (retry on warm-up, give up
// on a bad block). It also owns block-change signals: WatchBlocks listens on
// btcd/bchd's websocket (notifyblocks) and PollBlocks polls getbestblockhash
// for nodes without one.
//
// Every call takes a context.Context first. The package knows nothing about
// coins, templates or block encoding (those live in internal/coin); it must
// not import btcd, NATS, PostgreSQL or ClickHouse packages.
package node
