package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/devpool"
	"github.com/jetpool/jetpool/internal/miner"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/internal/target"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
	"github.com/jetpool/jetpool/web"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev", stderr)
	var (
		dataDir, natsConf, cfgFile, logLevel string
		reseed, demo                         bool
		coins                                listFlag
	)
	fs.StringVar(&dataDir, "data", ".jetpool", "data directory (JetStream, PostgreSQL, ClickHouse, node data, dev.json)")
	fs.StringVar(&natsConf, "nats-config", "", "nats.conf for the embedded server (optional)")
	fs.StringVar(&cfgFile, "config", "", "pool configuration YAML seeded into KV (optional)")
	fs.BoolVar(&reseed, "reseed", false, "let the configuration file overwrite values already in KV")
	fs.BoolVar(&demo, "demo", false, "also run the built-in CPU miner against the pool so blocks appear")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Var(&coins, "coins", "comma-separated coins to run: btc, ltc, bch (default btc)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	log, err := ops.NewLogger(stderr, logLevel)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return devpool.Run(ctx, devpool.Options{
		DataDir: dataDir, NATSConfig: natsConf, ConfigFile: cfgFile, Reseed: reseed, Coins: coins,
		Log: log, Out: stdout,
		Units: func(cfg config.Config, ep *devpool.Endpoints) ([]functions.Function, error) {
			return devUnits(cfg, ep)
		},
		AfterReady: demoMiner(demo),
	})
}

// devUnits is every unit `jetpool dev` runs: all functions, a gateway per
// coin and region, and the web server.
func devUnits(cfg config.Config, ep *devpool.Endpoints) ([]functions.Function, error) {
	reg := registry()
	var units []functions.Function
	for _, name := range reg.Names() {
		f, err := reg.New(name)
		if err != nil {
			return nil, err
		}
		units = append(units, f)
	}
	for _, sym := range slices.Sorted(maps.Keys(cfg.Coins)) {
		c := cfg.Coins[sym]
		if !c.Enabled {
			continue
		}
		for _, region := range slices.Sorted(maps.Keys(c.Regions)) {
			l := c.Regions[region]
			gw, err := gateway.New(gateway.Options{Symbol: sym, Network: c.Network, Region: region, TCPAddr: l.TCP, TLSAddr: l.TLS,
				Stratum: cfg.Stratum, Vardiff: cfg.VardiffFor(sym)})
			if err != nil {
				return nil, err
			}
			units = append(units, gw)
		}
	}
	units = append(units, web.New(strings.TrimPrefix(ep.Web, "http://")))
	return units, nil
}

func demoMiner(enabled bool) func(context.Context, *devpool.Endpoints) error {
	if !enabled {
		return nil
	}
	return func(ctx context.Context, ep *devpool.Endpoints) error {
		var errs []error
		for _, sym := range slices.Sorted(maps.Keys(ep.Stratum)) {
			algo := "sha256d"
			if c, err := coin.Get(sym, ep.Nodes[sym].Network); err == nil && c.Diff1() == target.ScryptDiff1 {
				algo = "scrypt"
			}
			m, err := miner.New(miner.Config{URL: ep.Stratum[sym]["tcp"], User: ep.PoolAddress[sym] + ".demo", Pass: "d=0.0002", Threads: 1, Algo: algo})
			if err != nil {
				errs = append(errs, err)
				continue
			}
			go func() { _ = m.Run(ctx) }()
			fmt.Fprintf(ep.Out(), "demo miner mining %s on %s as %s.demo\n", sym, ep.Stratum[sym]["tcp"], ep.PoolAddress[sym])
		}
		return errors.Join(errs...)
	}
}
