package ledger

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
)

// CreditPPS credits one share batch's PPS/FPPS earnings (address → base
// units) to balances, keyed by batchID: a batch credited before changes
// nothing and CreditPPS reports false.
func (s *Store) CreditPPS(ctx context.Context, coin, batchID string, shares int, amounts map[string]int64) (bool, error) {
	addrs := make([]string, 0, len(amounts))
	var total int64
	for a, m := range amounts {
		if m < 0 {
			return false, fmt.Errorf("%w: %s %d", ErrBadAmount, a, m)
		}
		if m > 0 {
			addrs = append(addrs, a)
			total += m
		}
	}
	sort.Strings(addrs) // a fixed lock order: no deadlocks between copies
	vals := make([]int64, len(addrs))
	for i, a := range addrs {
		vals[i] = amounts[a]
	}
	var done bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO pps_batches (coin, batch_id, shares, amount) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, coin, batchID, shares, total)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		done = true
		if len(addrs) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO credits (coin, address, kind, ref, amount)
			SELECT $1, a, 'pps', $2, m FROM unnest($3::text[], $4::bigint[]) AS t(a, m)`, coin, batchID, addrs, vals); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO balances (coin, address, confirmed)
			SELECT $1, a, m FROM unnest($2::text[], $3::bigint[]) AS t(a, m)
			ON CONFLICT (coin, address) DO UPDATE SET confirmed = balances.confirmed + excluded.confirmed`, coin, addrs, vals)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("ledger: pps credit %s: %w", batchID, err)
	}
	return done, nil
}

// AverageFees returns the average transaction fees (coinbase value minus
// subsidy) of the coin's last n non-orphaned blocks, given the subsidy at
// each block's height; 0 without blocks. FPPS adds it to the subsidy.
func (s *Store) AverageFees(ctx context.Context, coin string, n int, subsidy func(height int64) int64) (int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT height, coinbase_value FROM blocks WHERE coin = $1 AND state <> 'orphaned'
		ORDER BY found_at DESC LIMIT $2`, coin, n)
	if err != nil {
		return 0, fmt.Errorf("ledger: average fees: %w", err)
	}
	defer rows.Close()
	var sum, count int64
	for rows.Next() {
		var h, v int64
		if err := rows.Scan(&h, &v); err != nil {
			return 0, err
		}
		if f := v - subsidy(h); f > 0 {
			sum += f
		}
		count++
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if count == 0 {
		return 0, nil
	}
	return sum / count, nil
}
