// Package ledgertest starts what the ledger functions need in a test: an
// embedded NATS with the pool's streams and buckets, a fresh PostgreSQL
// database, and a function running until the test ends. The package's
// TestMain must call testenv.Main. Polling for a condition is
// natstest.WaitFor.
package ledgertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/internal/testenv"
)

// Env returns a function environment on a fresh NATS server and a fresh
// database (already migrated), and a Store on that database whose
// invariants are checked when the test ends.
func Env(t *testing.T) (*functions.Env, *ledger.Store) {
	t.Helper()
	_, nc, js := natstest.Start(t)
	store := natstest.Declare(t, js)
	ctx := context.Background()
	dsn := testenv.PostgresDB(t)
	st, err := ledger.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.CheckInvariants(context.Background()); err != nil {
			t.Errorf("ledger invariants after the test: %v", err)
		}
		st.Close()
	})
	env := &functions.Env{NC: nc, JS: js, KV: store, Log: natstest.Logger(), Ready: ops.NewReadiness(),
		Instance: "test", Deps: functions.Deps{PostgresDSN: dsn}}
	return env, st
}

// Run runs fn until the test ends (or stop is called) and fails the test
// if it returns an error.
func Run(t *testing.T, env *functions.Env, fn functions.Function) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn.Run(ctx, env) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %v", fn.Name(), err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop", fn.Name())
		}
	}
	t.Cleanup(stop)
	return stop
}
