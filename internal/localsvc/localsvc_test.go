package localsvc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5"
)

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("JETPOOL_TEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// tempDir is t.TempDir() made reachable for the postgres OS user: the
// per-test parent directory Go creates is 0700.
func tempDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(filepath.Dir(d), 0o711); err != nil {
		t.Fatal(err)
	}
	return d
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func assertGone(t *testing.T, what string, pid int) {
	t.Helper()
	if ProcessAlive(pid) {
		t.Fatalf("%s: process (group) %d still alive after Stop", what, pid)
	}
}

func procUID(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Uid:"); ok {
			uid, err := strconv.Atoi(strings.Fields(rest)[0])
			if err != nil {
				t.Fatal(err)
			}
			return uid
		}
	}
	t.Fatalf("no Uid line for pid %d", pid)
	return -1
}

func TestPostgresStartRestartKeepsData(t *testing.T) {
	ctx := ctxFor(t, 3*time.Minute)
	dir := tempDir(t)
	pg, err := StartPostgres(ctx, PostgresOptions{DataDir: dir, Fast: true, Install: true, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = pg.Stop(context.Background())
		}
	})
	if want := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/jetpool?sslmode=disable", pg.Port()); pg.DSN() != want {
		t.Fatalf("DSN = %q, want %q", pg.DSN(), want)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		if got := strconv.Itoa(procUID(t, pg.PID())); got != u.Uid {
			t.Fatalf("postmaster runs as uid %s, want postgres (%s)", got, u.Uid)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf(".s.PGSQL.%d", pg.Port()))); err != nil {
		t.Fatalf("unix socket not in data dir: %v", err)
	}
	conn, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE kept (id int PRIMARY KEY, note text)",
		"INSERT INTO kept VALUES (1, 'survives restart')",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close(ctx)
	port, pid := pg.Port(), pg.PID()
	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true
	assertGone(t, "postgres", pid)

	pg2, err := StartPostgres(ctx, PostgresOptions{DataDir: dir, Port: port, Fast: true, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		pid := pg2.PID()
		if err := pg2.Stop(ctx); err != nil {
			t.Error(err)
		}
		assertGone(t, "postgres (restarted)", pid)
	}()
	if pg2.Port() != port {
		t.Fatalf("restarted on port %d, want %d", pg2.Port(), port)
	}
	conn, err = pgx.Connect(ctx, pg2.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var note string
	if err := conn.QueryRow(ctx, "SELECT note FROM kept WHERE id = 1").Scan(&note); err != nil {
		t.Fatal(err)
	}
	if note != "survives restart" {
		t.Fatalf("note = %q after restart", note)
	}
}

func TestPostgresRefusesNonEmptyDirWithoutCluster(t *testing.T) {
	dir := tempDir(t)
	if err := os.WriteFile(filepath.Join(dir, "stray"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := StartPostgres(ctxFor(t, time.Minute), PostgresOptions{DataDir: dir, Fast: true, Logger: testLogger()})
	if err == nil || !strings.Contains(err.Error(), "no cluster") {
		t.Fatalf("err = %v, want a refusal naming the missing cluster", err)
	}
}

func TestClickHouseStartRestartKeepsData(t *testing.T) {
	ctx := ctxFor(t, 3*time.Minute)
	dir := t.TempDir()
	ch, err := StartClickHouse(ctx, ClickHouseOptions{DataDir: dir, Install: true, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("clickhouse://127.0.0.1:%d/default", ch.TCPPort()); ch.DSN() != want {
		t.Fatalf("DSN = %q, want %q", ch.DSN(), want)
	}
	opts, err := clickhouse.ParseDSN(ch.DSN())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "CREATE TABLE kept (id UInt32, note String) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO kept (id, note)")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := batch.Append(uint32(i), "row"); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	tcp, http, pid := ch.TCPPort(), ch.HTTPPort(), ch.PID()
	if err := ch.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	assertGone(t, "clickhouse", pid)

	ch2, err := StartClickHouse(ctx, ClickHouseOptions{DataDir: dir, TCPPort: tcp, HTTPPort: http, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		pid := ch2.PID()
		if err := ch2.Stop(ctx); err != nil {
			t.Error(err)
		}
		assertGone(t, "clickhouse (restarted)", pid)
	}()
	conn, err = clickhouse.Open(&clickhouse.Options{Addr: []string{ch2.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM kept").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 100 {
		t.Fatalf("count after restart = %d, want 100", n)
	}
	var tz string
	if err := conn.QueryRow(ctx, "SELECT timezone()").Scan(&tz); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(tz, "UTC") {
		t.Fatalf("server timezone = %q, want UTC", tz)
	}
}

// TestBtcdRestart: a simnet chain survives a restart on the same DataDir;
// btcd wipes a regtest chain at every start (it has no --regtestnoreset),
// which this pins so `jetpool dev` keeps choosing simnet for a durable chain.
func TestBtcdRestart(t *testing.T) {
	for _, tc := range []struct {
		network    string
		keepsChain bool
	}{
		{"simnet", true},
		{"regtest", false},
	} {
		t.Run(tc.network, func(t *testing.T) {
			ctx := ctxFor(t, 3*time.Minute)
			dir := t.TempDir()
			b, err := StartBtcd(ctx, BtcdOptions{DataDir: dir, Network: tc.network, Logger: testLogger()})
			if err != nil {
				t.Fatal(err)
			}
			stopped := false
			t.Cleanup(func() {
				if !stopped {
					_ = b.Stop(context.Background())
				}
			})
			if err := b.Prime(ctx); err != nil {
				t.Fatal(err)
			}
			cl := b.Client()
			if _, err := cl.Generate(ctx, 2); err != nil {
				t.Fatal(err)
			}
			if n, err := cl.GetBlockCount(ctx); err != nil || n != 3 {
				t.Fatalf("height = %d, %v; want 3 (prime + 2)", n, err)
			}
			tip, err := cl.GetBestBlockHash(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rpc, p2p, pid := b.RPCPort(), b.P2PPort(), b.PID()
			if err := b.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			stopped = true
			assertGone(t, "btcd", pid)

			b2, err := StartBtcd(ctx, BtcdOptions{DataDir: dir, Network: tc.network, RPCPort: rpc, P2PPort: p2p, Logger: testLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				pid := b2.PID()
				if err := b2.Stop(ctx); err != nil {
					t.Error(err)
				}
				assertGone(t, "btcd (restarted)", pid)
			}()
			if b2.RPCURL() != fmt.Sprintf("http://127.0.0.1:%d", rpc) {
				t.Fatalf("restarted on %s, want port %d", b2.RPCURL(), rpc)
			}
			got, err := b2.Client().GetBestBlockHash(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if (got == tip) != tc.keepsChain {
				t.Fatalf("tip after restart = %s, before %s; keepsChain want %v", got, tip, tc.keepsChain)
			}
			if err := b2.Prime(ctx); err != nil {
				t.Fatal(err)
			}
			want := int64(3)
			if !tc.keepsChain {
				want = 1 // primed again from genesis
			}
			if n, _ := b2.Client().GetBlockCount(ctx); n != want {
				t.Fatalf("height after restart and prime = %d, want %d", n, want)
			}
		})
	}
}

func TestTidyHomeDir(t *testing.T) {
	base := t.TempDir()
	empty := filepath.Join(base, "empty", ".btcd")
	full := filepath.Join(base, "full", ".btcd")
	for _, d := range []string{empty, full} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(full, "btcd.conf"), []byte("rpcuser=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tidyHomeDir(empty)
	tidyHomeDir(full)
	tidyHomeDir(filepath.Join(base, "missing", ".btcd"))
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty dir kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(full, "btcd.conf")); err != nil {
		t.Fatalf("a real btcd setup was touched: %v", err)
	}
	if !strings.HasSuffix(btcdHomeDir(), "/.btcd") {
		t.Fatalf("btcdHomeDir = %q", btcdHomeDir())
	}
}

func TestEnsureGoBinaryInstallsOnceConcurrently(t *testing.T) {
	ctx := ctxFor(t, 3*time.Minute)
	dir := t.TempDir()
	o := BinaryOptions{Pkg: "github.com/btcsuite/btcd/cmd/btcctl", Version: BtcdVersion, BinDir: dir, Logger: testLogger()}
	var wg sync.WaitGroup
	paths := make([]string, 3)
	errs := make([]error, 3)
	for i := range paths {
		wg.Go(func() { paths[i], errs[i] = EnsureGoBinary(ctx, o) })
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if paths[i] != filepath.Join(dir, "btcctl") {
			t.Fatalf("path %d = %q", i, paths[i])
		}
	}
	if !builtFrom(paths[0], o.Pkg, o.Version) {
		t.Fatal("installed binary has other build info")
	}
	st1, err := os.Stat(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	again, err := EnsureGoBinary(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := os.Stat(again)
	if err != nil {
		t.Fatal(err)
	}
	if !st1.ModTime().Equal(st2.ModTime()) || !os.SameFile(st1, st2) {
		t.Fatal("second EnsureGoBinary rebuilt an up-to-date binary")
	}
	if builtFrom(paths[0], o.Pkg, "v0.0.1") {
		t.Fatal("builtFrom ignores the version")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".install-") {
			t.Fatalf("install temp dir %s left behind", e.Name())
		}
	}
}

func TestCommandName(t *testing.T) {
	for _, tc := range []struct{ pkg, want string }{
		{"github.com/btcsuite/btcd", "btcd"},
		{"github.com/btcsuite/btcd/cmd/btcctl", "btcctl"},
		{"example.com/tool/v2", "tool"},
		{"example.com/v8engine", "v8engine"},
	} {
		if got := commandName(tc.pkg); got != tc.want {
			t.Errorf("commandName(%q) = %q, want %q", tc.pkg, got, tc.want)
		}
	}
}

func TestFindClickHouse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		present  map[string]string
		wantBin  string
		wantArgs []string
		wantErr  error
	}{
		{name: "classic server on PATH", present: map[string]string{"clickhouse-server": "/x/clickhouse-server"}, wantBin: "/x/clickhouse-server"},
		{name: "classic server in sbin", present: map[string]string{"/usr/sbin/clickhouse-server": "/usr/sbin/clickhouse-server"}, wantBin: "/usr/sbin/clickhouse-server"},
		{name: "single binary", present: map[string]string{"clickhouse": "/y/clickhouse"}, wantBin: "/y/clickhouse", wantArgs: []string{"server"}},
		{name: "nothing", present: map[string]string{}, wantErr: ErrNotInstalled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			look := func(n string) (string, error) {
				if p, ok := tc.present[n]; ok {
					return p, nil
				}
				return "", exec.ErrNotFound
			}
			bin, args, err := findClickHouse(look)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "apt-get install -y clickhouse-server clickhouse-client") {
					t.Fatalf("error does not name the install command: %v", err)
				}
				return
			}
			if bin != tc.wantBin || strings.Join(args, " ") != strings.Join(tc.wantArgs, " ") {
				t.Fatalf("got %q %v, want %q %v", bin, args, tc.wantBin, tc.wantArgs)
			}
		})
	}
}

func TestClickHouseConfigStaysInDataDir(t *testing.T) {
	dir := t.TempDir()
	cfg, err := writeClickHouseConfig(dir, 19000, 19001)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"<listen_host>127.0.0.1</listen_host>", "<tcp_port>19000</tcp_port>", "<http_port>19001</http_port>", "<console>1</console>"} {
		if !strings.Contains(s, want) {
			t.Errorf("config lacks %s", want)
		}
	}
	for _, off := range []string{"interserver_http_port", "mysql_port", "postgresql_port", "<log>", "listen_host>::<"} {
		if strings.Contains(s, off) {
			t.Errorf("config enables %s", off)
		}
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, "_path>") || strings.Contains(line, "<path>") {
			v := line[strings.Index(line, ">")+1 : strings.LastIndex(line, "</")]
			if !strings.HasPrefix(v, dir+"/") {
				t.Errorf("path outside data dir: %s", strings.TrimSpace(line))
			}
		}
	}
}

func TestCanTraverse(t *testing.T) {
	dir := t.TempDir()
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	owner := st.Sys().(*syscall.Stat_t)
	other := &syscall.Credential{Uid: owner.Uid + 4242, Gid: owner.Gid + 4242}
	group := &syscall.Credential{Uid: owner.Uid + 4242, Gid: owner.Gid}
	for _, tc := range []struct {
		name string
		mode os.FileMode
		cred *syscall.Credential
		want bool
	}{
		{"other without x", 0o750, other, false},
		{"other with x", 0o711, other, true},
		{"group with x", 0o710, group, true},
		{"group without x", 0o701, group, false},
		{"owner", 0o700, &syscall.Credential{Uid: owner.Uid, Gid: owner.Gid}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Chmod(dir, tc.mode); err != nil {
				t.Fatal(err)
			}
			if got := canTraverse(dir, tc.cred); got != tc.want {
				t.Fatalf("canTraverse(%o) = %v, want %v", tc.mode, got, tc.want)
			}
		})
	}
	_ = os.Chmod(dir, 0o700)
}

func TestLineLogKeepsTail(t *testing.T) {
	l := &lineLog{log: slog.New(slog.DiscardHandler), name: "x"}
	for i := range tailLines + 10 {
		fmt.Fprintf(l, "line %d\n", i)
	}
	fmt.Fprint(l, "partial")
	lines := strings.Split(l.tail(), "\n")
	if len(lines) != tailLines+1 {
		t.Fatalf("tail has %d lines, want %d", len(lines), tailLines+1)
	}
	if lines[0] != "line 10" || lines[len(lines)-1] != "partial" {
		t.Fatalf("tail = %q … %q", lines[0], lines[len(lines)-1])
	}
}

// TestChildDiesWithParent proves the hygiene promise: a child started by
// this package dies when its parent process is killed with SIGKILL (no
// Stop, no cleanup), also when it runs as another user (the parent-death
// signal must be set after the credential change, as postgres runs). The
// test re-runs itself as the parent.
func TestChildDiesWithParent(t *testing.T) {
	if os.Getenv("LOCALSVC_PARENT") != "" {
		var cred *syscall.Credential
		if os.Getenv("LOCALSVC_PARENT") == "as-postgres" {
			var err error
			if cred, err = postgresCredential(); err != nil || cred == nil {
				fmt.Println("ERR no postgres credential", err)
				os.Exit(2)
			}
		}
		c, err := startChild(childSpec{name: "sleep", path: "/bin/sleep", args: []string{"300"}, dir: "/", cred: cred}, slog.New(slog.DiscardHandler))
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(2)
		}
		fmt.Println("PID", c.pid())
		select {} // wait to be killed
	}
	modes := []string{"as-self"}
	if os.Geteuid() == 0 {
		modes = append(modes, "as-postgres")
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildDiesWithParent$")
			cmd.Env = append(os.Environ(), "LOCALSVC_PARENT="+mode)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(out)
			pid := 0
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(sc.Text(), "PID "); ok {
					pid, _ = strconv.Atoi(rest)
					break
				}
				if strings.HasPrefix(sc.Text(), "ERR") {
					_ = cmd.Process.Kill()
					t.Fatal(sc.Text())
				}
			}
			if pid == 0 {
				_ = cmd.Process.Kill()
				t.Fatal("parent did not report its child")
			}
			if !ProcessAlive(pid) {
				t.Fatal("child not running before the parent dies")
			}
			if mode == "as-postgres" {
				if u, _ := user.Lookup("postgres"); u == nil || strconv.Itoa(procUID(t, pid)) != u.Uid {
					t.Fatal("child does not run as postgres")
				}
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			// The kernel delivers the signal as the parent exits; the bound
			// only keeps a broken build from hanging the test.
			deadline := time.Now().Add(10 * time.Second)
			for ProcessAlive(pid) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if ProcessAlive(pid) {
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				t.Fatalf("child %d outlived its SIGKILLed parent", pid)
			}
		})
	}
}

func TestStopKillsStubbornGroup(t *testing.T) {
	// A shell that ignores SIGINT and has a grandchild: stop must escalate
	// and leave nothing of the group.
	c, err := startChild(childSpec{name: "sh", path: "/bin/sh", args: []string{"-c", "trap '' INT; sleep 300 & echo ready; wait"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	pid := c.pid()
	for !strings.Contains(c.out.tail(), "ready") { // trap installed, grandchild forked
		if c.exited() {
			t.Fatalf("shell exited early: %s", c.out.tail())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.stop(context.Background(), syscall.SIGINT, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if ProcessAlive(pid) {
		t.Fatalf("group %d survived stop", pid)
	}
}
