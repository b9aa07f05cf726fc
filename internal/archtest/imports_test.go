package archtest

import (
	"fmt"
	"slices"
	"testing"
)

// recorder is a testing.TB that keeps failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatal(args ...any) {
	r.fatal = true
	r.errors = append(r.errors, fmt.Sprint(args...))
}

func TestAssertImports(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		allowed func(string) bool
		want    []string
		fatal   bool
	}{
		{name: "standard library only", dir: "testdata/imports", allowed: Standard,
			want: []string{"a.go imports example.com/forbidden/pkg"}},
		{name: "everything allowed", dir: "testdata/imports", allowed: func(string) bool { return true }},
		{name: "os forbidden", dir: "testdata/imports", allowed: func(p string) bool { return !HasPrefix(p, "os", "example.com/") },
			want: []string{"a.go imports example.com/forbidden/pkg", "b.go imports os"}},
		{name: "missing directory", dir: "testdata/none", allowed: Standard, fatal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			AssertImports(r, tc.dir, tc.allowed)
			if tc.fatal {
				if !r.fatal {
					t.Fatalf("no fatal failure; errors %q", r.errors)
				}
				return
			}
			slices.Sort(r.errors)
			if r.fatal || !slices.Equal(r.errors, tc.want) {
				t.Fatalf("failures %q (fatal %v), want %q", r.errors, r.fatal, tc.want)
			}
		})
	}
}

func TestStandard(t *testing.T) {
	for path, want := range map[string]bool{
		"fmt": true, "go/parser": true, "testing": true,
		"github.com/nats-io/nats.go": false, "golang.org/x/crypto/scrypt": false, "example.com": false,
	} {
		if got := Standard(path); got != want {
			t.Errorf("Standard(%q) = %v, want %v", path, got, want)
		}
	}
}
