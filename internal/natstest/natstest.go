// Package natstest starts an embedded single-node JetStream server for unit
// tests of packages that only need NATS (streams, kv, functions), and gives
// the set-up those tests share: the pool's streams and buckets declared
// (Declare, DeclareSeeded), a function's Env on its own connection (Env),
// a logger that is silent unless asked (Logger) and polling for a
// condition (WaitFor). Tests that need PostgreSQL,
// ClickHouse, nodes or a cluster use internal/testenv (and
// internal/ledger/ledgertest for the ledger functions).
package natstest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natsrv"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Start runs a server in a temp dir and returns a connection and JetStream
// handle; both are closed and the server stopped when the test ends.
func Start(t testing.TB) (*natsrv.Server, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := natsrv.Start(ctx, natsrv.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("natstest: start nats-server: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	nc, js := Connect(t, srv)
	return srv, nc, js
}

// Connect opens one more client connection to srv, closed at test end.
func Connect(t testing.TB, srv *natsrv.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatalf("natstest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("natstest: jetstream: %v", err)
	}
	return nc, js
}

// Declare creates (or updates) the pool's streams and consumers and its KV
// buckets with default options, as `jetpool dev` does at start, and returns
// the buckets bound to js. Declaring again changes nothing.
func Declare(t testing.TB, js jetstream.JetStream) *kv.Store {
	t.Helper()
	ctx := context.Background()
	if err := streams.Ensure(ctx, js, streams.Options{}); err != nil {
		t.Fatalf("natstest: streams: %v", err)
	}
	store, err := kv.Ensure(ctx, js, kv.Options{})
	if err != nil {
		t.Fatalf("natstest: buckets: %v", err)
	}
	return store
}

// DeclareSeeded declares as Declare does and writes cfg into the buckets
// (kv.Seed with overwrite: cfg wins over what is there).
func DeclareSeeded(t testing.TB, js jetstream.JetStream, cfg config.Config) *kv.Store {
	t.Helper()
	store := Declare(t, js)
	if _, err := kv.Seed(context.Background(), store, cfg, true); err != nil {
		t.Fatalf("natstest: seed: %v", err)
	}
	return store
}

// Env is the environment of one copy of a function named instance, on its
// own connection to srv as a separate process would have, with the streams
// and buckets declared. Deps and Metrics are left for the test to set.
func Env(t testing.TB, srv *natsrv.Server, instance string, log *slog.Logger) *functions.Env {
	t.Helper()
	nc, js := Connect(t, srv)
	return &functions.Env{NC: nc, JS: js, KV: Declare(t, js), Log: log, Ready: ops.NewReadiness(), Instance: instance}
}

// Logger is for the functions and clients a test runs: silent, unless
// JETPOOL_TEST_LOG is set (then everything, from debug up, to stderr).
func Logger() *slog.Logger {
	if os.Getenv("JETPOOL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// WaitFor polls cond every 20 ms until it holds, and fails the test if it
// does not within d; what names the condition in the failure.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
