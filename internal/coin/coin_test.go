package coin

import (
	"errors"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	Register("zz-test", func(network string) (Coin, error) {
		if network != "regtest" {
			return nil, ErrUnknownNetwork
		}
		return testBase(t, true), nil
	})
	c, err := Get("zz-test", "regtest")
	if err != nil || c.Symbol() != "tst" {
		t.Fatalf("Get = %v, %v", c, err)
	}
	if _, err := Get("zz-test", "mainnet"); !errors.Is(err, ErrUnknownNetwork) {
		t.Fatalf("unknown network: %v", err)
	}
	if _, err := Get("nope", "regtest"); !errors.Is(err, ErrUnknownCoin) {
		t.Fatalf("unknown coin: %v", err)
	}
	if !slices.Contains(Symbols(), "zz-test") || !slices.IsSorted(Symbols()) {
		t.Fatalf("Symbols() = %v", Symbols())
	}
	for name, f := range map[string]func(){
		"duplicate":   func() { Register("zz-test", func(string) (Coin, error) { return nil, nil }) },
		"empty":       func() { Register("", func(string) (Coin, error) { return nil, nil }) },
		"nil factory": func() { Register("zz-nil", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Register did not panic")
				}
			}()
			f()
		})
	}
}

func TestAddressError(t *testing.T) {
	detail := errors.New("checksum mismatch")
	err := error(&AddressError{Addr: "bc1xyz", Kind: ErrWrongNetwork, Detail: detail})
	if !errors.Is(err, ErrBadAddress) || !errors.Is(err, ErrWrongNetwork) || !errors.Is(err, detail) || errors.Is(err, ErrUnsupportedAddress) {
		t.Fatalf("errors.Is chain wrong for %v", err)
	}
	if !strings.Contains(err.Error(), "bc1xyz") || !strings.Contains(err.Error(), "another network") {
		t.Fatalf("message %q", err)
	}
	long := (&AddressError{Addr: strings.Repeat("a", 1000)}).Error()
	if len(long) > 200 {
		t.Fatalf("message not truncated: %d bytes", len(long))
	}
}

// TestImports enforces the doc.go rules: every package here has a doc
// comment, and only cointest and coin packages import btcd; nothing
// imports NATS or database drivers.
func TestImports(t *testing.T) {
	forbidden := []string{"github.com/nats-io/", "github.com/jackc/", "github.com/ClickHouse/", "github.com/labstack/"}
	dirs := map[string]bool{".": false, "btc": true, "ltc": true, "cointest": true, "../pow": false, "../target": false}
	for dir, btcdOK := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		hasDoc := false
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil && strings.HasPrefix(file.Doc.Text(), "Package ") {
				hasDoc = true
			}
			for _, imp := range file.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, p := range forbidden {
					if strings.HasPrefix(path, p) {
						t.Errorf("%s imports %s", f, path)
					}
				}
				if !btcdOK && strings.HasPrefix(path, "github.com/btcsuite/") {
					t.Errorf("%s imports %s; only coin packages and cointest may use btcd", f, path)
				}
				if strings.HasSuffix(path, "/coin/cointest") {
					t.Errorf("%s imports cointest outside a test", f)
				}
			}
		}
		if !hasDoc {
			t.Errorf("package in %s has no doc comment", dir)
		}
	}
}
