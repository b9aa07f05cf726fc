package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"time"

	"github.com/jetpool/jetpool/internal/loadgen"
	"github.com/jetpool/jetpool/internal/ops"
)

// runBench dispatches the load generators. `gateway-child` is the hidden
// role the self-contained stratum bench re-executes this binary as.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "usage: jetpool bench stratum --conns N --rate R --duration D [--url stratum+tcp://HOST:PORT]")
		return fmt.Errorf("%w: name a benchmark (stratum)", errUsage)
	}
	switch args[0] {
	case "stratum":
		return runBenchStratum(ctx, args[1:], stdout, stderr)
	case "gateway-child":
		return runBenchGatewayChild(ctx, args[1:], stderr)
	}
	return fmt.Errorf("%w: unknown benchmark %q (known: stratum)", errUsage, args[0])
}

func runBenchStratum(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench stratum", stderr)
	var (
		o                  loadgen.Options
		logLevel, pprofAt  string
		cpuProfile         string
		gatewayLog         bool
		gatewayLogLevelArg string
	)
	fs.IntVar(&o.Conns, "conns", 1000, "stratum connections (workers)")
	fs.Float64Var(&o.Rate, "rate", 1000, "target valid shares per second over all connections")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "length of the load phase")
	fs.StringVar(&o.URL, "url", "", "existing gateway (stratum+tcp://HOST:PORT); default: start NATS and a gateway process here")
	fs.IntVar(&o.GatewayPID, "gateway-pid", 0, "with --url: pid of the gateway process whose memory to report")
	fs.StringVar(&o.Address, "address", loadgen.DefaultAddress, "payout address workers authorize with (ADDRESS.wN); valid for the gateway's coin and network")
	fs.Float64Var(&o.Difficulty, "difficulty", loadgen.DefaultDifficulty, "self-contained: the gateway's fixed share difficulty")
	fs.IntVar(&o.Blocks, "blocks", loadgen.DefaultBlocks, "self-contained: new blocks published during the run (notify latency)")
	fs.IntVar(&o.TemplateTxs, "txs", loadgen.DefaultTemplateTxs, "self-contained: transactions in the synthetic block templates")
	fs.IntVar(&o.Dialers, "dialers", 32, "connections handshaking at once")
	fs.StringVar(&logLevel, "log-level", "warn", "bench log level: debug, info, warn or error")
	fs.BoolVar(&gatewayLog, "gateway-log", true, "self-contained: pass the gateway's log through to stderr")
	fs.StringVar(&gatewayLogLevelArg, "gateway-log-level", "warn", "self-contained: the gateway's log level")
	fs.StringVar(&pprofAt, "gateway-pprof", "", "self-contained: serve the gateway's net/http/pprof on this address (127.0.0.1:6060)")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write the bench process's CPU profile (client and embedded NATS) to this file")
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
	o.Log = log
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if gatewayLog {
		o.GatewayOutput = stderr
	}
	if o.URL == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: find this binary to start the gateway: %w", err)
		}
		o.Gateway = func(natsURL, tcpAddr string) *exec.Cmd {
			a := []string{"bench", "gateway-child", "--nats", natsURL, "--tcp", tcpAddr, "--log-level", gatewayLogLevelArg}
			if pprofAt != "" {
				a = append(a, "--pprof", pprofAt)
			}
			return exec.Command(exe, a...)
		}
	}
	res, err := loadgen.Run(ctx, o)
	if errors.Is(err, loadgen.ErrUsage) {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if err != nil && res.Conns == 0 {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if encErr := enc.Encode(res); encErr != nil {
		return encErr
	}
	return err
}

func runBenchGatewayChild(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("bench gateway-child", stderr)
	var o loadgen.ChildOptions
	var logLevel string
	fs.StringVar(&o.NATSURL, "nats", "", "NATS URL of the bench")
	fs.StringVar(&o.TCPAddr, "tcp", "", "stratum TCP listen address")
	fs.StringVar(&o.Coin, "coin", "btc", "coin symbol")
	fs.StringVar(&o.Region, "region", loadgen.BenchRegion, "region")
	fs.StringVar(&o.PprofAddr, "pprof", "", "net/http/pprof listen address")
	fs.StringVar(&logLevel, "log-level", "warn", "log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := ops.NewLogger(stderr, logLevel)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	o.Log = log.With("proc", "bench-gateway")
	if err := loadgen.RunGatewayChild(ctx, o); errors.Is(err, loadgen.ErrUsage) {
		return fmt.Errorf("%w: %w", errUsage, err)
	} else if err != nil {
		return err
	}
	return nil
}
