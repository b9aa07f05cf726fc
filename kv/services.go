package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ServiceRecord is what a stateful process (a gateway) publishes about itself
// in bucket `services`. It disappears by itself when heartbeats stop (bucket TTL).
type ServiceRecord struct {
	Kind      string            `json:"kind"` // "gateway", "web", …
	ID        string            `json:"id"`
	Coin      string            `json:"coin,omitempty"`
	Region    string            `json:"region,omitempty"`
	Endpoints map[string]string `json:"endpoints,omitempty"` // "stratum+tcp": "host:port", …
	Started   time.Time         `json:"started"`
	Heartbeat time.Time         `json:"heartbeat"`
	Version   string            `json:"version,omitempty"`
}

// Key is the record's key: <kind>.<coin>.<region>.<id> (empty parts skipped).
func (r ServiceRecord) Key() string {
	parts := []string{r.Kind}
	for _, p := range []string{r.Coin, r.Region, r.ID} {
		if p != "" {
			parts = append(parts, SafeKey(p))
		}
	}
	return strings.Join(parts, ".")
}

// Heartbeat writes rec now and then every `every` until ctx ends, then deletes
// it. It returns after the first write so the caller knows it is registered.
func Heartbeat(ctx context.Context, b jetstream.KeyValue, rec ServiceRecord, every time.Duration, log *slog.Logger) error {
	if rec.Started.IsZero() {
		rec.Started = time.Now().UTC()
	}
	beat := func() error {
		rec.Heartbeat = time.Now().UTC()
		_, err := Put(ctx, b, rec.Key(), rec)
		return err
	}
	if err := beat(); err != nil {
		return fmt.Errorf("kv: register %s: %w", rec.Key(), err)
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_ = b.Delete(dctx, rec.Key())
				cancel()
				return
			case <-t.C:
				if err := beat(); err != nil {
					log.Warn("service heartbeat failed", "key", rec.Key(), "err", err)
				}
			}
		}
	}()
	return nil
}

// ListServices returns every live record whose key starts with prefix ("gateway.btc").
func ListServices(ctx context.Context, b jetstream.KeyValue, prefix string) ([]ServiceRecord, error) {
	lister, err := b.ListKeys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kv: list services: %w", err)
	}
	var out []ServiceRecord
	for k := range lister.Keys() {
		if prefix != "" && !strings.HasPrefix(k, prefix) {
			continue
		}
		e, err := b.Get(ctx, k)
		if err != nil {
			continue // expired between list and get
		}
		var r ServiceRecord
		if json.Unmarshal(e.Value(), &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// SafeKey maps any string to a valid KV key token: characters outside
// [A-Za-z0-9_-] become "=XX" hex escapes (so distinct inputs stay distinct).
func SafeKey(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	if b.Len() == 0 {
		return "=00"
	}
	return b.String()
}
