package accounts_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions/accounts"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/ledger/ledgertest"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/promtest"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/streams"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// current reads the package's metrics as they are now (the vectors are
// package-level: tests compare deltas).
func current(t *testing.T) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(accounts.Collectors()...)
	return promtest.Snapshot(t, reg)
}

func TestWorkersFollowEventsAndLookups(t *testing.T) {
	env, _ := ledgertest.Env(t)
	reg := prometheus.NewRegistry()
	env.Metrics = reg
	before := current(t)
	ledgertest.Run(t, env, accounts.New())
	ctx := context.Background()
	t0 := time.Unix(1700000000, 0).UTC()
	pub := func(ev payload.WorkerEvent) {
		data, _ := json.Marshal(ev)
		if _, err := env.JS.Publish(ctx, streams.EventSubject("worker", ev.Coin, ev.Event), data); err != nil {
			t.Fatal(err)
		}
	}
	base := payload.WorkerEvent{Coin: "btc", Region: "eu", Gateway: "gw1", Session: "01", RemoteIP: "10.0.0.1", Address: "bcrt1qalice", Worker: "rig1"}
	anon := base
	anon.Event, anon.Address, anon.Worker, anon.Time = payload.WorkerConnected, "", "", t0
	pub(anon)
	auth := base
	auth.Event, auth.Time, auth.UserAgent = payload.WorkerAuthorized, t0.Add(time.Second), "cpuminer/2.5"
	pub(auth)
	pub(auth) // redelivered
	gone := base
	gone.Event, gone.Time = payload.WorkerDisconnected, t0.Add(time.Minute)
	pub(gone)
	late := auth // an old event arriving last changes nothing
	pub(late)
	other := base
	other.Event, other.Worker, other.Time = payload.WorkerAuthorized, "rig2", t0.Add(2*time.Second)
	pub(other)
	if _, err := env.JS.Publish(ctx, streams.EventSubject("worker", "btc", payload.WorkerConnected), []byte(`{"coin":`)); err != nil {
		t.Fatal(err)
	}

	var acc ledger.Account
	gets := 0 // get requests answered with an account
	natstest.WaitFor(t, 10*time.Second, "both workers", func() bool {
		msg, err := env.NC.Request(accounts.GetSubject, []byte(`{"coin":"btc","address":"bcrt1qalice"}`), 5*time.Second)
		if err != nil || msg.Header.Get("Nats-Service-Error-Code") != "" {
			return false
		}
		gets++
		if json.Unmarshal(msg.Data, &acc) != nil {
			return false
		}
		return len(acc.Workers) == 2 && acc.Workers[0].LastEvent == payload.WorkerDisconnected
	})
	if !acc.Known || acc.Workers[0].Online || !acc.Workers[1].Online || !acc.Workers[0].LastSeen.Equal(t0.Add(time.Minute)) ||
		!acc.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("account: %+v", acc)
	}
	msg, err := env.NC.Request(accounts.ThresholdSubject, []byte(`{"coin":"btc","address":"bcrt1qalice","threshold":2500000}`), 5*time.Second)
	if err != nil || json.Unmarshal(msg.Data, &acc) != nil || acc.PayoutThreshold != 2_500_000 {
		t.Fatalf("threshold: %s %v", msg.Data, err)
	}
	msg, err = env.NC.Request(accounts.GetSubject, []byte(`{"coin":"btc"}`), 5*time.Second)
	if err != nil || msg.Header.Get("Nats-Service-Error-Code") != "400" {
		t.Fatalf("bad request answered %v %v", msg.Header, err)
	}
	msg, err = env.NC.Request(accounts.ThresholdSubject, []byte(`{"coin":"btc","address":"bcrt1qalice","threshold":-1}`), 5*time.Second)
	if err != nil || msg.Header.Get("Nats-Service-Error-Code") != "400" {
		t.Fatalf("negative threshold answered %v %v", msg.Header, err)
	}
	natstest.WaitFor(t, 10*time.Second, "accounts consumer to catch up", func() bool {
		c, err := env.JS.Consumer(ctx, streams.Events, streams.ConsumerAccounts)
		if err != nil {
			return false
		}
		ci, err := c.Info(ctx)
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	// Every event is counted once by what it did: three authorizations of
	// rig1 (one redelivered, one late) and one of rig2 recorded, one
	// disconnect, the anonymous connect recorded nothing, the broken event
	// dropped; requests by endpoint and result.
	now := promtest.Snapshot(t, reg)
	for key, want := range map[string]float64{
		"jetpool_accounts_events_total{coin=btc,event=authorized,result=applied}":   4,
		"jetpool_accounts_events_total{coin=btc,event=disconnected,result=applied}": 1,
		"jetpool_accounts_events_total{coin=btc,event=connected,result=anonymous}":  1,
		"jetpool_accounts_events_total{coin=btc,event=connected,result=applied}":    0,
		"jetpool_accounts_events_malformed_total{}":                                 1,
		"jetpool_accounts_requests_total{endpoint=get,result=ok}":                   float64(gets),
		"jetpool_accounts_requests_total{endpoint=get,result=bad_request}":          1,
		"jetpool_accounts_requests_total{endpoint=threshold,result=ok}":             1,
		"jetpool_accounts_requests_total{endpoint=threshold,result=bad_request}":    1,
		"jetpool_accounts_requests_total{endpoint=get,result=error}":                0,
	} {
		if got := now[key] - before[key]; got != want {
			t.Errorf("%s grew by %v, want %v", key, got, want)
		}
	}
}
