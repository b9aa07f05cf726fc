package localsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jetpool/jetpool/internal/natsrv"
)

// Sentinel errors; callers (jetpool dev, testenv) print them with the detail.
var (
	// ErrNotInstalled: a server binary is missing and could not be installed.
	ErrNotInstalled = errors.New("localsvc: not installed")
	// ErrExited: the server exited while starting (its output is in the error).
	ErrExited = errors.New("localsvc: server exited during start")
	// ErrNotReady: the server did not answer before the start timeout.
	ErrNotReady = errors.New("localsvc: server not ready")
)

const (
	defaultStartTimeout = 60 * time.Second
	defaultStopGrace    = 15 * time.Second
	tailLines           = 40
	probeEvery          = 100 * time.Millisecond
	startAttempts       = 3 // with auto-picked ports, a lost port race is retried
)

// spawner forks every child from one goroutine locked to its OS thread for
// the life of the process: Linux sends the parent-death signal when the
// forking *thread* exits, and Go may otherwise retire that thread.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd *exec.Cmd
	res chan error
}

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for r := range spawnReqs {
				r.res <- r.cmd.Start()
			}
		}()
	})
	res := make(chan error, 1)
	spawnReqs <- spawnReq{cmd: cmd, res: res}
	return <-res
}

// childSpec describes one child process.
type childSpec struct {
	name string
	path string
	args []string
	dir  string
	env  []string
	cred *syscall.Credential
}

// child is one running child process, leader of its own process group.
type child struct {
	name    string
	cmd     *exec.Cmd
	log     *slog.Logger
	out     *lineLog
	done    chan struct{}
	waitErr error
	stopMu  sync.Mutex
}

func startChild(spec childSpec, log *slog.Logger) (*child, error) {
	cmd := exec.Command(spec.path, spec.args...)
	cmd.Dir = spec.dir
	cmd.Env = spec.env
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: spec.cred,
	}
	out := &lineLog{log: log, name: spec.name}
	cmd.Stdout = out
	cmd.Stderr = out
	// Helpers of a server (postgres backends) may keep the pipes open after
	// the leader exits; do not let Wait hang on them.
	cmd.WaitDelay = 3 * time.Second
	if err := spawn(cmd); err != nil {
		return nil, fmt.Errorf("localsvc: start %s: %w", spec.name, err)
	}
	c := &child{name: spec.name, cmd: cmd, log: log, out: out, done: make(chan struct{})}
	log.Debug("child started", "proc", spec.name, "pid", cmd.Process.Pid, "args", strings.Join(spec.args, " "))
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// exitError describes an unexpected exit with the child's last output lines.
func (c *child) exitError() error {
	return fmt.Errorf("%w: %s: %v\n--- last output of %s ---\n%s", ErrExited, c.name, c.waitErr, c.name, c.out.tail())
}

// run waits for a short-lived child (initdb) and reports failure with its output.
func (c *child) run(ctx context.Context) error {
	select {
	case <-c.done:
	case <-ctx.Done():
		c.kill()
		<-c.done
		return fmt.Errorf("localsvc: %s: %w", c.name, ctx.Err())
	}
	if c.waitErr != nil {
		return fmt.Errorf("localsvc: %s failed: %v\n--- output ---\n%s", c.name, c.waitErr, c.out.tail())
	}
	return nil
}

// waitReady probes until probe succeeds, the child exits, or ctx ends.
func (c *child) waitReady(ctx context.Context, probe func(context.Context) error) error {
	var last error
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = probe(pctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-c.done:
			return c.exitError()
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %v (last probe: %v)\n--- last output of %s ---\n%s",
				ErrNotReady, c.name, ctx.Err(), last, c.name, c.out.tail())
		case <-time.After(probeEvery):
		}
	}
}

// kill sends SIGKILL to the whole process group.
func (c *child) kill() {
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
}

// stop sends sig to the leader, waits up to grace (or ctx), then kills the
// group; it returns once the leader is reaped and its group is empty.
func (c *child) stop(ctx context.Context, sig syscall.Signal, grace time.Duration) error {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	pgid := c.cmd.Process.Pid
	if !c.exited() {
		_ = syscall.Kill(pgid, sig)
		t := time.NewTimer(grace)
		select {
		case <-c.done:
		case <-t.C:
			c.log.Warn("child did not stop in time; killing", "proc", c.name, "pid", pgid)
		case <-ctx.Done():
			c.log.Warn("stop cancelled; killing", "proc", c.name, "pid", pgid)
		}
		t.Stop()
	}
	// Whatever is left of the group (helpers, a stuck leader) is killed.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-c.done
	deadline := time.Now().Add(5 * time.Second)
	for groupAlive(pgid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("localsvc: %s: process group %d still alive after SIGKILL", c.name, pgid)
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
	c.log.Debug("child stopped", "proc", c.name, "pid", pgid)
	return nil
}

// groupAlive reports whether any live (non-zombie) process is left in
// process group pgid.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, pgrp, ok := procStat(pid); ok && pgrp == pgid && state != 'Z' && state != 'X' {
			return true
		}
	}
	return false
}

// procStat reads a process's state letter and process group from
// /proc/PID/stat; ok is false when the process is gone.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(f[2])
	if err != nil {
		return 0, 0, false
	}
	return f[0][0], pgrp, true
}

// ProcessAlive reports whether the process pid, or any member of the
// process group it led, is still running (zombies waiting for a reaper do
// not count). Tests use it to prove Stop left nothing behind.
func ProcessAlive(pid int) bool {
	if state, _, ok := procStat(pid); ok && state != 'Z' && state != 'X' {
		return true
	}
	return groupAlive(pid)
}

// lineLog turns a child's output into Debug log lines and keeps the last
// lines for error messages.
type lineLog struct {
	log     *slog.Logger
	name    string
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(l.partial[:i]), "\r")
		l.partial = l.partial[i+1:]
		if line == "" {
			continue
		}
		l.log.Debug(line, "proc", l.name)
		l.lines = append(l.lines, line)
		if len(l.lines) > tailLines {
			l.lines = l.lines[len(l.lines)-tailLines:]
		}
	}
	if len(l.partial) > 64<<10 { // a runaway line without newline
		l.partial = l.partial[:0]
	}
	return len(p), nil
}

func (l *lineLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(l.lines, "\n")
	if len(l.partial) > 0 {
		s += "\n" + string(l.partial)
	}
	return s
}

// childEnv is the environment for a child: ours, with HOME pointed into its
// data dir so nothing is written under the real home directory.
func childEnv(home string, extra ...string) []string {
	env := make([]string, 0, len(os.Environ())+len(extra)+1)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home)
	return append(env, extra...)
}

// pickPort returns want, or a free loopback port when want is 0.
func pickPort(want int) (int, error) {
	if want != 0 {
		return want, nil
	}
	return natsrv.FreePort()
}

// startTimeout bounds a server's readiness wait.
func startCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = defaultStartTimeout
	}
	return context.WithTimeout(ctx, d)
}

func discardIfNil(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
