package localsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresDatabase is the database StartPostgres creates and DSN points at.
const PostgresDatabase = "jetpool"

// PostgresOptions describes one local PostgreSQL server.
type PostgresOptions struct {
	// DataDir is the cluster directory; initdb runs when it holds no cluster
	// yet (it must then be missing or empty). Required.
	DataDir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Fast turns durability off (fsync, synchronous_commit, full_page_writes):
	// for tests only.
	Fast bool
	// Install lets a root process `apt-get install postgresql` when no initdb
	// is found.
	Install bool
	// StartTimeout bounds the wait for the server to accept connections (default 60s).
	StartTimeout time.Duration
	Logger       *slog.Logger
}

// Postgres is a running PostgreSQL server, child of this process.
type Postgres struct {
	dataDir string
	port    int
	child   *child
	log     *slog.Logger
}

// StartPostgres initialises the cluster if needed, starts `postgres` as a
// child process (as the `postgres` OS user when we are root: PostgreSQL
// refuses to run as root), waits until it accepts connections and creates
// the jetpool database if missing.
func StartPostgres(ctx context.Context, o PostgresOptions) (*Postgres, error) {
	log := discardIfNil(o.Logger).With("svc", "postgres")
	if o.DataDir == "" {
		return nil, errors.New("localsvc: postgres: DataDir is required")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("localsvc: postgres: %w", err)
	}
	initdb, postgres, err := findPostgres()
	if errors.Is(err, ErrNotInstalled) && o.Install {
		if ierr := aptInstall(ctx, log, "postgresql"); ierr != nil {
			return nil, ierr
		}
		initdb, postgres, err = findPostgres()
	}
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	if err := preparePostgresDir(dir, cred); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := runInitdb(ctx, log, initdb, dir, cred, o.Fast); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("localsvc: postgres: %w", err)
	}

	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		port, err := pickPort(o.Port)
		if err != nil {
			return nil, err
		}
		p := &Postgres{dataDir: dir, port: port, log: log}
		lastErr = p.start(ctx, postgres, cred, o)
		if lastErr == nil {
			return p, nil
		}
		if o.Port != 0 || !errors.Is(lastErr, ErrExited) {
			break
		}
		log.Warn("postgres exited during start; retrying on another port", "err", lastErr)
	}
	return nil, lastErr
}

func (p *Postgres) start(ctx context.Context, bin string, cred *syscall.Credential, o PostgresOptions) error {
	args := []string{
		"-D", p.dataDir,
		"-p", strconv.Itoa(p.port),
		"-c", "listen_addresses=127.0.0.1",
		"-k", socketDir(p.dataDir),
		"-c", "max_connections=200",
	}
	if o.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	c, err := startChild(childSpec{
		name: "postgres", path: bin, args: args, dir: p.dataDir,
		env: childEnv(p.dataDir, "LC_ALL=C"), cred: cred,
	}, p.log)
	if err != nil {
		return err
	}
	p.child = c
	sctx, cancel := startCtx(ctx, o.StartTimeout)
	defer cancel()
	if err := c.waitReady(sctx, p.ping); err != nil {
		_ = c.stop(context.Background(), syscall.SIGQUIT, 0)
		return fmt.Errorf("localsvc: postgres: %w", err)
	}
	if err := p.ensureDatabase(sctx, PostgresDatabase); err != nil {
		_ = c.stop(context.Background(), syscall.SIGINT, defaultStopGrace)
		return err
	}
	p.log.Info("postgres ready", "port", p.port, "dir", p.dataDir, "pid", c.pid())
	return nil
}

func (p *Postgres) ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.DSNFor("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// ensureDatabase creates database name unless it exists.
func (p *Postgres) ensureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, p.DSNFor("postgres"))
	if err != nil {
		return fmt.Errorf("localsvc: postgres: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("localsvc: postgres: look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("localsvc: postgres: create database %s: %w", name, err)
	}
	return nil
}

// DSN is the URL of the jetpool database.
func (p *Postgres) DSN() string { return p.DSNFor(PostgresDatabase) }

// DSNFor is the URL of another database on this server.
func (p *Postgres) DSNFor(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, database)
}

// Port is the server's TCP port on 127.0.0.1.
func (p *Postgres) Port() int { return p.port }

// DataDir is the cluster directory.
func (p *Postgres) DataDir() string { return p.dataDir }

// PID is the postmaster's process id (also its process group id).
func (p *Postgres) PID() int { return p.child.pid() }

// Stop asks for a fast shutdown (SIGINT: roll back open transactions,
// checkpoint, exit) and kills the process group if that takes longer than
// 15 s or ctx ends.
func (p *Postgres) Stop(ctx context.Context) error {
	return p.child.stop(ctx, syscall.SIGINT, defaultStopGrace)
}

// Exited is closed when the server process has exited.
func (p *Postgres) Exited() <-chan struct{} { return p.child.done }

// socketDir is where the Unix socket goes: inside the data dir, unless that
// path is too long for a socket name (108 bytes), then "" (TCP only).
func socketDir(dataDir string) string {
	if len(dataDir)+len("/.s.PGSQL.65535") >= 107 {
		return ""
	}
	return dataDir
}

// findPostgres finds initdb, then postgres from the same installation:
// PATH first, then /usr/lib/postgresql/<newest>/bin.
func findPostgres() (initdb, postgres string, err error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(matches, func(i, j int) bool { return pgMajor(matches[i]) > pgMajor(matches[j]) })
	dirs = append(dirs, matches...)
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
		if isExecutable(i) && isExecutable(p) {
			return i, p, nil
		}
	}
	return "", "", fmt.Errorf("%w: PostgreSQL (no initdb/postgres on PATH or in /usr/lib/postgresql/*/bin); run: %s",
		ErrNotInstalled, aptCommand("postgresql"))
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// postgresCredential is the `postgres` OS user when we are root, else nil
// (run as ourselves).
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("localsvc: postgres: running as root needs the `postgres` OS user (created by the postgresql package; run: %s): %w",
			aptCommand("postgresql"), err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
	}
	return cred, nil
}

// preparePostgresDir creates the data dir, hands it to the server's user and
// checks that user can reach it.
func preparePostgresDir(dir string, cred *syscall.Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("localsvc: postgres: %w", err)
	}
	if cred == nil {
		return os.Chmod(dir, 0o700)
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("localsvc: postgres: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("localsvc: postgres: %w", err)
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if !canTraverse(d, cred) {
			return fmt.Errorf("localsvc: postgres: the postgres OS user cannot enter %s (needed to reach %s); "+
				"choose a data dir outside it or run: chmod o+x %s", d, dir, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// canTraverse reports whether cred may search directory d.
func canTraverse(d string, cred *syscall.Credential) bool {
	st, err := os.Stat(d)
	if err != nil {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	mode := st.Mode().Perm()
	switch {
	case sys.Uid == cred.Uid:
		return mode&0o100 != 0
	case sys.Gid == cred.Gid || containsGid(cred.Groups, sys.Gid):
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}

func containsGid(gs []uint32, g uint32) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

func runInitdb(ctx context.Context, log *slog.Logger, bin, dir string, cred *syscall.Credential, fast bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("localsvc: postgres: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("localsvc: postgres: %s holds files but no cluster (no PG_VERSION); use an empty directory", dir)
	}
	args := []string{"-D", dir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"}
	if fast {
		args = append(args, "--no-sync")
	}
	log.Info("initdb", "dir", dir)
	c, err := startChild(childSpec{name: "initdb", path: bin, args: args, dir: dir, env: childEnv(dir, "LC_ALL=C"), cred: cred}, log)
	if err != nil {
		return err
	}
	if err := c.run(ctx); err != nil {
		return fmt.Errorf("localsvc: postgres: %w", err)
	}
	return nil
}
