package functions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// counter is a test function: it consumes the EVENTS `accounts` durable and
// records which copy handled which message.
type counter struct {
	id   string
	seen *sync.Map // message id → handler id
	dups *atomic.Int64
}

func (c *counter) Name() string { return "counter" }

func (c *counter) Run(ctx context.Context, env *functions.Env) error {
	if _, err := functions.Announce(ctx, env, "counter", "test consumer"); err != nil {
		return err
	}
	return functions.Consume(ctx, env, streams.Events, streams.ConsumerAccounts, func(_ context.Context, m jetstream.Msg) error {
		if _, loaded := c.seen.LoadOrStore(string(m.Data()), c.id); loaded {
			c.dups.Add(1)
		}
		return nil
	}, functions.ConsumeOptions{MaxMessages: 16})
}

func TestThreeCopiesHandleEachMessageOnce(t *testing.T) {
	srv, _, js := natstest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	seen := &sync.Map{}
	dups := &atomic.Int64{}
	var wg sync.WaitGroup
	for i := range 3 {
		env := natstest.Env(t, srv, fmt.Sprintf("copy-%d", i), natstest.Logger())
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := functions.RunAll(ctx, env, &counter{id: env.Instance, seen: seen, dups: dups}); err != nil {
				t.Errorf("RunAll: %v", err)
			}
		}()
	}
	const n = 3000
	for i := range n {
		if _, err := js.PublishAsync(streams.EventSubject("worker", "btc", "connected"), []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	deadline := time.Now().Add(30 * time.Second)
	for count(seen) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// $SRV.PING must list every running copy: discovery for functions.
	nc, _ := natstest.Connect(t, srv)
	instances := pingAll(t, nc, "counter")
	cancel()
	wg.Wait()
	if got := count(seen); got != n {
		t.Fatalf("handled %d distinct messages, want %d", got, n)
	}
	if d := dups.Load(); d != 0 {
		t.Fatalf("%d messages were handled twice", d)
	}
	perCopy := map[string]int{}
	seen.Range(func(_, v any) bool { perCopy[v.(string)]++; return true })
	if len(perCopy) != 3 {
		t.Fatalf("work spread over %d copies (%v), want all 3 to take part", len(perCopy), perCopy)
	}
	if len(instances) != 3 {
		t.Fatalf("$SRV.PING.counter answered by %v, want 3 instances", instances)
	}
	cons, err := js.Consumer(context.Background(), streams.Events, streams.ConsumerAccounts)
	if err != nil {
		t.Fatal(err)
	}
	if info := cons.CachedInfo(); info.NumAckPending != 0 || info.NumPending != 0 {
		t.Fatalf("after drain: %d ack-pending, %d pending; want 0/0", info.NumAckPending, info.NumPending)
	}
}

func count(m *sync.Map) int {
	n := 0
	m.Range(func(_, _ any) bool { n++; return true })
	return n
}

func pingAll(t *testing.T, nc *nats.Conn, name string) map[string]bool {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest("$SRV.PING."+name, inbox, nil); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for {
		m, err := sub.NextMsg(500 * time.Millisecond)
		if err != nil {
			return out
		}
		var ping micro.Ping
		if err := json.Unmarshal(m.Data, &ping); err != nil {
			t.Fatal(err)
		}
		out[ping.Metadata["instance"]] = true
	}
}

// feeReader is a test function that applies the pool fee from KV while running.
type feeReader struct{ fee atomic.Int64 }

func (f *feeReader) Name() string { return "fee-reader" }

func (f *feeReader) Run(ctx context.Context, env *functions.Env) error {
	err := kv.Watch(ctx, env.KV.Config, config.KeyPool, config.Pool.Validate, func(p config.Pool) {
		f.fee.Store(int64(p.FeeBasisPoints))
	}, env.Log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

func TestConfigHotReloadReachesRunningFunction(t *testing.T) {
	srv, _, _ := natstest.Start(t)
	env := natstest.Env(t, srv, "p1", natstest.Logger())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := kv.Seed(ctx, env.KV, config.Default(), true); err != nil {
		t.Fatal(err)
	}
	fn := &feeReader{}
	done := make(chan error, 1)
	go func() { done <- functions.RunAll(ctx, env, fn) }()
	natstest.WaitFor(t, 10*time.Second, "initial fee 100", func() bool { return fn.fee.Load() == 100 })

	// An operator (another process) changes the fee.
	admin := natstest.Env(t, srv, "admin", natstest.Logger())
	p := config.Default().Pool
	p.FeeBasisPoints = 175
	if _, err := kv.Put(ctx, admin.KV.Config, config.KeyPool, p); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "fee 175 applied without restart", func() bool { return fn.fee.Load() == 175 })

	// A bad value is refused; the last good one stays in force.
	p.FeeBasisPoints = 20000
	if _, err := kv.Put(ctx, admin.KV.Config, config.KeyPool, p); err != nil {
		t.Fatal(err)
	}
	p.FeeBasisPoints = 180
	if _, err := kv.Put(ctx, admin.KV.Config, config.KeyPool, p); err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, 10*time.Second, "fee 180 after a refused value", func() bool { return fn.fee.Load() == 180 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

type failing struct{ err error }

func (f failing) Name() string { return "failing" }
func (f failing) Run(context.Context, *functions.Env) error {
	return f.err
}

type blocking struct{ stopped chan struct{} }

func (b blocking) Name() string { return "blocking" }
func (b blocking) Run(ctx context.Context, _ *functions.Env) error {
	<-ctx.Done()
	close(b.stopped)
	return nil
}

func TestRunAllStopsEverythingWhenOneFails(t *testing.T) {
	env := &functions.Env{Log: natstest.Logger()}
	boom := errors.New("boom")
	b := blocking{stopped: make(chan struct{})}
	err := functions.RunAll(context.Background(), env, b, failing{boom})
	if !errors.Is(err, boom) {
		t.Fatalf("RunAll = %v, want boom", err)
	}
	select {
	case <-b.stopped:
	default:
		t.Fatal("the healthy function was not stopped")
	}
}

func TestPermanentErrorTerminatesAndRetryRedelivers(t *testing.T) {
	srv, _, js := natstest.Start(t)
	env := natstest.Env(t, srv, "p1", natstest.Logger())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var attempts sync.Map
	var okCount atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = functions.Consume(ctx, env, streams.Events, streams.ConsumerAccounts, func(_ context.Context, m jetstream.Msg) error {
			v, _ := attempts.LoadOrStore(string(m.Data()), new(atomic.Int64))
			n := v.(*atomic.Int64).Add(1)
			switch string(m.Data()) {
			case "poison":
				return functions.Permanent(errors.New("cannot decode"))
			case "flaky":
				if n < 3 {
					return functions.RetryAfter(errors.New("store down"), 50*time.Millisecond)
				}
			}
			okCount.Add(1)
			return nil
		}, functions.ConsumeOptions{})
	}()
	for _, body := range []string{"poison", "flaky", "fine"} {
		if _, err := js.Publish(ctx, streams.EventSubject("worker", "btc", "x"), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	natstest.WaitFor(t, 10*time.Second, "flaky and fine handled", func() bool { return okCount.Load() == 2 })
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-done
	get := func(k string) int64 { v, _ := attempts.Load(k); return v.(*atomic.Int64).Load() }
	if get("poison") != 1 {
		t.Errorf("poison delivered %d times, want 1 (terminated)", get("poison"))
	}
	if get("flaky") != 3 {
		t.Errorf("flaky delivered %d times, want 3", get("flaky"))
	}
}

func TestRegistry(t *testing.T) {
	r := functions.NewRegistry()
	r.Register("counter", func() functions.Function { return &feeReader{} })
	if _, err := r.New("nope"); !errors.Is(err, functions.ErrUnknownFunction) {
		t.Fatalf("New(nope) = %v, want ErrUnknownFunction", err)
	}
	f, err := r.New("counter")
	if err != nil || f == nil {
		t.Fatalf("New(counter) = %v, %v", f, err)
	}
	if got := r.Names(); len(got) != 1 || got[0] != "counter" {
		t.Fatalf("Names = %v", got)
	}
}

// TestRegisterMetrics: collectors reach the Env's registry once, a second
// copy registering the same collectors is no error, and an Env without a
// registry is left alone.
func TestRegisterMetrics(t *testing.T) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "jetpool_test_total", Help: "test"})
	reg := prometheus.NewRegistry()
	env := &functions.Env{Metrics: reg}
	env.RegisterMetrics(c)
	env.RegisterMetrics(c) // a second copy in the same process
	c.Inc()
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "jetpool_test_total" || mfs[0].GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Fatalf("gathered %v, %v; want jetpool_test_total = 1", mfs, err)
	}
	(&functions.Env{}).RegisterMetrics(c) // no registry: nothing to do, no panic
}
