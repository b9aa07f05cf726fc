package blocksubmit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/jobmaker"
	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/node"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Name is the function's registry name.
const Name = "blocksubmit"

var (
	mSubmissions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "blocksubmit", Name: "submissions_total",
		Help: "Found blocks taken to the node, per coin and outcome (accepted, rejected, stale).",
	}, []string{"coin", "outcome"})
	mRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "blocksubmit", Name: "node_retries_total",
		Help: "submitblock calls that did not reach the node and are tried again (in the loop, or by redelivery after GiveUpAfter), per coin.",
	}, []string{"coin"})
)

// Collectors returns the function's metrics.
func Collectors() []prometheus.Collector { return []prometheus.Collector{mSubmissions, mRetries} }

// Function submits found blocks.
type Function struct {
	// GiveUpAfter bounds retries for an unreachable node (default 10 min);
	// the message is then redelivered later rather than dropped.
	GiveUpAfter time.Duration
}

// New returns a blocksubmit function.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	if f.GiveUpAfter == 0 {
		f.GiveUpAfter = 10 * time.Minute
	}
	env.RegisterMetrics(Collectors()...)
	if _, err := functions.Announce(ctx, env, Name, "submits found blocks to the coin node"); err != nil {
		return err
	}
	return functions.Consume(ctx, env, streams.Blocks, streams.ConsumerBlockSubmit, func(ctx context.Context, msg jetstream.Msg) error {
		return f.handle(ctx, env, msg.Data())
	}, functions.ConsumeOptions{MaxMessages: 16})
}

func (f *Function) handle(ctx context.Context, env *functions.Env, data []byte) error {
	var found payload.BlockFound
	if err := json.Unmarshal(data, &found); err != nil {
		return functions.Permanent(fmt.Errorf("undecodable found block: %w", err))
	}
	log := env.Log.With("coin", found.Coin, "height", found.Height, "hash", found.Hash)
	cfg, _, err := kv.Get[config.Coin](ctx, env.KV.Coins, found.Coin)
	if err != nil {
		return fmt.Errorf("coin config: %w", err)
	}
	c, err := coin.Get(found.Coin, cfg.Network)
	if err != nil {
		return functions.Permanent(err)
	}
	block, err := buildBlock(ctx, env, c, &found)
	if err != nil {
		return err
	}
	client, err := node.New(node.Config{URL: cfg.Node.RPCURL, User: cfg.Node.User, Pass: cfg.Node.Pass, Logger: env.Log})
	if err != nil {
		return functions.Permanent(err)
	}
	res := payload.BlockSubmitted{Coin: found.Coin, Height: found.Height, Hash: found.Hash}
	deadline := time.Now().Add(f.GiveUpAfter)
	delay := 100 * time.Millisecond
	for {
		res.Attempts++
		reason, err := client.SubmitBlock(ctx, block.Hex())
		if err == nil {
			switch reason {
			case "", "duplicate", "inconclusive", "duplicate-inconclusive":
				res.Outcome = payload.SubmitAccepted
				// A valid block that lost the race for its height sits on a
				// side chain: it earns nothing, so it is stale.
				if stale, err := isStale(ctx, client, &found); err == nil && stale {
					res.Outcome, res.Reason = payload.SubmitStale, "valid but on a side chain"
				}
			default:
				res.Outcome, res.Reason = payload.SubmitRejected, reason
				if stale, _ := isStale(ctx, client, &found); stale {
					res.Outcome = payload.SubmitStale
				}
			}
			break
		}
		var rpcErr *node.RPCError
		if errors.As(err, &rpcErr) {
			// The node answered with an error object: it judged the block.
			res.Outcome, res.Reason = payload.SubmitRejected, rpcErr.Message
			break
		}
		if stale, _ := isStale(ctx, client, &found); stale {
			res.Outcome, res.Reason = payload.SubmitStale, "height taken by another block"
			break
		}
		mRetries.WithLabelValues(found.Coin).Inc()
		if time.Now().After(deadline) || ctx.Err() != nil {
			return functions.RetryAfter(fmt.Errorf("node unreachable: %w", err), 5*time.Second)
		}
		log.Warn("submitblock failed; retrying", "attempt", res.Attempts, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
	res.Time = time.Now().UTC()
	mSubmissions.WithLabelValues(found.Coin, res.Outcome).Inc()
	if res.Outcome == payload.SubmitAccepted {
		log.Info("block accepted by the node", "attempts", res.Attempts)
	} else {
		log.Warn("block not accepted", "outcome", res.Outcome, "reason", res.Reason)
	}
	out, _ := json.Marshal(res)
	id := jetstream.WithMsgID("submitted-" + found.Hash)
	if _, err := env.JS.Publish(ctx, streams.BlockSubmittedSubject(found.Coin), out, id); err != nil {
		return fmt.Errorf("publish outcome: %w", err)
	}
	if _, err := env.JS.Publish(ctx, streams.EventSubject("block", found.Coin, res.Outcome), out, jetstream.WithMsgID("event-"+found.Hash)); err != nil {
		return fmt.Errorf("publish event: %w", err)
	}
	return nil
}

func buildBlock(ctx context.Context, env *functions.Env, c coin.Coin, found *payload.BlockFound) (*coin.Block, error) {
	var job coin.Job
	if err := json.Unmarshal(found.Job, &job); err != nil {
		return nil, functions.Permanent(fmt.Errorf("job in found block: %w", err))
	}
	raw, err := env.KV.Templates.GetBytes(ctx, jobmaker.TemplateKey(found.Coin, found.TemplateID))
	if err != nil {
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil, functions.Permanent(fmt.Errorf("template %s gone: %w", found.TemplateID, err))
		}
		return nil, fmt.Errorf("template %s: %w", found.TemplateID, err)
	}
	tpl, err := c.ParseTemplate(raw)
	if err != nil {
		return nil, functions.Permanent(fmt.Errorf("template: %w", err))
	}
	en1, err1 := hex.DecodeString(found.Extranonce1)
	en2, err2 := hex.DecodeString(found.Extranonce2)
	if err := errors.Join(err1, err2); err != nil {
		return nil, functions.Permanent(fmt.Errorf("extranonce: %w", err))
	}
	block, err := c.BuildBlock(&job, tpl, coin.Submission{Extranonce1: en1, Extranonce2: en2, NTime: found.NTime, Nonce: found.Nonce, Version: found.Version})
	if err != nil {
		return nil, functions.Permanent(fmt.Errorf("build block: %w", err))
	}
	if !strings.EqualFold(block.Hash.String(), found.Hash) {
		return nil, functions.Permanent(fmt.Errorf("rebuilt block hash %s differs from found %s", block.Hash, found.Hash))
	}
	return block, nil
}

// isStale reports whether the node's chain already has another block at the
// found block's height.
func isStale(ctx context.Context, client *node.Client, found *payload.BlockFound) (bool, error) {
	hash, err := client.GetBlockHash(ctx, found.Height)
	if err != nil {
		return false, err
	}
	return !strings.EqualFold(hash, found.Hash), nil
}
