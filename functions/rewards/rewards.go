package rewards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/blocks"
	"github.com/jetpool/jetpool/functions/internal/ledgerfn"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Name is the function's registry name.
const Name = "rewards"

var (
	mBlocks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "rewards", Name: "blocks_total",
		Help: "Block steps applied, by scheme and state (credited: split recorded; unpaid: split of a block already orphaned; confirmed: rewards became balances; removed: orphaned, immature rewards deleted).",
	}, []string{"coin", "scheme", "state"})
	mCredited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "rewards", Name: "credited_base_units_total",
		Help: "Base units of split blocks recorded as immature rewards (kind miners) and as the pool fee (kind fee).",
	}, []string{"coin", "kind"})
	mSplitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "jetpool", Subsystem: "rewards", Name: "split_seconds",
		Help:    "Time to compute a block's split, the share window request included.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	}, []string{"coin"})
	mDuplicates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "rewards", Name: "duplicates_total",
		Help: "Deliveries that found their step already applied (redeliveries), by event (found, confirmed, orphaned).",
	}, []string{"coin", "event"})
)

// Collectors returns the function's metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{mBlocks, mCredited, mSplitSeconds, mDuplicates}
}

// Function splits blocks and moves rewards to balances.
type Function struct {
	// Window provides share work (default NATSWindow on the function's connection).
	Window WindowSource
	// EmptyWindowGrace: an empty PPLNS/PROP window is retried (the share
	// store may lag) until the block is this old; then the pool keeps the
	// block (default 10 min).
	EmptyWindowGrace time.Duration
}

// New returns a rewards function.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	if f.Window == nil {
		f.Window = NATSWindow{NC: env.NC, JS: env.JS}
	}
	if f.EmptyWindowGrace == 0 {
		f.EmptyWindowGrace = 10 * time.Minute
	}
	env.RegisterMetrics(Collectors()...)
	st, _, err := ledgerfn.Start(ctx, env, Name, "splits blocks into rewards and balances")
	if err != nil {
		return err
	}
	defer st.Close()
	return functions.Consume(ctx, env, streams.Blocks, streams.ConsumerRewards, func(ctx context.Context, msg jetstream.Msg) error {
		return f.Handle(ctx, env, st, msg.Subject(), msg.Data())
	}, functions.ConsumeOptions{MaxMessages: 16})
}

// Handle applies one BLOCKS message.
func (f *Function) Handle(ctx context.Context, env *functions.Env, st *ledger.Store, subject string, data []byte) error {
	switch {
	case strings.HasSuffix(subject, ".found"):
		var found payload.BlockFound
		if err := json.Unmarshal(data, &found); err != nil {
			return functions.Permanent(fmt.Errorf("undecodable found block: %w", err))
		}
		pool, _, err := kv.Get[config.Pool](ctx, env.KV.Config, config.KeyPool)
		if err != nil {
			return fmt.Errorf("pool config: %w", err)
		}
		return f.reward(ctx, env, st, &found, pool)
	case strings.HasSuffix(subject, ".confirmed"), strings.HasSuffix(subject, ".orphaned"):
		var s ledger.BlockState
		if err := json.Unmarshal(data, &s); err != nil {
			return functions.Permanent(fmt.Errorf("undecodable block state: %w", err))
		}
		log := env.Log.With("coin", s.Coin, "hash", s.Hash, "height", s.Height)
		if s.State == ledger.StateConfirmed {
			done, err := st.ConfirmBlock(ctx, s.Coin, s.Hash, s.Confirmations)
			switch {
			case errors.Is(err, ledger.ErrNotRewarded), errors.Is(err, ledger.ErrNotFound):
				return functions.RetryAfter(err, 2*time.Second)
			case errors.Is(err, ledger.ErrBlockOrphaned):
				return functions.Permanent(err)
			case err != nil:
				return err
			case done:
				mBlocks.WithLabelValues(s.Coin, schemeOf(ctx, st, s.Coin, s.Hash), "confirmed").Inc()
				log.Info("block confirmed; rewards are balances")
			default:
				mDuplicates.WithLabelValues(s.Coin, "confirmed").Inc()
			}
			return nil
		}
		done, err := st.OrphanBlock(ctx, s.Coin, s.Hash, s.Reason)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			return functions.RetryAfter(err, 2*time.Second)
		case errors.Is(err, ledger.ErrBlockConfirmed):
			return functions.Permanent(err)
		case err != nil:
			return err
		case done:
			mBlocks.WithLabelValues(s.Coin, schemeOf(ctx, st, s.Coin, s.Hash), "removed").Inc()
			log.Warn("block orphaned; immature rewards removed", "reason", s.Reason)
		default:
			mDuplicates.WithLabelValues(s.Coin, "orphaned").Inc()
		}
		return nil
	}
	return functions.Permanent(fmt.Errorf("unexpected subject %s", subject))
}

func (f *Function) reward(ctx context.Context, env *functions.Env, st *ledger.Store, found *payload.BlockFound, pool config.Pool) error {
	// The blocks function records the row too; whoever comes first wins.
	if _, err := st.RecordBlock(ctx, blocks.BlockRow(found)); err != nil {
		return err
	}
	b, err := st.Block(ctx, found.Coin, found.Hash)
	if err != nil {
		return err
	}
	if b.Rewarded {
		mDuplicates.WithLabelValues(b.Coin, "found").Inc()
		return nil
	}
	t0 := time.Now()
	sp, effort, err := f.Split(ctx, st, b, pool)
	if errors.Is(err, ledger.ErrEmptyWindow) && time.Since(b.FoundAt) < f.EmptyWindowGrace {
		return functions.RetryAfter(err, 5*time.Second)
	}
	if err != nil && !errors.Is(err, ledger.ErrEmptyWindow) {
		return err
	}
	mSplitSeconds.WithLabelValues(b.Coin).Observe(time.Since(t0).Seconds())
	outcome, err := st.RecordRewards(ctx, b.Coin, b.Hash, sp, effort)
	if err != nil {
		return err
	}
	switch outcome {
	case ledger.RewardsAlreadyRecorded:
		// Another delivery of the same block recorded it first.
		mDuplicates.WithLabelValues(b.Coin, "found").Inc()
	case ledger.RewardsOrphanUnpaid:
		// The ledger marks an orphaned block rewarded and credits nothing.
		mBlocks.WithLabelValues(b.Coin, sp.Scheme, "unpaid").Inc()
	case ledger.RewardsCredited:
		var miners int64
		for _, r := range sp.Rewards {
			miners += r.Amount
		}
		mBlocks.WithLabelValues(b.Coin, sp.Scheme, "credited").Inc()
		mCredited.WithLabelValues(b.Coin, "miners").Add(float64(miners))
		mCredited.WithLabelValues(b.Coin, "fee").Add(float64(sp.Fee))
	}
	env.Log.Info("block rewards recorded", "coin", b.Coin, "hash", b.Hash, "scheme", sp.Scheme, "fee", sp.Fee, "miners", len(sp.Rewards))
	return nil
}

// Split computes a block's split under the pool's configuration. It
// returns ErrEmptyWindow (with a split where the pool keeps everything)
// when a PPLNS or PROP window has no work.
func (f *Function) Split(ctx context.Context, st *ledger.Store, b ledger.Block, pool config.Pool) (ledger.Split, *float64, error) {
	scheme := pool.Scheme
	if b.Solo {
		scheme = config.SchemeSOLO
	}
	fee := pool.FeeFor(scheme)
	switch scheme {
	case config.SchemeSOLO:
		sp, err := ledger.SplitSolo(b.CoinbaseValue, fee, b.Finder)
		return sp, nil, err
	case config.SchemePPS, config.SchemeFPPS:
		return ledger.SplitPoolKeeps(scheme, b.CoinbaseValue), nil, nil
	case config.SchemePPLNS, config.SchemePROP:
	default:
		return ledger.Split{}, nil, functions.Permanent(fmt.Errorf("unknown scheme %q", scheme))
	}
	var (
		ws  []MinerWork
		err error
	)
	// Share times are milliseconds and the block's own share carries the
	// same millisecond as the block: windows end just after that
	// millisecond, so the finding share counts, and a round runs from just
	// after the previous block's millisecond.
	until := roundEnd(b.FoundAt)
	if scheme == config.SchemePPLNS {
		ws, err = f.Window.PPLNSWindow(ctx, b.Coin, until, pool.PPLNSWindow*b.NetworkDifficulty)
	} else {
		var from time.Time
		if from, err = st.RoundStart(ctx, b.Coin, b.Hash); err == nil {
			if !from.IsZero() {
				from = roundEnd(from)
			}
			ws, err = f.Window.RoundWork(ctx, b.Coin, from, until)
		}
	}
	if err != nil {
		return ledger.Split{}, nil, err
	}
	var effort *float64
	if scheme == config.SchemePROP && b.NetworkDifficulty > 0 {
		var sum float64
		for _, w := range ws {
			sum += w.Work
		}
		e := sum / b.NetworkDifficulty
		effort = &e
	}
	lw, err := ToLedger(ws)
	if err != nil {
		return ledger.Split{}, nil, functions.Permanent(err)
	}
	sp, err := ledger.SplitProportional(scheme, b.CoinbaseValue, fee, lw)
	return sp, effort, err
}

// schemeOf is the scheme a block was split under, as a metric label:
// "none" before its split, "unknown" when the ledger cannot say.
func schemeOf(ctx context.Context, st *ledger.Store, coin, hash string) string {
	b, err := st.Block(ctx, coin, hash)
	switch {
	case err != nil:
		return "unknown"
	case b.Scheme == "":
		return "none"
	}
	return b.Scheme
}

// roundEnd is the first instant after t's millisecond.
func roundEnd(t time.Time) time.Time { return t.Truncate(time.Millisecond).Add(time.Millisecond) }
