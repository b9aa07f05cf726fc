package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/chstore"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Name is the function's registry name.
const Name = "ingest"

// Function writes shares into ClickHouse.
type Function struct {
	// Consumer is the durable to read (default streams.ConsumerIngest);
	// tests point a second copy at another durable to make it race.
	Consumer string
	// RollupLookback bounds how far back rollups look for hours with new
	// shares (default 8 days: longer than SHARES keeps a backlog).
	RollupLookback time.Duration
	// Grace overrides chstore.DefaultGrace (tests).
	Grace time.Duration
	// Writers is how many batches are written at once (default 2: an
	// INSERT runs on one ClickHouse thread, and while one batch waits for
	// the server the next is encoded).
	Writers int

	cfg atomic.Pointer[config.Ingest]
}

// New returns an ingest function.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

var (
	mShares = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "ingest", Name: "shares_total",
		Help: "Shares written to ClickHouse, by kind (accepted, rejected, skipped: accepted but not creditable).",
	}, []string{"kind"})
	mInserts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "ingest", Name: "inserts_total",
		Help: "INSERT attempts by outcome (ok, error).",
	}, []string{"outcome"})
	mInsertSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "jetpool", Subsystem: "ingest", Name: "insert_seconds",
		Help: "Time to write one batch (both tables).", Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
	})
	mTerminated = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "ingest", Name: "messages_terminated_total",
		Help: "Share messages that could not be decoded and were terminated.",
	})
	mJobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "ingest", Name: "jobs_total",
		Help: "Rollup and retention runs by job and outcome.",
	}, []string{"job", "outcome"})
)

// Collectors returns the function's metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{mShares, mInserts, mInsertSeconds, mTerminated, mJobs}
}

// batch is a group of messages written together.
type batch struct {
	w    *chstore.Writer
	msgs []jetstream.Msg
	seen map[string]bool // message ids in the batch (a redelivery may arrive twice)
}

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	if env.Deps.ClickHouseDSN == "" {
		return errors.New("ingest: no ClickHouse DSN configured")
	}
	env.RegisterMetrics(Collectors()...)
	def := config.Default().Ingest
	f.cfg.Store(&def)
	if err := kv.Watch(ctx, env.KV.Config, config.KeyIngest, config.Ingest.Validate, func(c config.Ingest) {
		f.cfg.Store(&c)
		env.Log.Info("ingest settings applied", "batch_size", c.BatchSize, "max_delay", c.MaxDelay, "retention_days", c.RetentionDays)
	}, env.Log); err != nil {
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
	if err := f.migrate(ctx, env, store); err != nil {
		return nil // ctx ended while ClickHouse was away
	}
	if _, err := functions.Announce(ctx, env, Name, "writes shares into ClickHouse"); err != nil {
		return err
	}
	durable := f.Consumer
	if durable == "" {
		durable = streams.ConsumerIngest
	}
	cons, err := env.JS.Consumer(ctx, streams.Shares, durable)
	if err != nil {
		return fmt.Errorf("ingest: consumer %s: %w", durable, err)
	}
	ackWait := cons.CachedInfo().Config.AckWait
	if ackWait <= 0 {
		ackWait = 30 * time.Second
	}
	if env.Ready != nil {
		env.Ready.Add("ingest-clickhouse", store.Ping)
		defer env.Ready.Remove("ingest-clickhouse")
	}

	var wg sync.WaitGroup
	wg.Go(func() {
		f.every(ctx, env, "rollup", func(c *config.Ingest) time.Duration { return c.RollupInterval() }, func(ctx context.Context) error {
			lookback := f.RollupLookback
			if lookback == 0 {
				lookback = 8 * 24 * time.Hour
			}
			res, err := store.Rollup(ctx, lookback)
			if err == nil && res.Hours > 0 {
				env.Log.Debug("hourly rollups updated", "hours", res.Hours, "version", res.Version)
			}
			return err
		})
	})
	wg.Go(func() {
		f.every(ctx, env, "retention", func(c *config.Ingest) time.Duration { return c.RetentionInterval() }, func(ctx context.Context) error {
			_, err := store.DropExpired(ctx, f.cfg.Load().RetentionDays, time.Now())
			return err
		})
	})

	// Two stages: the fetcher fills a batch while writers insert earlier
	// ones. Batches circulate through free, so stuck inserts stop fetching:
	// JetStream keeps what is not fetched.
	writers := f.Writers
	if writers <= 0 {
		writers = 2
	}
	free := make(chan *batch, writers+1)
	for range writers + 1 {
		free <- &batch{w: store.NewWriter(), seen: map[string]bool{}}
	}
	full := make(chan *batch)
	wg.Go(func() {
		defer close(full)
		f.fetch(ctx, env, cons, free, full)
	})
	var writing sync.WaitGroup
	for range writers {
		writing.Go(func() {
			for b := range full {
				f.write(ctx, env, b, ackWait)
				b.w.Reset()
				b.msgs = b.msgs[:0]
				clear(b.seen)
				free <- b
			}
		})
	}
	writing.Wait()
	wg.Wait()
	return nil
}

// migrate applies the schema, retrying while ClickHouse is unreachable.
func (f *Function) migrate(ctx context.Context, env *functions.Env, store *chstore.Store) error {
	for attempt := 1; ; attempt++ {
		_, err := store.Migrate(ctx)
		if err == nil {
			return nil
		}
		delay := backoff(attempt)
		env.Log.Warn("ClickHouse not ready for migrations; retrying", "attempt", attempt, "in", delay, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}

func backoff(attempt int) time.Duration {
	steps := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}
	if attempt > len(steps) {
		return steps[len(steps)-1]
	}
	return steps[attempt-1]
}

// fetch gathers messages into batches until ctx ends.
func (f *Function) fetch(ctx context.Context, env *functions.Env, cons jetstream.Consumer, free <-chan *batch, full chan<- *batch) {
	var (
		decoded payload.ShareBatch
		dec     Decoder
	)
	sharesPerMsg := 16.0
	for {
		var b *batch
		select {
		case <-ctx.Done():
			return
		case b = <-free:
		}
		var deadline, opened time.Time
		for ctx.Err() == nil {
			cfg := f.cfg.Load() // a new size or delay applies to the open batch too
			n := b.w.Accepted() + b.w.Rejected()
			if n >= cfg.BatchSize {
				break
			}
			wait := time.Second // idle: poll for the first message
			if !deadline.IsZero() {
				wait = time.Until(deadline)
				if wait < time.Millisecond {
					break
				}
			}
			want := max(1, min(512, int(float64(cfg.BatchSize-n)/sharesPerMsg)))
			msgs, err := cons.Fetch(want, jetstream.FetchMaxWait(wait))
			if err != nil {
				if ctx.Err() == nil {
					env.Log.Warn("fetch from SHARES failed", "err", err)
					sleep(ctx, time.Second)
				}
				continue
			}
			for msg := range msgs.Messages() {
				id := msg.Headers().Get(jetstream.MsgIDHeader)
				if err := dec.Decode(msg.Data(), &decoded); err != nil || decoded.Gateway == "" {
					env.Log.Error("terminating undecodable share batch", "subject", msg.Subject(), "err", err)
					_ = msg.TermWithReason("undecodable share batch")
					mTerminated.Inc()
					continue
				}
				if id == "" {
					id = decoded.MsgID()
				}
				if b.seen[id] {
					// A redelivered copy of a message already in the batch:
					// its shares are there once; it is acked with the batch.
					b.msgs = append(b.msgs, msg)
					continue
				}
				b.seen[id] = true
				fillFromSubject(&decoded, msg.Subject())
				before := b.w.Accepted() + b.w.Rejected()
				b.w.Add(&decoded)
				if got := b.w.Accepted() + b.w.Rejected() - before; got > 0 {
					sharesPerMsg = 0.9*sharesPerMsg + 0.1*float64(got)
				}
				b.msgs = append(b.msgs, msg)
				if deadline.IsZero() {
					opened = time.Now()
				}
				deadline = opened.Add(f.cfg.Load().MaxDelay.D())
			}
			if err := msgs.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil {
				env.Log.Debug("fetch ended", "err", err)
			}
		}
		if len(b.msgs) == 0 {
			return // ctx ended before anything arrived
		}
		select {
		case full <- b:
		case <-ctx.Done():
			nakAll(b.msgs)
			return
		}
	}
}

// fillFromSubject completes a batch that lacks its coin or region.
func fillFromSubject(b *payload.ShareBatch, subject string) {
	parts := strings.Split(subject, ".")
	if len(parts) == 3 {
		if b.Coin == "" {
			b.Coin = parts[1]
		}
		if b.Region == "" {
			b.Region = parts[2]
		}
	}
}

// write inserts one batch, retrying with backoff until it succeeds or ctx
// ends, then acknowledges its messages. While it retries it tells JetStream
// the messages are in progress, so they are not handed to another copy.
func (f *Function) write(ctx context.Context, env *functions.Env, b *batch, ackWait time.Duration) {
	if len(b.msgs) == 0 {
		return
	}
	acceptedDone, rejectedDone := false, false
	lastProgress := time.Now()
	for attempt := 1; ; attempt++ {
		start := time.Now()
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(10*time.Second, ackWait/2))
		var err error
		if !acceptedDone {
			if err = b.w.WriteAccepted(ictx); err == nil {
				acceptedDone = true
			}
		}
		if err == nil && !rejectedDone {
			if err = b.w.WriteRejected(ictx); err == nil {
				rejectedDone = true
			}
		}
		cancel()
		if err == nil {
			mInserts.WithLabelValues("ok").Inc()
			mInsertSeconds.Observe(time.Since(start).Seconds())
			mShares.WithLabelValues("accepted").Add(float64(b.w.Accepted()))
			mShares.WithLabelValues("rejected").Add(float64(b.w.Rejected()))
			mShares.WithLabelValues("skipped").Add(float64(b.w.Skipped))
			for _, m := range b.msgs {
				if err := m.Ack(); err != nil {
					env.Log.Warn("ack failed; the batch will be redelivered and its rows collapse", "err", err)
				}
			}
			if attempt > 1 {
				env.Log.Info("ClickHouse insert succeeded after retries", "attempts", attempt, "messages", len(b.msgs))
			}
			return
		}
		mInserts.WithLabelValues("error").Inc()
		if ctx.Err() != nil {
			nakAll(b.msgs)
			return
		}
		delay := backoff(attempt)
		env.Log.Warn("ClickHouse insert failed; backing off, JetStream keeps the shares",
			"attempt", attempt, "in", delay, "messages", len(b.msgs), "err", err)
		if time.Since(lastProgress) > ackWait/3 {
			for _, m := range b.msgs {
				_ = m.InProgress()
			}
			lastProgress = time.Now()
		}
		if !sleep(ctx, delay) {
			nakAll(b.msgs)
			return
		}
	}
}

func nakAll(msgs []jetstream.Msg) {
	for _, m := range msgs {
		_ = m.Nak()
	}
}

// sleep waits d or until ctx ends; it reports whether the full time passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// every runs job on the interval the config gives, starting now.
func (f *Function) every(ctx context.Context, env *functions.Env, name string, interval func(*config.Ingest) time.Duration, job func(context.Context) error) {
	for {
		err := job(ctx)
		switch {
		case err == nil:
			mJobs.WithLabelValues(name, "ok").Inc()
		case ctx.Err() != nil:
			return
		default:
			mJobs.WithLabelValues(name, "error").Inc()
			env.Log.Warn("scheduled job failed; next run on schedule", "job", name, "err", err)
		}
		if !sleep(ctx, interval(f.cfg.Load())) {
			return
		}
	}
}
