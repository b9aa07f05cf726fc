package stratum

import (
	"testing"

	"github.com/jetpool/jetpool/internal/archtest"
)

// The codec is shared by the gateway and the miner: the standard library
// and the leaf JSON appenders only.
func TestImportsStandardLibraryOnly(t *testing.T) {
	archtest.AssertImports(t, ".", func(path string) bool {
		return archtest.Standard(path) || path == "github.com/jetpool/jetpool/internal/jsonenc"
	})
}
