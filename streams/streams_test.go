package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/streams"
)

func TestEnsureIsIdempotent(t *testing.T) {
	_, _, js := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := streams.Options{}
	if err := streams.Ensure(ctx, js, opts); err != nil {
		t.Fatalf("first Ensure: %v", err)
	}
	// Publish so that a second Ensure must not wipe data.
	if _, err := js.Publish(ctx, streams.SharesSubject("btc", "eu"), []byte("x")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	before := map[string]uint64{}
	for _, cfg := range streams.Configs(opts) {
		s, err := js.Stream(ctx, cfg.Name)
		if err != nil {
			t.Fatalf("stream %s missing: %v", cfg.Name, err)
		}
		before[cfg.Name] = s.CachedInfo().State.Msgs
	}
	for i := 0; i < 2; i++ {
		if err := streams.Ensure(ctx, js, opts); err != nil {
			t.Fatalf("Ensure #%d: %v", i+2, err)
		}
	}
	for _, cfg := range streams.Configs(opts) {
		s, err := js.Stream(ctx, cfg.Name)
		if err != nil {
			t.Fatalf("stream %s: %v", cfg.Name, err)
		}
		info := s.CachedInfo()
		if info.State.Msgs != before[cfg.Name] {
			t.Errorf("stream %s: %d msgs after re-Ensure, want %d", cfg.Name, info.State.Msgs, before[cfg.Name])
		}
		if info.Config.Replicas != 1 {
			t.Errorf("stream %s: replicas %d, want 1 in dev", cfg.Name, info.Config.Replicas)
		}
	}
	if got := before[streams.Shares]; got != 1 {
		t.Fatalf("SHARES holds %d messages, want 1", got)
	}
	for _, c := range streams.Consumers(opts) {
		cons, err := js.Consumer(ctx, c.Stream, c.Config.Durable)
		if err != nil {
			t.Fatalf("consumer %s/%s missing: %v", c.Stream, c.Config.Durable, err)
		}
		if c.Stream == streams.Shares && cons.CachedInfo().NumPending != 1 {
			t.Errorf("consumer %s pending %d, want 1 (re-Ensure must not reset it)", c.Config.Durable, cons.CachedInfo().NumPending)
		}
	}
}

func TestSubjects(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"jobs", streams.JobsSubject("btc"), "jobs.btc"},
		{"shares", streams.SharesSubject("ltc", "eu"), "shares.ltc.eu"},
		{"found", streams.BlockFoundSubject("bch"), "blocks.bch.found"},
		{"confirmed", streams.BlockConfirmedSubject("btc"), "blocks.btc.confirmed"},
		{"orphaned", streams.BlockOrphanedSubject("btc"), "blocks.btc.orphaned"},
		{"event", streams.EventSubject("worker", "btc", "connected"), "events.worker.btc.connected"},
		{"payout", streams.PayoutSubject("btc", "sent"), "payouts.btc.sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
