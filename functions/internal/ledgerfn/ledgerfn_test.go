package ledgerfn_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/jetpool/jetpool/functions/internal/ledgerfn"
	"github.com/jetpool/jetpool/internal/ledger/ledgertest"
	"github.com/jetpool/jetpool/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestStartOpensTheLedgerAndAnnounces(t *testing.T) {
	env, _ := ledgertest.Env(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, svc, err := ledgerfn.Start(ctx, env, "ledgerfn-test", "test function")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CheckInvariants(ctx); err != nil {
		t.Fatalf("store not usable: %v", err)
	}
	if svc.Info().Name != "ledgerfn-test" {
		t.Fatalf("service %q, want ledgerfn-test", svc.Info().Name)
	}
	msg, err := env.NC.Request("$SRV.PING.ledgerfn-test", nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ping micro.Ping
	if err := json.Unmarshal(msg.Data, &ping); err != nil || ping.Metadata["instance"] != env.Instance {
		t.Fatalf("ping %s (%v), want instance %q", msg.Data, err, env.Instance)
	}
}

func TestStartFails(t *testing.T) {
	env, _ := ledgertest.Env(t)
	ctx := context.Background()
	if _, _, err := ledgerfn.Start(ctx, env, "bad name!", "a name micro refuses"); err == nil {
		t.Fatal("announcing under an invalid name succeeded")
	}
	env.Deps.PostgresDSN = "postgres://nobody@127.0.0.1:1/none?connect_timeout=2"
	if _, _, err := ledgerfn.Start(ctx, env, "ledgerfn-test", "no ledger"); err == nil {
		t.Fatal("Start without a reachable ledger succeeded")
	}
	if _, err := env.NC.Request("$SRV.PING.ledgerfn-test", nil, 500*time.Millisecond); err == nil {
		t.Fatal("a function whose ledger did not open was announced")
	}
}
