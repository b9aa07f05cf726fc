package blocks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/internal/ledgerfn"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/streams"
)

// Name is the function's registry name.
const Name = "blocks"

// ListSubject answers block lists.
const ListSubject = "ledger.blocks"

var (
	mFound = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "blocks", Name: "found_total",
		Help: "Found blocks recorded in the ledger (once per block hash).",
	}, []string{"coin"})
	mDuplicates = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "blocks", Name: "duplicates_total",
		Help: "Found-block messages ignored because the block was recorded already (redeliveries, or the rewards function first).",
	}, []string{"coin"})
	mMalformed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "blocks", Name: "malformed_total",
		Help: "Found-block messages dropped (terminated), by reason (undecodable, incomplete).",
	}, []string{"reason"})
	mRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "blocks", Name: "requests_total",
		Help: "ledger.blocks requests answered, by result (ok, bad_request, error).",
	}, []string{"result"})
)

// Collectors returns the function's metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{mFound, mDuplicates, mMalformed, mRequests}
}

// ListRequest asks for the latest blocks of a coin.
type ListRequest struct {
	Coin  string `json:"coin"`
	Limit int    `json:"limit"`
}

// Function records found blocks.
type Function struct{}

// New returns a blocks function.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	env.RegisterMetrics(Collectors()...)
	st, svc, err := ledgerfn.Start(ctx, env, Name, "records found blocks in the ledger")
	if err != nil {
		return err
	}
	defer st.Close()
	if err := svc.AddEndpoint("list", micro.HandlerFunc(func(req micro.Request) {
		var r ListRequest
		if err := json.Unmarshal(req.Data(), &r); err != nil || r.Coin == "" {
			mRequests.WithLabelValues("bad_request").Inc()
			_ = req.Error("400", "want {\"coin\":…,\"limit\":…}", nil)
			return
		}
		if r.Limit <= 0 || r.Limit > 1000 {
			r.Limit = 50
		}
		bs, err := st.Blocks(ctx, r.Coin, r.Limit)
		if err != nil {
			mRequests.WithLabelValues("error").Inc()
			env.Log.Error("list blocks", "err", err)
			_ = req.Error("500", "ledger unavailable", nil)
			return
		}
		mRequests.WithLabelValues("ok").Inc()
		_ = req.RespondJSON(bs)
	}), micro.WithEndpointSubject(ListSubject)); err != nil {
		return fmt.Errorf("blocks: endpoint: %w", err)
	}
	return functions.Consume(ctx, env, streams.Blocks, streams.ConsumerLedger, func(ctx context.Context, msg jetstream.Msg) error {
		return Handle(ctx, st, env, msg.Data())
	}, functions.ConsumeOptions{MaxMessages: 64})
}

// Handle records one blocks.<coin>.found message.
func Handle(ctx context.Context, st *ledger.Store, env *functions.Env, data []byte) error {
	var f payload.BlockFound
	if err := json.Unmarshal(data, &f); err != nil {
		mMalformed.WithLabelValues("undecodable").Inc()
		return functions.Permanent(fmt.Errorf("undecodable found block: %w", err))
	}
	if f.Coin == "" || f.Hash == "" || f.Address == "" || f.CoinbaseValue < 0 {
		mMalformed.WithLabelValues("incomplete").Inc()
		return functions.Permanent(errors.New("found block without coin, hash, finder or with a negative coinbase"))
	}
	isNew, err := st.RecordBlock(ctx, BlockRow(&f))
	if err != nil {
		return err
	}
	if !isNew {
		mDuplicates.WithLabelValues(f.Coin).Inc()
		return nil
	}
	mFound.WithLabelValues(f.Coin).Inc()
	env.Log.Info("block recorded", "coin", f.Coin, "height", f.Height, "hash", f.Hash, "finder", f.Address, "coinbase", f.CoinbaseValue)
	return nil
}

// BlockRow is the ledger row of a found block.
func BlockRow(f *payload.BlockFound) ledger.Block {
	return ledger.Block{Coin: f.Coin, Hash: f.Hash, Height: f.Height, Finder: f.Address, Worker: f.Worker, Solo: f.Solo,
		NetworkDifficulty: f.NetworkDifficulty, ShareDifficulty: f.ShareDifficulty, CoinbaseValue: f.CoinbaseValue, FoundAt: f.Time.UTC()}
}
