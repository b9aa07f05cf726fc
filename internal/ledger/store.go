package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sentinel errors callers decide on.
var (
	ErrNotFound       = errors.New("ledger: not found")
	ErrNotRewarded    = errors.New("ledger: block rewards not computed yet")
	ErrBlockOrphaned  = errors.New("ledger: block is orphaned")
	ErrBlockConfirmed = errors.New("ledger: block is confirmed")
	ErrSplitMismatch  = errors.New("ledger: split does not match the block")
	ErrInvariant      = errors.New("ledger: invariant violated")
)

// Block states.
const (
	StatePending   = "pending"
	StateConfirmed = "confirmed"
	StateOrphaned  = "orphaned"
)

// Store is the ledger in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore wraps a pool whose database Migrate has brought up to date.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Pool returns the connection pool (for tests and the web's read queries).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the connection pool.
func (s *Store) Close() { s.pool.Close() }

// WorkerSeen is a worker event as the accounts function records it.
type WorkerSeen struct {
	Coin, Address, Worker string
	Event                 string // payload.Worker* event name
	Online                bool
	Time                  time.Time
	IP, UserAgent         string
	Gateway, Region       string
}

// TouchWorker creates the miner and the worker on first sight and keeps
// last-seen current. An event older than what is recorded does not move
// last-seen or the online flag back (redeliveries and reordering are harmless).
func (s *Store) TouchWorker(ctx context.Context, w WorkerSeen) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO miners (coin, address, created_at, last_seen) VALUES ($1, $2, $3, $3)
			ON CONFLICT (coin, address) DO UPDATE SET last_seen = greatest(miners.last_seen, excluded.last_seen)`,
			w.Coin, w.Address, w.Time); err != nil {
			return fmt.Errorf("ledger: miner: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO workers (coin, address, name, created_at, last_seen, last_event, last_ip, user_agent, gateway, region, online)
			VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (coin, address, name) DO UPDATE SET
				last_seen = excluded.last_seen, last_event = excluded.last_event,
				last_ip = CASE WHEN excluded.last_ip <> '' THEN excluded.last_ip ELSE workers.last_ip END,
				user_agent = CASE WHEN excluded.user_agent <> '' THEN excluded.user_agent ELSE workers.user_agent END,
				gateway = excluded.gateway, region = excluded.region, online = excluded.online
			WHERE workers.last_seen <= excluded.last_seen`,
			w.Coin, w.Address, w.Worker, w.Time, w.Event, w.IP, w.UserAgent, w.Gateway, w.Region, w.Online)
		if err != nil {
			return fmt.Errorf("ledger: worker: %w", err)
		}
		return nil
	})
}

// Worker is one worker of a miner.
type Worker struct {
	Name      string    `json:"name"`
	Online    bool      `json:"online"`
	LastSeen  time.Time `json:"last_seen"`
	LastEvent string    `json:"last_event"`
	Region    string    `json:"region"`
}

// Account is a miner's view of the ledger.
type Account struct {
	Coin            string    `json:"coin"`
	Address         string    `json:"address"`
	Known           bool      `json:"known"` // the miner has been seen
	LastSeen        time.Time `json:"last_seen,omitzero"`
	PayoutThreshold int64     `json:"payout_threshold,omitempty"` // 0 = pool minimum
	Balance         int64     `json:"balance"`                    // confirmed, payable
	Immature        int64     `json:"immature"`                   // rewards of pending blocks
	Paid            int64     `json:"paid"`                       // payouts not failed
	Workers         []Worker  `json:"workers"`
}

// Account returns a miner's registry entry, balances and workers. An
// address never seen gives Known == false and zero amounts.
func (s *Store) Account(ctx context.Context, coin, address string) (Account, error) {
	a := Account{Coin: coin, Address: address, Workers: []Worker{}}
	var thr *int64
	err := s.pool.QueryRow(ctx, `SELECT last_seen, payout_threshold FROM miners WHERE coin = $1 AND address = $2`, coin, address).Scan(&a.LastSeen, &thr)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return a, fmt.Errorf("ledger: account: %w", err)
	default:
		a.Known = true
		if thr != nil {
			a.PayoutThreshold = *thr
		}
	}
	err = s.pool.QueryRow(ctx, `SELECT
		coalesce((SELECT confirmed FROM balances WHERE coin = $1 AND address = $2), 0),
		coalesce((SELECT sum(r.amount) FROM rewards r WHERE r.coin = $1 AND r.address = $2 AND r.state = 'immature'), 0)::bigint,
		coalesce((SELECT sum(i.amount) FROM payout_items i JOIN payouts p ON p.id = i.payout_id
			WHERE i.coin = $1 AND i.address = $2 AND p.state <> 'failed'), 0)::bigint`, coin, address).Scan(&a.Balance, &a.Immature, &a.Paid)
	if err != nil {
		return a, fmt.Errorf("ledger: account amounts: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT name, online, last_seen, last_event, region FROM workers WHERE coin = $1 AND address = $2 ORDER BY name`, coin, address)
	if err != nil {
		return a, fmt.Errorf("ledger: workers: %w", err)
	}
	a.Workers, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Worker, error) {
		var w Worker
		err := r.Scan(&w.Name, &w.Online, &w.LastSeen, &w.LastEvent, &w.Region)
		return w, err
	})
	if err != nil {
		return a, fmt.Errorf("ledger: workers: %w", err)
	}
	return a, nil
}

// SetPayoutThreshold sets a miner's own payout threshold (0 = the pool
// minimum). A threshold below the pool minimum has no effect: the payout
// rule is max(pool minimum, miner threshold).
func (s *Store) SetPayoutThreshold(ctx context.Context, coin, address string, threshold int64) error {
	if threshold < 0 {
		return fmt.Errorf("%w: threshold %d", ErrBadAmount, threshold)
	}
	var thr *int64
	if threshold > 0 {
		thr = &threshold
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO miners (coin, address, payout_threshold) VALUES ($1, $2, $3)
		ON CONFLICT (coin, address) DO UPDATE SET payout_threshold = excluded.payout_threshold`, coin, address, thr)
	if err != nil {
		return fmt.Errorf("ledger: threshold: %w", err)
	}
	return nil
}
