package localsvc

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// BinaryOptions names a Go command to build from the module proxy.
type BinaryOptions struct {
	// Pkg is the package path of the command, e.g. github.com/btcsuite/btcd.
	Pkg string
	// Version is the module version, e.g. v0.26.2.
	Version string
	// Name is the binary's file name (default: last element of Pkg).
	Name string
	// BinDir receives the binary (default: DefaultBinDir()).
	BinDir string
	Logger *slog.Logger
}

// DefaultBinDir is $JETPOOL_BIN, or jetpool-bin under the temp dir.
func DefaultBinDir() string {
	if d := os.Getenv("JETPOOL_BIN"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "jetpool-bin")
}

// EnsureGoBinary returns the path of Pkg@Version's binary in BinDir, running
// `go install` first when it is missing or was built from another version
// (checked in the binary's build info). Concurrent callers, in this or other
// processes, are serialised by a lock file; the binary appears atomically.
// The go command is the one on PATH, else GOROOT's; GOPATH, GOMODCACHE,
// GOCACHE and GOFLAGS pass through from the environment.
func EnsureGoBinary(ctx context.Context, o BinaryOptions) (string, error) {
	log := discardIfNil(o.Logger)
	if o.Pkg == "" || o.Version == "" {
		return "", errors.New("localsvc: go binary: Pkg and Version are required")
	}
	name := o.Name
	if name == "" {
		name = commandName(o.Pkg)
	}
	dir := o.BinDir
	if dir == "" {
		dir = DefaultBinDir()
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("localsvc: go binary: %w", err)
	}
	bin := filepath.Join(dir, name)
	if builtFrom(bin, o.Pkg, o.Version) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("localsvc: go binary: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, "."+name+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if builtFrom(bin, o.Pkg, o.Version) { // another process installed it meanwhile
		return bin, nil
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	tmp, err := os.MkdirTemp(dir, ".install-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("localsvc: go binary: %w", err)
	}
	defer os.RemoveAll(tmp)
	log.Info("building node binary", "pkg", o.Pkg, "version", o.Version, "bindir", dir)
	out := &lineLog{log: log, name: "go install"}
	cmd := exec.CommandContext(ctx, goCmd, "install", o.Pkg+"@"+o.Version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOWORK=off")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: go install %s@%s: %v\n--- output ---\n%s", ErrNotInstalled, o.Pkg, o.Version, err, out.tail())
	}
	built := filepath.Join(tmp, commandName(o.Pkg))
	if err := os.Rename(built, bin); err != nil {
		return "", fmt.Errorf("localsvc: go binary: %w", err)
	}
	if !builtFrom(bin, o.Pkg, o.Version) {
		return "", fmt.Errorf("localsvc: go binary: %s is not %s@%s after install", bin, o.Pkg, o.Version)
	}
	return bin, nil
}

// commandName is the file name `go install` gives pkg's binary: its last
// path element, skipping a major-version suffix (…/cmd/foo/v2 → foo).
func commandName(pkg string) string {
	base := path.Base(pkg)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" {
		return path.Base(path.Dir(pkg))
	}
	return base
}

// builtFrom reports whether bin is a Go binary of package pkg at module version.
func builtFrom(bin, pkg, version string) bool {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return false
	}
	return bi.Path == pkg && bi.Main.Version == version
}
