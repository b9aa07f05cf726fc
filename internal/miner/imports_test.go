package miner

import (
	"testing"

	"github.com/jetpool/jetpool/internal/archtest"
)

// The miner is a plain pool client: the standard library and the Stratum
// codec, never the coin packages, NATS or the databases.
func TestImports(t *testing.T) {
	archtest.AssertImports(t, ".", func(path string) bool {
		return archtest.Standard(path) ||
			path == "github.com/jetpool/jetpool/internal/stratum" || path == "golang.org/x/crypto/scrypt"
	})
}
