package jobmaker

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/node"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Name is the function's registry name.
const Name = "jobmaker"

var (
	mTemplates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "jobmaker", Name: "templates_fetched_total",
		Help: "getblocktemplate calls, per coin.",
	}, []string{"coin"})
	mSignalsSkipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "jobmaker", Name: "block_signals_skipped_total",
		Help: "Block signals (websocket or poll) for a tip the last job already builds on.",
	}, []string{"coin"})
)

// Collectors returns the function's metrics.
func Collectors() []prometheus.Collector { return []prometheus.Collector{mTemplates, mSignalsSkipped} }

// Function is the jobmaker. The zero value is ready to use.
type Function struct {
	// LeaseTTL is how long a silent leader keeps its lease (default 15s).
	LeaseTTL time.Duration
	// PollEvery is the getbestblockhash poll period (default 500ms: a
	// block is seen within a second even without the websocket).
	PollEvery time.Duration
}

// New returns a jobmaker with default settings.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	if f.LeaseTTL == 0 {
		f.LeaseTTL = 15 * time.Second
	}
	if f.PollEvery == 0 {
		f.PollEvery = 500 * time.Millisecond
	}
	env.RegisterMetrics(Collectors()...)
	if _, err := functions.Announce(ctx, env, Name, "makes stratum jobs from node templates"); err != nil {
		return err
	}
	var pool atomicPool
	if err := kv.Watch(ctx, env.KV.Config, config.KeyPool, config.Pool.Validate, pool.store, env.Log); err != nil {
		return err
	}
	var stratumCfg atomicStratum
	stratumCfg.store(config.Default().Stratum)
	if err := kv.Watch(ctx, env.KV.Config, config.KeyStratum, config.Stratum.Validate, stratumCfg.store, env.Log); err != nil {
		return err
	}
	coins := &coinSet{f: f, env: env, pool: &pool, stratum: &stratumCfg, running: map[string]context.CancelFunc{}}
	defer coins.stopAll()
	w, err := env.KV.Coins.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("jobmaker: watch coins: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if e == nil {
				continue
			}
			coins.apply(ctx, e)
		}
	}
}

type atomicPool struct {
	mu sync.Mutex
	v  config.Pool
}

func (a *atomicPool) store(p config.Pool) { a.mu.Lock(); a.v = p; a.mu.Unlock() }
func (a *atomicPool) load() config.Pool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.v.Scheme == "" {
		return config.Default().Pool
	}
	return a.v
}

type atomicStratum struct {
	mu sync.Mutex
	v  config.Stratum
}

func (a *atomicStratum) store(s config.Stratum) { a.mu.Lock(); a.v = s; a.mu.Unlock() }
func (a *atomicStratum) load() config.Stratum   { a.mu.Lock(); defer a.mu.Unlock(); return a.v }

// coinSet runs one worker per enabled coin and restarts it when its
// configuration changes.
type coinSet struct {
	f       *Function
	env     *functions.Env
	pool    *atomicPool
	stratum *atomicStratum
	mu      sync.Mutex
	running map[string]context.CancelFunc
	wg      sync.WaitGroup
}

func (cs *coinSet) apply(ctx context.Context, e jetstream.KeyValueEntry) {
	sym := e.Key()
	cs.mu.Lock()
	if stop, ok := cs.running[sym]; ok {
		stop()
		delete(cs.running, sym)
	}
	cs.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		return
	}
	var cfg config.Coin
	if err := json.Unmarshal(e.Value(), &cfg); err != nil {
		cs.env.Log.Error("coin config undecodable; coin not served", "coin", sym, "err", err)
		return
	}
	if err := cfg.Validate(); err != nil {
		cs.env.Log.Error("coin config invalid; coin not served", "coin", sym, "err", err)
		return
	}
	if !cfg.Enabled {
		return
	}
	c, err := coin.Get(cfg.Symbol, cfg.Network)
	if err != nil {
		cs.env.Log.Error("coin not available in this build", "coin", sym, "err", err)
		return
	}
	script, err := c.ValidateAddress(cfg.PoolAddress)
	if err != nil {
		cs.env.Log.Error("pool address invalid; coin not served", "coin", sym, "err", err)
		return
	}
	client, err := node.New(node.Config{URL: cfg.Node.RPCURL, User: cfg.Node.User, Pass: cfg.Node.Pass, Logger: cs.env.Log})
	if err != nil {
		cs.env.Log.Error("node client", "coin", sym, "err", err)
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	cs.mu.Lock()
	cs.running[sym] = cancel
	cs.mu.Unlock()
	cw := &coinWorker{f: cs.f, env: cs.env, cfg: cfg, coin: c, script: script, node: client, pool: cs.pool, stratum: cs.stratum,
		log: cs.env.Log.With("coin", sym)}
	cs.wg.Add(1)
	go func() {
		defer cs.wg.Done()
		cw.run(wctx)
	}()
}

func (cs *coinSet) stopAll() {
	cs.mu.Lock()
	for _, stop := range cs.running {
		stop()
	}
	cs.mu.Unlock()
	cs.wg.Wait()
}

// coinWorker makes jobs for one coin while it holds the lease.
type coinWorker struct {
	f       *Function
	env     *functions.Env
	cfg     config.Coin
	coin    coin.Coin
	script  []byte
	node    *node.Client
	pool    *atomicPool
	stratum *atomicStratum
	log     *slog.Logger

	lastPrev coin.Hash
	jobSeq   uint32
}

func (w *coinWorker) leaseKey() string { return "jobmaker." + w.cfg.Symbol + ".leader" }

// run alternates between waiting for the lease and leading.
func (w *coinWorker) run(ctx context.Context) {
	for ctx.Err() == nil {
		rev, err := w.env.KV.Services.Create(ctx, w.leaseKey(), []byte(w.env.Instance))
		if err != nil {
			// Someone else leads (or NATS hiccup): look again shortly.
			select {
			case <-ctx.Done():
				return
			case <-time.After(w.f.LeaseTTL / 3):
			}
			w.expireStaleLease(ctx)
			continue
		}
		w.log.Info("jobmaker leading", "instance", w.env.Instance)
		w.lead(ctx, rev)
		w.log.Info("jobmaker lease released")
	}
}

// expireStaleLease deletes a lease whose holder stopped renewing it.
func (w *coinWorker) expireStaleLease(ctx context.Context) {
	e, err := w.env.KV.Services.Get(ctx, w.leaseKey())
	if err != nil {
		return
	}
	if time.Since(e.Created()) > w.f.LeaseTTL {
		_ = w.env.KV.Services.Delete(ctx, w.leaseKey(), jetstream.LastRevision(e.Revision()))
	}
}

// lead makes jobs until ctx ends or the lease is lost.
func (w *coinWorker) lead(ctx context.Context, rev uint64) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		dctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		defer c()
		_ = w.env.KV.Services.Delete(dctx, w.leaseKey(), jetstream.LastRevision(rev))
	}()
	// Renew the lease; losing it stops leading.
	go func() {
		t := time.NewTicker(w.f.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r, err := w.env.KV.Services.Update(ctx, w.leaseKey(), []byte(w.env.Instance), rev)
				if err != nil {
					if ctx.Err() == nil {
						w.log.Warn("jobmaker lease lost", "err", err)
					}
					cancel()
					return
				}
				rev = r
			}
		}
	}()
	blocks := w.blockSignals(ctx)
	refresh := time.NewTicker(w.cfg.JobRefresh.D())
	defer refresh.Stop()
	w.lastPrev = coin.Hash{}
	w.makeJob(ctx, true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-blocks:
			w.makeJob(ctx, false)
		case <-refresh.C:
			w.makeJob(ctx, true)
		}
	}
}

// blockSignals merges the node's websocket block notifications (when it has
// them) with a fast poll, so a new block is seen within a second even when
// the websocket is missing or down.
func (w *coinWorker) blockSignals(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	signal := func() {
		select {
		case out <- struct{}{}:
		default:
		}
	}
	forward := func(ch <-chan struct{}) {
		for range ch {
			signal()
		}
	}
	if w.cfg.Node.WSURL != "" {
		if ch, err := w.node.WatchBlocks(ctx); err == nil {
			go forward(ch)
		} else {
			w.log.Warn("node websocket unavailable; polling only", "err", err)
		}
	}
	go forward(w.node.PollBlocks(ctx, w.f.PollEvery))
	return out
}

// makeJob fetches a template, stores it and publishes the job. A block
// signal (websocket and poll both fire for one block) makes a job only when
// the previous block really changed; a refresh always does, for new
// transactions, without clean_jobs.
func (w *coinWorker) makeJob(ctx context.Context, refresh bool) {
	start := time.Now()
	if !refresh && w.lastPrev != (coin.Hash{}) {
		// The websocket and the poll both signal one block: the second
		// costs a getbestblockhash instead of a whole template.
		if tip, err := w.node.GetBestBlockHash(ctx); err == nil && tip == w.lastPrev.String() {
			mSignalsSkipped.WithLabelValues(w.cfg.Symbol).Inc()
			return
		}
	}
	mTemplates.WithLabelValues(w.cfg.Symbol).Inc()
	raw, err := w.node.GetBlockTemplate(ctx, w.coin.TemplateRules())
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("getblocktemplate failed", "err", err)
		}
		return
	}
	tpl, err := w.coin.ParseTemplate(raw)
	if err != nil {
		w.log.Error("template unusable", "err", err)
		return
	}
	clean := tpl.PreviousBlockHash != w.lastPrev
	if !clean && !refresh {
		return
	}
	if _, err := w.env.KV.Templates.PutBytes(ctx, TemplateKey(w.cfg.Symbol, tpl.ID), tpl.Raw); err != nil {
		w.log.Error("store template", "err", err)
		return
	}
	w.jobSeq++
	pool := w.pool.load()
	job, err := w.coin.NewJob(tpl, coin.JobOptions{
		JobID: w.jobID(), PayoutScript: w.script, PoolTag: pool.Tag,
		Extranonce1Size: 4, Extranonce2Size: w.stratum.load().Extranonce2Size, CleanJobs: clean,
	})
	if err != nil {
		w.log.Error("make job", "err", err)
		return
	}
	data, err := json.Marshal(job)
	if err != nil {
		w.log.Error("encode job", "err", err)
		return
	}
	if _, err := w.env.JS.Publish(ctx, streams.JobsSubject(w.cfg.Symbol), data, jetstream.WithMsgID(job.TemplateID+"/"+job.ID)); err != nil {
		w.log.Error("publish job", "err", err)
		return
	}
	w.lastPrev = tpl.PreviousBlockHash
	w.log.Debug("job published", "job", job.ID, "height", job.Height, "txs", job.TxCount, "clean", clean, "took", time.Since(start))
}

// jobID is short (8 hex digits) and unique across leaders: a random prefix
// per lead plus a counter.
func (w *coinWorker) jobID() string {
	if w.jobSeq == 1 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		w.jobSeq = binary.BigEndian.Uint32(b[:])&0xffff0000 | 1
	}
	return fmt.Sprintf("%08x", w.jobSeq)
}

// TemplateKey is the object store key of a template.
func TemplateKey(symbol, templateID string) string { return symbol + "/" + templateID }
