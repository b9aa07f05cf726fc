package pps

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/internal/ledgerfn"
	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Name is the function's registry name.
const Name = "pps"

// FeeWindowBlocks is how many recent blocks FPPS averages fees over.
const FeeWindowBlocks = 100

var (
	mBatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "pps", Name: "batches_credited_total",
		Help: "Share batches credited (once each), by scheme (pps, fpps).",
	}, []string{"coin", "scheme"})
	mShares = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "pps", Name: "shares_credited_total",
		Help: "Accepted non-solo shares in credited batches.",
	}, []string{"coin", "scheme"})
	mCredited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "pps", Name: "credited_base_units_total",
		Help: "Base units credited to miners' balances.",
	}, []string{"coin", "scheme"})
	mDuplicates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "pps", Name: "duplicates_total",
		Help: "Share batches skipped because they were credited already (redeliveries).",
	}, []string{"coin"})
	mTerminated = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "pps", Name: "batches_terminated_total",
		Help: "Share batches terminated, by reason (undecodable; unpayable: their value cannot be computed).",
	}, []string{"reason"})
)

// Collectors returns the function's metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{mBatches, mShares, mCredited, mDuplicates, mTerminated}
}

// Function credits shares under PPS/FPPS.
type Function struct{}

// New returns a pps function.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	env.RegisterMetrics(Collectors()...)
	st, _, err := ledgerfn.Start(ctx, env, Name, "credits shares under PPS and FPPS")
	if err != nil {
		return err
	}
	defer st.Close()
	// The coins registry, resolved once per change instead of a KV read and
	// a coin.Get per batch.
	var coins sync.Map // symbol → coin.Coin
	if err := kv.WatchBucket(ctx, env.KV.Coins, nil, func(sym string, cc config.Coin, deleted bool) {
		c, err := coin.Get(sym, cc.Network)
		if deleted || err != nil {
			coins.Delete(sym)
			return
		}
		coins.Store(sym, c)
	}, env.Log); err != nil {
		return err
	}
	return functions.Consume(ctx, env, streams.Shares, streams.ConsumerPPS, func(ctx context.Context, msg jetstream.Msg) error {
		var b payload.ShareBatch
		if err := json.Unmarshal(msg.Data(), &b); err != nil {
			mTerminated.WithLabelValues("undecodable").Inc()
			return functions.Permanent(fmt.Errorf("undecodable share batch: %w", err))
		}
		pool, _, err := kv.Get[config.Pool](ctx, env.KV.Config, config.KeyPool)
		if err != nil {
			return fmt.Errorf("pool config: %w", err)
		}
		if pool.Scheme != config.SchemePPS && pool.Scheme != config.SchemeFPPS {
			return nil
		}
		c, ok := coins.Load(b.Coin)
		if !ok {
			// Not registered or not in this build: retried (with growing
			// delay) until the coin is known.
			return fmt.Errorf("share batch of coin %q: not in the coins registry of this build", b.Coin)
		}
		err = Credit(ctx, st, &b, pool, c.(coin.Coin).BlockSubsidy)
		if functions.IsPermanent(err) {
			mTerminated.WithLabelValues("unpayable").Inc()
		}
		return err
	}, functions.ConsumeOptions{MaxMessages: 512})
}

// unitsPerDifficulty is ledger.WorkScale as a fraction.
var unitsPerDifficulty = new(big.Rat).SetInt64(ledger.WorkScale)

type group struct {
	addr   string
	netd   float64
	height int64
}

// Credit computes and records one batch's PPS/FPPS credits.
func Credit(ctx context.Context, st *ledger.Store, b *payload.ShareBatch, pool config.Pool, subsidy func(int64) int64) error {
	work := map[group]*big.Int{}
	n := 0
	for _, s := range b.Shares {
		if !s.Accepted || s.Solo || s.Address == "" || !(s.NetworkDifficulty > 0) || math.IsInf(s.NetworkDifficulty, 1) {
			continue
		}
		u, err := ledger.WorkUnits(s.Difficulty)
		if err != nil {
			continue // a gateway bug must not block everyone else's credits; the share earns nothing
		}
		g := group{s.Address, s.NetworkDifficulty, s.Height}
		if work[g] == nil {
			work[g] = new(big.Int)
		}
		work[g].Add(work[g], u)
		n++
	}
	var fees int64
	if pool.Scheme == config.SchemeFPPS {
		var err error
		if fees, err = st.AverageFees(ctx, b.Coin, FeeWindowBlocks, subsidy); err != nil {
			return err
		}
	}
	bps := pool.FeeFor(pool.Scheme)
	amounts := map[string]int64{}
	for g, w := range work {
		// The network difficulty counts exactly (regtest's 4.66e-10 is
		// far below one work unit): as work units it is the fraction
		// num/den, and work ÷ (num/den) = work × den ÷ num.
		nd := new(big.Rat).SetFloat64(g.netd)
		nd.Mul(nd, unitsPerDifficulty)
		v, err := ledger.PPSValue(new(big.Int).Mul(w, nd.Denom()), nd.Num(), subsidy(g.height)+fees, bps)
		if err != nil {
			return functions.Permanent(err)
		}
		amounts[g.addr] += v
	}
	done, err := st.CreditPPS(ctx, b.Coin, b.MsgID(), n, amounts)
	switch {
	case err != nil:
		return err
	case !done:
		mDuplicates.WithLabelValues(b.Coin).Inc()
		return nil
	}
	var total int64
	for _, v := range amounts {
		total += v
	}
	mBatches.WithLabelValues(b.Coin, pool.Scheme).Inc()
	mShares.WithLabelValues(b.Coin, pool.Scheme).Add(float64(n))
	mCredited.WithLabelValues(b.Coin, pool.Scheme).Add(float64(total))
	return nil
}
