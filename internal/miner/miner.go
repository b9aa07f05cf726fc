package miner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetpool/jetpool/internal/stratum"
)

// ErrUnauthorized is returned by Run when the pool rejects the worker in
// mining.authorize: retrying would not help.
var ErrUnauthorized = errors.New("miner: pool rejected authorization")

// ErrShareRejected is ShareResult.Err when the pool answered a submit with
// false and no error.
var ErrShareRejected = errors.New("miner: share rejected without a reason")

// ShareResult is the pool's answer to one submitted share.
type ShareResult struct {
	JobID       string
	Extranonce1 []byte
	Extranonce2 []byte
	NTime       uint32
	Nonce       uint32
	Version     uint32 // block version hashed (rolled when version rolling)
	VersionBits uint32 // BIP310 version bits submitted, when HasVersionBits
	// HasVersionBits is true when the submit carried the BIP310 param.
	HasVersionBits bool
	Hash           [32]byte // PoW hash, header byte order
	Difficulty     float64  // pool difficulty the share was found at
	Accepted       bool
	Err            error // why it was rejected: a *stratum.Error, or ErrShareRejected
}

// Stats are the miner's counters since New.
type Stats struct {
	Hashes    uint64 // headers hashed
	Submitted uint64 // shares sent to the pool
	Accepted  uint64
	Rejected  uint64
	// Stale counts shares found for a job the pool abandoned with
	// clean_jobs before they could be sent; they are dropped, not sent.
	Stale         uint64
	LastError     string  // why the last rejected share was rejected
	LastConnError string  // why the last connection ended, "" if none did
	Difficulty    float64 // last mining.set_difficulty (0 before any)
	Jobs          uint64  // mining.notify messages received
	Connects      uint64  // sessions that completed subscribe and authorize
	Connected     bool    // a session is up now
}

// Miner mines on one pool. Create it with New and start it with Run.
type Miner struct {
	cfg settings

	// nonceSpan, when non-zero, is the nonces each thread scans per
	// (extranonce2, version) unit instead of 2^32/threads. Tests shrink it
	// to exercise extranonce2 and version iteration.
	nonceSpan uint64

	running atomic.Bool

	hashes, submitted, accepted, rejected, stale, jobs, connects atomic.Uint64
	difficulty                                                   atomic.Uint64 // float64 bits
	connected                                                    atomic.Bool

	mu            sync.Mutex
	lastError     string
	lastConnError string
}

// New validates cfg and returns a Miner.
func New(cfg Config) (*Miner, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	return &Miner{cfg: s}, nil
}

// Run mines until ctx is cancelled, then returns nil once every goroutine
// it started has stopped. It reconnects with exponential backoff when a
// connection fails or ends, and follows client.reconnect. It returns an
// error wrapping ErrUnauthorized if the pool rejects the worker, and an
// error at once if called a second time.
func Run(ctx context.Context, cfg Config) error {
	m, err := New(cfg)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}

// Run is the method form of the package-level Run.
func (m *Miner) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("miner: Run called twice")
	}
	log := m.cfg.Logger
	home := m.cfg.ep
	ep := home
	backoff := m.cfg.ReconnectMin
	for {
		end := m.runSession(ctx, ep)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(end.err, ErrUnauthorized) {
			return end.err
		}
		m.setConnError(end.err)
		var wait time.Duration
		switch {
		case end.redirect != nil:
			next := ep
			if end.redirect.Host != "" {
				next.host = end.redirect.Host
			}
			if end.redirect.Port != 0 {
				next.port = strconv.Itoa(end.redirect.Port)
			}
			wait = time.Duration(end.redirect.WaitSeconds) * time.Second
			log.Info("pool asked to reconnect", "to", next.String(), "wait", wait)
			ep = next
			backoff = m.cfg.ReconnectMin
		default:
			if end.handshook {
				backoff = m.cfg.ReconnectMin
			} else if ep != home {
				// A redirect target that does not work: go home.
				ep = home
			}
			wait = backoff
			backoff = min(2*backoff, m.cfg.ReconnectMax)
			log.Warn("pool connection ended, reconnecting", "pool", ep.String(), "err", end.err, "in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Stats returns a snapshot of the counters.
func (m *Miner) Stats() Stats {
	m.mu.Lock()
	lastErr, lastConn := m.lastError, m.lastConnError
	m.mu.Unlock()
	return Stats{
		Hashes:        m.hashes.Load(),
		Submitted:     m.submitted.Load(),
		Accepted:      m.accepted.Load(),
		Rejected:      m.rejected.Load(),
		Stale:         m.stale.Load(),
		LastError:     lastErr,
		LastConnError: lastConn,
		Difficulty:    math.Float64frombits(m.difficulty.Load()),
		Jobs:          m.jobs.Load(),
		Connects:      m.connects.Load(),
		Connected:     m.connected.Load(),
	}
}

func (m *Miner) setConnError(err error) {
	if err == nil {
		return
	}
	m.mu.Lock()
	m.lastConnError = err.Error()
	m.mu.Unlock()
}

// shareAnswered accounts for the pool's answer to a share.
func (m *Miner) shareAnswered(r ShareResult, msg stratum.Message) {
	ok, err := stratum.ParseBoolResult(msg.Result)
	switch {
	case msg.Error != nil:
		r.Err = msg.Error
	case err != nil:
		r.Err = fmt.Errorf("miner: bad submit result %s: %w", msg.Result, err)
	case !ok:
		r.Err = ErrShareRejected
	default:
		r.Accepted = true
	}
	log := m.cfg.Logger
	if r.Accepted {
		m.accepted.Add(1)
		log.Debug("share accepted", "job", r.JobID, "nonce", fmt.Sprintf("%08x", r.Nonce), "difficulty", r.Difficulty)
	} else {
		m.rejected.Add(1)
		m.mu.Lock()
		m.lastError = r.Err.Error()
		m.mu.Unlock()
		log.Info("share rejected", "job", r.JobID, "nonce", fmt.Sprintf("%08x", r.Nonce), "err", r.Err)
	}
	if m.cfg.OnShare != nil {
		m.cfg.OnShare(r)
	}
}
