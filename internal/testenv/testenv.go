package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/natsrv"
)

// Timeouts for bringing a component up (installation included) and down.
const (
	startTimeout = 5 * time.Minute
	stopTimeout  = 30 * time.Second
)

// Logger is the logger testenv gives the servers it starts: errors only, to
// stderr, unless JETPOOL_TEST_LOG is debug, info or warn. (A server that
// fails to start has its last output in the test failure anyway.)
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel(slog.LevelError)}))
}

// natsLogger is quieter: a cluster whose members are killed on purpose logs
// route errors by the dozen. JETPOOL_TEST_LOG=error (or lower) shows them.
func natsLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel(slog.LevelError + 4)}))
}

func logLevel(def slog.Level) slog.Level {
	switch os.Getenv("JETPOOL_TEST_LOG") {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return def
}

// canInstall: installing packages needs root.
func canInstall() bool { return os.Geteuid() == 0 }

func startCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), startTimeout)
}

func stopCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), stopTimeout)
}

// TempDir is t.TempDir() made reachable by the postgres OS user (Go creates
// the per-test parent directory with mode 0700).
func TempDir(t testing.TB) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(filepath.Dir(d), 0o711); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return d
}

// Postgres starts a PostgreSQL server of the test's own (durability off),
// with database jetpool; it is stopped when the test ends.
func Postgres(t testing.TB) *localsvc.Postgres {
	t.Helper()
	ctx, cancel := startCtx()
	defer cancel()
	pg, err := localsvc.StartPostgres(ctx, localsvc.PostgresOptions{DataDir: TempDir(t), Fast: true, Install: canInstall(), Logger: Logger()})
	if err != nil {
		t.Fatalf("testenv: PostgreSQL did not start: %v", err)
	}
	t.Cleanup(func() { stopOrFail(t, "postgres", pg.Stop) })
	return pg
}

// ClickHouse starts a ClickHouse server of the test's own; it is stopped
// when the test ends.
func ClickHouse(t testing.TB) *localsvc.ClickHouse {
	t.Helper()
	ctx, cancel := startCtx()
	defer cancel()
	ch, err := localsvc.StartClickHouse(ctx, localsvc.ClickHouseOptions{DataDir: t.TempDir(), Install: canInstall(), Logger: Logger()})
	if err != nil {
		t.Fatalf("testenv: ClickHouse did not start: %v", err)
	}
	t.Cleanup(func() { stopOrFail(t, "clickhouse", ch.Stop) })
	return ch
}

// Btcd starts btcd on network ("regtest" or "simnet") paying the default
// mining address, already primed (one block mined) so getblocktemplate works.
func Btcd(t testing.TB, network string) *localsvc.Btcd {
	t.Helper()
	return BtcdWith(t, localsvc.BtcdOptions{Network: network})
}

// BtcdWith is Btcd with options; zero fields get test defaults (DataDir from
// t.TempDir, free ports, default mining address and credentials).
func BtcdWith(t testing.TB, o localsvc.BtcdOptions) *localsvc.Btcd {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.Logger == nil {
		o.Logger = Logger()
	}
	ctx, cancel := startCtx()
	defer cancel()
	b, err := localsvc.StartBtcd(ctx, o)
	if err != nil {
		t.Fatalf("testenv: btcd did not start: %v", err)
	}
	t.Cleanup(func() { stopOrFail(t, "btcd", b.Stop) })
	if err := b.Prime(ctx); err != nil {
		t.Fatalf("testenv: btcd: %v", err)
	}
	return b
}

// NATS starts a single embedded nats-server with JetStream in a temp dir.
func NATS(t testing.TB) *natsrv.Server {
	t.Helper()
	ctx, cancel := startCtx()
	defer cancel()
	s, err := natsrv.Start(ctx, natsrv.Options{StoreDir: t.TempDir(), Logger: natsLogger()})
	if err != nil {
		t.Fatalf("testenv: NATS did not start: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func stopOrFail(t testing.TB, what string, stop func(context.Context) error) {
	ctx, cancel := stopCtx()
	defer cancel()
	if err := stop(ctx); err != nil {
		t.Errorf("testenv: stop %s: %v", what, err)
	}
}

// shared servers, one per test binary.
var (
	mainRunning atomic.Bool

	sharedMu  sync.Mutex
	sharedPG  = &sharedServer[*localsvc.Postgres]{name: "postgres"}
	sharedCH  = &sharedServer[*localsvc.ClickHouse]{name: "clickhouse"}
	dbCounter atomic.Int64
)

type sharedServer[S interface{ Stop(context.Context) error }] struct {
	name string
	once sync.Once
	srv  S
	dir  string
	err  error
	up   bool
}

func (s *sharedServer[S]) get(t testing.TB, start func(ctx context.Context, dir string) (S, error)) S {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatalf("testenv: Shared%s needs the package's TestMain to call testenv.Main(m), which stops it", s.name)
	}
	s.once.Do(func() {
		dir, err := os.MkdirTemp("", "jetpool-testenv-"+s.name+"-")
		if err == nil {
			err = os.Chmod(dir, 0o711)
		}
		if err != nil {
			s.err = err
			return
		}
		s.dir = dir
		ctx, cancel := startCtx()
		defer cancel()
		s.srv, s.err = start(ctx, filepath.Join(dir, "data"))
		sharedMu.Lock()
		s.up = s.err == nil
		sharedMu.Unlock()
	})
	if s.err != nil {
		t.Fatalf("testenv: shared %s did not start: %v", s.name, s.err)
	}
	return s.srv
}

func (s *sharedServer[S]) stop() error {
	sharedMu.Lock()
	up := s.up
	s.up = false
	sharedMu.Unlock()
	var err error
	if up {
		ctx, cancel := stopCtx()
		err = s.srv.Stop(ctx)
		cancel()
	}
	if s.dir != "" {
		if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// Main runs the package's tests and then stops the shared servers and
// removes their directories. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	for _, s := range []interface{ stop() error }{sharedPG, sharedCH} {
		if err := s.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stopping shared server: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// SharedPostgres is one PostgreSQL server for the whole test binary, started
// on first use; use PostgresDB for a database of the test's own on it.
func SharedPostgres(t testing.TB) *localsvc.Postgres {
	t.Helper()
	return sharedPG.get(t, func(ctx context.Context, dir string) (*localsvc.Postgres, error) {
		return localsvc.StartPostgres(ctx, localsvc.PostgresOptions{DataDir: dir, Fast: true, Install: canInstall(), Logger: Logger()})
	})
}

// SharedClickHouse is one ClickHouse server for the whole test binary,
// started on first use; use ClickHouseDB for a database of the test's own.
func SharedClickHouse(t testing.TB) *localsvc.ClickHouse {
	t.Helper()
	return sharedCH.get(t, func(ctx context.Context, dir string) (*localsvc.ClickHouse, error) {
		return localsvc.StartClickHouse(ctx, localsvc.ClickHouseOptions{DataDir: dir, Install: canInstall(), Logger: Logger()})
	})
}

// dbName is a database name unique in this process, recognisable by test.
func dbName(t testing.TB) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	name := b.String()
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("t%d_%d_%s", os.Getpid(), dbCounter.Add(1), name)
}

// PostgresDB creates a fresh database on SharedPostgres and returns its DSN;
// the database is dropped when the test ends.
func PostgresDB(t testing.TB) string {
	t.Helper()
	pg := SharedPostgres(t)
	name := dbName(t)
	ctx, cancel := startCtx()
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.DSNFor("postgres"))
	if err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: postgres: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := stopCtx()
		defer cancel()
		conn, err := pgx.Connect(ctx, pg.DSNFor("postgres"))
		if err != nil {
			t.Errorf("testenv: postgres: drop %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: postgres: drop %s: %v", name, err)
		}
	})
	return pg.DSNFor(name)
}

// ClickHouseDB creates a fresh database on SharedClickHouse and returns its
// DSN; the database is dropped when the test ends.
func ClickHouseDB(t testing.TB) string {
	t.Helper()
	ch := SharedClickHouse(t)
	name := dbName(t)
	exec := func(ctx context.Context, q string) error {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ch.Addr()}})
		if err != nil {
			return err
		}
		defer conn.Close()
		return conn.Exec(ctx, q)
	}
	ctx, cancel := startCtx()
	defer cancel()
	if err := exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: clickhouse: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := stopCtx()
		defer cancel()
		if err := exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("testenv: clickhouse: drop %s: %v", name, err)
		}
	})
	return ch.DSNFor(name)
}
