package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/kv"
)

// Options configure one gateway.
type Options struct {
	Symbol  string
	Network string
	Region  string
	// TCPAddr and TLSAddr are listen addresses ("127.0.0.1:3333"); "" disables.
	// Port 0 picks a free port (see Gateway.Addrs).
	TCPAddr string
	TLSAddr string
	// TLSCert is the certificate for the TLS port; nil generates a
	// self-signed one (dev).
	TLSCert *tls.Certificate
	// Stratum and Vardiff are the starting settings; KV `config` overrides
	// them while running.
	Stratum config.Stratum
	Vardiff config.Vardiff
	// ReconnectWait is the wait sent in client.reconnect at shutdown.
	ReconnectWait time.Duration
}

// Gateway is one coin's stratum server in one region. It implements
// functions.Function so it runs under the same runtime as everything else.
type Gateway struct {
	opts  Options
	id    string
	coin  coin.Coin
	env   *functions.Env
	log   *slog.Logger
	jobs  *jobStore
	bans  *banList
	batch *batcher

	stratumCfg atomic.Pointer[config.Stratum]
	vardiffCfg atomic.Pointer[config.Vardiff]

	mu       sync.Mutex
	sessions map[*session]struct{}
	perIP    map[string]int
	closing  bool

	// accepted is the accepted-share counter bound to this coin and region
	// once, so the share path does no label lookup; conns likewise.
	accepted prometheus.Counter
	conns    prometheus.Gauge

	// pollers serve plain TCP connections (nil outside Linux).
	pollers *pollers

	en1Prefix byte
	en1Next   atomic.Uint32

	listeners []net.Listener
	addrs     map[string]string
	ready     chan struct{}
	wg        sync.WaitGroup
}

// New makes a gateway; Run starts it.
func New(o Options) (*Gateway, error) {
	c, err := coin.Get(o.Symbol, o.Network)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if o.Region == "" {
		o.Region = "default"
	}
	if o.ReconnectWait == 0 {
		o.ReconnectWait = 3 * time.Second
	}
	var rnd [9]byte
	_, _ = rand.Read(rnd[:])
	g := &Gateway{
		opts: o, coin: c,
		id:        fmt.Sprintf("%s-%s-%s", o.Symbol, o.Region, hex.EncodeToString(rnd[3:])),
		sessions:  map[*session]struct{}{},
		perIP:     map[string]int{},
		en1Prefix: rnd[2],
		addrs:     map[string]string{},
		ready:     make(chan struct{}),
	}
	g.accepted = mShares.WithLabelValues(o.Symbol, o.Region, "accepted")
	g.conns = mConnections.WithLabelValues(o.Symbol, o.Region)
	g.en1Next.Store(uint32(rnd[0])<<16 | uint32(rnd[1])<<8)
	st, vd := o.Stratum, o.Vardiff
	g.stratumCfg.Store(&st)
	g.vardiffCfg.Store(&vd)
	return g, nil
}

// Name implements functions.Function.
func (g *Gateway) Name() string { return "gateway-" + g.opts.Symbol + "-" + g.opts.Region }

// ID is this gateway process's unique id (new on every start, so share
// batch ids never collide with a previous run's).
func (g *Gateway) ID() string { return g.id }

// Ready is closed once the listeners accept connections.
func (g *Gateway) Ready() <-chan struct{} { return g.ready }

// Addrs returns the bound listen addresses by scheme ("stratum+tcp", "stratum+tls").
func (g *Gateway) Addrs() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]string, len(g.addrs))
	for k, v := range g.addrs {
		out[k] = v
	}
	return out
}

func (g *Gateway) stratum() *config.Stratum { return g.stratumCfg.Load() }
func (g *Gateway) vardiff() *config.Vardiff { return g.vardiffCfg.Load() }

// Run serves until ctx ends, then sends client.reconnect to every miner,
// flushes the share batches and closes.
func (g *Gateway) Run(ctx context.Context, env *functions.Env) error {
	g.env = env
	g.log = env.Log.With("gateway", g.id, "coin", g.opts.Symbol, "region", g.opts.Region)
	if env.Metrics != nil {
		for _, c := range Collectors() {
			_ = env.Metrics.Register(c)
		}
	}
	// Hot-reloaded settings.
	if err := kv.Watch(ctx, env.KV.Config, config.KeyStratum, config.Stratum.Validate, func(s config.Stratum) {
		g.stratumCfg.Store(&s)
		g.log.Info("stratum settings applied")
	}, g.log); err != nil {
		return err
	}
	// Vardiff: the coin's own section (config/vardiff.<coin>) wins over the
	// pool's (config/vardiff) while it exists.
	var vd vardiffSettings
	applyVardiff := func(v config.Vardiff, changed bool) {
		if !changed {
			return
		}
		g.vardiffCfg.Store(&v)
		g.forEachSession(func(s *session) { s.applyVardiffConfig(v) })
		g.log.Info("vardiff settings applied", "difficulty_min", v.Min, "difficulty_max", v.Max, "target_seconds", v.TargetSeconds)
	}
	if err := kv.Watch(ctx, env.KV.Config, config.KeyVardiff, config.Vardiff.Validate, func(v config.Vardiff) {
		applyVardiff(vd.set(&vd.pool, v))
	}, g.log); err != nil {
		return err
	}
	if err := kv.Watch(ctx, env.KV.Config, config.VardiffKey(g.opts.Symbol), config.Vardiff.Validate, func(v config.Vardiff) {
		applyVardiff(vd.set(&vd.coin, v))
	}, g.log); err != nil {
		return err
	}
	var err error
	if g.bans, err = watchBans(ctx, env.KV.Bans, g.log); err != nil {
		return err
	}
	g.jobs = newJobStore()
	g.batch = newBatcher(g)
	batchDone := make(chan struct{})
	batchCtx, stopBatch := context.WithCancel(context.WithoutCancel(ctx))
	go func() { defer close(batchDone); g.batch.run(batchCtx) }()
	defer func() { stopBatch(); <-batchDone }()

	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	if err := g.followJobs(jobsCtx); err != nil {
		return err
	}
	if g.pollers, err = startPollers(g); err != nil {
		return err
	}
	defer g.pollers.stop() // after shutdown: every session is gone
	stopSweep := make(chan struct{})
	sweepDone := make(chan struct{})
	go func() { defer close(sweepDone); g.sweep(stopSweep) }()
	defer func() { close(stopSweep); <-sweepDone }()
	if err := g.listen(); err != nil {
		return err
	}
	rec := kv.ServiceRecord{Kind: "gateway", ID: g.id, Coin: g.opts.Symbol, Region: g.opts.Region,
		Endpoints: g.Addrs(), Version: functions.Version}
	if err := kv.Heartbeat(ctx, env.KV.Services, rec, 10*time.Second, g.log); err != nil {
		g.closeListeners()
		return err
	}
	env.Ready.Add(g.Name(), func(context.Context) error {
		if g.jobs.currentJob() == nil {
			return errors.New("no job yet")
		}
		return nil
	})
	close(g.ready)
	g.log.Info("stratum gateway listening", "addrs", g.Addrs())
	go g.tickLoop(ctx)

	<-ctx.Done()
	g.shutdown()
	return nil
}

func (g *Gateway) listen() error {
	type spec struct {
		scheme, addr string
		tls          bool
	}
	var specs []spec
	if g.opts.TCPAddr != "" {
		specs = append(specs, spec{"stratum+tcp", g.opts.TCPAddr, false})
	}
	if g.opts.TLSAddr != "" {
		specs = append(specs, spec{"stratum+tls", g.opts.TLSAddr, true})
	}
	if len(specs) == 0 {
		return errors.New("gateway: no listener configured (tcp or tls address)")
	}
	for _, sp := range specs {
		ln, err := net.Listen("tcp", sp.addr)
		if err != nil {
			g.closeListeners()
			return fmt.Errorf("gateway: listen %s: %w", sp.addr, err)
		}
		if sp.tls {
			cert := g.opts.TLSCert
			if cert == nil {
				c, err := selfSignedCert()
				if err != nil {
					ln.Close()
					g.closeListeners()
					return err
				}
				cert = c
			}
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12})
		}
		g.mu.Lock()
		g.listeners = append(g.listeners, ln)
		g.addrs[sp.scheme] = ln.Addr().String()
		g.mu.Unlock()
		g.wg.Add(1)
		go g.acceptLoop(ln, !sp.tls)
	}
	return nil
}

func (g *Gateway) closeListeners() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, ln := range g.listeners {
		_ = ln.Close()
	}
}

// acceptLoop admits connections; plain ones (not TLS) go to the pollers.
func (g *Gateway) acceptLoop(ln net.Listener, plain bool) {
	defer g.wg.Done()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, keep serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			g.log.Warn("accept failed", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		g.admit(conn, plain)
	}
}

// admit applies bans and the per-IP limit, then starts a session: on a
// poller for a plain TCP connection (Linux), else on its own goroutine.
func (g *Gateway) admit(conn net.Conn, plain bool) {
	ip := remoteIP(conn)
	if b, banned := g.bans.ip(ip); banned {
		mRejectedConns.WithLabelValues(g.opts.Symbol, g.opts.Region, "banned").Inc()
		g.log.Info("refused banned ip", "ip", ip, "until", b.Until, "reason", b.Reason)
		_ = conn.Close()
		return
	}
	g.mu.Lock()
	refuse := ""
	switch {
	case g.closing:
		refuse = "shutting-down"
	case g.perIP[ip] >= g.stratum().MaxConnsPerIP:
		refuse = "per-ip-limit"
	}
	if refuse != "" {
		g.mu.Unlock()
		mRejectedConns.WithLabelValues(g.opts.Symbol, g.opts.Region, refuse).Inc()
		if refuse == "per-ip-limit" {
			g.log.Warn("refused connection over the per-ip limit", "ip", ip, "limit", g.stratum().MaxConnsPerIP)
		}
		_ = conn.Close()
		return
	}
	g.perIP[ip]++
	s := newSession(g, ip)
	if !plain || g.pollers.attach(s, conn) != nil {
		s.nc = conn
	}
	g.sessions[s] = struct{}{}
	g.wg.Add(1)
	g.mu.Unlock()
	g.conns.Inc()
	s.event(payload.WorkerConnected, nil, "")
	if s.p != nil {
		s.p.add(s)
		return
	}
	go s.serveConn()
}

// sessionEnded forgets a session whose connection is closed.
func (g *Gateway) sessionEnded(s *session) {
	g.mu.Lock()
	delete(g.sessions, s)
	if g.perIP[s.ip]--; g.perIP[s.ip] <= 0 {
		delete(g.perIP, s.ip)
	}
	g.mu.Unlock()
	g.conns.Dec()
	s.mu.Lock()
	w := s.primary
	s.mu.Unlock()
	s.event(payload.WorkerDisconnected, w, "")
	g.wg.Done()
}

// run runs f now when the caller may block, else on a goroutine that
// shutdown waits for (pollers must not wait on the network).
func (g *Gateway) run(mayBlock bool, f func()) {
	if mayBlock {
		f()
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
}

func remoteIP(conn net.Conn) string {
	host, _, err := net.SplitHostPort(conn.RemoteAddr().String())
	if err != nil {
		return conn.RemoteAddr().String()
	}
	return host
}

// snapshot appends the open sessions to list.
func (g *Gateway) snapshot(list []*session) []*session {
	g.mu.Lock()
	defer g.mu.Unlock()
	for s := range g.sessions {
		list = append(list, s)
	}
	return list
}

func (g *Gateway) forEachSession(f func(*session)) {
	g.mu.Lock()
	n := len(g.sessions)
	g.mu.Unlock()
	list := g.snapshot(make([]*session, 0, n))
	// A small pool so one slow miner does not hold up everyone's notify.
	const workers = 16
	ch := make(chan *session)
	var wg sync.WaitGroup
	for range min(workers, len(list)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range ch {
				f(s)
			}
		}()
	}
	for _, s := range list {
		ch <- s
	}
	close(ch)
	wg.Wait()
}

// SessionCount is the number of open connections.
func (g *Gateway) SessionCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sessions)
}

func (g *Gateway) tickLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			g.forEachSession(func(s *session) { s.tick(now) })
		}
	}
}

// nextExtranonce1 gives every session a distinct 4-byte extranonce1: a
// per-process random prefix byte and a 24-bit counter.
func (g *Gateway) nextExtranonce1() [4]byte {
	n := g.en1Next.Add(1) & 0xffffff
	return [4]byte{g.en1Prefix, byte(n >> 16), byte(n >> 8), byte(n)}
}

func (g *Gateway) shutdown() {
	g.log.Info("gateway shutting down: asking miners to reconnect elsewhere")
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
	g.closeListeners()
	g.forEachSession(func(s *session) { s.sendReconnect(g.opts.ReconnectWait) })
	// Give in-flight submits a moment to be answered, then close.
	time.Sleep(200 * time.Millisecond)
	g.forEachSession(func(s *session) { s.close() })
	g.wg.Wait()
}

// vardiffSettings merges the pool's and the coin's vardiff sections as the
// two KV watches deliver them.
type vardiffSettings struct {
	mu         sync.Mutex
	pool, coin *config.Vardiff
}

// set stores v in *slot and returns the section in force and whether it is
// the one just set (the pool's is shadowed while the coin has its own).
func (s *vardiffSettings) set(slot **config.Vardiff, v config.Vardiff) (config.Vardiff, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*slot = &v
	if s.coin != nil {
		return *s.coin, slot == &s.coin
	}
	return v, true
}
