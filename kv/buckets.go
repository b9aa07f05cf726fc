package kv

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/jsretry"
)

// Bucket and object store names.
const (
	Config    = "config"
	Coins     = "coins"
	Services  = "services"
	Vardiff   = "vardiff"
	Bans      = "bans"
	Templates = "templates"
)

// Options tune the buckets for one deployment.
type Options struct {
	// Replicas is 1 in dev and 3 (or 5) on a cluster.
	Replicas int
	// ServiceTTL is how long a service registration lives without a heartbeat.
	ServiceTTL time.Duration
	// TemplateMaxAge bounds how long block templates are kept.
	TemplateMaxAge time.Duration
}

func (o Options) withDefaults() Options {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.ServiceTTL == 0 {
		o.ServiceTTL = 30 * time.Second
	}
	if o.TemplateMaxAge == 0 {
		o.TemplateMaxAge = 24 * time.Hour
	}
	return o
}

// BucketConfigs returns the key-value bucket declarations.
func BucketConfigs(o Options) []jetstream.KeyValueConfig {
	o = o.withDefaults()
	return []jetstream.KeyValueConfig{
		{Bucket: Config, Description: "pool configuration, hot reloaded; history kept for audit", History: 64, Replicas: o.Replicas, Storage: jetstream.FileStorage},
		{Bucket: Coins, Description: "per-coin configuration and registry", History: 16, Replicas: o.Replicas, Storage: jetstream.FileStorage},
		{Bucket: Services, Description: "service discovery: gateways heartbeat here", History: 1, TTL: o.ServiceTTL, Replicas: o.Replicas, Storage: jetstream.FileStorage},
		{Bucket: Vardiff, Description: "last difficulty of each worker, restored on reconnect", History: 1, TTL: 30 * 24 * time.Hour, Replicas: o.Replicas, Storage: jetstream.FileStorage},
		{Bucket: Bans, Description: "temporary bans honoured by every gateway", History: 4, TTL: 7 * 24 * time.Hour, Replicas: o.Replicas, Storage: jetstream.FileStorage},
	}
}

// ObjectStoreConfig returns the templates object store declaration.
func ObjectStoreConfig(o Options) jetstream.ObjectStoreConfig {
	o = o.withDefaults()
	return jetstream.ObjectStoreConfig{Bucket: Templates, Description: "full block templates by <coin>/<template id>",
		TTL: o.TemplateMaxAge, Replicas: o.Replicas, Storage: jetstream.FileStorage}
}

// Store holds handles to every bucket.
type Store struct {
	Config    jetstream.KeyValue
	Coins     jetstream.KeyValue
	Services  jetstream.KeyValue
	Vardiff   jetstream.KeyValue
	Bans      jetstream.KeyValue
	Templates jetstream.ObjectStore
}

// Ensure creates or updates every bucket; calling it again changes nothing.
func Ensure(ctx context.Context, js jetstream.JetStream, o Options) (*Store, error) {
	s := &Store{}
	dst := map[string]*jetstream.KeyValue{Config: &s.Config, Coins: &s.Coins, Services: &s.Services, Vardiff: &s.Vardiff, Bans: &s.Bans}
	for _, cfg := range BucketConfigs(o) {
		kv, err := jsretry.Value(ctx, func() (jetstream.KeyValue, error) { return js.CreateOrUpdateKeyValue(ctx, cfg) })
		if err != nil {
			return nil, fmt.Errorf("kv: ensure bucket %s: %w", cfg.Bucket, err)
		}
		*dst[cfg.Bucket] = kv
	}
	obs, err := jsretry.Value(ctx, func() (jetstream.ObjectStore, error) { return js.CreateOrUpdateObjectStore(ctx, ObjectStoreConfig(o)) })
	if err != nil {
		return nil, fmt.Errorf("kv: ensure object store %s: %w", Templates, err)
	}
	s.Templates = obs
	return s, nil
}

// Open binds to buckets that already exist (processes that do not own them).
func Open(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	s := &Store{}
	var err error
	for name, dst := range map[string]*jetstream.KeyValue{Config: &s.Config, Coins: &s.Coins, Services: &s.Services, Vardiff: &s.Vardiff, Bans: &s.Bans} {
		if *dst, err = js.KeyValue(ctx, name); err != nil {
			return nil, fmt.Errorf("kv: open %s: %w", name, err)
		}
	}
	if s.Templates, err = js.ObjectStore(ctx, Templates); err != nil {
		return nil, fmt.Errorf("kv: open %s: %w", Templates, err)
	}
	return s, nil
}
