package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var errNoResponders = nats.ErrNoResponders

// ErrNotFound is returned by Get when the key does not exist (or was deleted).
var ErrNotFound = jetstream.ErrKeyNotFound

// Get reads key as JSON into a T and returns its revision.
func Get[T any](ctx context.Context, b jetstream.KeyValue, key string) (T, uint64, error) {
	var v T
	e, err := b.Get(ctx, key)
	if err != nil {
		return v, 0, fmt.Errorf("kv: get %s/%s: %w", b.Bucket(), key, err)
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return v, e.Revision(), fmt.Errorf("kv: decode %s/%s: %w", b.Bucket(), key, err)
	}
	return v, e.Revision(), nil
}

// Put writes v as JSON under key and returns the new revision.
func Put[T any](ctx context.Context, b jetstream.KeyValue, key string, v T) (uint64, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("kv: encode %s/%s: %w", b.Bucket(), key, err)
	}
	rev, err := b.Put(ctx, key, raw)
	if err != nil {
		return 0, fmt.Errorf("kv: put %s/%s: %w", b.Bucket(), key, err)
	}
	return rev, nil
}

// PutIfAbsent writes v only when key does not exist yet; it reports whether it wrote.
func PutIfAbsent[T any](ctx context.Context, b jetstream.KeyValue, key string, v T) (bool, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("kv: encode %s/%s: %w", b.Bucket(), key, err)
	}
	if _, err := b.Create(ctx, key, raw); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return false, nil
		}
		return false, fmt.Errorf("kv: create %s/%s: %w", b.Bucket(), key, err)
	}
	return true, nil
}

// Watch follows one key: every value that decodes and passes validate (may be
// nil) is handed to apply, in order, starting with the current one. A value
// that fails is logged at error level and counted by onReject (may be nil);
// the last good value stays in force. Watch returns once the initial value
// (if any) has been applied; it keeps watching until ctx ends.
func Watch[T any](ctx context.Context, b jetstream.KeyValue, key string, validate func(T) error, apply func(T), log *slog.Logger) error {
	w, err := b.Watch(ctx, key)
	if err != nil {
		return fmt.Errorf("kv: watch %s/%s: %w", b.Bucket(), key, err)
	}
	handle := func(e jetstream.KeyValueEntry) {
		if e.Operation() != jetstream.KeyValuePut {
			log.Warn("config key removed; keeping last good value", "bucket", b.Bucket(), "key", key)
			return
		}
		var v T
		if err := json.Unmarshal(e.Value(), &v); err != nil {
			log.Error("refusing undecodable value; keeping last good value", "bucket", b.Bucket(), "key", key, "revision", e.Revision(), "err", err)
			rejected.WithLabelValues(b.Bucket(), key).Inc()
			return
		}
		if validate != nil {
			if err := validate(v); err != nil {
				log.Error("refusing invalid value; keeping last good value", "bucket", b.Bucket(), "key", key, "revision", e.Revision(), "err", err)
				rejected.WithLabelValues(b.Bucket(), key).Inc()
				return
			}
		}
		applied.WithLabelValues(b.Bucket(), key).Inc()
		apply(v)
	}
	// Initial values arrive first, then a nil marks the end of them.
	for {
		select {
		case <-ctx.Done():
			_ = w.Stop()
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("kv: watch %s/%s closed", b.Bucket(), key)
			}
			if e == nil {
				go func() {
					defer w.Stop()
					for {
						select {
						case <-ctx.Done():
							return
						case e, ok := <-w.Updates():
							if !ok {
								return
							}
							if e != nil {
								handle(e)
							}
						}
					}
				}()
				return nil
			}
			handle(e)
		}
	}
}
