package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/internal/process"
	"github.com/jetpool/jetpool/kv"
)

// commonFlags are shared by every role that joins an existing NATS.
type commonFlags struct {
	natsURL  string
	replicas int
	opsAddr  string
	logLevel string
	pgDSN    string
	chDSN    string
	config   string
}

func (c *commonFlags) register(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
}) {
	fs.StringVar(&c.natsURL, "nats", envOr("JETPOOL_NATS_URL", "nats://127.0.0.1:4222"), "NATS URL (env JETPOOL_NATS_URL)")
	fs.IntVar(&c.replicas, "replicas", 1, "stream and bucket replicas (3 on a cluster)")
	fs.StringVar(&c.opsAddr, "ops", "127.0.0.1:0", "ops endpoint listen address (/healthz /readyz /metrics)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.pgDSN, "postgres", os.Getenv("JETPOOL_POSTGRES_DSN"), "PostgreSQL DSN (env JETPOOL_POSTGRES_DSN)")
	fs.StringVar(&c.chDSN, "clickhouse", os.Getenv("JETPOOL_CLICKHOUSE_DSN"), "ClickHouse DSN (env JETPOOL_CLICKHOUSE_DSN)")
	fs.StringVar(&c.config, "config", os.Getenv("JETPOOL_CONFIG"), "pool YAML whose keys missing from KV are seeded at start (env JETPOOL_CONFIG)")
}

// seed writes the configuration file's keys that KV does not have yet.
func (c *commonFlags) seed(ctx context.Context, p *process.Process) error {
	if c.config == "" {
		return nil
	}
	cfg, err := config.Load(c.config, os.Environ())
	if err != nil {
		return err
	}
	written, err := kv.Seed(ctx, p.Env.KV, cfg, false)
	if err != nil {
		return err
	}
	p.Env.Log.Info("configuration seeded", "file", c.config, "written", written)
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func runFn(ctx context.Context, args []string, _ io.Writer, stderr io.Writer) error {
	fs := newFlagSet("fn", stderr)
	var cf commonFlags
	cf.register(fs)
	names, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("%w: name at least one function (known: %v)", errUsage, registry().Names())
	}
	reg := registry()
	var units []functions.Function
	for _, name := range names {
		f, err := reg.New(name)
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		units = append(units, f)
	}
	log, err := ops.NewLogger(stderr, cf.logLevel)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	p, err := process.Start(ctx, process.Options{Name: "fn", NATSURL: cf.natsURL, Replicas: cf.replicas,
		OpsAddr: cf.opsAddr, Log: log, Deps: functions.Deps{PostgresDSN: cf.pgDSN, ClickHouseDSN: cf.chDSN}})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := cf.seed(ctx, p); err != nil {
		return err
	}
	log.Info("running functions", "functions", names, "instance", p.Env.Instance)
	return p.Run(ctx, units...)
}
