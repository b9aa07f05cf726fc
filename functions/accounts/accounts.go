package accounts

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/internal/ledgerfn"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/streams"
)

// Name is the function's registry name.
const Name = "accounts"

// Request subjects.
const (
	GetSubject       = "accounts.get"
	ThresholdSubject = "accounts.threshold"
)

// Request addresses one miner; Threshold is used by ThresholdSubject only.
type Request struct {
	Coin      string `json:"coin"`
	Address   string `json:"address"`
	Threshold int64  `json:"threshold,omitempty"`
}

// Function keeps the miner registry.
type Function struct{}

// New returns an accounts function.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	st, svc, err := ledgerfn.Start(ctx, env, Name, "miners and workers registry")
	if err != nil {
		return err
	}
	defer st.Close()
	serve := func(name, subject string, set bool) error {
		return svc.AddEndpoint(name, micro.HandlerFunc(func(req micro.Request) {
			var r Request
			if err := json.Unmarshal(req.Data(), &r); err != nil || r.Coin == "" || r.Address == "" {
				_ = req.Error("400", "want {\"coin\":…,\"address\":…}", nil)
				return
			}
			if set {
				if r.Threshold < 0 {
					_ = req.Error("400", "threshold must be >= 0 base units", nil)
					return
				}
				if err := st.SetPayoutThreshold(ctx, r.Coin, r.Address, r.Threshold); err != nil {
					env.Log.Error("set threshold", "err", err)
					_ = req.Error("500", "ledger unavailable", nil)
					return
				}
			}
			a, err := st.Account(ctx, r.Coin, r.Address)
			if err != nil {
				env.Log.Error("account", "err", err)
				_ = req.Error("500", "ledger unavailable", nil)
				return
			}
			_ = req.RespondJSON(a)
		}), micro.WithEndpointSubject(subject))
	}
	if err := serve("get", GetSubject, false); err != nil {
		return fmt.Errorf("accounts: endpoint: %w", err)
	}
	if err := serve("threshold", ThresholdSubject, true); err != nil {
		return fmt.Errorf("accounts: endpoint: %w", err)
	}
	return functions.Consume(ctx, env, streams.Events, streams.ConsumerAccounts, func(ctx context.Context, msg jetstream.Msg) error {
		return Handle(ctx, st, msg.Data())
	}, functions.ConsumeOptions{})
}

// Handle records one worker event.
func Handle(ctx context.Context, st *ledger.Store, data []byte) error {
	var ev payload.WorkerEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return functions.Permanent(fmt.Errorf("undecodable worker event: %w", err))
	}
	if ev.Address == "" || ev.Coin == "" {
		return nil // a connection that never authorized names no miner
	}
	online := ev.Event == payload.WorkerConnected || ev.Event == payload.WorkerAuthorized
	return st.TouchWorker(ctx, ledger.WorkerSeen{Coin: ev.Coin, Address: ev.Address, Worker: ev.Worker, Event: ev.Event,
		Online: online, Time: ev.Time.UTC(), IP: ev.RemoteIP, UserAgent: ev.UserAgent, Gateway: ev.Gateway, Region: ev.Region})
}
