package kv

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/nats-io/nats.go/jetstream"
)

// Seed writes a validated configuration into the buckets: each section of the
// file under its key in `config` (a coin's own vardiff under
// config.VardiffKey), each coin under its symbol in `coins`.
// Without overwrite only missing keys are written, so changes made at run
// time (admin API) survive a restart; with overwrite the file wins. It returns
// the keys it wrote as "bucket/key".
func Seed(ctx context.Context, s *Store, cfg config.Config, overwrite bool) ([]string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kv: seed: invalid configuration:\n%w", err)
	}
	var written []string
	put := func(b interface {
		Bucket() string
	}, key string, ok bool, err error) error {
		if err != nil {
			return err
		}
		if ok {
			written = append(written, b.Bucket()+"/"+key)
		}
		return nil
	}
	sections := []struct {
		key string
		v   any
	}{
		{config.KeyPool, cfg.Pool}, {config.KeyStratum, cfg.Stratum}, {config.KeyVardiff, cfg.Vardiff},
		{config.KeyIngest, cfg.Ingest}, {config.KeyPayouts, cfg.Payouts}, {config.KeyStats, cfg.Stats},
	}
	for _, sec := range sections {
		ok, err := seedOne(ctx, s.Config, sec.key, sec.v, overwrite)
		if err := put(s.Config, sec.key, ok, err); err != nil {
			return written, err
		}
	}
	for _, sym := range slices.Sorted(maps.Keys(cfg.VardiffCoins)) {
		key := config.VardiffKey(sym)
		ok, err := seedOne(ctx, s.Config, key, cfg.VardiffCoins[sym], overwrite)
		if err := put(s.Config, key, ok, err); err != nil {
			return written, err
		}
	}
	for _, sym := range slices.Sorted(maps.Keys(cfg.Coins)) {
		ok, err := seedOne(ctx, s.Coins, sym, cfg.Coins[sym], overwrite)
		if err := put(s.Coins, sym, ok, err); err != nil {
			return written, err
		}
	}
	return written, nil
}

func seedOne(ctx context.Context, b jetstream.KeyValue, key string, v any, overwrite bool) (bool, error) {
	if overwrite {
		if _, err := Put(ctx, b, key, v); err != nil {
			return false, err
		}
		return true, nil
	}
	return PutIfAbsent(ctx, b, key, v)
}
