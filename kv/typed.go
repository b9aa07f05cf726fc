package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
)

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
	return follow(ctx, b.Bucket()+"/"+key, w, func(e jetstream.KeyValueEntry) {
		if e.Operation() != jetstream.KeyValuePut {
			log.Warn("config key removed; keeping last good value", "bucket", b.Bucket(), "key", key)
			return
		}
		if v, ok := decode(b, e, validate, log); ok {
			apply(v)
		}
	})
}

// WatchBucket follows every key of a bucket: apply gets each value that
// decodes and passes validate (may be nil) with deleted false, and each
// deleted or purged key with deleted true and a zero T. An invalid value is
// logged and counted and leaves the key's last good value in force.
// WatchBucket returns once the current values have been applied; it keeps
// watching until ctx ends.
func WatchBucket[T any](ctx context.Context, b jetstream.KeyValue, validate func(T) error, apply func(key string, v T, deleted bool), log *slog.Logger) error {
	w, err := b.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("kv: watch %s: %w", b.Bucket(), err)
	}
	return follow(ctx, b.Bucket(), w, func(e jetstream.KeyValueEntry) {
		if e.Operation() != jetstream.KeyValuePut {
			var zero T
			apply(e.Key(), zero, true)
			return
		}
		if v, ok := decode(b, e, validate, log); ok {
			apply(e.Key(), v, false)
		}
	})
}

// decode reads one watched value, logging and counting a refused one.
func decode[T any](b jetstream.KeyValue, e jetstream.KeyValueEntry, validate func(T) error, log *slog.Logger) (T, bool) {
	var v T
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		log.Error("refusing undecodable value; keeping last good value", "bucket", b.Bucket(), "key", e.Key(), "revision", e.Revision(), "err", err)
		rejected.WithLabelValues(b.Bucket(), e.Key()).Inc()
		return v, false
	}
	if validate != nil {
		if err := validate(v); err != nil {
			log.Error("refusing invalid value; keeping last good value", "bucket", b.Bucket(), "key", e.Key(), "revision", e.Revision(), "err", err)
			rejected.WithLabelValues(b.Bucket(), e.Key()).Inc()
			return v, false
		}
	}
	applied.WithLabelValues(b.Bucket(), e.Key()).Inc()
	return v, true
}

// follow hands w's initial entries to handle and returns after the nil that
// ends them; later updates go to handle from a goroutine until ctx ends.
func follow(ctx context.Context, what string, w jetstream.KeyWatcher, handle func(jetstream.KeyValueEntry)) error {
	for {
		select {
		case <-ctx.Done():
			_ = w.Stop()
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("kv: watch %s closed", what)
			}
			if e != nil {
				handle(e)
				continue
			}
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
	}
}
