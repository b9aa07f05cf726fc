package localsvc

import (
	"strings"
	"testing"

	"github.com/jetpool/jetpool/internal/archtest"
)

// TestImports keeps the package's promise in doc.go: production code here
// never imports testing (jetpool dev links it) nor NATS or pool packages
// other than internal/node and internal/natsrv.
func TestImports(t *testing.T) {
	archtest.AssertImports(t, ".", func(path string) bool {
		switch {
		case path == "testing", strings.HasPrefix(path, "github.com/nats-io/"):
			return false
		case strings.HasPrefix(path, "github.com/jetpool/jetpool/"):
			return path == "github.com/jetpool/jetpool/internal/node" || path == "github.com/jetpool/jetpool/internal/natsrv"
		}
		return true
	})
}
