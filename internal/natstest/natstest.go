// Package natstest starts an embedded single-node JetStream server for unit
// tests of packages that only need NATS (streams, kv, functions). Tests that
// need PostgreSQL, ClickHouse, nodes or a cluster use internal/testenv.
package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/natsrv"
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
