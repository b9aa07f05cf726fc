package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Payout schemes the rewards code understands.
const (
	SchemePPLNS = "pplns"
	SchemePROP  = "prop"
	SchemePPS   = "pps"
	SchemeFPPS  = "fpps"
	SchemeSOLO  = "solo"
)

// Keys of the sections in the KV bucket `config`. Coins live in bucket `coins`
// under their lower-case symbol.
const (
	KeyPool    = "pool"
	KeyStratum = "stratum"
	KeyVardiff = "vardiff"
	KeyIngest  = "ingest"
	KeyPayouts = "payouts"
	KeyStats   = "stats"
)

// VardiffKey is the config key of a coin's own vardiff section
// ("vardiff.ltc"); a coin without one uses KeyVardiff.
func VardiffKey(coin string) string { return KeyVardiff + "." + coin }

// Config is the whole configuration as read from a file.
type Config struct {
	Pool    Pool    `yaml:"pool" json:"pool"`
	Stratum Stratum `yaml:"stratum" json:"stratum"`
	Vardiff Vardiff `yaml:"vardiff" json:"vardiff"`
	// VardiffCoins gives a coin its own whole vardiff section (sha256d and
	// scrypt workers live at very different difficulties); coins not listed
	// use Vardiff.
	VardiffCoins map[string]Vardiff `yaml:"vardiff_coins" json:"vardiff_coins,omitempty"`
	Ingest       Ingest             `yaml:"ingest" json:"ingest"`
	Stats        Stats              `yaml:"stats" json:"stats"`
	Payouts      Payouts            `yaml:"payouts" json:"payouts"`
	Coins        map[string]Coin    `yaml:"coins" json:"coins"`
}

// VardiffFor is the vardiff section a coin's gateways start with: its own
// when VardiffCoins has one, the pool's otherwise.
func (c Config) VardiffFor(coin string) Vardiff {
	if v, ok := c.VardiffCoins[coin]; ok {
		return v
	}
	return c.Vardiff
}

// Pool holds pool-wide economics.
type Pool struct {
	Name string `yaml:"name" json:"name"`
	// Tag is written into every coinbase scriptSig (at most 32 bytes).
	Tag string `yaml:"tag" json:"tag"`
	// FeeBasisPoints is the pool fee in 1/100 of a percent (150 = 1.5 %).
	FeeBasisPoints int `yaml:"fee_bps" json:"fee_bps"`
	// Scheme is the default reward scheme: pplns, prop, pps, fpps or solo.
	Scheme string `yaml:"scheme" json:"scheme"`
	// PPLNSWindow is N in "last N × network difficulty of shares".
	PPLNSWindow float64 `yaml:"pplns_window" json:"pplns_window"`
	// SchemeFeeBasisPoints overrides FeeBasisPoints per scheme (e.g. a
	// lower fee for solo miners); schemes not listed pay FeeBasisPoints.
	SchemeFeeBasisPoints map[string]int `yaml:"scheme_fee_bps" json:"scheme_fee_bps,omitempty"`
}

// FeeFor returns the pool fee in basis points for a scheme.
func (p Pool) FeeFor(scheme string) int {
	if bps, ok := p.SchemeFeeBasisPoints[scheme]; ok {
		return bps
	}
	return p.FeeBasisPoints
}

// Stratum holds gateway protection and batching settings.
type Stratum struct {
	MaxLineBytes         int     `yaml:"max_line_bytes" json:"max_line_bytes"`
	MaxMessagesPerSecond float64 `yaml:"max_messages_per_second" json:"max_messages_per_second"`
	MessageBurst         int     `yaml:"message_burst" json:"message_burst"`
	// WorkerMessagesPerSecond is added to a connection's rate for every
	// worker it authorizes after the first (a proxy carries many), and
	// twice it to its burst.
	WorkerMessagesPerSecond float64  `yaml:"worker_messages_per_second" json:"worker_messages_per_second"`
	IdleTimeout             Duration `yaml:"idle_timeout" json:"idle_timeout"`
	InvalidShareBanLimit    int      `yaml:"invalid_share_ban_limit" json:"invalid_share_ban_limit"`
	BanDuration             Duration `yaml:"ban_duration" json:"ban_duration"`
	MaxConnsPerIP           int      `yaml:"max_conns_per_ip" json:"max_conns_per_ip"`
	ShareBatchSize          int      `yaml:"share_batch_size" json:"share_batch_size"`
	ShareBatchDelay         Duration `yaml:"share_batch_delay" json:"share_batch_delay"`
	Extranonce2Size         int      `yaml:"extranonce2_size" json:"extranonce2_size"`
	VersionRollingMask      string   `yaml:"version_rolling_mask" json:"version_rolling_mask"`
}

// Vardiff holds the per-worker difficulty controller settings.
type Vardiff struct {
	Initial       float64  `yaml:"initial" json:"initial"`
	Min           float64  `yaml:"min" json:"min"`
	Max           float64  `yaml:"max" json:"max"`
	TargetSeconds float64  `yaml:"target_seconds" json:"target_seconds"`
	Retarget      Duration `yaml:"retarget" json:"retarget"`
	// VariancePercent: no retarget while the observed share time is within
	// this percentage of TargetSeconds.
	VariancePercent float64 `yaml:"variance_percent" json:"variance_percent"`
}

// Ingest holds the share ingest batching settings.
type Ingest struct {
	BatchSize     int      `yaml:"batch_size" json:"batch_size"`
	MaxDelay      Duration `yaml:"max_delay" json:"max_delay"`
	RetentionDays int      `yaml:"retention_days" json:"retention_days"`
	// RollupEvery is how often the hourly share rollups are brought up to
	// date; 0 means DefaultRollupEvery.
	RollupEvery Duration `yaml:"rollup_every" json:"rollup_every,omitempty"`
	// RetentionEvery is how often expired day partitions are dropped; 0
	// means DefaultRetentionEvery.
	RetentionEvery Duration `yaml:"retention_every" json:"retention_every,omitempty"`
}

// Defaults of the optional ingest schedules.
const (
	DefaultRollupEvery    = time.Minute
	DefaultRetentionEvery = time.Hour
)

// RollupInterval is RollupEvery or its default.
func (i Ingest) RollupInterval() time.Duration {
	if i.RollupEvery == 0 {
		return DefaultRollupEvery
	}
	return i.RollupEvery.D()
}

// RetentionInterval is RetentionEvery or its default.
func (i Ingest) RetentionInterval() time.Duration {
	if i.RetentionEvery == 0 {
		return DefaultRetentionEvery
	}
	return i.RetentionEvery.D()
}

// Stats holds the statistics service's settings.
type Stats struct {
	// OfflineAfter: a worker without a share for this long is offline.
	OfflineAfter Duration `yaml:"offline_after" json:"offline_after"`
	// CacheTTL is how long an answer is reused for the same question.
	CacheTTL Duration `yaml:"cache_ttl" json:"cache_ttl"`
}

// Payouts holds payout policy.
type Payouts struct {
	Interval Duration `yaml:"interval" json:"interval"`
	// MinimumBaseUnits is the pool-wide minimum payout, per coin symbol.
	Minimum map[string]int64 `yaml:"minimum" json:"minimum"`
	// FeePolicy: "pool" (pool pays the network fee) or "miner".
	FeePolicy string `yaml:"fee_policy" json:"fee_policy"`
	// FeePerOutput is what each recipient pays toward the network fee under
	// fee_policy "miner", in base units, deducted from the amount sent.
	FeePerOutput int64 `yaml:"fee_per_output" json:"fee_per_output"`
	// BatchSize is the most recipients in one sendmany.
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// Confirmations a payout transaction needs to count as confirmed.
	Confirmations int `yaml:"confirmations" json:"confirmations"`
}

// Coin is one coin's configuration, stored in KV bucket `coins`.
type Coin struct {
	Symbol  string `yaml:"symbol" json:"symbol"`
	Network string `yaml:"network" json:"network"`
	// PoolAddress receives the coinbase.
	PoolAddress string `yaml:"pool_address" json:"pool_address"`
	Node        Node   `yaml:"node" json:"node"`
	// Wallet is the wallet RPC that pays miners (bitcoind/litecoind's own
	// wallet, or btcwallet next to btcd); empty = payouts disabled.
	Wallet Wallet `yaml:"wallet" json:"wallet"`
	// JobRefresh is how often a new job is made for new transactions.
	JobRefresh Duration `yaml:"job_refresh" json:"job_refresh"`
	// Regions maps a region name to its stratum listeners.
	Regions map[string]Listeners `yaml:"regions" json:"regions"`
	Enabled bool                 `yaml:"enabled" json:"enabled"`
}

// Node is a coin node's RPC endpoint.
type Node struct {
	RPCURL string `yaml:"rpc_url" json:"rpc_url"`
	WSURL  string `yaml:"ws_url" json:"ws_url"`
	User   string `yaml:"user" json:"user"`
	Pass   string `yaml:"pass" json:"pass"`
}

// Wallet is a coin wallet's RPC endpoint.
type Wallet struct {
	RPCURL string `yaml:"rpc_url" json:"rpc_url"`
	User   string `yaml:"user" json:"user"`
	Pass   string `yaml:"pass" json:"pass"`
	// Passphrase unlocks an encrypted wallet for each payout (optional).
	Passphrase string `yaml:"passphrase" json:"passphrase"`
}

// Listeners are a gateway's stratum addresses (host:port); empty = disabled.
type Listeners struct {
	TCP string `yaml:"tcp" json:"tcp"`
	TLS string `yaml:"tls" json:"tls"`
}

// Default returns a configuration that runs a regtest pool out of the box.
func Default() Config {
	return Config{
		Pool: Pool{Name: "jetpool", Tag: "/jetpool/", FeeBasisPoints: 100, Scheme: SchemePPLNS, PPLNSWindow: 2},
		Stratum: Stratum{
			MaxLineBytes: 16 << 10, MaxMessagesPerSecond: 50, MessageBurst: 100, WorkerMessagesPerSecond: 2,
			IdleTimeout: Duration(10 * time.Minute), InvalidShareBanLimit: 100,
			BanDuration: Duration(10 * time.Minute), MaxConnsPerIP: 256,
			ShareBatchSize: 64, ShareBatchDelay: Duration(20 * time.Millisecond),
			Extranonce2Size: 4, VersionRollingMask: "1fffe000",
		},
		Vardiff: Vardiff{Initial: 1, Min: 0.0001, Max: 1 << 40, TargetSeconds: 10,
			Retarget: Duration(90 * time.Second), VariancePercent: 30},
		Ingest: Ingest{BatchSize: 50000, MaxDelay: Duration(500 * time.Millisecond), RetentionDays: 90},
		Stats:  Stats{OfflineAfter: Duration(10 * time.Minute), CacheTTL: Duration(5 * time.Second)},
		Payouts: Payouts{Interval: Duration(10 * time.Minute), Minimum: map[string]int64{}, FeePolicy: "pool",
			FeePerOutput: 1000, BatchSize: 100, Confirmations: 6},
		Coins: map[string]Coin{},
	}
}

// Load reads a YAML file over the defaults, then applies JETPOOL_* overrides
// from environ (pass os.Environ()). It does not validate.
func Load(path string, environ []string) (Config, error) {
	cfg := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	if err := applyEnv(&cfg, environ); err != nil {
		return cfg, err
	}
	for sym, c := range cfg.Coins {
		if c.Symbol == "" {
			c.Symbol = sym
			cfg.Coins[sym] = c
		}
	}
	return cfg, nil
}

// Validate reports every problem of the whole configuration at once.
func (c Config) Validate() error {
	errs := []error{
		prefix("pool", c.Pool.Validate()),
		prefix("stratum", c.Stratum.Validate()),
		prefix("vardiff", c.Vardiff.Validate()),
		prefix("ingest", c.Ingest.Validate()),
		prefix("stats", c.Stats.Validate()),
		prefix("payouts", c.Payouts.Validate()),
	}
	for _, s := range slices.Sorted(maps.Keys(c.VardiffCoins)) {
		if !symbolRe.MatchString(s) {
			errs = append(errs, fieldErr("vardiff_coins."+s, "key must be a coin symbol (2-10 lower-case letters/digits)"))
		}
		errs = append(errs, prefix("vardiff_coins."+s, c.VardiffCoins[s].Validate()))
	}
	for _, s := range slices.Sorted(maps.Keys(c.Coins)) {
		coin := c.Coins[s]
		if coin.Symbol != s {
			errs = append(errs, fmt.Errorf("coins.%s: symbol %q does not match its key", s, coin.Symbol))
		}
		errs = append(errs, prefix("coins."+s, coin.Validate()))
	}
	return errors.Join(errs...)
}

func prefix(p string, err error) error {
	if err == nil {
		return nil
	}
	var out []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, fmt.Errorf("%s.%w", p, e))
		}
		return errors.Join(out...)
	}
	return fmt.Errorf("%s.%w", p, err)
}

func fieldErr(field, format string, args ...any) error {
	return fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...))
}

// Validate checks the pool section.
func (p Pool) Validate() error {
	var errs []error
	if p.FeeBasisPoints < 0 || p.FeeBasisPoints > 10000 {
		errs = append(errs, fieldErr("fee_bps", "must be within 0..10000, got %d", p.FeeBasisPoints))
	}
	switch p.Scheme {
	case SchemePPLNS, SchemePROP, SchemePPS, SchemeFPPS, SchemeSOLO:
	default:
		errs = append(errs, fieldErr("scheme", "must be one of pplns, prop, pps, fpps, solo, got %q", p.Scheme))
	}
	if len(p.Tag) > 32 {
		errs = append(errs, fieldErr("tag", "at most 32 bytes, got %d", len(p.Tag)))
	}
	if !(p.PPLNSWindow > 0) || math.IsInf(p.PPLNSWindow, 0) {
		errs = append(errs, fieldErr("pplns_window", "must be > 0, got %v", p.PPLNSWindow))
	}
	for scheme, bps := range p.SchemeFeeBasisPoints {
		switch scheme {
		case SchemePPLNS, SchemePROP, SchemePPS, SchemeFPPS, SchemeSOLO:
		default:
			errs = append(errs, fieldErr("scheme_fee_bps."+scheme, "unknown scheme"))
		}
		if bps < 0 || bps > 10000 {
			errs = append(errs, fieldErr("scheme_fee_bps."+scheme, "must be within 0..10000, got %d", bps))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the stratum section.
func (s Stratum) Validate() error {
	var errs []error
	if s.MaxLineBytes < 512 || s.MaxLineBytes > 1<<20 {
		errs = append(errs, fieldErr("max_line_bytes", "must be within 512..1048576, got %d", s.MaxLineBytes))
	}
	if !(s.MaxMessagesPerSecond > 0) {
		errs = append(errs, fieldErr("max_messages_per_second", "must be > 0, got %v", s.MaxMessagesPerSecond))
	}
	if s.MessageBurst < 1 {
		errs = append(errs, fieldErr("message_burst", "must be >= 1, got %d", s.MessageBurst))
	}
	if !(s.WorkerMessagesPerSecond >= 0) || math.IsInf(s.WorkerMessagesPerSecond, 0) {
		errs = append(errs, fieldErr("worker_messages_per_second", "must be a finite number >= 0, got %v", s.WorkerMessagesPerSecond))
	}
	if s.IdleTimeout.D() < time.Second {
		errs = append(errs, fieldErr("idle_timeout", "must be >= 1s, got %s", s.IdleTimeout))
	}
	if s.InvalidShareBanLimit < 1 {
		errs = append(errs, fieldErr("invalid_share_ban_limit", "must be >= 1, got %d", s.InvalidShareBanLimit))
	}
	if s.BanDuration.D() < time.Second {
		errs = append(errs, fieldErr("ban_duration", "must be >= 1s, got %s", s.BanDuration))
	}
	if s.MaxConnsPerIP < 1 {
		errs = append(errs, fieldErr("max_conns_per_ip", "must be >= 1, got %d", s.MaxConnsPerIP))
	}
	if s.ShareBatchSize < 1 || s.ShareBatchSize > 10000 {
		errs = append(errs, fieldErr("share_batch_size", "must be within 1..10000, got %d", s.ShareBatchSize))
	}
	if s.ShareBatchDelay.D() <= 0 || s.ShareBatchDelay.D() > 5*time.Second {
		errs = append(errs, fieldErr("share_batch_delay", "must be within (0, 5s], got %s", s.ShareBatchDelay))
	}
	if s.Extranonce2Size < 2 || s.Extranonce2Size > 16 {
		errs = append(errs, fieldErr("extranonce2_size", "must be within 2..16, got %d", s.Extranonce2Size))
	}
	if !hex8.MatchString(s.VersionRollingMask) {
		errs = append(errs, fieldErr("version_rolling_mask", "must be 8 hex digits, got %q", s.VersionRollingMask))
	}
	return errors.Join(errs...)
}

var hex8 = regexp.MustCompile(`^[0-9a-fA-F]{8}$`)

// Validate checks the vardiff section.
func (v Vardiff) Validate() error {
	var errs []error
	pos := func(name string, x float64) {
		if !(x > 0) || math.IsInf(x, 0) {
			errs = append(errs, fieldErr(name, "must be a finite number > 0, got %v", x))
		}
	}
	pos("initial", v.Initial)
	pos("min", v.Min)
	pos("max", v.Max)
	pos("target_seconds", v.TargetSeconds)
	if v.Min > v.Max {
		errs = append(errs, fieldErr("min", "must be <= max (%v > %v)", v.Min, v.Max))
	}
	if v.Initial < v.Min || v.Initial > v.Max {
		errs = append(errs, fieldErr("initial", "must be within min..max, got %v", v.Initial))
	}
	if v.Retarget.D() < time.Second {
		errs = append(errs, fieldErr("retarget", "must be >= 1s, got %s", v.Retarget))
	}
	if v.VariancePercent < 0 || v.VariancePercent >= 100 {
		errs = append(errs, fieldErr("variance_percent", "must be within 0..<100, got %v", v.VariancePercent))
	}
	return errors.Join(errs...)
}

// Validate checks the ingest section.
func (i Ingest) Validate() error {
	var errs []error
	if i.BatchSize < 1 || i.BatchSize > 1_000_000 {
		errs = append(errs, fieldErr("batch_size", "must be within 1..1000000, got %d", i.BatchSize))
	}
	if i.MaxDelay.D() <= 0 {
		errs = append(errs, fieldErr("max_delay", "must be > 0, got %s", i.MaxDelay))
	}
	if i.RetentionDays < 1 {
		errs = append(errs, fieldErr("retention_days", "must be >= 1, got %d", i.RetentionDays))
	}
	if i.RollupEvery != 0 && i.RollupEvery.D() < time.Second {
		errs = append(errs, fieldErr("rollup_every", "must be >= 1s (or 0 for %s), got %s", DefaultRollupEvery, i.RollupEvery))
	}
	if i.RetentionEvery != 0 && i.RetentionEvery.D() < time.Second {
		errs = append(errs, fieldErr("retention_every", "must be >= 1s (or 0 for %s), got %s", DefaultRetentionEvery, i.RetentionEvery))
	}
	return errors.Join(errs...)
}

// Validate checks the stats section.
func (s Stats) Validate() error {
	var errs []error
	if s.OfflineAfter.D() < 10*time.Second {
		errs = append(errs, fieldErr("offline_after", "must be >= 10s, got %s", s.OfflineAfter))
	}
	if s.CacheTTL.D() < 0 || s.CacheTTL.D() > time.Minute {
		errs = append(errs, fieldErr("cache_ttl", "must be within 0..1m, got %s", s.CacheTTL))
	}
	return errors.Join(errs...)
}

// Validate checks the payouts section.
func (p Payouts) Validate() error {
	var errs []error
	if p.Interval.D() < time.Second {
		errs = append(errs, fieldErr("interval", "must be >= 1s, got %s", p.Interval))
	}
	for sym, m := range p.Minimum {
		if m <= 0 {
			errs = append(errs, fieldErr("minimum."+sym, "must be > 0 base units, got %d", m))
		}
	}
	if p.FeePolicy != "pool" && p.FeePolicy != "miner" {
		errs = append(errs, fieldErr("fee_policy", `must be "pool" or "miner", got %q`, p.FeePolicy))
	}
	if p.FeePerOutput < 0 {
		errs = append(errs, fieldErr("fee_per_output", "must be >= 0 base units, got %d", p.FeePerOutput))
	}
	if p.BatchSize < 1 || p.BatchSize > 1000 {
		errs = append(errs, fieldErr("batch_size", "must be within 1..1000, got %d", p.BatchSize))
	}
	if p.Confirmations < 1 {
		errs = append(errs, fieldErr("confirmations", "must be >= 1, got %d", p.Confirmations))
	}
	return errors.Join(errs...)
}

var symbolRe = regexp.MustCompile(`^[a-z][a-z0-9]{1,9}$`)

// Validate checks one coin. Address validity against the coin's rules is
// checked by the coin package where the coin is known.
func (c Coin) Validate() error {
	var errs []error
	if !symbolRe.MatchString(c.Symbol) {
		errs = append(errs, fieldErr("symbol", "must be 2-10 lower-case letters/digits, got %q", c.Symbol))
	}
	switch c.Network {
	case "mainnet", "testnet", "regtest", "simnet":
	default:
		errs = append(errs, fieldErr("network", "must be mainnet, testnet, regtest or simnet, got %q", c.Network))
	}
	if c.PoolAddress == "" {
		errs = append(errs, fieldErr("pool_address", "is required"))
	}
	if c.Node.RPCURL == "" {
		errs = append(errs, fieldErr("node.rpc_url", "is required"))
	}
	if c.JobRefresh.D() < 100*time.Millisecond {
		errs = append(errs, fieldErr("job_refresh", "must be >= 100ms, got %s", c.JobRefresh))
	}
	for r, l := range c.Regions {
		if l.TCP == "" && l.TLS == "" {
			errs = append(errs, fieldErr("regions."+r, "needs a tcp or tls listener"))
		}
	}
	return errors.Join(errs...)
}

// Duration is a time.Duration written as "10s" in YAML and JSON.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("bad duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}
