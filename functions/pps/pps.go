package pps

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/functions"
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

// Function credits shares under PPS/FPPS.
type Function struct{}

// New returns a pps function.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	st, err := ledger.Open(ctx, env.Deps.PostgresDSN)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := functions.Announce(ctx, env, Name, "credits shares under PPS and FPPS"); err != nil {
		return err
	}
	return functions.Consume(ctx, env, streams.Shares, streams.ConsumerPPS, func(ctx context.Context, msg jetstream.Msg) error {
		var b payload.ShareBatch
		if err := json.Unmarshal(msg.Data(), &b); err != nil {
			return functions.Permanent(fmt.Errorf("undecodable share batch: %w", err))
		}
		pool, _, err := kv.Get[config.Pool](ctx, env.KV.Config, config.KeyPool)
		if err != nil {
			return fmt.Errorf("pool config: %w", err)
		}
		if pool.Scheme != config.SchemePPS && pool.Scheme != config.SchemeFPPS {
			return nil
		}
		cc, _, err := kv.Get[config.Coin](ctx, env.KV.Coins, b.Coin)
		if err != nil {
			return fmt.Errorf("coin config: %w", err)
		}
		return Credit(ctx, st, &b, pool, Subsidy(cc.Network))
	}, functions.ConsumeOptions{MaxMessages: 512})
}

// Subsidy returns the Bitcoin-family block subsidy schedule of a network:
// 50 coins halved every SubsidyReductionInterval blocks (150 on regtest).
func Subsidy(network string) func(height int64) int64 {
	interval := int64(chaincfg.MainNetParams.SubsidyReductionInterval)
	if network == "regtest" {
		interval = int64(chaincfg.RegressionNetParams.SubsidyReductionInterval)
	}
	return func(height int64) int64 {
		halvings := height / interval
		if halvings >= 64 {
			return 0
		}
		return (50 * 100_000_000) >> halvings
	}
}

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
		if !s.Accepted || s.Solo || s.Address == "" || !(s.NetworkDifficulty > 0) {
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
		nd, err := ledger.WorkUnits(g.netd)
		if err != nil {
			continue
		}
		v, err := ledger.PPSValue(w, nd, subsidy(g.height)+fees, bps)
		if err != nil {
			return functions.Permanent(err)
		}
		amounts[g.addr] += v
	}
	_, err := st.CreditPPS(ctx, b.Coin, b.MsgID(), n, amounts)
	return err
}
