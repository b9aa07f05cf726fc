package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/process"
	"github.com/jetpool/jetpool/kv"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
)

// ChildOptions configure the gateway process of the self-contained bench.
type ChildOptions struct {
	NATSURL string
	Coin    string // default btc
	Region  string // default BenchRegion
	TCPAddr string
	// PprofAddr, when set, serves net/http/pprof there (127.0.0.1:PORT) so
	// the gateway can be profiled under load.
	PprofAddr string
	Log       *slog.Logger
}

// RunGatewayChild runs one stratum gateway, configured from KV exactly as
// `jetpool gateway` is, until ctx ends. It is what the process started by
// Options.Gateway runs.
func RunGatewayChild(ctx context.Context, o ChildOptions) error {
	if o.NATSURL == "" || o.TCPAddr == "" {
		return fmt.Errorf("%w: the gateway child needs a NATS URL and a TCP address", ErrUsage)
	}
	if o.Coin == "" {
		o.Coin = benchCoin
	}
	if o.Region == "" {
		o.Region = BenchRegion
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if _, err := RaiseFileLimit(0); err != nil {
		o.Log.Warn("open-file limit", "err", err)
	}
	p, err := process.Start(ctx, process.Options{Name: "bench-gateway", NATSURL: o.NATSURL, Log: o.Log})
	if err != nil {
		return err
	}
	defer p.Close()
	coinCfg, _, err := kv.Get[config.Coin](ctx, p.Env.KV.Coins, o.Coin)
	if err != nil {
		return fmt.Errorf("loadgen: coin %s: %w", o.Coin, err)
	}
	st, _, err := kv.Get[config.Stratum](ctx, p.Env.KV.Config, config.KeyStratum)
	if err != nil {
		return fmt.Errorf("loadgen: stratum settings: %w", err)
	}
	vd, _, err := kv.Get[config.Vardiff](ctx, p.Env.KV.Config, config.KeyVardiff)
	if err != nil {
		return fmt.Errorf("loadgen: vardiff settings: %w", err)
	}
	gw, err := gateway.New(gateway.Options{Symbol: o.Coin, Network: coinCfg.Network, Region: o.Region,
		TCPAddr: o.TCPAddr, Stratum: st, Vardiff: vd, ReconnectWait: time.Second})
	if err != nil {
		return err
	}
	if o.PprofAddr != "" {
		stop, err := servePprof(o.PprofAddr, o.Log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return p.Run(ctx, gw)
}

func servePprof(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: pprof listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("pprof listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
