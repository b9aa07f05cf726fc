package localsvc

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package's promise in doc.go: production code here
// never imports testing (jetpool dev links it) nor NATS or pool packages
// other than internal/node and internal/natsrv.
func TestImports(t *testing.T) {
	assertImports(t, ".", func(path string) bool {
		switch {
		case path == "testing", strings.HasPrefix(path, "github.com/nats-io/"):
			return false
		case strings.HasPrefix(path, "github.com/jetpool/jetpool/"):
			return path == "github.com/jetpool/jetpool/internal/node" || path == "github.com/jetpool/jetpool/internal/natsrv"
		}
		return true
	})
}

func assertImports(t *testing.T, dir string, allowed func(string) bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !allowed(p) {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}
