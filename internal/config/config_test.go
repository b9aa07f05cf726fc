package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/config"
)

func TestDefaultIsValid(t *testing.T) {
	if err := config.Default().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
}

func TestValidateListsEveryError(t *testing.T) {
	c := config.Default()
	c.Pool.FeeBasisPoints = 10001
	c.Pool.Scheme = "lottery"
	c.Vardiff.Min = 10
	c.Vardiff.Max = 1
	c.Stratum.VersionRollingMask = "xyz"
	c.Coins = map[string]config.Coin{"btc": {Symbol: "btc", Network: "moon", JobRefresh: config.Duration(time.Second)}}
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{
		"pool.fee_bps", "pool.scheme", "vardiff.min", "vardiff.initial", "stratum.version_rolling_mask",
		"coins.btc.network", "coins.btc.pool_address", "coins.btc.node.rpc_url",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error list misses %s:\n%v", want, err)
		}
	}
}

func TestSectionValidation(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*config.Config)
		wantErr string
	}{
		{"fee ok at 0", func(c *config.Config) { c.Pool.FeeBasisPoints = 0 }, ""},
		{"negative fee", func(c *config.Config) { c.Pool.FeeBasisPoints = -1 }, "fee_bps"},
		{"long tag", func(c *config.Config) { c.Pool.Tag = strings.Repeat("x", 33) }, "tag"},
		{"solo scheme", func(c *config.Config) { c.Pool.Scheme = "solo" }, ""},
		{"zero window", func(c *config.Config) { c.Pool.PPLNSWindow = 0 }, "pplns_window"},
		{"negative worker rate", func(c *config.Config) { c.Stratum.WorkerMessagesPerSecond = -1 }, "worker_messages_per_second"},
		{"no worker rate ok", func(c *config.Config) { c.Stratum.WorkerMessagesPerSecond = 0 }, ""},
		{"tiny line", func(c *config.Config) { c.Stratum.MaxLineBytes = 10 }, "max_line_bytes"},
		{"en2 too big", func(c *config.Config) { c.Stratum.Extranonce2Size = 32 }, "extranonce2_size"},
		{"zero target", func(c *config.Config) { c.Vardiff.TargetSeconds = 0 }, "target_seconds"},
		{"fractional min ok", func(c *config.Config) { c.Vardiff.Min = 0.00001 }, ""},
		{"coin vardiff ok", func(c *config.Config) {
			v := c.Vardiff
			v.Initial, v.Min = 0.01, 0.001
			c.VardiffCoins = map[string]config.Vardiff{"ltc": v}
		}, ""},
		{"coin vardiff invalid", func(c *config.Config) {
			v := c.Vardiff
			v.TargetSeconds = 0
			c.VardiffCoins = map[string]config.Vardiff{"ltc": v}
		}, "vardiff_coins.ltc"},
		{"coin vardiff bad symbol", func(c *config.Config) { c.VardiffCoins = map[string]config.Vardiff{"LTC!": c.Vardiff} }, "vardiff_coins.LTC!"},
		{"ingest batch", func(c *config.Config) { c.Ingest.BatchSize = 0 }, "batch_size"},
		{"rollup every", func(c *config.Config) { c.Ingest.RollupEvery = config.Duration(time.Millisecond) }, "rollup_every"},
		{"retention every default", func(c *config.Config) { c.Ingest.RetentionEvery = 0 }, ""},
		{"offline after", func(c *config.Config) { c.Stats.OfflineAfter = config.Duration(time.Second) }, "stats.offline_after"},
		{"cache ttl", func(c *config.Config) { c.Stats.CacheTTL = config.Duration(time.Hour) }, "cache_ttl"},
		{"fee policy", func(c *config.Config) { c.Payouts.FeePolicy = "nobody" }, "fee_policy"},
		{"minimum", func(c *config.Config) { c.Payouts.Minimum = map[string]int64{"btc": 0} }, "minimum.btc"},
		{"solo fee ok", func(c *config.Config) { c.Pool.SchemeFeeBasisPoints = map[string]int{"solo": 50} }, ""},
		{"scheme fee unknown scheme", func(c *config.Config) { c.Pool.SchemeFeeBasisPoints = map[string]int{"lottery": 5} }, "scheme_fee_bps.lottery"},
		{"scheme fee too high", func(c *config.Config) { c.Pool.SchemeFeeBasisPoints = map[string]int{"pps": 10001} }, "scheme_fee_bps.pps"},
		{"negative fee per output", func(c *config.Config) { c.Payouts.FeePerOutput = -1 }, "fee_per_output"},
		{"payout batch", func(c *config.Config) { c.Payouts.BatchSize = 0 }, "payouts.batch_size"},
		{"payout confirmations", func(c *config.Config) { c.Payouts.Confirmations = 0 }, "confirmations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.mutate(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one about %s", err, tt.wantErr)
			}
		})
	}
}

func TestLoadFileAndEnvOverrides(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pool.yaml")
	err := os.WriteFile(path, []byte(`
pool:
  fee_bps: 150
  scheme: prop
vardiff:
  target_seconds: 5
coins:
  btc:
    network: regtest
    pool_address: bcrt1qexample
    job_refresh: 15s
    node:
      rpc_url: http://127.0.0.1:18334
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path, []string{"JETPOOL_POOL_FEE_BPS=200", "JETPOOL_COINS_BTC_NODE_RPC_URL=http://127.0.0.1:1", "JETPOOL_UNRELATED=1", "HOME=/x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Pool.FeeBasisPoints != 200 || c.Pool.Scheme != "prop" {
		t.Errorf("pool = %+v; want fee 200 from env, scheme prop from file", c.Pool)
	}
	if c.Vardiff.TargetSeconds != 5 || c.Vardiff.Min != config.Default().Vardiff.Min {
		t.Errorf("vardiff = %+v; want file value over defaults", c.Vardiff)
	}
	btc := c.Coins["btc"]
	if btc.Symbol != "btc" || btc.Node.RPCURL != "http://127.0.0.1:1" || btc.JobRefresh.D() != 15*time.Second {
		t.Errorf("coin = %+v", btc)
	}
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("pool:\n  fees: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(path, nil); err == nil || !strings.Contains(err.Error(), "fees") {
		t.Fatalf("Load = %v, want an error naming the unknown key", err)
	}
}

func TestFeeFor(t *testing.T) {
	p := config.Pool{FeeBasisPoints: 100, SchemeFeeBasisPoints: map[string]int{"solo": 50, "pps": 0}}
	for scheme, want := range map[string]int{"solo": 50, "pps": 0, "pplns": 100} {
		if got := p.FeeFor(scheme); got != want {
			t.Errorf("FeeFor(%s) = %d, want %d", scheme, got, want)
		}
	}
}
