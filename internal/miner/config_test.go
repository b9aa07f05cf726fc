package miner

import (
	"math"
	"math/big"
	"runtime"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in      string
		want    endpoint
		wantErr string
	}{
		{"stratum+tcp://127.0.0.1:3333", endpoint{host: "127.0.0.1", port: "3333"}, ""},
		{"stratum+tls://pool.example:443", endpoint{tls: true, host: "pool.example", port: "443"}, ""},
		{"stratum+ssl://pool.example:3334", endpoint{tls: true, host: "pool.example", port: "3334"}, ""},
		{"tcp://[::1]:3333", endpoint{host: "::1", port: "3333"}, ""},
		{"tls://h:1/", endpoint{tls: true, host: "h", port: "1"}, ""},
		{"http://h:3333", endpoint{}, "scheme must be"},
		{"127.0.0.1:3333", endpoint{}, "pool URL"},
		{"stratum+tcp://h", endpoint{}, "missing or bad port"},
		{"stratum+tcp://h:0", endpoint{}, "missing or bad port"},
		{"stratum+tcp://h:99999", endpoint{}, "missing or bad port"},
		{"stratum+tcp://:3333", endpoint{}, "missing host"},
		{"stratum+tcp://h:1/path", endpoint{}, "only scheme://host:port"},
		{"stratum+tcp://u:p@h:1", endpoint{}, "only scheme://host:port"},
		{"stratum+tcp://h:1?x=1", endpoint{}, "only scheme://host:port"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	if s := (endpoint{tls: true, host: "::1", port: "1"}).String(); s != "stratum+tls://[::1]:1" {
		t.Fatalf("String = %q", s)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{URL: "stratum+tcp://127.0.0.1:3333", User: "u"}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"minimal", func(*Config) {}, ""},
		{"no user", func(c *Config) { c.User = "" }, "user is required"},
		{"bad url", func(c *Config) { c.URL = "x" }, "scheme must be"},
		{"unknown algo", func(c *Config) { c.Algo = "x11" }, `unknown algorithm "x11"`},
		{"custom algorithm", func(c *Config) {
			c.Algo = "ignored"
			c.Algorithm = &Algorithm{Name: "x", Diff1: big.NewInt(1), NewHasher: NewSHA256d}
		}, ""},
		{"custom algorithm without hasher", func(c *Config) { c.Algorithm = &Algorithm{Name: "x", Diff1: big.NewInt(1)} }, "needs NewHasher"},
		{"negative suggestion", func(c *Config) { c.SuggestDifficulty = -1 }, "suggested difficulty"},
		{"NaN suggestion", func(c *Config) { c.SuggestDifficulty = math.NaN() }, "suggested difficulty"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "must not be negative"},
		{"several errors", func(c *Config) { c.User, c.URL = "", "x" }, "user is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			s, err := c.validate()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.threads != runtime.GOMAXPROCS(0) || s.UserAgent != DefaultUserAgent || s.Logger == nil ||
				s.ReconnectMin <= 0 || s.ReconnectMax < s.ReconnectMin || s.Timeout <= 0 || s.algo.NewHasher == nil {
				t.Fatalf("defaults not applied: %+v", s)
			}
		})
	}
}
