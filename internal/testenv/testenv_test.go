package testenv_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/jsretry"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// inSubtest runs f in a subtest (whose cleanups stop what it started) and
// then demands the process f reported is gone.
func inSubtest(t *testing.T, name string, f func(t *testing.T) int) {
	t.Helper()
	var pid int
	if !t.Run(name, func(t *testing.T) { pid = f(t) }) {
		t.FailNow()
	}
	if pid == 0 {
		t.Fatal("subtest reported no pid")
	}
	if localsvc.ProcessAlive(pid) {
		t.Fatalf("%s: process %d left behind after the test ended", name, pid)
	}
}

func TestPostgresStartsAnswersStops(t *testing.T) {
	inSubtest(t, "server", func(t *testing.T) int {
		pg := testenv.Postgres(t)
		ctx := ctxFor(t, time.Minute)
		conn, err := pgx.Connect(ctx, pg.DSN())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var db string
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
			t.Fatal(err)
		}
		if db != "jetpool" {
			t.Fatalf("current_database = %q", db)
		}
		var fsync string
		if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil {
			t.Fatal(err)
		}
		if fsync != "off" {
			t.Fatalf("fsync = %q, want off in tests", fsync)
		}
		return pg.PID()
	})
}

func TestClickHouseStartsAnswersStops(t *testing.T) {
	inSubtest(t, "server", func(t *testing.T) int {
		ch := testenv.ClickHouse(t)
		ctx := ctxFor(t, time.Minute)
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ch.Addr()}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var one uint8
		if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("SELECT 1 = %d, %v", one, err)
		}
		return ch.PID()
	})
}

func TestBtcdStartsPrimedAndStops(t *testing.T) {
	for _, network := range []string{"regtest", "simnet"} {
		inSubtest(t, network, func(t *testing.T) int {
			b := testenv.Btcd(t, network)
			ctx := ctxFor(t, time.Minute)
			cl := b.Client()
			n, err := cl.GetBlockCount(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n < 1 {
				t.Fatalf("height %d: btcd was not primed", n)
			}
			raw, err := cl.GetBlockTemplate(ctx, []string{"segwit"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), fmt.Sprintf(`"height":%d`, n+1)) {
				t.Fatalf("template is not for height %d: %.200s", n+1, raw)
			}
			if b.MiningAddr() != localsvc.DefaultMiningAddress(network) {
				t.Fatalf("mining address %s", b.MiningAddr())
			}
			return b.PID()
		})
	}
}

func TestNATSSingleNodeJetStream(t *testing.T) {
	s := testenv.NATS(t)
	nc, err := s.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 30*time.Second)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ONE", Subjects: []string{"one.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, "one.x", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if ack.Stream != "ONE" || ack.Sequence != 1 {
		t.Fatalf("ack = %+v", ack)
	}
}

// TestSharedPostgresFreshDatabases: tests on the shared server get their
// own databases (same table names do not collide) which are dropped after.
func TestSharedPostgresFreshDatabases(t *testing.T) {
	pg := testenv.SharedPostgres(t)
	if again := testenv.SharedPostgres(t); again != pg {
		t.Fatal("SharedPostgres started a second server")
	}
	var names []string
	for _, tc := range []string{"first", "second"} {
		t.Run(tc, func(t *testing.T) {
			dsn := testenv.PostgresDB(t)
			ctx := ctxFor(t, time.Minute)
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "CREATE TABLE same_name (v text)"); err != nil {
				t.Fatalf("fresh database already has the table: %v", err)
			}
			var db string
			if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
				t.Fatal(err)
			}
			names = append(names, db)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %v are not distinct", names)
	}
	ctx := ctxFor(t, time.Minute)
	conn, err := pgx.Connect(ctx, pg.DSNFor("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d per-test databases were not dropped", left)
	}
}

func TestSharedClickHouseFreshDatabases(t *testing.T) {
	ch := testenv.SharedClickHouse(t)
	var names []string
	for _, tc := range []string{"first", "second"} {
		t.Run(tc, func(t *testing.T) {
			dsn := testenv.ClickHouseDB(t)
			opts, err := clickhouse.ParseDSN(dsn)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := clickhouse.Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx := ctxFor(t, time.Minute)
			if err := conn.Exec(ctx, "CREATE TABLE same_name (v String) ENGINE = MergeTree ORDER BY v"); err != nil {
				t.Fatalf("fresh database already has the table: %v", err)
			}
			var db string
			if err := conn.QueryRow(ctx, "SELECT currentDatabase()").Scan(&db); err != nil {
				t.Fatal(err)
			}
			names = append(names, db)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %v are not distinct", names)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ch.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var left uint64
	ctx := ctxFor(t, time.Minute)
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name IN (?, ?)", names[0], names[1]).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d per-test databases were not dropped", left)
	}
}

// recorder is a testing.TB that records Fatal and Skip instead of acting.
type recorder struct {
	testing.TB
	fatal   string
	skipped bool
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any)            { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *recorder) Skip(...any)                  { r.skipped = true; runtime.Goexit() }
func (r *recorder) Skipf(string, ...any)         { r.skipped = true; runtime.Goexit() }
func (r *recorder) SkipNow()                     { r.skipped = true; runtime.Goexit() }
func (r *recorder) Cleanup(f func())             { r.TB.Cleanup(f) }
func (r *recorder) TempDir() string              { return r.TB.TempDir() }
func (r *recorder) Errorf(f string, args ...any) { r.TB.Errorf(f, args...) }

// TestFailsLoudlyNeverSkips: a component that cannot start fails the test
// with the reason.
func TestFailsLoudlyNeverSkips(t *testing.T) {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testenv.BtcdWith(r, localsvc.BtcdOptions{Network: "mainnet"})
	}()
	<-done
	if r.skipped {
		t.Fatal("testenv skipped instead of failing")
	}
	if !strings.Contains(r.fatal, "btcd did not start") || !strings.Contains(r.fatal, "mainnet") {
		t.Fatalf("fatal message %q does not give the reason", r.fatal)
	}
}

// TestClusterStreamLeaderLossKeepsAckedMessages is the project's required
// fault test: a 3-node cluster, an R3 file stream, 2,000 acknowledged
// publishes (each retried with its message id until acknowledged) while the
// stream leader is shut down midway. Every acknowledged message must be in
// the stream exactly once, and the restarted node must catch up.
func TestClusterStreamLeaderLossKeepsAckedMessages(t *testing.T) {
	const (
		stream = "ACKED"
		total  = 2000
	)
	c := testenv.NATSCluster(t, 3)
	nc := c.Connect()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 2*time.Minute)

	cfg := jetstream.StreamConfig{
		Name: stream, Subjects: []string{"acked.>"}, Storage: jetstream.FileStorage,
		Replicas: 3, Duplicates: 2 * time.Minute,
	}
	s := c.CreateStream(js, cfg)
	leader := c.StreamLeader(stream)

	acked := make(map[string]uint64, total)
	retries, duplicates := 0, 0
	killed := make(chan struct{})
	for i := range total {
		if i == total/2 {
			go func() { c.Kill(leader); close(killed) }()
		}
		id := fmt.Sprintf("msg-%05d", i)
		for attempt := 0; ; attempt++ {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ack, err := js.Publish(pctx, fmt.Sprintf("acked.%d", i%7), []byte(id), jetstream.WithMsgID(id))
			cancel()
			if err == nil {
				acked[id] = ack.Sequence
				if ack.Duplicate {
					duplicates++
				}
				break
			}
			if attempt == 40 {
				t.Fatalf("publish %s never acknowledged: %v", id, err)
			}
			retries++
			time.Sleep(50 * time.Millisecond)
		}
	}
	<-killed
	t.Logf("killed leader %s after %d publishes; %d retries, %d acks were duplicates", c.Name(leader), total/2, retries, duplicates)

	newLeader := -1
	for newLeader < 0 || newLeader == leader {
		if ctx.Err() != nil {
			t.Fatal("no new stream leader")
		}
		newLeader = c.StreamLeader(stream)
		time.Sleep(20 * time.Millisecond)
	}

	// Right after the election the API may briefly have no responder on
	// the server this client is on: retried like every admin call.
	info, err := jsretry.Value(ctx, func() (*jetstream.StreamInfo, error) { return s.Info(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	seen, seqOf := readAll(t, ctx, s, info.State.Msgs)
	if len(acked) != total {
		t.Fatalf("%d of %d publishes acknowledged", len(acked), total)
	}
	for id, seq := range acked {
		if n := seen[id]; n != 1 {
			t.Errorf("acknowledged message %s is in the stream %d times", id, n)
		}
		if seqOf[id] != seq {
			t.Errorf("message %s acknowledged at seq %d, stored at %d", id, seq, seqOf[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s is in the stream %d times", id, n)
		}
	}
	if info.State.Msgs != total {
		t.Errorf("stream holds %d messages, want %d", info.State.Msgs, total)
	}

	// The killed member comes back with its store and catches up.
	c.Restart(leader)
	if err := c.WaitStreamCurrent(ctx, stream); err != nil {
		t.Fatal(err)
	}
	got, ok := c.StreamState(leader, stream)
	if !ok || got.Msgs != total || got.LastSeq != info.State.LastSeq {
		t.Fatalf("restarted member holds %d messages up to seq %d, want %d up to %d", got.Msgs, got.LastSeq, total, info.State.LastSeq)
	}
}

// readAll consumes want messages with an ordered consumer and counts them by
// id, noting each id's stream sequence.
func readAll(t *testing.T, ctx context.Context, s jetstream.Stream, want uint64) (map[string]int, map[string]uint64) {
	t.Helper()
	cons, err := jsretry.Value(ctx, func() (jetstream.Consumer, error) {
		return s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]int, want)
	seqOf := make(map[string]uint64, want)
	var got uint64
	for got < want {
		// The ordered consumer resumes after the last message it handed
		// out, so a fetch the election interrupts is simply asked again.
		batch, err := jsretry.Value(ctx, func() (jetstream.MessageBatch, error) {
			return cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			id := string(m.Data())
			if h := m.Headers().Get(jetstream.MsgIDHeader); h != id {
				t.Errorf("message %q carries msg id %q", id, h)
			}
			seen[id]++
			if md, err := m.Metadata(); err == nil {
				seqOf[id] = md.Sequence.Stream
			} else {
				t.Errorf("message %s: %v", id, err)
			}
			n++
		}
		if err := batch.Error(); err != nil && !jsretry.Transient(err) {
			t.Fatal(err)
		}
		if n == 0 && ctx.Err() != nil {
			t.Fatalf("read %d of %d messages", got, want)
		}
		got += uint64(n)
	}
	return seen, seqOf
}
