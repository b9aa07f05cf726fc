package node

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the promise in doc.go: the node client knows nothing of
// btcd, NATS, PostgreSQL or ClickHouse, nor of other pool packages.
func TestImports(t *testing.T) {
	assertImports(t, ".", func(path string) bool {
		for _, banned := range []string{"github.com/btcsuite/", "github.com/nats-io/", "github.com/jackc/", "github.com/ClickHouse/", "github.com/jetpool/jetpool/"} {
			if strings.HasPrefix(path, banned) {
				return false
			}
		}
		return path != "testing"
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
