package localsvc

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestBchdRestartKeepsRegtestChain: StartBchd builds bchd from the module
// proxy (or finds the build), passes --regtestnoreset so a regtest chain
// survives a restart, and leaves no ~/.bchd behind.
func TestBchdRestartKeepsRegtestChain(t *testing.T) {
	_, homeErr := os.Stat(bchdHomeDir())
	hadHome := homeErr == nil
	ctx := ctxFor(t, 6*time.Minute)
	dir := t.TempDir()
	b, err := StartBchd(ctx, BtcdOptions{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = b.Stop(context.Background())
		}
	})
	bin, err := EnsureBchd(ctx, "", testLogger())
	if err != nil || !bchdBuiltFrom(bin) {
		t.Fatalf("EnsureBchd = %s, %v; built from %s@%s: %v", bin, err, BchdPkg, BchdVersion, bchdBuiltFrom(bin))
	}
	if err := b.Prime(ctx); err != nil {
		t.Fatal(err)
	}
	cl := b.Client()
	if _, err := cl.Generate(ctx, 2); err != nil {
		t.Fatal(err)
	}
	tip, err := cl.GetBestBlockHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := b.PID()
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true
	assertGone(t, "bchd", pid)

	b2, err := StartBchd(ctx, BtcdOptions{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		pid := b2.PID()
		if err := b2.Stop(ctx); err != nil {
			t.Error(err)
		}
		assertGone(t, "bchd (restarted)", pid)
	}()
	got, err := b2.Client().GetBestBlockHash(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != tip {
		t.Fatalf("tip after restart = %s, before %s: regtest chain was wiped", got, tip)
	}
	if n, _ := b2.Client().GetBlockCount(ctx); n != 3 {
		t.Fatalf("height after restart = %d, want 3", n)
	}
	if _, err := os.Stat(bchdHomeDir()); err == nil && !hadHome {
		t.Errorf("%s left behind", bchdHomeDir())
	}
}

func TestBchdBuiltFrom(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"missing": "/nonexistent/bchd", "the test binary": exe, "not a go binary": "/bin/sh"} {
		if bchdBuiltFrom(path) {
			t.Errorf("%s: bchdBuiltFrom = true", name)
		}
	}
}
