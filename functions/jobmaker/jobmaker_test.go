package jobmaker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/jobmaker"
	"github.com/jetpool/jetpool/internal/coin"
	_ "github.com/jetpool/jetpool/internal/coin/btc"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/natsrv"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/promtest"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// env is the environment of one jobmaker copy; its log lines name the copy.
func env(t testing.TB, srv *natsrv.Server, instance string) *functions.Env {
	t.Helper()
	return natstest.Env(t, srv, instance, testenv.Logger().With("instance", instance))
}

func seedCoin(t testing.TB, e *functions.Env, btcd *localsvc.Btcd) {
	t.Helper()
	seedCoinNode(t, e, btcd, btcd.WSURL())
}

// seedCoinNode seeds btc on btcd, with its websocket at wsURL ("" leaves
// jobmaker the getbestblockhash poll only).
func seedCoinNode(t testing.TB, e *functions.Env, btcd *localsvc.Btcd, wsURL string) {
	t.Helper()
	cfg := config.Default()
	cfg.Coins = map[string]config.Coin{"btc": {Symbol: "btc", Network: "regtest", Enabled: true,
		PoolAddress: localsvc.RegtestMiningAddress, JobRefresh: config.Duration(time.Hour),
		Node: config.Node{RPCURL: btcd.RPCURL(), WSURL: wsURL, User: btcd.RPCUser(), Pass: btcd.RPCPass()}}}
	if _, err := kv.Seed(context.Background(), e.KV, cfg, true); err != nil {
		t.Fatal(err)
	}
}

// jobWatcher records every job published on jobs.btc.
type jobWatcher struct {
	mu   sync.Mutex
	jobs []coin.Job
	at   []time.Time
}

func watchJobs(t testing.TB, js jetstream.JetStream) *jobWatcher {
	t.Helper()
	w := &jobWatcher{}
	cons, err := js.OrderedConsumer(context.Background(), streams.Jobs, jetstream.OrderedConsumerConfig{FilterSubjects: []string{streams.JobsSubject("btc")}})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var j coin.Job
		if err := json.Unmarshal(m.Data(), &j); err != nil {
			t.Errorf("bad job: %v", err)
			return
		}
		w.mu.Lock()
		w.jobs = append(w.jobs, j)
		w.at = append(w.at, time.Now())
		w.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return w
}

// arrival is when the first job for height with clean_jobs clean arrived;
// zero if none has.
func (w *jobWatcher) arrival(height int64, clean bool) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, j := range w.jobs {
		if j.Height == height && j.CleanJobs == clean {
			return w.at[i]
		}
	}
	return time.Time{}
}

func (w *jobWatcher) snapshot() []coin.Job {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]coin.Job(nil), w.jobs...)
}

func TestJobsFollowNewBlocksAndTemplatesAreStored(t *testing.T) {
	btcd := testenv.Btcd(t, "regtest")
	srv := testenv.NATS(t)
	e := env(t, srv, "jm-1")
	reg := prometheus.NewRegistry()
	e.Metrics = reg
	for _, c := range jobmaker.Collectors() {
		_ = reg.Register(c)
	}
	fetchedBefore := promtest.Sum(t, reg, "jetpool_jobmaker_templates_fetched_total", nil)
	seedCoin(t, e, btcd)
	w := watchJobs(t, e.JS)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- functions.RunAll(ctx, e, jobmaker.New()) }()
	natstest.WaitFor(t, 20*time.Second, "first job", func() bool { return len(w.snapshot()) >= 1 })
	first := w.snapshot()[0]
	h, err := btcd.Client().GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Height != h+1 || !first.CleanJobs {
		t.Fatalf("first job height %d clean %v, want %d and clean", first.Height, first.CleanJobs, h+1)
	}
	// The full template is in the object store under the job's template id.
	raw, err := e.KV.Templates.GetBytes(ctx, jobmaker.TemplateKey("btc", first.TemplateID))
	if err != nil || len(raw) == 0 {
		t.Fatalf("template %s not stored: %v", first.TemplateID, err)
	}
	// A new block on the node gives a new clean job for the next height.
	if _, err := btcd.Client().Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "job for the new block", func() bool {
		for _, j := range w.snapshot() {
			if j.Height == h+2 && j.CleanJobs {
				return true
			}
		}
		return false
	})
	// The websocket and the 500 ms poll both signal that block; once both have
	// had their chance, exactly two templates were fetched (the first job
	// and the new block): the later signal cost a getbestblockhash only.
	time.Sleep(2500 * time.Millisecond)
	if got := promtest.Sum(t, reg, "jetpool_jobmaker_templates_fetched_total", nil) - fetchedBefore; got != 2 {
		t.Errorf("getblocktemplate called %v times for the first job and one block, want 2", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestTwoJobmakersPublishFromOneLeaderAndFailOver(t *testing.T) {
	btcd := testenv.Btcd(t, "regtest")
	srv := testenv.NATS(t)
	a, b := env(t, srv, "jm-a"), env(t, srv, "jm-b")
	seedCoin(t, a, btcd)
	w := watchJobs(t, a.JS)
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneA, doneB := make(chan error, 1), make(chan error, 1)
	fast := func() functions.Function { return &jobmaker.Function{LeaseTTL: 3 * time.Second} }
	go func() { doneA <- functions.RunAll(ctxA, a, fast()) }()
	natstest.WaitFor(t, 20*time.Second, "first job", func() bool { return len(w.snapshot()) >= 1 })
	go func() { doneB <- functions.RunAll(ctxB, b, fast()) }()

	// Both run; blocks arrive; exactly one job per block height, never a
	// second one for the same template from the other copy.
	for i := 0; i < 3; i++ {
		if _, err := btcd.Client().Generate(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
	}
	perHeight := map[int64]int{}
	for _, j := range w.snapshot() {
		perHeight[j.Height]++
	}
	for h, n := range perHeight {
		if n != 1 {
			t.Errorf("height %d got %d jobs from two jobmakers, want 1 (%v)", h, n, perHeight)
		}
	}
	// The leader stops: the other copy takes over and follows the next block.
	stopA()
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	before := len(w.snapshot())
	top, _ := btcd.Client().GetBlockCount(context.Background())
	natstest.WaitFor(t, 20*time.Second, "standby takes over", func() bool { return len(w.snapshot()) > before })
	if _, err := btcd.Client().Generate(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, fmt.Sprintf("job at height %d from the new leader", top+2), func() bool {
		for _, j := range w.snapshot() {
			if j.Height == top+2 {
				return true
			}
		}
		return false
	})
	stopB()
	if err := <-doneB; err != nil {
		t.Fatal(err)
	}
}
