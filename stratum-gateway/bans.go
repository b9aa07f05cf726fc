package gateway

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/kv"
)

// Ban keys in KV `bans`.
func banKeyIP(ip string) string        { return "ip." + kv.SafeKey(ip) }
func banKeyAddress(addr string) string { return "addr." + kv.SafeKey(addr) }

// BanKeyIP and BanKeyAddress are exported for the admin API and tests.
func BanKeyIP(ip string) string        { return banKeyIP(ip) }
func BanKeyAddress(addr string) string { return banKeyAddress(addr) }

// banList mirrors KV `bans` in memory, kept current by a watch.
type banList struct {
	mu sync.RWMutex
	m  map[string]payload.Ban
}

func (b *banList) set(key string, ban payload.Ban) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[key] = ban
}

func (b *banList) lookup(key string) (payload.Ban, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ban, ok := b.m[key]
	if !ok || !ban.Active(time.Now()) {
		return payload.Ban{}, false
	}
	return ban, true
}

func (b *banList) ip(ip string) (payload.Ban, bool)     { return b.lookup(banKeyIP(ip)) }
func (b *banList) address(a string) (payload.Ban, bool) { return b.lookup(banKeyAddress(a)) }

// watchBans mirrors KV `bans`: current bans before it returns, then every
// change until ctx ends (an undecodable ban is logged and ignored by kv).
func watchBans(ctx context.Context, bucket jetstream.KeyValue, log *slog.Logger) (*banList, error) {
	bl := &banList{m: map[string]payload.Ban{}}
	err := kv.WatchBucket(ctx, bucket, nil, func(key string, ban payload.Ban, deleted bool) {
		if deleted {
			bl.mu.Lock()
			delete(bl.m, key)
			bl.mu.Unlock()
			return
		}
		bl.set(key, ban)
	}, log)
	return bl, err
}

func putBan(ctx context.Context, bucket jetstream.KeyValue, key string, b payload.Ban) error {
	if strings.TrimSpace(key) == "" {
		return errors.New("empty ban key")
	}
	_, err := kv.Put(ctx, bucket, key, b)
	return err
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
