package devpool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/natsrv"
	"github.com/jetpool/jetpool/internal/process"
	"github.com/jetpool/jetpool/kv"
)

// Options configure a dev pool.
type Options struct {
	DataDir    string
	NATSConfig string // optional nats.conf for the embedded server
	ConfigFile string // optional pool YAML
	Reseed     bool   // let the file overwrite KV values
	Coins      []string
	Log        *slog.Logger
	Out        io.Writer // where the endpoint summary is printed
	// Units returns every function, gateway and web unit to run for cfg.
	Units func(cfg config.Config, ep *Endpoints) ([]functions.Function, error)
	// AfterReady runs once everything is up (e.g. the demo miner); may be nil.
	AfterReady func(ctx context.Context, ep *Endpoints) error
}

// Endpoints is what dev.json holds: everything a user or a script needs.
type Endpoints struct {
	DataDir       string                       `json:"data_dir"`
	Stratum       map[string]map[string]string `json:"stratum"` // coin → tcp/tls → URL
	Web           string                       `json:"web"`
	Ops           string                       `json:"ops"`
	NATS          string                       `json:"nats"`
	Nodes         map[string]NodeEndpoint      `json:"nodes"`
	PostgresDSN   string                       `json:"postgres_dsn"`
	ClickHouseDSN string                       `json:"clickhouse_dsn"`
	PoolAddress   map[string]string            `json:"pool_address"`
	PIDs          map[string]int               `json:"pids"`
	Started       time.Time                    `json:"started"`
	out           io.Writer
}

// Out is where the dev command prints for people (never nil).
func (e *Endpoints) Out() io.Writer {
	if e.out == nil {
		return io.Discard
	}
	return e.out
}

// NodeEndpoint is one coin node's RPC access.
type NodeEndpoint struct {
	Network string `json:"network"`
	RPCURL  string `json:"rpc_url"`
	WSURL   string `json:"ws_url,omitempty"`
	User    string `json:"user"`
	Pass    string `json:"pass"`
}

// Ports are chosen once and reused on later runs.
type Ports struct {
	NATS       int            `json:"nats"`
	Postgres   int            `json:"postgres"`
	ClickHouse int            `json:"clickhouse"`
	ClickHTTP  int            `json:"clickhouse_http"`
	Ops        int            `json:"ops"`
	Web        int            `json:"web"`
	NodeRPC    map[string]int `json:"node_rpc"`
	NodeP2P    map[string]int `json:"node_p2p"`
	StratumTCP map[string]int `json:"stratum_tcp"`
	StratumTLS map[string]int `json:"stratum_tls"`
}

// Run starts the dev pool and blocks until ctx ends, then shuts down in order.
func Run(ctx context.Context, o Options) (err error) {
	log := o.Log
	if len(o.Coins) == 0 {
		o.Coins = []string{"btc"}
	}
	for _, c := range o.Coins {
		if _, ok := nodeStarters[c]; !ok {
			return fmt.Errorf("devpool: coin %q is not available in dev (available: %v)", c, slices.Sorted(maps.Keys(nodeStarters)))
		}
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return fmt.Errorf("devpool: data dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("devpool: data dir: %w", err)
	}
	ports, err := loadPorts(dir, o.Coins)
	if err != nil {
		return err
	}
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		if err == nil || errors.Is(err, context.Canceled) {
			log.Info("dev pool stopped")
		}
	}()
	stopCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 20*time.Second)
	}
	startCtx, cancelStart := context.WithTimeout(ctx, 10*time.Minute)
	defer cancelStart()

	ep := &Endpoints{DataDir: dir, Stratum: map[string]map[string]string{}, Nodes: map[string]NodeEndpoint{},
		PoolAddress: map[string]string{}, PIDs: map[string]int{"jetpool": os.Getpid()}, Started: time.Now().UTC(), out: o.Out}

	// 1. NATS with JetStream on disk.
	ns, err := natsrv.Start(startCtx, natsrv.Options{ConfigFile: o.NATSConfig, ServerName: "jetpool-dev",
		Port: ports.NATS, StoreDir: filepath.Join(dir, "nats"), Logger: log})
	if err != nil {
		return err
	}
	stops = append(stops, func() { log.Info("stopping nats-server"); ns.Shutdown() })
	ep.NATS = ns.ClientURL()

	// 2. PostgreSQL, ClickHouse, nodes.
	pg, err := localsvc.StartPostgres(startCtx, localsvc.PostgresOptions{DataDir: filepath.Join(dir, "postgres"),
		Port: ports.Postgres, Install: true, Logger: log})
	if err != nil {
		return err
	}
	stops = append(stops, func() {
		log.Info("stopping postgres")
		c, cancel := stopCtx()
		defer cancel()
		_ = pg.Stop(c)
	})
	ep.PostgresDSN, ep.PIDs["postgres"] = pg.DSN(), pg.PID()

	ch, err := localsvc.StartClickHouse(startCtx, localsvc.ClickHouseOptions{DataDir: filepath.Join(dir, "clickhouse"),
		TCPPort: ports.ClickHouse, HTTPPort: ports.ClickHTTP, Install: true, Logger: log})
	if err != nil {
		return err
	}
	stops = append(stops, func() {
		log.Info("stopping clickhouse")
		c, cancel := stopCtx()
		defer cancel()
		_ = ch.Stop(c)
	})
	ep.ClickHouseDSN, ep.PIDs["clickhouse"] = ch.DSN(), ch.PID()

	cfg, err := config.Load(o.ConfigFile, os.Environ())
	if err != nil {
		return err
	}
	if o.ConfigFile == "" {
		// Dev chains have a trivial network difficulty and dev miners are
		// CPUs: start shares low enough that a CPU finds one in seconds.
		cfg.Vardiff.Initial, cfg.Vardiff.Min, cfg.Vardiff.TargetSeconds = 0.001, 0.00001, 5
	}
	for _, sym := range o.Coins {
		n, err := startNode(startCtx, sym, dir, ports, log)
		if err != nil {
			return err
		}
		stops = append(stops, func() {
			log.Info("stopping node", "coin", sym)
			c, cancel := stopCtx()
			defer cancel()
			_ = n.stop(c)
		})
		poolAddr := n.poolAddress
		ep.PIDs[sym+"-node"] = n.pid
		ep.Nodes[sym] = n.endpoint
		ep.PoolAddress[sym] = poolAddr
		c := cfg.Coins[sym]
		c.Symbol, c.Network, c.Enabled = sym, n.endpoint.Network, true
		if c.PoolAddress == "" {
			c.PoolAddress = poolAddr
		}
		c.Node = config.Node{RPCURL: n.endpoint.RPCURL, WSURL: n.endpoint.WSURL, User: n.endpoint.User, Pass: n.endpoint.Pass}
		if c.JobRefresh == 0 {
			c.JobRefresh = config.Duration(30 * time.Second)
		}
		tcp := "127.0.0.1:" + strconv.Itoa(ports.StratumTCP[sym])
		tls := "127.0.0.1:" + strconv.Itoa(ports.StratumTLS[sym])
		c.Regions = map[string]config.Listeners{"dev": {TCP: tcp, TLS: tls}}
		cfg.Coins[sym] = c
		ep.Stratum[sym] = map[string]string{"tcp": "stratum+tcp://" + tcp, "tls": "stratum+tls://" + tls}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("devpool: configuration:\n%w", err)
	}

	// 3. The process bootstrap every role uses, on an in-process connection.
	p, err := process.Start(startCtx, process.Options{Name: "dev", Dial: func(opts ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(ns.ClientURL(), append(opts, nats.InProcessServer(ns.Raw()))...)
	}, Replicas: 1, OpsAddr: "127.0.0.1:" + strconv.Itoa(ports.Ops), Log: log,
		Deps: functions.Deps{PostgresDSN: pg.DSN(), ClickHouseDSN: ch.DSN()}})
	if err != nil {
		return err
	}
	stops = append(stops, func() { log.Info("draining nats connection"); p.Close() })
	ep.Ops = p.Ops.URL()
	ep.Web = "http://127.0.0.1:" + strconv.Itoa(ports.Web)
	p.Env.Ready.Add("postgres", func(context.Context) error { return aliveErr("postgres", pg.Exited()) })
	p.Env.Ready.Add("clickhouse", func(context.Context) error { return aliveErr("clickhouse", ch.Exited()) })

	// Seed KV: sections only when missing (unless Reseed); coins always, since
	// dev owns their node endpoints and ports.
	written, err := kv.Seed(startCtx, p.Env.KV, cfg, o.Reseed)
	if err != nil {
		return err
	}
	for _, sym := range o.Coins {
		if _, err := kv.Put(startCtx, p.Env.KV.Coins, sym, cfg.Coins[sym]); err != nil {
			return err
		}
	}
	log.Info("configuration seeded", "written", written)

	var units []functions.Function
	if o.Units != nil {
		if units, err = o.Units(cfg, ep); err != nil {
			return err
		}
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(runCtx, units...) }()
	// Report "up" only when every unit that can say so is listening.
	for _, u := range units {
		r, ok := u.(interface{ Ready() <-chan struct{} })
		if !ok {
			continue
		}
		select {
		case <-r.Ready():
		case err := <-runErr:
			return fmt.Errorf("devpool: %s did not start: %w", u.Name(), err)
		case <-startCtx.Done():
			return fmt.Errorf("devpool: %s not ready: %w", u.Name(), startCtx.Err())
		}
	}
	if err := writeJSON(filepath.Join(dir, "dev.json"), ep); err != nil {
		return err
	}
	printEndpoints(o.Out, ep)
	if o.AfterReady != nil {
		go func() {
			if err := o.AfterReady(runCtx, ep); err != nil && runCtx.Err() == nil {
				log.Error("after-ready task failed", "err", err)
			}
		}()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		cancelRun()
		return <-runErr
	case err := <-runErr:
		if err != nil {
			return err
		}
		<-ctx.Done()
		log.Info("shutting down")
		return nil
	}
}

func aliveErr(name string, exited <-chan struct{}) error {
	select {
	case <-exited:
		return fmt.Errorf("%s exited", name)
	default:
		return nil
	}
}

func loadPorts(dir string, coins []string) (*Ports, error) {
	path := filepath.Join(dir, "ports.json")
	p := &Ports{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, p); err != nil {
			return nil, fmt.Errorf("devpool: %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("devpool: %w", err)
	}
	pick := func(dst *int, preferred int) error {
		if *dst != 0 {
			return nil
		}
		if preferred != 0 && portFree(preferred) {
			*dst = preferred
			return nil
		}
		port, err := natsrv.FreePort()
		*dst = port
		return err
	}
	init := func(m *map[string]int) {
		if *m == nil {
			*m = map[string]int{}
		}
	}
	init(&p.NodeRPC)
	init(&p.NodeP2P)
	init(&p.StratumTCP)
	init(&p.StratumTLS)
	errs := []error{pick(&p.NATS, 4222), pick(&p.Postgres, 0), pick(&p.ClickHouse, 0), pick(&p.ClickHTTP, 0),
		pick(&p.Ops, 0), pick(&p.Web, 8080)}
	for i, c := range coins {
		rpc, p2p, tcp, tls := p.NodeRPC[c], p.NodeP2P[c], p.StratumTCP[c], p.StratumTLS[c]
		errs = append(errs, pick(&rpc, 0), pick(&p2p, 0), pick(&tcp, 3333+10*i), pick(&tls, 3334+10*i))
		p.NodeRPC[c], p.NodeP2P[c], p.StratumTCP[c], p.StratumTLS[c] = rpc, p2p, tcp, tls
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("devpool: ports: %w", err)
	}
	return p, writeJSON(path, p)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("devpool: write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

func printEndpoints(w io.Writer, ep *Endpoints) {
	if w == nil {
		return
	}
	fmt.Fprintln(w, "jetpool dev is up")
	for _, sym := range slices.Sorted(maps.Keys(ep.Stratum)) {
		fmt.Fprintf(w, "  stratum %-4s %s  %s  (pool address %s)\n", sym, ep.Stratum[sym]["tcp"], ep.Stratum[sym]["tls"], ep.PoolAddress[sym])
	}
	fmt.Fprintf(w, "  web          %s\n  ops          %s  (/healthz /readyz /metrics)\n  nats         %s\n", ep.Web, ep.Ops, ep.NATS)
	for _, sym := range slices.Sorted(maps.Keys(ep.Nodes)) {
		n := ep.Nodes[sym]
		fmt.Fprintf(w, "  node %-7s %s  user=%s pass=%s (%s)\n", sym, n.RPCURL, n.User, n.Pass, n.Network)
	}
	fmt.Fprintf(w, "  postgres     %s\n  clickhouse   %s\n  endpoints written to %s\n", ep.PostgresDSN, ep.ClickHouseDSN, filepath.Join(ep.DataDir, "dev.json"))
}
