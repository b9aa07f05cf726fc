package localsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// lockFile takes an exclusive advisory lock on path (created if missing),
// waiting until ctx ends. Several test binaries run in parallel; this keeps
// them from installing the same thing at once.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("localsvc: lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("localsvc: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("localsvc: waiting for lock %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// aptCommand is the one command a user must run to install pkgs.
func aptCommand(pkgs ...string) string {
	return "apt-get update && apt-get install -y " + strings.Join(pkgs, " ")
}

// aptInstall installs Debian packages (root only), serialised across
// processes. apt-get is not tied to our life: killing dpkg midway would
// leave the system broken, so it only gets SIGTERM when ctx ends.
func aptInstall(ctx context.Context, log *slog.Logger, pkgs ...string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: %s (run as root: %s)", ErrNotInstalled, strings.Join(pkgs, ", "), aptCommand(pkgs...))
	}
	unlock, err := lockFile(ctx, filepath.Join(os.TempDir(), "jetpool-apt.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	log.Info("installing packages with apt-get", "packages", pkgs)
	steps := [][]string{
		{"update"},
		append([]string{"install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300"}, pkgs...),
	}
	for _, args := range steps {
		out := &lineLog{log: log, name: "apt-get"}
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = out, out
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = time.Minute
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%w: apt-get %s: %v\n--- output ---\n%s", ErrNotInstalled, args[0], err, out.tail())
		}
	}
	return nil
}
