package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("pool:\n  fee_bps: 150\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("pool:\n  fee_bps: -3\n  scheme: lottery\nvardiff:\n  target_seconds: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
	}{
		{"valid", []string{"check-config", good}, 0, []string{"ok"}},
		{"every error listed", []string{"check-config", bad}, 1, []string{"pool.fee_bps", "pool.scheme", "vardiff.target_seconds"}},
		{"missing file", []string{"check-config", filepath.Join(dir, "nope.yaml")}, 1, []string{"no such file"}},
		{"no file", []string{"check-config"}, 2, []string{"usage"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{"unknown command"}},
		{"fn without names", []string{"fn", "--nats", "nats://127.0.0.1:1"}, 2, []string{"name at least one function"}},
		{"fn unknown name", []string{"fn", "nosuch"}, 2, []string{"unknown function"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := realMain(tt.args, &out, &errOut)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out.String(), errOut.String())
			}
			all := out.String() + errOut.String()
			for _, w := range tt.wantOut {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := newFlagSet("fn", &bytes.Buffer{})
	nats := fs.String("nats", "", "")
	names, err := parseInterspersed(fs, []string{"jobmaker", "--nats", "nats://x", "blocksubmit"})
	if err != nil {
		t.Fatal(err)
	}
	if *nats != "nats://x" || len(names) != 2 || names[0] != "jobmaker" || names[1] != "blocksubmit" {
		t.Fatalf("names %v nats %q", names, *nats)
	}
}
