package miner

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"time"
)

// DefaultUserAgent is sent in mining.subscribe when Config.UserAgent is empty.
const DefaultUserAgent = "jetpool-miner/1"

// Config configures a Miner.
type Config struct {
	// URL of the pool: "stratum+tcp://host:port" or "stratum+tls://host:port"
	// ("stratum+ssl", "tcp" and "tls" are accepted as aliases).
	URL string
	// InsecureSkipVerify accepts any TLS certificate (dev self-signed ones).
	InsecureSkipVerify bool

	User string // worker name, "address.worker" by convention
	Pass string

	// Threads is the number of hashing goroutines; <= 0 means GOMAXPROCS.
	Threads int
	// Algo names a built-in algorithm ("sha256d" when empty).
	Algo string
	// Algorithm, when non-nil, is used instead of Algo: the hook for
	// algorithms implemented outside this package.
	Algorithm *Algorithm

	UserAgent string // DefaultUserAgent when empty
	// SuggestDifficulty, when > 0, is sent as mining.suggest_difficulty.
	SuggestDifficulty float64
	// VersionRolling asks for BIP310 version rolling with mining.configure.
	VersionRolling bool

	Logger *slog.Logger // nil discards

	// OnShare, when set, is called once for every share the pool answers
	// (accepted or rejected), from the connection's reader goroutine: it
	// must not block for long.
	OnShare func(ShareResult)

	// ReconnectMin and ReconnectMax bound the exponential backoff between
	// connection attempts (defaults 250ms and 30s).
	ReconnectMin, ReconnectMax time.Duration
	// Timeout bounds dialing, each handshake call and each write
	// (default 30s).
	Timeout time.Duration
}

// endpoint is a parsed pool URL.
type endpoint struct {
	tls  bool
	host string
	port string
}

func (e endpoint) addr() string { return net.JoinHostPort(e.host, e.port) }

func (e endpoint) String() string {
	if e.tls {
		return "stratum+tls://" + e.addr()
	}
	return "stratum+tcp://" + e.addr()
}

// parseURL parses a pool URL.
func parseURL(s string) (endpoint, error) {
	u, err := url.Parse(s)
	if err != nil {
		return endpoint{}, fmt.Errorf("miner: pool URL: %w", err)
	}
	var ep endpoint
	switch u.Scheme {
	case "stratum+tcp", "tcp":
	case "stratum+tls", "stratum+ssl", "tls", "ssl":
		ep.tls = true
	default:
		return endpoint{}, fmt.Errorf("miner: pool URL %q: scheme must be stratum+tcp or stratum+tls", s)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return endpoint{}, fmt.Errorf("miner: pool URL %q: only scheme://host:port is allowed", s)
	}
	ep.host, ep.port = u.Hostname(), u.Port()
	if ep.host == "" {
		return endpoint{}, fmt.Errorf("miner: pool URL %q: missing host", s)
	}
	if p, err := strconv.Atoi(ep.port); err != nil || p <= 0 || p > 65535 {
		return endpoint{}, fmt.Errorf("miner: pool URL %q: missing or bad port", s)
	}
	return ep, nil
}

// settings is a validated Config with defaults applied.
type settings struct {
	Config
	ep      endpoint
	algo    Algorithm
	threads int
}

func (c Config) validate() (settings, error) {
	s := settings{Config: c}
	var errs []error
	ep, err := parseURL(c.URL)
	if err != nil {
		errs = append(errs, err)
	}
	s.ep = ep
	if c.User == "" {
		errs = append(errs, errors.New("miner: user is required"))
	}
	switch {
	case c.Algorithm != nil:
		if c.Algorithm.NewHasher == nil || c.Algorithm.Diff1 == nil || c.Algorithm.Diff1.Sign() <= 0 {
			errs = append(errs, errors.New("miner: Algorithm needs NewHasher and a positive Diff1"))
		}
		s.algo = *c.Algorithm
	default:
		name := c.Algo
		if name == "" {
			name = "sha256d"
		}
		a, err := LookupAlgorithm(name)
		if err != nil {
			errs = append(errs, err)
		}
		s.algo = a
	}
	if c.SuggestDifficulty < 0 || math.IsNaN(c.SuggestDifficulty) || math.IsInf(c.SuggestDifficulty, 0) {
		errs = append(errs, fmt.Errorf("miner: suggested difficulty %v must be a finite number >= 0", c.SuggestDifficulty))
	}
	if c.ReconnectMin < 0 || c.ReconnectMax < 0 || c.Timeout < 0 {
		errs = append(errs, errors.New("miner: durations must not be negative"))
	}
	if len(errs) > 0 {
		return settings{}, errors.Join(errs...)
	}
	s.threads = c.Threads
	if s.threads <= 0 {
		s.threads = runtime.GOMAXPROCS(0)
	}
	if s.UserAgent == "" {
		s.UserAgent = DefaultUserAgent
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.ReconnectMin == 0 {
		s.ReconnectMin = 250 * time.Millisecond
	}
	if s.ReconnectMax == 0 {
		s.ReconnectMax = 30 * time.Second
	}
	if s.ReconnectMax < s.ReconnectMin {
		s.ReconnectMax = s.ReconnectMin
	}
	if s.Timeout == 0 {
		s.Timeout = 30 * time.Second
	}
	return s, nil
}
