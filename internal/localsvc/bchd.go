package localsvc

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"syscall"
)

// The bchd build StartBchd uses when no Binary is given. The module proxy
// refuses `go install github.com/gcash/bchd@…`, so EnsureBchd builds it
// from a scratch module that requires it.
const (
	BchdPkg     = "github.com/gcash/bchd"
	BchdVersion = "v0.22.2"
)

// Bchd is a running bchd (Bitcoin Cash) node. bchd is a fork of btcd with
// the same command line and JSON-RPC (getblocktemplate, submitblock,
// generate, notifyblocks), so it is the same type: everything that drives
// a *Btcd drives a *Bchd.
type Bchd = Btcd

// StartBchd starts bchd on a test network ("regtest" or "simnet") like
// StartBtcd starts btcd, adding --regtestnoreset on regtest (without it
// bchd wipes the regtest chain at every start). Options.Binary "" builds
// BchdPkg@BchdVersion with EnsureBchd into BinDir. The default mining
// addresses are legacy addresses, which bchd accepts. bchd creates an empty
// ~/.bchd at start; StartBchd removes it again when it is empty.
func StartBchd(ctx context.Context, o BtcdOptions) (*Bchd, error) {
	log := discardIfNil(o.Logger).With("svc", "bchd")
	if o.Binary == "" {
		bin, err := EnsureBchd(ctx, o.BinDir, log)
		if err != nil {
			return nil, err
		}
		o.Binary = bin
	}
	if o.Network == "" || o.Network == "regtest" {
		o.ExtraArgs = append([]string{"--regtestnoreset"}, o.ExtraArgs...)
	}
	o.Logger = log
	defer tidyHomeDir(bchdHomeDir())
	return StartBtcd(ctx, o)
}

// EnsureBchd returns the path of bchd BchdVersion in binDir (default
// DefaultBinDir()), building it first when it is missing or of another
// version: `go mod init scratch; go get BchdPkg@BchdVersion; go build` in
// a temp dir. Concurrent callers, in this or other processes, are
// serialised by a lock file; the binary appears atomically.
func EnsureBchd(ctx context.Context, binDir string, log *slog.Logger) (string, error) {
	log = discardIfNil(log)
	if binDir == "" {
		binDir = DefaultBinDir()
	}
	dir, err := filepath.Abs(binDir)
	if err != nil {
		return "", fmt.Errorf("localsvc: bchd: %w", err)
	}
	bin := filepath.Join(dir, "bchd")
	if bchdBuiltFrom(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("localsvc: bchd: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".bchd.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if bchdBuiltFrom(bin) { // another process built it meanwhile
		return bin, nil
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	mod, err := os.MkdirTemp("", "jetpool-bchd-build-")
	if err != nil {
		return "", fmt.Errorf("localsvc: bchd: %w", err)
	}
	defer os.RemoveAll(mod)
	tmpBin := filepath.Join(dir, ".bchd-"+filepath.Base(mod))
	defer os.Remove(tmpBin)
	log.Info("building node binary", "pkg", BchdPkg, "version", BchdVersion, "bindir", dir)
	out := &lineLog{log: log, name: "go build"}
	for _, args := range [][]string{
		{"mod", "init", "scratch"},
		{"get", BchdPkg + "@" + BchdVersion},
		{"build", "-o", tmpBin, BchdPkg},
	} {
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOWORK=off")
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%w: go %v (bchd %s): %v\n--- output ---\n%s", ErrNotInstalled, args, BchdVersion, err, out.tail())
		}
	}
	if err := os.Rename(tmpBin, bin); err != nil {
		return "", fmt.Errorf("localsvc: bchd: %w", err)
	}
	if !bchdBuiltFrom(bin) {
		return "", fmt.Errorf("localsvc: bchd: %s is not %s@%s after the build", bin, BchdPkg, BchdVersion)
	}
	return bin, nil
}

// bchdBuiltFrom reports whether bin is bchd's main package built against
// module BchdPkg at BchdVersion (as a dependency of the scratch module).
func bchdBuiltFrom(bin string) bool {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil || bi.Path != BchdPkg {
		return false
	}
	if bi.Main.Path == BchdPkg {
		return bi.Main.Version == BchdVersion
	}
	for _, d := range bi.Deps {
		if d.Path == BchdPkg {
			return d.Version == BchdVersion && d.Replace == nil
		}
	}
	return false
}

// bchdHomeDir is ~/.bchd of the passwd entry, which bchd creates at start.
func bchdHomeDir() string {
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return filepath.Join(u.HomeDir, ".bchd")
	}
	return filepath.Join(os.Getenv("HOME"), ".bchd")
}
