package testenv

import (
	"testing"

	"github.com/jetpool/jetpool/internal/localsvc"
)

// Bchd starts bchd (Bitcoin Cash) on regtest paying the default mining
// address, building it from the Go module proxy when missing, primed (one
// block mined) so getblocktemplate works.
func Bchd(t testing.TB) *localsvc.Bchd {
	t.Helper()
	ctx, cancel := startCtx()
	defer cancel()
	b, err := localsvc.StartBchd(ctx, localsvc.BtcdOptions{DataDir: t.TempDir(), Network: "regtest", Logger: Logger()})
	if err != nil {
		t.Fatalf("testenv: bchd did not start: %v", err)
	}
	t.Cleanup(func() { stopOrFail(t, "bchd", b.Stop) })
	if err := b.Prime(ctx); err != nil {
		t.Fatalf("testenv: bchd: %v", err)
	}
	return b
}
