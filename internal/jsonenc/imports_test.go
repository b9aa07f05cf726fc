package jsonenc

import (
	"testing"

	"github.com/jetpool/jetpool/internal/archtest"
)

// A leaf under the Stratum codec and the share encoder: standard library only.
func TestImportsStandardLibraryOnly(t *testing.T) {
	archtest.AssertImports(t, ".", archtest.Standard)
}
