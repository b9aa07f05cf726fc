package chainwatch

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
	"github.com/jetpool/jetpool/functions/internal/ledgerfn"
	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/node"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Name is the function's registry name.
const Name = "chainwatch"

var (
	mBlocks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "chainwatch", Name: "blocks_total",
		Help: "Blocks judged and published, per coin and state (confirmed or orphaned); a repeat the stream drops as a duplicate is not counted.",
	}, []string{"coin", "state"})
	mNodeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "chainwatch", Name: "node_errors_total",
		Help: "Passes over a coin's pending blocks in which the node could not be asked (its blocks stay pending).",
	}, []string{"coin"})
	mPending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "jetpool", Subsystem: "chainwatch", Name: "pending_blocks",
		Help: "Blocks the ledger holds pending, per coin, as read by the last pass.",
	}, []string{"coin"})
)

// Collectors returns the function's metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{mBlocks, mNodeErrors, mPending}
}

// Function follows pending blocks.
type Function struct {
	// Interval between passes (default 10s).
	Interval time.Duration
	// OrphanDepth is how far the best chain must be past a block's height
	// before a block missing from it is declared orphaned (default 3).
	OrphanDepth int64
}

// New returns a chainwatch function.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	if f.Interval <= 0 {
		f.Interval = 10 * time.Second
	}
	if f.OrphanDepth <= 0 {
		f.OrphanDepth = 3
	}
	env.RegisterMetrics(Collectors()...)
	st, _, err := ledgerfn.Start(ctx, env, Name, "follows pending blocks to confirmation or orphan")
	if err != nil {
		return err
	}
	defer st.Close()
	tick := time.NewTicker(f.Interval)
	defer tick.Stop()
	for {
		if err := f.Pass(ctx, env, st); err != nil && ctx.Err() == nil {
			env.Log.Warn("chainwatch pass incomplete; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Pass checks every pending block of every enabled coin once.
func (f *Function) Pass(ctx context.Context, env *functions.Env, st *ledger.Store) error {
	keys, err := env.KV.Coins.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("chainwatch: coins: %w", err)
	}
	var errs []error
	for _, sym := range keys {
		cfg, _, err := kv.Get[config.Coin](ctx, env.KV.Coins, sym)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !cfg.Enabled {
			continue
		}
		if err := f.passCoin(ctx, env, st, cfg); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sym, err))
		}
	}
	return errors.Join(errs...)
}

func (f *Function) passCoin(ctx context.Context, env *functions.Env, st *ledger.Store, cfg config.Coin) error {
	pending, err := st.PendingBlocks(ctx, cfg.Symbol)
	if err != nil {
		return err
	}
	mPending.WithLabelValues(cfg.Symbol).Set(float64(len(pending)))
	if len(pending) == 0 {
		return nil
	}
	c, err := coin.Get(cfg.Symbol, cfg.Network)
	if err != nil {
		return err
	}
	client, err := node.New(node.Config{URL: cfg.Node.RPCURL, User: cfg.Node.User, Pass: cfg.Node.Pass, Logger: env.Log})
	if err != nil {
		return err
	}
	info, err := client.GetBlockchainInfo(ctx)
	if err != nil {
		mNodeErrors.WithLabelValues(cfg.Symbol).Inc()
		return fmt.Errorf("node: %w", err)
	}
	if info.InitialBlockDownload {
		env.Log.Info("node is syncing; pending blocks wait", "coin", cfg.Symbol)
		return nil
	}
	tip := info.Blocks
	maturity := int64(c.CoinbaseMaturity())
	var errs []error
	nodeFailed := false
	for _, b := range pending {
		v, err := f.judge(ctx, client, b, tip, maturity)
		if err != nil {
			nodeFailed = true
			errs = append(errs, fmt.Errorf("block %s: %w", b.Hash, err))
			continue
		}
		log := env.Log.With("coin", b.Coin, "height", b.Height, "hash", b.Hash)
		switch v.State {
		case ledger.StatePending:
			if err := st.SetConfirmations(ctx, b.Coin, b.Hash, v.Confirmations); err != nil {
				errs = append(errs, err)
			}
			continue
		case ledger.StateConfirmed:
			log.Info("block matured", "confirmations", v.Confirmations)
			_ = st.SetConfirmations(ctx, b.Coin, b.Hash, v.Confirmations)
		case ledger.StateOrphaned:
			log.Warn("block orphaned", "reason", v.Reason)
		}
		fresh, err := publish(ctx, env.JS, v)
		if err != nil {
			errs = append(errs, err)
		} else if fresh {
			mBlocks.WithLabelValues(b.Coin, v.State).Inc()
		}
	}
	if nodeFailed {
		mNodeErrors.WithLabelValues(cfg.Symbol).Inc()
	}
	return errors.Join(errs...)
}

// judge decides a pending block's state from the node's view: the best
// chain's hash at the block's height either is the block (confirmations =
// tip − height + 1) or is not (a reorg replaced it, or the node never had
// it). Only the best chain is asked, so side-chain quirks of getblockheader
// (btcd answers -32603 for side-chain blocks) do not matter.
func (f *Function) judge(ctx context.Context, client *node.Client, b ledger.Block, tip, maturity int64) (ledger.BlockState, error) {
	v := ledger.BlockState{Coin: b.Coin, Hash: b.Hash, Height: b.Height, State: ledger.StatePending, Time: time.Now().UTC()}
	past := tip - b.Height // how far the best chain is past the block
	if past < 0 {
		return v, nil // the node's chain has not reached the block (restarting, syncing)
	}
	main, err := client.GetBlockHash(ctx, b.Height)
	if err != nil {
		return v, err
	}
	if strings.EqualFold(main, b.Hash) {
		v.Confirmations = past + 1
		if v.Confirmations >= maturity {
			v.State = ledger.StateConfirmed
		}
		return v, nil
	}
	if past >= f.OrphanDepth {
		v.State, v.Reason = ledger.StateOrphaned, fmt.Sprintf("best chain has %s at height %d, %d blocks deep", main, b.Height, past+1)
	}
	return v, nil
}

// publish sends a block's state; fresh is false when the stream dropped it
// as a duplicate of an earlier publication.
func publish(ctx context.Context, js jetstream.JetStream, v ledger.BlockState) (fresh bool, err error) {
	data, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	subject := streams.BlockConfirmedSubject(v.Coin)
	if v.State == ledger.StateOrphaned {
		subject = streams.BlockOrphanedSubject(v.Coin)
	}
	ack, err := js.Publish(ctx, subject, data, jetstream.WithMsgID(v.State+"-"+v.Hash))
	if err != nil {
		return false, fmt.Errorf("publish %s: %w", subject, err)
	}
	return !ack.Duplicate, nil
}
