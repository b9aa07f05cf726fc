package node

import (
	"testing"

	"github.com/jetpool/jetpool/internal/archtest"
)

// TestImports keeps the promise in doc.go: the node client knows nothing of
// btcd, NATS, PostgreSQL or ClickHouse, nor of other pool packages.
func TestImports(t *testing.T) {
	archtest.AssertImports(t, ".", func(path string) bool {
		return path != "testing" && !archtest.HasPrefix(path,
			"github.com/btcsuite/", "github.com/nats-io/", "github.com/jackc/", "github.com/ClickHouse/", "github.com/jetpool/jetpool/")
	})
}
