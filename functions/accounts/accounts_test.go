package accounts_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jetpool/jetpool/functions/accounts"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/ledger/ledgertest"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/streams"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestWorkersFollowEventsAndLookups(t *testing.T) {
	env, _ := ledgertest.Env(t)
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

	var acc ledger.Account
	natstest.WaitFor(t, 10*time.Second, "both workers", func() bool {
		msg, err := env.NC.Request(accounts.GetSubject, []byte(`{"coin":"btc","address":"bcrt1qalice"}`), 5*time.Second)
		if err != nil || json.Unmarshal(msg.Data, &acc) != nil {
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
}
