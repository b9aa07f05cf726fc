package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/coin"
	_ "github.com/jetpool/jetpool/internal/coin/btc" // the coin the bench drives
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natsrv"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Self-contained bench settings.
const (
	benchCoin    = "btc"
	benchNetwork = "regtest"
	// BenchRegion is the region the gateway under test serves.
	BenchRegion = "bench"
)

func runSelfContained(ctx context.Context, o Options) (Result, error) {
	r := Result{Mode: "self-contained", NotifyReference: "bench publishes the new job on jobs." + benchCoin,
		ShareDifficulty: o.Difficulty, TemplateTxs: o.TemplateTxs}
	h, err := startHarness(ctx, o)
	if err != nil {
		return r, err
	}
	defer h.close(o)
	r.GatewayPID = h.gw.cmd.Process.Pid
	proc := &procStats{pid: r.GatewayPID}
	time.Sleep(time.Second)
	r.GatewayRSSBase = proc.rss()
	o.Log.Info("gateway ready", "pid", r.GatewayPID, "addr", h.tcpAddr, "rss", r.GatewayRSSBase)

	sh := &clientShared{c: &counters{}, selfMode: true}
	err = drive(ctx, o, h.tcpAddr, sh, proc, &r, func(ctx context.Context) error { return h.publish(ctx, sh) })
	if err == nil && h.gw.exited() {
		err = errors.New("loadgen: the gateway process exited during the run")
	}
	return r, err
}

// harness is everything the self-contained bench runs besides the
// client: an embedded NATS server in a temp dir, the pool configuration in
// KV, the synthetic job source, and the gateway process.
type harness struct {
	dir     string
	ns      *natsrv.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	jobs    *jobMaker
	tcpAddr string
	gw      *gatewayProc
}

// startHarness starts the pieces and returns once the gateway listens. On
// error everything already started is stopped.
func startHarness(ctx context.Context, o Options) (_ *harness, err error) {
	h := &harness{}
	defer func() {
		if err != nil {
			h.close(o)
		}
	}()
	if h.dir, err = os.MkdirTemp("", "jetpool-bench-"); err != nil {
		return nil, err
	}
	if h.ns, err = natsrv.Start(ctx, natsrv.Options{StoreDir: h.dir, Logger: o.Log}); err != nil {
		return nil, err
	}
	if h.nc, err = h.ns.Connect(); err != nil {
		return nil, fmt.Errorf("loadgen: connect nats: %w", err)
	}
	if h.js, err = jetstream.New(h.nc); err != nil {
		return nil, err
	}
	if err := streams.Ensure(ctx, h.js, streams.Options{}); err != nil {
		return nil, err
	}
	store, err := kv.Ensure(ctx, h.js, kv.Options{})
	if err != nil {
		return nil, err
	}
	port, err := natsrv.FreePort()
	if err != nil {
		return nil, err
	}
	h.tcpAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfg := benchConfig(o, h.tcpAddr)
	if _, err := kv.Seed(ctx, store, cfg, true); err != nil {
		return nil, err
	}
	c, err := coin.Get(benchCoin, benchNetwork)
	if err != nil {
		return nil, err
	}
	if h.jobs, err = newJobMaker(c, o.Address, o.TemplateTxs, coin.DefaultExtranonce1Size, cfg.Stratum.Extranonce2Size); err != nil {
		return nil, err
	}
	if err := h.publish(ctx, nil); err != nil {
		return nil, fmt.Errorf("loadgen: publish first job: %w", err)
	}
	if h.gw, err = startGateway(o, h.ns.ClientURL(), h.tcpAddr); err != nil {
		return nil, err
	}
	if err := h.gw.waitListening(ctx, h.tcpAddr, 60*time.Second); err != nil {
		return nil, err
	}
	return h, nil
}

// publish publishes the job of a new block on jobs.<coin>; with sh, the
// connections measure their notify latency against this moment.
func (h *harness) publish(ctx context.Context, sh *clientShared) error {
	job, data, err := h.jobs.next()
	if err != nil {
		return err
	}
	if sh != nil {
		sh.mark.Store(&notifyMark{jobID: job.ID, t0: time.Now()})
	}
	_, err = h.js.Publish(ctx, streams.JobsSubject(benchCoin), data, jetstream.WithMsgID(job.TemplateID+"/"+job.ID))
	return err
}

// close stops the gateway, then NATS, and removes the temp dir.
func (h *harness) close(o Options) {
	if h.gw != nil {
		h.gw.stop(o)
	}
	if h.nc != nil {
		h.nc.Close()
	}
	if h.ns != nil {
		h.ns.Shutdown()
	}
	if h.dir != "" {
		_ = os.RemoveAll(h.dir)
	}
}

// benchConfig is the pool configuration seeded for the gateway under test:
// defaults, except a fixed, tiny share difficulty (vardiff pinned) and a
// per-IP limit that lets every bench connection in from 127.0.0.1.
func benchConfig(o Options, tcpAddr string) config.Config {
	cfg := config.Default()
	cfg.Stratum.MaxConnsPerIP = o.Conns + 64
	cfg.Vardiff.Initial, cfg.Vardiff.Min, cfg.Vardiff.Max = o.Difficulty, o.Difficulty, o.Difficulty
	cfg.Coins = map[string]config.Coin{benchCoin: {Symbol: benchCoin, Network: benchNetwork, PoolAddress: o.Address,
		// The gateway never talks to the node; the jobs come from the bench.
		Node:       config.Node{RPCURL: "http://127.0.0.1:1"},
		JobRefresh: config.Duration(30 * time.Second), Enabled: true,
		Regions: map[string]config.Listeners{BenchRegion: {TCP: tcpAddr}}}}
	return cfg
}

// gatewayProc is the gateway under test, in its own process.
type gatewayProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startGateway(o Options, natsURL, tcpAddr string) (*gatewayProc, error) {
	cmd := o.Gateway(natsURL, tcpAddr)
	cmd.Stdout, cmd.Stderr = o.GatewayOutput, o.GatewayOutput
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// If the bench dies without cleaning up, the kernel ends the gateway.
	// (The signal follows the forking OS thread; the Go runtime retires a
	// thread only when a goroutine exits locked to it, which this package
	// never does.)
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	err := cmd.Start()
	if err != nil {
		return nil, fmt.Errorf("loadgen: start gateway: %w", err)
	}
	g := &gatewayProc{cmd: cmd, done: make(chan struct{})}
	go func() { g.err = cmd.Wait(); close(g.done) }()
	return g, nil
}

func (g *gatewayProc) exited() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

func (g *gatewayProc) waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-g.done:
			return fmt.Errorf("loadgen: gateway exited before listening: %v", g.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("loadgen: gateway not listening on %s after %s", addr, timeout)
		}
	}
}

// stop asks the gateway to shut down (SIGTERM) and kills it if it has not
// within 15 s.
func (g *gatewayProc) stop(o Options) {
	if g.exited() {
		return
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		o.Log.Warn("gateway did not stop on SIGTERM; killing it", "pid", g.cmd.Process.Pid)
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}
