package accounts

import (
	"context"
	"encoding/json"
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
const Name = "accounts"

// Request subjects.
const (
	GetSubject       = "accounts.get"
	ThresholdSubject = "accounts.threshold"
)

var (
	mEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "accounts", Name: "events_total",
		Help: "Worker events handled, by event (connected, authorized, disconnected, banned, other) and result (applied; anonymous: no miner named, nothing to record).",
	}, []string{"coin", "event", "result"})
	mMalformed = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "accounts", Name: "events_malformed_total",
		Help: "Worker events that could not be decoded and were dropped (terminated).",
	})
	mRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "accounts", Name: "requests_total",
		Help: "Requests answered, by endpoint (get, threshold) and result (ok, bad_request, error).",
	}, []string{"endpoint", "result"})
)

// Collectors returns the function's metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{mEvents, mMalformed, mRequests}
}

// eventLabel bounds the event label to the events gateways send.
func eventLabel(e string) string {
	switch e {
	case payload.WorkerConnected, payload.WorkerAuthorized, payload.WorkerDisconnected, payload.WorkerBanned:
		return e
	}
	return "other"
}

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
	env.RegisterMetrics(Collectors()...)
	st, svc, err := ledgerfn.Start(ctx, env, Name, "miners and workers registry")
	if err != nil {
		return err
	}
	defer st.Close()
	serve := func(name, subject string, set bool) error {
		return svc.AddEndpoint(name, micro.HandlerFunc(func(req micro.Request) {
			var r Request
			if err := json.Unmarshal(req.Data(), &r); err != nil || r.Coin == "" || r.Address == "" {
				mRequests.WithLabelValues(name, "bad_request").Inc()
				_ = req.Error("400", "want {\"coin\":…,\"address\":…}", nil)
				return
			}
			if set {
				if r.Threshold < 0 {
					mRequests.WithLabelValues(name, "bad_request").Inc()
					_ = req.Error("400", "threshold must be >= 0 base units", nil)
					return
				}
				if err := st.SetPayoutThreshold(ctx, r.Coin, r.Address, r.Threshold); err != nil {
					mRequests.WithLabelValues(name, "error").Inc()
					env.Log.Error("set threshold", "err", err)
					_ = req.Error("500", "ledger unavailable", nil)
					return
				}
			}
			a, err := st.Account(ctx, r.Coin, r.Address)
			if err != nil {
				mRequests.WithLabelValues(name, "error").Inc()
				env.Log.Error("account", "err", err)
				_ = req.Error("500", "ledger unavailable", nil)
				return
			}
			mRequests.WithLabelValues(name, "ok").Inc()
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
		mMalformed.Inc()
		return functions.Permanent(fmt.Errorf("undecodable worker event: %w", err))
	}
	if ev.Address == "" || ev.Coin == "" {
		mEvents.WithLabelValues(ev.Coin, eventLabel(ev.Event), "anonymous").Inc()
		return nil // a connection that never authorized names no miner
	}
	online := ev.Event == payload.WorkerConnected || ev.Event == payload.WorkerAuthorized
	if err := st.TouchWorker(ctx, ledger.WorkerSeen{Coin: ev.Coin, Address: ev.Address, Worker: ev.Worker, Event: ev.Event,
		Online: online, Time: ev.Time.UTC(), IP: ev.RemoteIP, UserAgent: ev.UserAgent, Gateway: ev.Gateway, Region: ev.Region}); err != nil {
		return err
	}
	mEvents.WithLabelValues(ev.Coin, eventLabel(ev.Event), "applied").Inc()
	return nil
}
