package stats

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/chstore"
	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/jsretry"
	"github.com/jetpool/jetpool/kv"
)

// Name is the function's registry name.
const Name = "stats"

// Windows of every hashrate answer.
var windows = []struct {
	name string
	d    time.Duration
}{{"10m", 10 * time.Minute}, {"1h", time.Hour}, {"24h", 24 * time.Hour}}

func windowDurations() []time.Duration {
	out := make([]time.Duration, len(windows))
	for i, w := range windows {
		out[i] = w.d
	}
	return out
}

// maxRequest bounds a request body.
const maxRequest = 4 << 10

// Function answers statistics questions.
type Function struct {
	// Multiplier overrides how a coin's hashes per difficulty 1 are found
	// (default: the coin's network from KV `coins`, then the coin registry).
	Multiplier func(ctx context.Context, coin string) (float64, error)
	// Grace overrides chstore.DefaultGrace (tests).
	Grace time.Duration
	// SettleEvery is how often ingest progress is sampled (default 5s).
	SettleEvery time.Duration
	// InlineLimit: a stats.window answer whose miners would take more bytes
	// than this goes through the WindowBucket object store (default half
	// the connection's max_payload).
	InlineLimit int

	stats   atomic.Pointer[config.Stats]
	pool    atomic.Pointer[config.Pool]
	store   *chstore.Store
	cache   *cache
	mults   sync.Map // coin → float64
	env     *functions.Env
	settle  *settleLog
	windows jetstream.ObjectStore
}

// WindowObjectTTL is how long a stored window answer is kept: the caller
// reads it right after the reply.
const WindowObjectTTL = time.Hour

// New returns a stats function.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

var mRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "jetpool", Subsystem: "stats", Name: "requests_total",
	Help: "Statistics requests by endpoint and outcome (ok, cached, 400, 404, 503, 500).",
}, []string{"endpoint", "outcome"})

// Collectors returns the function's metrics.
func Collectors() []prometheus.Collector { return []prometheus.Collector{mRequests} }

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	if env.Deps.ClickHouseDSN == "" {
		return errors.New("stats: no ClickHouse DSN configured")
	}
	env.RegisterMetrics(Collectors()...)
	f.env = env
	def := config.Default()
	f.stats.Store(&def.Stats)
	f.pool.Store(&def.Pool)
	if err := kv.Watch(ctx, env.KV.Config, config.KeyStats, config.Stats.Validate, func(c config.Stats) { f.stats.Store(&c) }, env.Log); err != nil {
		return err
	}
	if err := kv.Watch(ctx, env.KV.Config, config.KeyPool, config.Pool.Validate, func(c config.Pool) { f.pool.Store(&c) }, env.Log); err != nil {
		return err
	}
	store, err := chstore.Open(env.Deps.ClickHouseDSN, env.Log)
	if err != nil {
		return err
	}
	defer store.Close()
	if f.Grace > 0 {
		store.SetGrace(f.Grace)
	}
	f.store = store
	f.cache = newCache(10000)
	if env.Ready != nil {
		env.Ready.Add("stats-clickhouse", store.Ping)
		defer env.Ready.Remove("stats-clickhouse")
	}
	every := f.SettleEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	f.settle = newSettleLog(env, store, every)
	go f.settle.run(ctx)
	replicas := max(1, env.Streams.Replicas)
	f.windows, err = jsretry.Value(ctx, func() (jetstream.ObjectStore, error) {
		return env.JS.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: WindowBucket,
			Description: "stats.window answers too large for one message, by <coin>/<sha256>",
			TTL:         WindowObjectTTL, Replicas: replicas, Storage: jetstream.FileStorage})
	})
	if err != nil {
		return fmt.Errorf("stats: object store %s: %w", WindowBucket, err)
	}

	svc, err := functions.Announce(ctx, env, Name, "hashrate, charts, workers, pool figures and PPLNS windows from ClickHouse")
	if err != nil {
		return err
	}
	g := svc.AddGroup("stats")
	for _, ep := range []struct {
		name string
		h    func(context.Context, []byte) (any, error)
		ttl  bool
	}{
		{"hashrate", f.hashrate, true},
		{"series", f.series, true},
		{"workers", f.workers, true},
		{"pool", f.poolStats, true},
		{"pplns", f.pplns, true},
		{"window", f.window, false},
	} {
		if err := g.AddEndpoint(ep.name, f.handler(ctx, ep.name, ep.h, ep.ttl)); err != nil {
			return fmt.Errorf("stats: endpoint %s: %w", ep.name, err)
		}
	}
	<-ctx.Done()
	return nil
}

// Request errors answered with a status code.
type statusError struct {
	code string
	err  error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func badRequest(format string, args ...any) error {
	return &statusError{"400", fmt.Errorf(format, args...)}
}

func unavailable(format string, args ...any) error {
	return &statusError{"503", fmt.Errorf(format, args...)}
}

// handler decodes, caches and answers one endpoint.
func (f *Function) handler(ctx context.Context, name string, h func(context.Context, []byte) (any, error), cacheable bool) micro.HandlerFunc {
	return func(req micro.Request) {
		data := req.Data()
		if len(data) > maxRequest {
			mRequests.WithLabelValues(name, "400").Inc()
			_ = req.Error("400", fmt.Sprintf("request of %d bytes; at most %d", len(data), maxRequest), nil)
			return
		}
		key := name + "\x00" + string(data)
		ttl := f.stats.Load().CacheTTL.D()
		if cacheable && ttl > 0 {
			if v, ok := f.cache.get(key); ok {
				mRequests.WithLabelValues(name, "cached").Inc()
				_ = req.Respond(v)
				return
			}
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := h(rctx, data)
		if err != nil {
			code, msg := "500", "internal error"
			var se *statusError
			switch {
			case errors.As(err, &se):
				code, msg = se.code, se.err.Error()
			case errors.Is(err, chstore.ErrBadRequest):
				code, msg = "400", strings.TrimPrefix(err.Error(), "chstore: ")
			case errors.Is(err, chstore.ErrNotFound):
				code, msg = "404", strings.TrimPrefix(err.Error(), "chstore: ")
			default:
				f.env.Log.Error("stats request failed", "endpoint", name, "err", err)
			}
			mRequests.WithLabelValues(name, code).Inc()
			_ = req.Error(code, msg, nil)
			return
		}
		body, err := json.Marshal(out)
		if err != nil {
			mRequests.WithLabelValues(name, "500").Inc()
			_ = req.Error("500", "internal error", nil)
			return
		}
		if max := f.env.NC.MaxPayload(); int64(len(body)) > max {
			// A reply over the server's max_payload would be dropped and the
			// caller would only see a timeout: say so instead.
			mRequests.WithLabelValues(name, "413").Inc()
			f.env.Log.Error("stats reply too large for NATS", "endpoint", name, "bytes", len(body), "max_payload", max)
			_ = req.Error("413", fmt.Sprintf("reply of %d bytes exceeds the NATS max_payload of %d", len(body), max), nil)
			return
		}
		if cacheable && ttl > 0 {
			f.cache.put(key, body, ttl)
		}
		mRequests.WithLabelValues(name, "ok").Inc()
		if err := req.Respond(body); err != nil {
			f.env.Log.Error("stats reply not sent", "endpoint", name, "err", err)
		}
	}
}

func decode(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("bad request body: %v", err)
	}
	return nil
}

func (f *Function) at(ms int64) (time.Time, error) {
	if ms == 0 {
		return time.Now().UTC(), nil
	}
	t := time.UnixMilli(ms).UTC()
	if t.Before(time.Date(2009, 1, 3, 0, 0, 0, 0, time.UTC)) || t.After(time.Now().Add(24*time.Hour)) {
		return time.Time{}, badRequest("at_ms %d is out of range", ms)
	}
	return t, nil
}

// moment is what every hashrate answer starts from: the time the request
// asks about (at_ms, or now) and the coin's hashes per difficulty 1.
func (f *Function) moment(ctx context.Context, coin string, atMs int64) (time.Time, float64, error) {
	at, err := f.at(atMs)
	if err != nil {
		return time.Time{}, 0, err
	}
	mult, err := f.multiplier(ctx, coin)
	if err != nil {
		return time.Time{}, 0, err
	}
	return at, mult, nil
}

// multiplier is the coin's hashes per difficulty 1.
func (f *Function) multiplier(ctx context.Context, symbol string) (float64, error) {
	if f.Multiplier != nil {
		return f.Multiplier(ctx, symbol)
	}
	if v, ok := f.mults.Load(symbol); ok {
		return v.(float64), nil
	}
	cfg, _, err := kv.Get[config.Coin](ctx, f.env.KV.Coins, symbol)
	if err != nil {
		return 0, badRequest("unknown coin %q", symbol)
	}
	c, err := coin.Get(symbol, cfg.Network)
	if err != nil {
		return 0, badRequest("coin %q: %v", symbol, err)
	}
	m := c.HashrateMultiplier()
	f.mults.Store(symbol, m)
	return m, nil
}

func scopeOf(r ScopeRequest) (chstore.Scope, string, error) {
	if r.Coin == "" {
		return chstore.Scope{}, "", badRequest("coin is required")
	}
	switch {
	case r.Address == "" && r.Worker != nil:
		return chstore.Scope{}, "", badRequest("worker needs an address")
	case r.Address == "":
		return chstore.Pool(r.Coin), "pool", nil
	case r.Worker == nil:
		return chstore.Miner(r.Coin, r.Address), "miner", nil
	default:
		return chstore.Worker(r.Coin, r.Address, *r.Worker), "worker", nil
	}
}

func (f *Function) hashrate(ctx context.Context, data []byte) (any, error) {
	var r ScopeRequest
	if err := decode(data, &r); err != nil {
		return nil, err
	}
	sc, kind, err := scopeOf(r)
	if err != nil {
		return nil, err
	}
	at, mult, err := f.moment(ctx, r.Coin, r.AtMs)
	if err != nil {
		return nil, err
	}
	sums, err := f.store.Hashrate(ctx, sc, at, windowDurations())
	if err != nil {
		return nil, err
	}
	out := HashrateReply{Coin: r.Coin, Scope: kind, Address: r.Address, Worker: r.Worker}
	for i, s := range sums {
		out.Windows = append(out.Windows, estimate(windows[i].name, s, mult))
	}
	return out, nil
}

func (f *Function) series(ctx context.Context, data []byte) (any, error) {
	var r SeriesRequest
	if err := decode(data, &r); err != nil {
		return nil, err
	}
	sc, kind, err := scopeOf(r.ScopeRequest)
	if err != nil {
		return nil, err
	}
	var span, step time.Duration
	switch r.Range {
	case "24h", "":
		span, step = 24*time.Hour, 5*time.Minute
	case "30d":
		span, step = 30*24*time.Hour, time.Hour
	default:
		return nil, badRequest(`range must be "24h" or "30d", got %q`, r.Range)
	}
	at, mult, err := f.moment(ctx, r.Coin, r.AtMs)
	if err != nil {
		return nil, err
	}
	// Buckets end with the one holding `at`.
	end := at.Truncate(step).Add(step)
	pts, err := f.store.Series(ctx, sc, end.Add(-span), end, step)
	if err != nil {
		return nil, err
	}
	out := SeriesReply{Coin: r.Coin, Scope: kind, StepSeconds: int64(step / time.Second), Points: make([]Point, len(pts))}
	for i, p := range pts {
		secs := step.Seconds()
		if p.Time.Add(step).After(at) { // the bucket in progress
			secs = max(1, at.Sub(p.Time).Seconds())
		}
		out.Points[i] = Point{TimeMs: p.Time.UnixMilli(), Shares: p.Shares, Difficulty: p.SumDifficulty,
			Hashrate: p.SumDifficulty * mult / secs}
	}
	return out, nil
}

func (f *Function) workers(ctx context.Context, data []byte) (any, error) {
	var r WorkersRequest
	if err := decode(data, &r); err != nil {
		return nil, err
	}
	if r.Coin == "" || r.Address == "" {
		return nil, badRequest("coin and address are required")
	}
	at, mult, err := f.moment(ctx, r.Coin, r.AtMs)
	if err != nil {
		return nil, err
	}
	ws, err := f.store.Workers(ctx, r.Coin, r.Address, at, windowDurations())
	if err != nil {
		return nil, err
	}
	offline := f.stats.Load().OfflineAfter.D()
	out := WorkersReply{Coin: r.Coin, Address: r.Address, OfflineAfterS: offline.Seconds(), Workers: make([]WorkerInfo, 0, len(ws))}
	for _, w := range ws {
		wi := WorkerInfo{Worker: w.Worker, Accepted: w.Accepted, Rejected: w.Rejected, Stale: w.Stale}
		if !w.LastShare.IsZero() {
			wi.LastShareMs = w.LastShare.UnixMilli()
			wi.Online = !w.LastShare.Before(at.Add(-offline)) && !w.LastShare.After(at.Add(time.Minute))
		}
		for i, s := range w.Windows {
			wi.Hashrate = append(wi.Hashrate, estimate(windows[i].name, s, mult))
		}
		if total := w.Accepted + w.Rejected; total > 0 {
			wi.RejectRate = float64(w.Rejected) / float64(total)
			wi.StaleRate = float64(w.Stale) / float64(total)
		}
		if long := w.Windows[len(w.Windows)-1]; long.Seconds() > 0 {
			wi.SharesPerS = float64(w.Accepted) / long.Seconds()
		}
		if wi.Online {
			out.Online++
		}
		out.Workers = append(out.Workers, wi)
	}
	return out, nil
}

func (f *Function) poolStats(ctx context.Context, data []byte) (any, error) {
	var r PoolRequest
	if err := decode(data, &r); err != nil {
		return nil, err
	}
	if r.Coin == "" {
		return nil, badRequest("coin is required")
	}
	at, mult, err := f.moment(ctx, r.Coin, r.AtMs)
	if err != nil {
		return nil, err
	}
	ps, err := f.store.PoolStats(ctx, r.Coin, at, f.stats.Load().OfflineAfter.D(), windowDurations())
	if err != nil {
		return nil, err
	}
	out := PoolReply{Coin: r.Coin, Workers: ps.Workers, Miners: ps.Miners, Rejected24h: ps.Rejected, Stale24h: ps.Stale,
		NetworkDifficulty: ps.NetworkDifficulty, Height: ps.Height, LastBlock: ps.LastBlock, RoundDifficulty: ps.RoundDifficulty}
	for i, s := range ps.Windows {
		out.Hashrate = append(out.Hashrate, estimate(windows[i].name, s, mult))
	}
	if s := ps.Windows[0]; s.Seconds() > 0 {
		out.SharesPerS = float64(s.Shares) / s.Seconds()
	}
	if !ps.LastShare.IsZero() {
		out.LastShareMs = ps.LastShare.UnixMilli()
	}
	if ps.NetworkDifficulty > 0 {
		out.RoundEffort = ps.RoundDifficulty / ps.NetworkDifficulty
	}
	return out, nil
}

// settleMargin is how long after a share's time its batch may still reach
// the stream (gateway batching and publish retries).
const settleMargin = 15 * time.Second

func (f *Function) pplns(ctx context.Context, data []byte) (any, error) {
	var r PPLNSRequest
	if err := decode(data, &r); err != nil {
		return nil, err
	}
	req := chstore.PPLNSRequest{Coin: r.Coin, Height: r.Height, EndMs: r.EndMs, NetworkDifficulty: r.NetworkDifficulty, N: r.N, AsOf: r.AsOfS}
	if req.N == 0 {
		req.N = f.pool.Load().PPLNSWindow
	}
	if r.Gateway != "" || r.Seq != nil || r.Idx != nil {
		if r.Gateway == "" || r.Seq == nil || r.Idx == nil || r.EndMs == 0 {
			return nil, badRequest("a block share id needs end_ms, gateway, seq and idx")
		}
		req.Share = &chstore.ShareID{Gateway: r.Gateway, Seq: *r.Seq, Idx: *r.Idx}
	}
	var settled time.Time
	if req.AsOf == 0 {
		mark, ok := f.settle.snapshot(ctx)
		if !ok {
			return nil, unavailable("ingest progress not known yet; retry shortly")
		}
		req.AsOf, settled = mark.asOf, mark.through
	}
	w, err := f.store.PPLNS(ctx, req)
	if err != nil {
		return nil, err
	}
	endMs := w.ToMs
	if !settled.IsZero() && time.UnixMilli(endMs).Add(settleMargin).After(settled) {
		return nil, unavailable("shares up to the block are still being ingested; retry shortly")
	}
	return w, nil
}

func parseTime(raw json.RawMessage, field string) (time.Time, error) {
	var t time.Time
	if len(raw) == 0 || string(raw) == "null" {
		return t, badRequest("%s is required", field)
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		var ms int64
		if err2 := json.Unmarshal(raw, &ms); err2 != nil {
			return t, badRequest("%s: %v", field, err)
		}
		t = time.UnixMilli(ms)
	}
	return t.UTC(), nil
}

// window answers the rewards function (functions/rewards WindowSource).
func (f *Function) window(ctx context.Context, data []byte) (any, error) {
	var r WindowRequest
	if err := decode(data, &r); err != nil {
		return nil, err
	}
	if r.Coin == "" {
		return nil, badRequest("coin is required")
	}
	until, err := parseTime(r.Until, "until")
	if err != nil {
		return nil, err
	}
	mark, ok := f.settle.snapshot(ctx)
	if !ok {
		return nil, unavailable("ingest progress not known yet; retry shortly")
	}
	if until.Add(settleMargin).After(mark.through) {
		return nil, unavailable("shares up to %s are still being ingested; retry shortly", until.Format(time.RFC3339))
	}
	var w *chstore.Window
	switch r.Kind {
	case "pplns":
		if !(r.Work > 0) {
			return nil, badRequest("work must be > 0")
		}
		w, err = f.store.PPLNS(ctx, chstore.PPLNSRequest{Coin: r.Coin, EndMs: until.UnixMilli() - 1, N: 1, NetworkDifficulty: r.Work,
			AsOf: mark.asOf, ByAddress: true})
	case "round":
		var fromMs int64 // no from: the coin's first round, every share kept
		if len(r.From) > 0 && string(r.From) != "null" {
			from, ferr := parseTime(r.From, "from")
			if ferr != nil {
				return nil, ferr
			}
			fromMs = max(0, from.UnixMilli())
		}
		w, err = f.store.Round(ctx, chstore.RoundRequest{Coin: r.Coin, FromMs: fromMs, ToMs: until.UnixMilli(), AsOf: mark.asOf, ByAddress: true})
	default:
		return nil, badRequest(`kind must be "pplns" or "round", got %q`, r.Kind)
	}
	if err != nil {
		return nil, err
	}
	out := WindowReply{ScaleExp: w.ScaleExp, TotalUnits: w.TotalUnits, Complete: w.Complete, AsOfS: w.AsOf, Miners: make([]MinerWork, 0, len(w.Miners))}
	for _, m := range w.Miners { // one entry per address (ByAddress)
		out.Miners = append(out.Miners, MinerWork{Address: m.Address, Units: m.Units, Work: m.Difficulty})
	}
	if f.inlineTooLarge(out.Miners) {
		obj, err := f.storeWindow(ctx, r.Coin, out.Miners)
		if err != nil {
			return nil, err
		}
		out.Miners, out.Object = nil, obj
	}
	return out, nil
}

// inlineTooLarge reports whether miners would make a reply larger than the
// inline limit (JSON: the address, the work and the units of each).
func (f *Function) inlineTooLarge(miners []MinerWork) bool {
	limit := f.InlineLimit
	if limit <= 0 {
		limit = int(f.env.NC.MaxPayload() / 2)
	}
	size := 256
	for _, m := range miners {
		if size += len(m.Address) + 96; size > limit {
			return true
		}
	}
	return false
}

// storeWindow puts the encoded miners into WindowBucket under their digest
// (once: an object with that name and digest is left alone) and returns
// the pointer the reply carries.
func (f *Function) storeWindow(ctx context.Context, coin string, miners []MinerWork) (*WindowObject, error) {
	data := EncodeWindowMiners(miners)
	sum := sha256.Sum256(data)
	obj := &WindowObject{Bucket: WindowBucket, Name: coin + "/" + hex.EncodeToString(sum[:]), SHA256: hex.EncodeToString(sum[:]),
		Size: len(data), Miners: len(miners)}
	digest := "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:])
	if info, err := f.windows.GetInfo(ctx, obj.Name); err == nil && !info.Deleted && info.Digest == digest && info.Size == uint64(len(data)) {
		return obj, nil
	}
	if _, err := f.windows.PutBytes(ctx, obj.Name, data); err != nil {
		return nil, fmt.Errorf("stats: store window %s: %w", obj.Name, err)
	}
	return obj, nil
}
