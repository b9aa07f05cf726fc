package jsretry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/jsretry"
)

func TestTransient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no meta leader", &jetstream.APIError{Code: 503, ErrorCode: 10008}, true},
		{"503 wrapped", fmt.Errorf("kv: create: %w", &jetstream.APIError{Code: 503}), true},
		{"no responders", nats.ErrNoResponders, true},
		{"timeout", nats.ErrTimeout, true},
		{"deadline", context.DeadlineExceeded, true},
		{"js not enabled", jetstream.ErrJetStreamNotEnabled, true},
		{"stream name in use", &jetstream.APIError{Code: 400, ErrorCode: 10058}, false},
		{"bucket not found", jetstream.ErrBucketNotFound, false},
		{"plain", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jsretry.Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestValueRetriesTransientOnlyAndStopsWithContext(t *testing.T) {
	calls := 0
	v, err := jsretry.Value(context.Background(), func() (int, error) {
		calls++
		if calls < 3 {
			return 0, nats.ErrNoResponders
		}
		return 42, nil
	})
	if err != nil || v != 42 || calls != 3 {
		t.Fatalf("Value = %d, %v after %d calls; want 42 after 3", v, err, calls)
	}
	calls = 0
	permanent := errors.New("bad config")
	if err := jsretry.Do(context.Background(), func() error { calls++; return permanent }); !errors.Is(err, permanent) || calls != 1 {
		t.Fatalf("Do = %v after %d calls; want the permanent error at once", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = jsretry.Do(ctx, func() error { return nats.ErrNoResponders })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("Do with a cancelled context = %v; want both the cancel and the last error", err)
	}
}
