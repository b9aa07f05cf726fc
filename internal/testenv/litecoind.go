package testenv

import (
	"os"
	"testing"

	"github.com/jetpool/jetpool/internal/localsvc"
)

// Litecoind starts a litecoind regtest node (with its wallet and the peer
// getblocktemplate needs), installing litecoind with apt-get when missing
// and the test runs as root, primed with one block.
func Litecoind(t testing.TB) *localsvc.Litecoind {
	t.Helper()
	if !canInstall() {
		if _, err := os.Stat(localsvc.LitecoindBinary); err != nil {
			t.Fatalf("testenv: litecoind is not installed and the test is not root: apt-get install -y litecoind")
		}
	}
	ctx, cancel := startCtx()
	defer cancel()
	l, err := localsvc.StartLitecoind(ctx, localsvc.LitecoindOptions{DataDir: t.TempDir(), Logger: Logger()})
	if err != nil {
		t.Fatalf("testenv: litecoind did not start: %v", err)
	}
	t.Cleanup(func() { stopOrFail(t, "litecoind", l.Stop) })
	if err := l.Prime(ctx); err != nil {
		t.Fatalf("testenv: litecoind: %v", err)
	}
	return l
}
