package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Options configure one process.
type Options struct {
	// Name identifies the process kind in logs ("dev", "fn", "gateway", "web").
	Name string
	// NATSURL is dialled unless Conn is given.
	NATSURL string
	// Dial, when set, makes the connection (e.g. in-process for dev).
	Dial func(opts ...nats.Option) (*nats.Conn, error)
	// Replicas for streams and buckets (1 in dev, 3 on a cluster).
	Replicas int
	// OpsAddr is the ops endpoint listen address ("127.0.0.1:0" for a free port; "" to disable).
	OpsAddr string
	Log     *slog.Logger
	Deps    functions.Deps
}

// Process is a running bootstrap: an Env ready for units, and the ops endpoint.
type Process struct {
	Env      *functions.Env
	Ops      *ops.Server
	Registry *prometheus.Registry
	log      *slog.Logger
}

// Start connects and prepares everything units need.
func Start(ctx context.Context, o Options) (*Process, error) {
	log := o.Log
	host, _ := os.Hostname()
	instance := fmt.Sprintf("%s-%s-%d", o.Name, host, os.Getpid())
	natsOpts := []nats.Option{
		nats.Name("jetpool-" + instance),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrl()) }),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			subj := ""
			if s != nil {
				subj = s.Subject
			}
			log.Error("nats async error", "subject", subj, "err", err)
		}),
	}
	dial := o.Dial
	if dial == nil {
		url := o.NATSURL
		if url == "" {
			url = nats.DefaultURL
		}
		dial = func(opts ...nats.Option) (*nats.Conn, error) { return nats.Connect(url, opts...) }
	}
	nc, err := dial(natsOpts...)
	if err != nil {
		return nil, fmt.Errorf("process: connect nats: %w", err)
	}
	// A gateway with 10k miners publishes a burst of worker events when they
	// all disconnect at once: allow a deep async window so none is dropped.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1<<16))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("process: jetstream: %w", err)
	}
	sopts := streams.Options{Replicas: o.Replicas}
	if err := streams.Ensure(ctx, js, sopts); err != nil {
		nc.Close()
		return nil, err
	}
	store, err := kv.Ensure(ctx, js, kv.Options{Replicas: o.Replicas})
	if err != nil {
		nc.Close()
		return nil, err
	}
	reg := ops.NewRegistry()
	for _, c := range append(functions.Collectors(), kv.Collectors()...) {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			nc.Close()
			return nil, fmt.Errorf("process: metrics: %w", err)
		}
	}
	ready := ops.NewReadiness()
	ready.Add("nats", func(context.Context) error {
		if !nc.IsConnected() {
			return fmt.Errorf("nats: %s", nc.Status())
		}
		return nil
	})
	ready.Add("jetstream", func(ctx context.Context) error {
		for _, name := range []string{streams.Shares, streams.Blocks, streams.Jobs} {
			if _, err := js.Stream(ctx, name); err != nil {
				return fmt.Errorf("stream %s: %w", name, err)
			}
		}
		return nil
	})
	p := &Process{
		Env: &functions.Env{NC: nc, JS: js, KV: store, Streams: sopts, Log: log, Metrics: reg,
			Ready: ready, Instance: instance, Deps: o.Deps},
		Registry: reg,
		log:      log,
	}
	if o.OpsAddr != "" {
		p.Ops, err = ops.Serve(o.OpsAddr, reg, ready, log, nil)
		if err != nil {
			nc.Close()
			return nil, err
		}
		log.Info("ops endpoint", "url", p.Ops.URL())
	}
	return p, nil
}

// Run runs units until ctx ends or one fails.
func (p *Process) Run(ctx context.Context, units ...functions.Function) error {
	return functions.RunAll(ctx, p.Env, units...)
}

// Close drains the NATS connection and stops the ops endpoint.
func (p *Process) Close() {
	if err := p.Env.NC.Drain(); err != nil {
		p.log.Warn("nats drain", "err", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !p.Env.NC.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.Ops != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = p.Ops.Shutdown(ctx)
	}
}
