package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	// DefaultAddress is a regtest P2WPKH address (key hash: the first 20
	// bytes of SHA-256("jetpool bench worker")).
	DefaultAddress = "bcrt1qk2a2m9ns605re5mxlsvdx6y4y3qt2gshxwqwjy"
	// DefaultDifficulty is the fixed share difficulty of the
	// self-contained bench: 2^-31, a target of about 2^255, so half of all
	// hashes are valid shares and the client spends ~2 hashes per share.
	DefaultDifficulty  = 1.0 / (1 << 31)
	DefaultTemplateTxs = 2000
	DefaultBlocks      = 3
	defaultDialers     = 32
)

// ErrUsage marks bad options.
var ErrUsage = errors.New("loadgen: bad options")

// GatewayLauncher returns the command that runs the gateway under test
// (RunGatewayChild) against natsURL, listening on tcpAddr. Run starts it,
// reads its memory and CPU from /proc and stops it.
type GatewayLauncher func(natsURL, tcpAddr string) *exec.Cmd

// Options configure one run.
type Options struct {
	Conns    int           // connections (workers)
	Rate     float64       // target shares per second, over all connections
	Duration time.Duration // length of the load phase

	// URL ("stratum+tcp://host:port" or "host:port") hits an existing
	// gateway; empty runs the self-contained bench.
	URL string
	// GatewayPID, with URL, is the gateway process whose VmRSS is read.
	GatewayPID int

	// Address is the payout address workers authorize with (ADDRESS.wN);
	// it must be valid for the gateway's coin and network.
	Address string
	// Difficulty: self-contained, the gateway's fixed share difficulty
	// (vardiff min = initial = max).
	Difficulty float64
	// Blocks is how many new blocks the self-contained bench publishes
	// during the load phase to measure notify latency.
	Blocks int
	// TemplateTxs is the transaction count of the synthetic templates.
	TemplateTxs int
	// Gateway launches the gateway process (self-contained mode).
	Gateway GatewayLauncher
	// GatewayOutput receives the gateway process's stdout and stderr.
	GatewayOutput io.Writer
	// Dialers is how many connections handshake at once.
	Dialers int
	Log     *slog.Logger
}

// Result is what `jetpool bench stratum` prints.
type Result struct {
	Mode            string  `json:"mode"` // "self-contained" or "url"
	Conns           int     `json:"conns"`
	Connected       int     `json:"connected"`
	RateTarget      float64 `json:"rate_target"`
	DurationS       float64 `json:"duration_s"`
	Submitted       uint64  `json:"submitted"`
	Accepted        uint64  `json:"accepted"`
	Rejected        uint64  `json:"rejected"`
	Stale           uint64  `json:"stale"`
	Unanswered      int64   `json:"unanswered"`
	Unsent          uint64  `json:"unsent"`
	SharesPerS      float64 `json:"shares_per_s"`
	SubmitP50Ms     float64 `json:"submit_p50_ms"`
	SubmitP99Ms     float64 `json:"submit_p99_ms"`
	NotifyP50Ms     float64 `json:"notify_p50_ms"`
	NotifyP99Ms     float64 `json:"notify_p99_ms"`
	NotifyMaxMs     float64 `json:"notify_max_ms"`
	NotifySamples   uint64  `json:"notify_samples"`
	NotifyReference string  `json:"notify_reference"`
	Blocks          int     `json:"blocks"`
	ConnectS        float64 `json:"connect_s"`
	LostConns       uint64  `json:"lost_conns"`
	// HardShareTries counts submit slots given up because no share was
	// found in 4,096 hashes: the gateway's difficulty is too high for a
	// CPU load generator (lower its vardiff minimum).
	HardShareTries   uint64  `json:"hard_share_tries,omitempty"`
	ProtocolErrors   uint64  `json:"protocol_errors"`
	FirstReject      string  `json:"first_reject,omitempty"`
	ShareDifficulty  float64 `json:"share_difficulty,omitempty"`
	TemplateTxs      int     `json:"template_txs,omitempty"`
	GatewayPID       int     `json:"gateway_pid,omitempty"`
	GatewayRSSBase   int64   `json:"gateway_rss_base_bytes,omitempty"`
	GatewayRSSIdle   int64   `json:"gateway_rss_idle_bytes,omitempty"`
	GatewayRSS       int64   `json:"gateway_rss_bytes,omitempty"`
	RSSPerConn       int64   `json:"rss_per_conn_bytes,omitempty"`
	RSSPerConnLoaded int64   `json:"rss_per_conn_loaded_bytes,omitempty"`
	GatewayCPUS      float64 `json:"gateway_cpu_s,omitempty"`
	GatewayCPUPerK   float64 `json:"gateway_cpu_ms_per_1k_shares,omitempty"`
	BenchCPUS        float64 `json:"bench_cpu_s"`
	CPUs             int     `json:"cpus"`
	// The machine during the load phase: all busy CPU seconds, those in
	// interrupts/softirqs (loopback TCP), those of processes other than the
	// bench and the gateway (busy - irq - ours), steal time, load average.
	// A shared machine makes every figure above worse; these say how much.
	HostBusyCPUS  float64 `json:"host_busy_cpu_s"`
	HostIRQCPUS   float64 `json:"host_irq_cpu_s"`
	HostOtherCPUS float64 `json:"host_other_cpu_s"`
	HostStealS    float64 `json:"host_steal_s"`
	HostLoadAvg1  float64 `json:"host_loadavg_1m"`
}

func (o *Options) defaults() error {
	if o.Conns < 1 {
		return fmt.Errorf("%w: conns must be >= 1", ErrUsage)
	}
	if !(o.Rate > 0) {
		return fmt.Errorf("%w: rate must be > 0", ErrUsage)
	}
	if o.Duration <= 0 {
		return fmt.Errorf("%w: duration must be > 0", ErrUsage)
	}
	if o.Address == "" {
		o.Address = DefaultAddress
	}
	if o.Difficulty == 0 {
		o.Difficulty = DefaultDifficulty
	}
	if !(o.Difficulty > 0) {
		return fmt.Errorf("%w: difficulty must be > 0", ErrUsage)
	}
	if o.Blocks < 0 {
		return fmt.Errorf("%w: blocks must be >= 0", ErrUsage)
	}
	if o.TemplateTxs == 0 {
		o.TemplateTxs = DefaultTemplateTxs
	}
	if o.TemplateTxs < 0 {
		return fmt.Errorf("%w: template txs must be >= 0", ErrUsage)
	}
	if o.Dialers <= 0 {
		o.Dialers = defaultDialers
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.GatewayOutput == nil {
		o.GatewayOutput = io.Discard
	}
	if o.URL == "" && o.Gateway == nil {
		return fmt.Errorf("%w: the self-contained bench needs a gateway launcher", ErrUsage)
	}
	return nil
}

// Run runs one bench and returns its figures. Every process and server it
// started is stopped before it returns, also when ctx is cancelled.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.defaults(); err != nil {
		return Result{}, err
	}
	if _, err := RaiseFileLimit(uint64(o.Conns) + 1024); err != nil {
		o.Log.Warn("could not raise the open-file limit", "err", err)
	}
	if o.URL != "" {
		return runURL(ctx, o)
	}
	return runSelfContained(ctx, o)
}

func runURL(ctx context.Context, o Options) (Result, error) {
	addr := strings.TrimPrefix(o.URL, "stratum+tcp://")
	if strings.Contains(addr, "://") {
		return Result{}, fmt.Errorf("%w: only stratum+tcp:// URLs are supported, got %q", ErrUsage, o.URL)
	}
	r := Result{Mode: "url", NotifyReference: "first connection to receive the job", GatewayPID: o.GatewayPID}
	var proc *procStats
	if o.GatewayPID > 0 {
		proc = &procStats{pid: o.GatewayPID}
	}
	sh := &clientShared{c: &counters{}}
	err := drive(ctx, o, addr, sh, proc, &r, nil)
	return r, err
}

// drive connects, loads and measures. publishBlock (self-contained mode)
// is called Blocks times, evenly spaced in the load phase.
func drive(ctx context.Context, o Options, addr string, sh *clientShared, proc *procStats, r *Result,
	publishBlock func(context.Context) error) error {
	r.Conns, r.RateTarget, r.CPUs = o.Conns, o.Rate, runtime.NumCPU()
	benchCPU0 := selfCPU()
	rs, err := startReaders(runtime.GOMAXPROCS(0))
	if err != nil {
		o.Log.Warn("no epoll readers; one goroutine per connection", "err", err)
	}
	sh.readers = rs
	defer rs.stop() // after the connections are closed (deferred below)

	// Connect every worker.
	t0 := time.Now()
	conns, err := connectAll(ctx, o, addr, sh)
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	r.Connected = len(conns)
	r.ConnectS = time.Since(t0).Seconds()
	if err != nil {
		return err
	}
	o.Log.Info("connected", "conns", len(conns), "seconds", r.ConnectS)

	if proc != nil {
		time.Sleep(2 * time.Second) // let the gateway settle after the handshakes
		r.GatewayRSSIdle = proc.rss()
		if r.GatewayRSSBase > 0 {
			r.RSSPerConn = (r.GatewayRSSIdle - r.GatewayRSSBase) / int64(len(conns))
		}
		proc.markCPU()
	}

	// Load.
	host0, benchLoad0 := readHostCPU(), selfCPU()
	var gwLoad0 float64
	if proc != nil {
		gwLoad0 = procCPU(proc.pid)
	}
	sh.loading.Store(true)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	shards := max(1, runtime.GOMAXPROCS(0))
	shards = min(shards, len(conns))
	for s := range shards {
		var mine []*conn
		for i := s; i < len(conns); i += shards {
			mine = append(mine, conns[i])
		}
		wg.Add(1)
		go func() { defer wg.Done(); schedule(stop, mine, o.Rate/float64(shards), sh.c) }()
	}
	start := time.Now()
	var blockErr error
	if publishBlock != nil && o.Blocks > 0 {
		for k := 1; k <= o.Blocks; k++ {
			at := start.Add(o.Duration * time.Duration(k) / time.Duration(o.Blocks+1))
			if !sleepUntil(ctx, at) {
				break
			}
			if err := publishBlock(ctx); err != nil {
				blockErr = err
				break
			}
			r.Blocks++
		}
	}
	sleepUntil(ctx, start.Add(o.Duration))
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	host1 := readHostCPU()
	ours := selfCPU() - benchLoad0
	if proc != nil {
		ours += procCPU(proc.pid) - gwLoad0
	}
	r.HostBusyCPUS, r.HostIRQCPUS = host1.busy-host0.busy, host1.irq-host0.irq
	r.HostOtherCPUS = max(0, r.HostBusyCPUS-r.HostIRQCPUS-ours)
	r.HostStealS = host1.steal - host0.steal
	r.HostLoadAvg1 = loadAvg1()
	// Answers still on the way count; wait for them a little.
	deadline := time.Now().Add(10 * time.Second)
	for sh.c.inflight.Load() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	sh.loading.Store(false)

	c := sh.c
	r.DurationS = elapsed.Seconds()
	r.Submitted, r.Accepted, r.Rejected, r.Stale = c.submitted.Load(), c.accepted.Load(), c.rejected.Load(), c.stale.Load()
	r.Unanswered, r.Unsent = c.inflight.Load(), c.unsent.Load()
	r.SharesPerS = float64(r.Accepted) / elapsed.Seconds()
	r.SubmitP50Ms, r.SubmitP99Ms = c.submitLatency.Quantile(0.5), c.submitLatency.Quantile(0.99)
	r.NotifyP50Ms, r.NotifyP99Ms, r.NotifyMaxMs = c.notifyLatency.Quantile(0.5), c.notifyLatency.Quantile(0.99), c.notifyLatency.Quantile(1)
	r.NotifySamples = c.notifyLatency.Count()
	r.LostConns, r.ProtocolErrors, r.HardShareTries = c.lost.Load(), c.protocolErrors.Load(), c.tooHard.Load()
	if p := c.firstReject.Load(); p != nil {
		r.FirstReject = *p
	}
	if proc != nil {
		r.GatewayRSS = proc.rss()
		if r.GatewayRSSBase > 0 {
			r.RSSPerConnLoaded = (r.GatewayRSS - r.GatewayRSSBase) / int64(len(conns))
		}
		r.GatewayCPUS = proc.cpuSince()
		if r.Accepted > 0 {
			r.GatewayCPUPerK = r.GatewayCPUS * 1000 / float64(r.Accepted) * 1000
		}
	}
	r.BenchCPUS = selfCPU() - benchCPU0
	if err := ctx.Err(); err != nil {
		return err
	}
	return blockErr
}

// connectAll dials and handshakes o.Conns workers, o.Dialers at a time.
func connectAll(ctx context.Context, o Options, addr string, sh *clientShared) ([]*conn, error) {
	conns := make([]*conn, o.Conns)
	next := make(chan int)
	errs := make(chan error, o.Dialers)
	var wg sync.WaitGroup
	for range min(o.Dialers, o.Conns) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := handshake(ctx, addr, sh, o.Address+".w"+strconv.Itoa(i))
				if err != nil {
					errs <- fmt.Errorf("connection %d: %w", i, err)
					return
				}
				conns[i] = c
			}
		}()
	}
	var firstErr error
feed:
	for i := range o.Conns {
		select {
		case next <- i:
		case firstErr = <-errs:
			break feed
		case <-ctx.Done():
			firstErr = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if firstErr == nil {
		firstErr = <-errs
	}
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out, firstErr
}

func handshake(ctx context.Context, addr string, sh *clientShared, user string) (*conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	var nc net.Conn
	var err error
	for attempt := 0; ; attempt++ {
		nc, err = d.DialContext(ctx, "tcp", addr)
		if err == nil || attempt == 4 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	c := newConn(sh, nc, user)
	if err := c.start(); err != nil {
		_ = nc.Close()
		return nil, err
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case err = <-c.ready:
	case <-t.C:
		err = errors.New("no job within 30s of connecting")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// schedule submits rate shares/s over conns, round robin, until stop. A
// backlog over 100 ms (every connection busy, or this goroutine starved of
// CPU) is dropped and counted as unsent rather than sent in a burst.
func schedule(stop <-chan struct{}, conns []*conn, rate float64, c *counters) {
	if len(conns) == 0 {
		return
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	owed := 0.0
	next := 0
	maxOwed := max(rate*0.1, 1)
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			owed += rate * now.Sub(last).Seconds()
			last = now
			if drop := math.Floor(owed - maxOwed); drop >= 1 {
				c.unsent.Add(uint64(drop))
				owed -= drop
			}
			for owed >= 1 {
				status := submitBusy
				for range len(conns) {
					cn := conns[next]
					if next++; next == len(conns) {
						next = 0
					}
					if status = cn.submit(); status == submitSent || status == submitTooHard {
						break
					}
				}
				if status != submitSent {
					break // every connection busy, or shares too hard: next tick
				}
				owed--
			}
		}
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
