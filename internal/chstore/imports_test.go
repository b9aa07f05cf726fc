package chstore_test

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the promise in doc.go: chstore stores and answers; it
// knows nothing of NATS, PostgreSQL, functions, coins or the gateway. Of the
// pool's own packages it may use only payload (the share batch it writes).
func TestImports(t *testing.T) {
	entries, err := os.ReadDir(".")
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
			own := strings.HasPrefix(p, "github.com/jetpool/jetpool/")
			if strings.HasPrefix(p, "github.com/nats-io/") || strings.HasPrefix(p, "github.com/jackc/") ||
				(own && p != "github.com/jetpool/jetpool/internal/payload") {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}
