package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/internal/process"
	"github.com/jetpool/jetpool/kv"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
)

func runGateway(ctx context.Context, args []string, _ io.Writer, stderr io.Writer) error {
	fs := newFlagSet("gateway", stderr)
	var cf commonFlags
	cf.register(fs)
	var sym, region, tcpAddr, tlsAddr, certFile, keyFile string
	fs.StringVar(&sym, "coin", "", "coin symbol (btc, …)")
	fs.StringVar(&region, "region", "default", "region name; shares go to shares.<coin>.<region>")
	fs.StringVar(&tcpAddr, "tcp", "", "stratum TCP listen address (default: the coin's region config in KV)")
	fs.StringVar(&tlsAddr, "tls", "", "stratum TLS listen address (default: the coin's region config in KV)")
	fs.StringVar(&certFile, "tls-cert", "", "TLS certificate PEM (default: self-signed)")
	fs.StringVar(&keyFile, "tls-key", "", "TLS key PEM")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if sym == "" {
		return fmt.Errorf("%w: --coin is required", errUsage)
	}
	log, err := ops.NewLogger(stderr, cf.logLevel)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	var cert *tls.Certificate
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		cert = &c
	}
	p, err := process.Start(ctx, process.Options{Name: "gateway", NATSURL: cf.natsURL, Replicas: cf.replicas, OpsAddr: cf.opsAddr, Log: log})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := cf.seed(ctx, p); err != nil {
		return err
	}
	gw, err := gatewayFromKV(ctx, p.Env.KV, sym, region, tcpAddr, tlsAddr, cert)
	if err != nil {
		return err
	}
	return p.Run(ctx, gw)
}

// gatewayFromKV builds a gateway from the coin and stratum settings in KV.
func gatewayFromKV(ctx context.Context, store *kv.Store, sym, region, tcpAddr, tlsAddr string, cert *tls.Certificate) (*gateway.Gateway, error) {
	coinCfg, _, err := kv.Get[config.Coin](ctx, store.Coins, sym)
	if err != nil {
		return nil, fmt.Errorf("coin %s: %w (seed it with `jetpool dev` or the config file)", sym, err)
	}
	if l, ok := coinCfg.Regions[region]; ok {
		if tcpAddr == "" {
			tcpAddr = l.TCP
		}
		if tlsAddr == "" {
			tlsAddr = l.TLS
		}
	}
	def := config.Default()
	st, _, err := kv.Get[config.Stratum](ctx, store.Config, config.KeyStratum)
	if err != nil {
		st = def.Stratum
	}
	vd, _, err := kv.Get[config.Vardiff](ctx, store.Config, config.VardiffKey(sym))
	if err != nil {
		if vd, _, err = kv.Get[config.Vardiff](ctx, store.Config, config.KeyVardiff); err != nil {
			vd = def.Vardiff
		}
	}
	return gateway.New(gateway.Options{Symbol: sym, Network: coinCfg.Network, Region: region, TCPAddr: tcpAddr, TLSAddr: tlsAddr,
		TLSCert: cert, Stratum: st, Vardiff: vd, ReconnectWait: 3 * time.Second})
}
