package blocksubmit_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/blocksubmit"
	"github.com/jetpool/jetpool/functions/jobmaker"
	"github.com/jetpool/jetpool/internal/coin"
	_ "github.com/jetpool/jetpool/internal/coin/btc"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/natsrv"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/promtest"
	"github.com/jetpool/jetpool/internal/testenv"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// submitMetrics are blocksubmit's counters for btc; the vectors live for
// the whole test binary, so the test compares readings.
type submitMetrics struct{ accepted, rejected, stale, retries float64 }

func readSubmitMetrics(t *testing.T, reg *prometheus.Registry) submitMetrics {
	t.Helper()
	outcome := func(o string) float64 {
		return promtest.Sum(t, reg, "jetpool_blocksubmit_submissions_total", map[string]string{"coin": "btc", "outcome": o})
	}
	return submitMetrics{accepted: outcome(payload.SubmitAccepted), rejected: outcome(payload.SubmitRejected),
		stale: outcome(payload.SubmitStale), retries: promtest.Sum(t, reg, "jetpool_blocksubmit_node_retries_total", map[string]string{"coin": "btc"})}
}

func (a submitMetrics) minus(b submitMetrics) submitMetrics {
	return submitMetrics{a.accepted - b.accepted, a.rejected - b.rejected, a.stale - b.stale, a.retries - b.retries}
}

// outcomes records every blocks.btc.submitted message by block hash.
type outcomes struct {
	mu  sync.Mutex
	got map[string]payload.BlockSubmitted
}

func watchOutcomes(t *testing.T, js jetstream.JetStream) *outcomes {
	t.Helper()
	o := &outcomes{got: map[string]payload.BlockSubmitted{}}
	cons, err := js.OrderedConsumer(context.Background(), streams.Blocks,
		jetstream.OrderedConsumerConfig{FilterSubjects: []string{streams.BlockSubmittedSubject("btc")}})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var s payload.BlockSubmitted
		if err := json.Unmarshal(m.Data(), &s); err != nil {
			t.Errorf("bad outcome: %v", err)
			return
		}
		o.mu.Lock()
		o.got[s.Hash] = s
		o.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return o
}

func (o *outcomes) wait(t *testing.T, hash string, d time.Duration) payload.BlockSubmitted {
	t.Helper()
	var s payload.BlockSubmitted
	natstest.WaitFor(t, d, "outcome of "+hash, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		var ok bool
		s, ok = o.got[hash]
		return ok
	})
	return s
}

// TestOutcomesAndRetriesOnRealBtcd takes three solutions of one real
// regtest template to btcd through the consumer: one that misses the
// target (rejected), a valid one while the node is unreachable (retried,
// then accepted once the node is back) and a second valid one for the
// same height (stale). Each outcome is published and counted once.
func TestOutcomesAndRetriesOnRealBtcd(t *testing.T) {
	ctx := context.Background()
	btcd := testenv.Btcd(t, "regtest")
	srv := testenv.NATS(t)
	env := natstest.Env(t, srv, "bs-1", testenv.Logger())
	reg := prometheus.NewRegistry()
	env.Metrics = reg
	env.RegisterMetrics(blocksubmit.Collectors()...)

	coinCfg := config.Coin{Symbol: "btc", Network: "regtest", Enabled: true, PoolAddress: localsvc.RegtestMiningAddress,
		Node: config.Node{RPCURL: btcd.RPCURL(), User: btcd.RPCUser(), Pass: btcd.RPCPass()}}
	putCoin := func(rpcURL string) {
		t.Helper()
		cc := coinCfg
		cc.Node.RPCURL = rpcURL
		if _, err := kv.Put(ctx, env.KV.Coins, "btc", cc); err != nil {
			t.Fatal(err)
		}
	}
	putCoin(btcd.RPCURL())

	// One job from a real template, stored where jobmaker stores it.
	c, err := coin.Get("btc", "regtest")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := btcd.Client().GetBlockTemplate(ctx, c.TemplateRules())
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := c.ParseTemplate(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.KV.Templates.PutBytes(ctx, jobmaker.TemplateKey("btc", tpl.ID), tpl.Raw); err != nil {
		t.Fatal(err)
	}
	script, err := c.ValidateAddress(localsvc.RegtestMiningAddress)
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.NewJob(tpl, coin.JobOptions{JobID: "bs", PayoutScript: script, PoolTag: "/jetpool/"})
	if err != nil {
		t.Fatal(err)
	}
	jobJSON, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	// solve finds a nonce for extranonce2 n whose header meets the network
	// target (or, with meets false, misses it) and publishes the found block.
	solve := func(n byte, meets bool) string {
		t.Helper()
		en1, en2 := make([]byte, job.Extranonce1Size), make([]byte, job.Extranonce2Size)
		en2[len(en2)-1] = n
		sub := coin.Submission{Extranonce1: en1, Extranonce2: en2, NTime: job.NTime, Version: job.Version}
		var res coin.ShareResult
		for sub.Nonce = 0; ; sub.Nonce++ {
			if err := job.Check(c.Hasher(), &sub, &job.NetworkTarget, &res); err != nil {
				t.Fatal(err)
			}
			if res.MeetsNetwork == meets {
				break
			}
			if sub.Nonce == 10000 {
				t.Fatalf("no nonce with meets=%v in 10000", meets)
			}
		}
		blk, err := c.BuildBlock(job, tpl, sub)
		if err != nil {
			t.Fatal(err)
		}
		found := payload.BlockFound{Coin: "btc", Network: "regtest", Height: job.Height, Hash: blk.Hash.String(),
			TemplateID: job.TemplateID, Job: jobJSON, Extranonce1: hex.EncodeToString(en1), Extranonce2: hex.EncodeToString(en2),
			NTime: sub.NTime, Nonce: sub.Nonce, Version: sub.Version, Address: localsvc.RegtestMiningAddress,
			CoinbaseValue: job.CoinbaseValue, Time: time.Now().UTC()}
		data, _ := json.Marshal(found)
		if _, err := env.JS.Publish(ctx, streams.BlockFoundSubject("btc"), data, jetstream.WithMsgID(found.Hash)); err != nil {
			t.Fatal(err)
		}
		return found.Hash
	}

	out := watchOutcomes(t, env.JS)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- functions.RunAll(runCtx, env, &blocksubmit.Function{GiveUpAfter: 300 * time.Millisecond})
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("blocksubmit: %v", err)
		}
	})
	check := func(before, want submitMetrics, atLeastRetries bool) {
		t.Helper()
		got := readSubmitMetrics(t, reg).minus(before)
		if atLeastRetries && got.retries >= 1 {
			want.retries = got.retries
		}
		if got != want {
			t.Errorf("metrics grew by %+v, want %+v", got, want)
		}
	}
	before := readSubmitMetrics(t, reg)

	// 1. A solution above the target: the node judges it invalid.
	bad := solve(1, false)
	if s := out.wait(t, bad, 20*time.Second); s.Outcome != payload.SubmitRejected || s.Attempts != 1 {
		t.Fatalf("block above the target: %+v", s)
	}
	check(before, submitMetrics{rejected: 1}, false)

	// 2. A valid solution while the node is unreachable: submitblock is
	// retried until GiveUpAfter, the message is redelivered, and once the
	// node is back the block is accepted.
	port, err := natsrv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	putCoin(fmt.Sprintf("http://127.0.0.1:%d", port))
	good := solve(2, true)
	natstest.WaitFor(t, 20*time.Second, "a retry against the unreachable node", func() bool {
		return readSubmitMetrics(t, reg).minus(before).retries >= 1
	})
	putCoin(btcd.RPCURL())
	if s := out.wait(t, good, 30*time.Second); s.Outcome != payload.SubmitAccepted {
		t.Fatalf("valid block after the node came back: %+v", s)
	}
	if best, err := btcd.Client().GetBestBlockHash(ctx); err != nil || best != good {
		t.Fatalf("best block %s (%v), want the accepted %s", best, err, good)
	}
	check(before, submitMetrics{rejected: 1, accepted: 1}, true)
	retries := readSubmitMetrics(t, reg).minus(before).retries

	// 3. Another valid solution for the same height: a side chain, stale.
	late := solve(3, true)
	if s := out.wait(t, late, 20*time.Second); s.Outcome != payload.SubmitStale || s.Attempts != 1 {
		t.Fatalf("second block for the height: %+v", s)
	}
	check(before, submitMetrics{rejected: 1, accepted: 1, stale: 1, retries: retries}, false)
}
