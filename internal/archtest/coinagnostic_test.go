package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoPerCoinSwitch proves the gateway, the functions, the streams and the web
// hold no per-coin branch: no non-test source there names a coin symbol
// in a string literal or imports a coin package (internal/coin/<sym>).
// Coins come from configuration and coin.Get.
func TestNoPerCoinSwitch(t *testing.T) {
	symbols := map[string]bool{"btc": true, "ltc": true, "bch": true, "xmr": true}
	for _, root := range []string{"../../stratum-gateway", "../../functions", "../../streams", "../../web"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				return err
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if rest, ok := strings.CutPrefix(p, "github.com/jetpool/jetpool/internal/coin/"); ok && rest != "cointest" {
					t.Errorf("%s imports the coin package %s", path, p)
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil && symbols[strings.ToLower(s)] {
					t.Errorf("%s: string literal %s names a coin", path, lit.Value)
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
