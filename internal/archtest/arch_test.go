package archtest

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/jetpool/jetpool"

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		documented := false
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil && strings.TrimSpace(file.Doc.Text()) != "" {
				documented = true
				break
			}
		}
		if !documented {
			t.Errorf("package %s has no package doc comment (add a doc.go saying what it owns)", p.ImportPath)
		}
	}
}

// rules: packages (by prefix) that must not depend on others (by prefix).
var rules = []struct {
	from      string
	forbidden []string
	why       string
}{
	{module + "/stratum-gateway", []string{"github.com/jackc/pgx", "github.com/ClickHouse/clickhouse-go", module + "/functions/"},
		"the gateway is stateful and must stay free of databases and functions"},
	{module + "/functions", []string{module + "/functions/", module + "/stratum-gateway"},
		"the runtime must not know its functions"},
	{module + "/streams", []string{"github.com/jackc/pgx", "github.com/ClickHouse/clickhouse-go", module + "/internal/coin"},
		"stream declarations are coin- and store-agnostic"},
	{module + "/kv", []string{"github.com/jackc/pgx", "github.com/ClickHouse/clickhouse-go", module + "/internal/coin"},
		"KV declarations are coin- and store-agnostic"},
	{module + "/internal/config", []string{"github.com/nats-io", "github.com/jackc/pgx", "github.com/ClickHouse/clickhouse-go"},
		"configuration is plain data"},
	{module + "/internal/payload", []string{"github.com/nats-io", "github.com/jackc/pgx", "github.com/ClickHouse/clickhouse-go", module + "/internal/coin"},
		"message payloads are plain data"},
	{module + "/web", []string{"github.com/btcsuite/btcd"},
		"the web talks to functions over NATS only"},
}

func TestDependencyRules(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, r := range rules {
			if p.ImportPath != r.from && !strings.HasPrefix(p.ImportPath, r.from+"/") {
				continue
			}
			if r.from == module+"/functions" && p.ImportPath != r.from {
				continue // the rule is about the runtime package itself
			}
			for _, d := range p.Deps {
				for _, f := range r.forbidden {
					// "x/" forbids x's sub-packages only; "x" forbids x and everything under it.
					if strings.HasPrefix(d, f) {
						t.Errorf("%s depends on %s: %s", p.ImportPath, d, r.why)
					}
				}
			}
		}
	}
}

// testHelpers are packages made for tests only; they may use each other.
var testHelpers = []string{
	module + "/internal/testenv",
	module + "/internal/natstest",
	module + "/internal/promtest",
	module + "/internal/ledger/ledgertest",
	module + "/internal/coin/cointest",
}

// TestNoProductionCodeDependsOnTestHelpers: the binary never links the
// helpers that start databases or read metrics for tests.
func TestNoProductionCodeDependsOnTestHelpers(t *testing.T) {
	for _, p := range listPackages(t) {
		if slices.Contains(testHelpers, p.ImportPath) {
			continue
		}
		for _, d := range p.Deps {
			if slices.Contains(testHelpers, d) {
				t.Errorf("%s depends on the test helper %s", p.ImportPath, d)
			}
		}
	}
}
