package chstore_test

import (
	"testing"

	"github.com/jetpool/jetpool/internal/archtest"
)

// TestImports keeps the promise in doc.go: chstore stores and answers; it
// knows nothing of NATS, PostgreSQL, functions, coins or the gateway. Of the
// pool's own packages it may use only payload (the share batch it writes).
func TestImports(t *testing.T) {
	archtest.AssertImports(t, ".", func(path string) bool {
		return path == "github.com/jetpool/jetpool/internal/payload" ||
			!archtest.HasPrefix(path, "github.com/nats-io/", "github.com/jackc/", "github.com/jetpool/jetpool/")
	})
}
