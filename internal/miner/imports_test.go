package miner

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The miner is a plain pool client: the standard library and the Stratum
// codec, never the coin packages, NATS or the databases.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first := strings.SplitN(path, "/", 2)[0]
			allowed := path == "github.com/jetpool/jetpool/internal/stratum" || path == "golang.org/x/crypto/scrypt"
			if strings.Contains(first, ".") && !allowed {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
