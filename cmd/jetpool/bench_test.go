package main

import (
	"bytes"
	"strings"
	"testing"
)

// The bench command's argument handling; the load generator itself is
// tested in internal/loadgen.
func TestBenchUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"no benchmark", []string{"bench"}, 2, "name a benchmark"},
		{"unknown benchmark", []string{"bench", "nosuch"}, 2, "unknown benchmark"},
		{"zero connections", []string{"bench", "stratum", "--conns", "0", "--url", "127.0.0.1:1"}, 2, "conns must be >= 1"},
		{"stray argument", []string{"bench", "stratum", "extra"}, 2, "unexpected arguments"},
		{"gateway child without nats", []string{"bench", "gateway-child", "--tcp", "127.0.0.1:0"}, 2, "needs a NATS URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := realMain(tc.args, &out, &errOut)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(out.String()+errOut.String(), tc.wantOut) {
				t.Fatalf("output lacks %q:\n%s%s", tc.wantOut, out.String(), errOut.String())
			}
		})
	}
}
