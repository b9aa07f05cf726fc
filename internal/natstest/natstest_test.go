package natstest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// TestDeclareSeededAndEnv: every stream exists after Declare, declaring
// again keeps what was written, the seeded configuration is readable from
// an Env on another connection, and that Env is ready for a function.
func TestDeclareSeededAndEnv(t *testing.T) {
	srv, _, js := natstest.Start(t)
	ctx := context.Background()
	cfg := config.Default()
	cfg.Pool.FeeBasisPoints = 123
	natstest.DeclareSeeded(t, js, cfg)
	for _, sc := range streams.Configs(streams.Options{}) {
		if _, err := js.Stream(ctx, sc.Name); err != nil {
			t.Errorf("stream %s: %v", sc.Name, err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := natstest.Env(t, srv, "copy-1", log)
	if env.NC == nil || env.JS == nil || env.KV == nil || env.Ready == nil || env.Log != log || env.Instance != "copy-1" {
		t.Fatalf("env = %+v", env)
	}
	if !env.NC.IsConnected() {
		t.Fatal("env connection is not connected")
	}
	pool, _, err := kv.Get[config.Pool](ctx, env.KV.Config, config.KeyPool)
	if err != nil || pool.FeeBasisPoints != 123 {
		t.Fatalf("pool config through the env = %+v, %v; want the seeded fee 123", pool, err)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records instead of stopping.
type fatalRecorder struct {
	testing.TB
	fatal string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	if r.fatal == "" {
		r.fatal = fmt.Sprintf(format, args...)
	}
}

func TestWaitFor(t *testing.T) {
	calls := 0
	natstest.WaitFor(t, time.Minute, "the third call", func() bool { calls++; return calls == 3 })
	if calls != 3 {
		t.Fatalf("cond called %d times, want 3 (WaitFor returns once it holds)", calls)
	}
	r := &fatalRecorder{TB: t}
	done := false
	natstest.WaitFor(r, 0, "never", func() bool {
		if r.fatal != "" {
			done = true // the recorder does not stop the loop: end it after the failure
		}
		return done
	})
	if want := "timed out after 0s waiting for never"; r.fatal != want {
		t.Fatalf("failure %q, want %q", r.fatal, want)
	}
}
