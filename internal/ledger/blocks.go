package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Block is a block row.
type Block struct {
	Coin              string    `json:"coin"`
	Hash              string    `json:"hash"`
	Height            int64     `json:"height"`
	Finder            string    `json:"finder"`
	Worker            string    `json:"worker"`
	Solo              bool      `json:"solo"`
	NetworkDifficulty float64   `json:"network_difficulty"`
	ShareDifficulty   float64   `json:"share_difficulty"`
	CoinbaseValue     int64     `json:"coinbase_value"`
	Effort            *float64  `json:"effort,omitempty"`
	FoundAt           time.Time `json:"found_at"`
	State             string    `json:"state"`
	Confirmations     int64     `json:"confirmations"`
	OrphanReason      string    `json:"orphan_reason,omitempty"`
	Scheme            string    `json:"scheme,omitempty"`
	PoolFee           *int64    `json:"pool_fee,omitempty"`
	Rewarded          bool      `json:"rewarded"`
}

const blockCols = `coin, hash, height, finder, worker, solo, network_difficulty, share_difficulty, coinbase_value,
	effort, found_at, state, confirmations, orphan_reason, coalesce(scheme, ''), pool_fee, rewarded_at IS NOT NULL`

func scanBlock(r pgx.Row) (Block, error) {
	var b Block
	err := r.Scan(&b.Coin, &b.Hash, &b.Height, &b.Finder, &b.Worker, &b.Solo, &b.NetworkDifficulty, &b.ShareDifficulty,
		&b.CoinbaseValue, &b.Effort, &b.FoundAt, &b.State, &b.Confirmations, &b.OrphanReason, &b.Scheme, &b.PoolFee, &b.Rewarded)
	return b, err
}

// RecordBlock inserts a found block in state pending, keyed by (coin, hash),
// and registers the finder as a miner. It reports whether the row is new;
// recording the same block again changes nothing.
func (s *Store) RecordBlock(ctx context.Context, b Block) (bool, error) {
	if b.CoinbaseValue < 0 {
		return false, fmt.Errorf("%w: coinbase %d", ErrBadAmount, b.CoinbaseValue)
	}
	var inserted bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO miners (coin, address, created_at, last_seen) VALUES ($1, $2, $3, $3)
			ON CONFLICT (coin, address) DO UPDATE SET last_seen = greatest(miners.last_seen, excluded.last_seen)`,
			b.Coin, b.Finder, b.FoundAt); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO blocks (coin, hash, height, finder, worker, solo, network_difficulty,
				share_difficulty, coinbase_value, found_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (coin, hash) DO NOTHING`,
			b.Coin, b.Hash, b.Height, b.Finder, b.Worker, b.Solo, b.NetworkDifficulty, b.ShareDifficulty, b.CoinbaseValue, b.FoundAt)
		inserted = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("ledger: record block %s: %w", b.Hash, err)
	}
	return inserted, nil
}

// Block returns one block, or ErrNotFound.
func (s *Store) Block(ctx context.Context, coin, hash string) (Block, error) {
	b, err := scanBlock(s.pool.QueryRow(ctx, `SELECT `+blockCols+` FROM blocks WHERE coin = $1 AND hash = $2`, coin, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("%w: block %s %s", ErrNotFound, coin, hash)
	}
	if err != nil {
		return b, fmt.Errorf("ledger: block: %w", err)
	}
	return b, nil
}

// Blocks returns the coin's latest blocks, newest first.
func (s *Store) Blocks(ctx context.Context, coin string, limit int) ([]Block, error) {
	return s.queryBlocks(ctx, `SELECT `+blockCols+` FROM blocks WHERE coin = $1 ORDER BY height DESC, found_at DESC LIMIT $2`, coin, limit)
}

// PendingBlocks returns the coin's pending blocks, lowest height first.
func (s *Store) PendingBlocks(ctx context.Context, coin string) ([]Block, error) {
	return s.queryBlocks(ctx, `SELECT `+blockCols+` FROM blocks WHERE coin = $1 AND state = 'pending' ORDER BY height, hash`, coin)
}

func (s *Store) queryBlocks(ctx context.Context, q string, args ...any) ([]Block, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: blocks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Block, error) { return scanBlock(r) })
	if err != nil {
		return nil, fmt.Errorf("ledger: blocks: %w", err)
	}
	return out, nil
}

// SetConfirmations records a pending block's confirmation count.
func (s *Store) SetConfirmations(ctx context.Context, coin, hash string, n int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE blocks SET confirmations = $3, updated_at = now()
		WHERE coin = $1 AND hash = $2 AND state = 'pending' AND confirmations <> $3`, coin, hash, n)
	if err != nil {
		return fmt.Errorf("ledger: confirmations: %w", err)
	}
	return nil
}

// RoundStart returns the time the round that ended with block hash began:
// the found time of the coin's previous block (any state: every block found
// ends a round), or the zero time when it is the first.
func (s *Store) RoundStart(ctx context.Context, coin, hash string) (time.Time, error) {
	var t *time.Time
	err := s.pool.QueryRow(ctx, `SELECT max(p.found_at) FROM blocks b JOIN blocks p ON p.coin = b.coin
		AND (p.found_at, p.hash) < (b.found_at, b.hash) WHERE b.coin = $1 AND b.hash = $2`, coin, hash).Scan(&t)
	if err != nil {
		return time.Time{}, fmt.Errorf("ledger: round start: %w", err)
	}
	if t == nil {
		return time.Time{}, nil
	}
	return *t, nil
}

// RewardsOutcome says what RecordRewards did.
type RewardsOutcome int

const (
	// RewardsAlreadyRecorded: the block was rewarded before; nothing changed.
	RewardsAlreadyRecorded RewardsOutcome = iota
	// RewardsCredited: the split's rewards and fee were recorded (immature).
	RewardsCredited
	// RewardsOrphanUnpaid: the block was orphaned before its split; it is
	// marked rewarded and nothing is credited.
	RewardsOrphanUnpaid
)

// Recorded reports whether this call changed the ledger.
func (o RewardsOutcome) Recorded() bool { return o != RewardsAlreadyRecorded }

// RecordRewards stores a block's split as immature rewards and its pool
// fee, and says what it did (decided under the block's row lock, so
// concurrent deliveries get exactly one RewardsCredited or
// RewardsOrphanUnpaid between them). The split must be for this block's
// coinbase value and obey the split invariant. A block orphaned before its
// rewards were computed is marked rewarded with no rewards.
func (s *Store) RecordRewards(ctx context.Context, coin, hash string, sp Split, effort *float64) (RewardsOutcome, error) {
	if err := sp.Check(); err != nil {
		return RewardsAlreadyRecorded, fmt.Errorf("%w: %v", ErrSplitMismatch, err)
	}
	var outcome RewardsOutcome
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var state string
		var coinbase int64
		var rewarded bool
		err := tx.QueryRow(ctx, `SELECT state, coinbase_value, rewarded_at IS NOT NULL FROM blocks WHERE coin = $1 AND hash = $2 FOR UPDATE`,
			coin, hash).Scan(&state, &coinbase, &rewarded)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: block %s %s", ErrNotFound, coin, hash)
		}
		if err != nil {
			return err
		}
		if rewarded {
			return nil
		}
		if coinbase != sp.Coinbase {
			return fmt.Errorf("%w: coinbase %d, split of %d", ErrSplitMismatch, coinbase, sp.Coinbase)
		}
		if state == StateOrphaned {
			_, err := tx.Exec(ctx, `UPDATE blocks SET scheme = $3, pool_fee = 0, rewarded_at = now(), updated_at = now() WHERE coin = $1 AND hash = $2`, coin, hash, sp.Scheme)
			outcome = RewardsOrphanUnpaid
			return err
		}
		if state != StatePending {
			return fmt.Errorf("%w: %s %s", ErrBlockConfirmed, coin, hash)
		}
		if len(sp.Rewards) > 0 {
			// COPY, in this transaction: the row lock above and rewarded_at
			// below make the rows appear exactly once, whoever redelivers.
			zero := big.NewInt(0)
			n, err := tx.CopyFrom(ctx, pgx.Identifier{"rewards"}, []string{"coin", "block_hash", "address", "amount", "work"},
				pgx.CopyFromSlice(len(sp.Rewards), func(i int) ([]any, error) {
					r := &sp.Rewards[i]
					w := r.Work
					if w == nil {
						w = zero
					}
					return []any{coin, hash, r.Address, r.Amount, pgtype.Numeric{Int: w, Valid: true}}, nil
				}))
			if err != nil {
				return err
			}
			if n != int64(len(sp.Rewards)) {
				return fmt.Errorf("%d of %d reward rows written", n, len(sp.Rewards))
			}
		}
		_, err = tx.Exec(ctx, `UPDATE blocks SET scheme = $3, pool_fee = $4, effort = coalesce($5, effort), rewarded_at = now(), updated_at = now()
			WHERE coin = $1 AND hash = $2`, coin, hash, sp.Scheme, sp.Fee, effort)
		outcome = RewardsCredited
		return err
	})
	if err != nil {
		return RewardsAlreadyRecorded, fmt.Errorf("ledger: record rewards %s: %w", hash, err)
	}
	return outcome, nil
}

// Rewards returns a block's rewards, by address.
func (s *Store) Rewards(ctx context.Context, coin, hash string) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT address, amount FROM rewards WHERE coin = $1 AND block_hash = $2`, coin, hash)
	if err != nil {
		return nil, fmt.Errorf("ledger: rewards: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var a string
		var m int64
		if err := rows.Scan(&a, &m); err != nil {
			return nil, err
		}
		out[a] = m
	}
	return out, rows.Err()
}

// ConfirmBlock moves a pending, rewarded block to confirmed: its rewards
// become mature, are written as credits and added to balances, all in one
// transaction. It reports false when the block was confirmed already.
// ErrNotRewarded: the rewards are not computed yet (retry later);
// ErrBlockOrphaned: the block was orphaned (a contradiction to log).
func (s *Store) ConfirmBlock(ctx context.Context, coin, hash string, confirmations int64) (bool, error) {
	var done bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		state, rewarded, err := lockBlock(ctx, tx, coin, hash)
		if err != nil {
			return err
		}
		switch {
		case state == StateConfirmed:
			return nil
		case state == StateOrphaned:
			return fmt.Errorf("%w: %s %s", ErrBlockOrphaned, coin, hash)
		case !rewarded:
			return fmt.Errorf("%w: %s %s", ErrNotRewarded, coin, hash)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO credits (coin, address, kind, ref, amount)
			SELECT coin, address, 'block', block_hash, amount FROM rewards WHERE coin = $1 AND block_hash = $2 AND amount > 0`, coin, hash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO balances (coin, address, confirmed)
			SELECT coin, address, amount FROM rewards WHERE coin = $1 AND block_hash = $2 AND amount > 0
			ON CONFLICT (coin, address) DO UPDATE SET confirmed = balances.confirmed + excluded.confirmed`, coin, hash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE rewards SET state = 'mature' WHERE coin = $1 AND block_hash = $2`, coin, hash); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE blocks SET state = 'confirmed', confirmations = greatest(confirmations, $3), updated_at = now()
			WHERE coin = $1 AND hash = $2`, coin, hash, confirmations)
		done = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("ledger: confirm %s: %w", hash, err)
	}
	return done, nil
}

// OrphanBlock moves a pending block to orphaned and deletes its immature
// rewards. It reports false when the block was orphaned already;
// ErrBlockConfirmed when it was confirmed (its rewards are balances and
// stay: confirmation depth is the coin's maturity).
func (s *Store) OrphanBlock(ctx context.Context, coin, hash, reason string) (bool, error) {
	var done bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		state, _, err := lockBlock(ctx, tx, coin, hash)
		if err != nil {
			return err
		}
		switch state {
		case StateOrphaned:
			return nil
		case StateConfirmed:
			return fmt.Errorf("%w: %s %s", ErrBlockConfirmed, coin, hash)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM rewards WHERE coin = $1 AND block_hash = $2`, coin, hash); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE blocks SET state = 'orphaned', orphan_reason = $3, pool_fee = CASE WHEN rewarded_at IS NULL THEN NULL ELSE 0 END,
			updated_at = now() WHERE coin = $1 AND hash = $2`, coin, hash, reason)
		done = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("ledger: orphan %s: %w", hash, err)
	}
	return done, nil
}

func lockBlock(ctx context.Context, tx pgx.Tx, coin, hash string) (state string, rewarded bool, err error) {
	err = tx.QueryRow(ctx, `SELECT state, rewarded_at IS NOT NULL FROM blocks WHERE coin = $1 AND hash = $2 FOR UPDATE`, coin, hash).Scan(&state, &rewarded)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, fmt.Errorf("%w: block %s %s", ErrNotFound, coin, hash)
	}
	return state, rewarded, err
}

// BlockState is published by chainwatch on blocks.<coin>.confirmed and
// blocks.<coin>.orphaned (message id "<state>-<hash>") and consumed by the
// rewards function, which applies it to the ledger.
type BlockState struct {
	Coin          string    `json:"coin"`
	Hash          string    `json:"hash"`
	Height        int64     `json:"height"`
	State         string    `json:"state"` // StateConfirmed or StateOrphaned
	Confirmations int64     `json:"confirmations"`
	Reason        string    `json:"reason,omitempty"` // why orphaned
	Time          time.Time `json:"time"`
}
