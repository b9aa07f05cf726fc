package ledger

import (
	"context"
	"errors"
	"fmt"
)

// invariantQueries each return rows that violate one rule of the ledger;
// every query must return nothing.
var invariantQueries = []struct{ rule, sql string }{
	{"credits − payouts = balance, per miner", `
		WITH c AS (SELECT coin, address, sum(amount) AS s FROM credits GROUP BY 1, 2),
		     p AS (SELECT coin, address, sum(amount) AS s FROM payout_items GROUP BY 1, 2)
		SELECT coalesce(c.coin, p.coin, b.coin) || ' ' || coalesce(c.address, p.address, b.address) || ': credits ' ||
		       coalesce(c.s, 0) || ' payouts ' || coalesce(p.s, 0) || ' balance ' || coalesce(b.confirmed, 0)
		FROM c FULL JOIN p ON p.coin = c.coin AND p.address = c.address
		FULL JOIN balances b ON b.coin = coalesce(c.coin, p.coin) AND b.address = coalesce(c.address, p.address)
		WHERE coalesce(c.s, 0) - coalesce(p.s, 0) <> coalesce(b.confirmed, 0)`},
	{"Σ rewards + fee = coinbase, per rewarded block", `
		SELECT b.coin || ' ' || b.hash || ': rewards ' || coalesce(sum(r.amount), 0) || ' fee ' || b.pool_fee || ' coinbase ' || b.coinbase_value
		FROM blocks b LEFT JOIN rewards r ON r.coin = b.coin AND r.block_hash = b.hash
		WHERE b.rewarded_at IS NOT NULL AND b.state <> 'orphaned'
		GROUP BY b.coin, b.hash HAVING coalesce(sum(r.amount), 0) + b.pool_fee <> b.coinbase_value`},
	{"orphaned blocks credit nothing", `
		SELECT b.coin || ' ' || b.hash FROM blocks b WHERE b.state = 'orphaned' AND (
			EXISTS (SELECT 1 FROM rewards r WHERE r.coin = b.coin AND r.block_hash = b.hash) OR
			EXISTS (SELECT 1 FROM credits c WHERE c.coin = b.coin AND c.kind = 'block' AND c.ref = b.hash))`},
	{"pending rewards are immature and uncredited", `
		SELECT b.coin || ' ' || b.hash FROM blocks b WHERE b.state = 'pending' AND (
			EXISTS (SELECT 1 FROM rewards r WHERE r.coin = b.coin AND r.block_hash = b.hash AND r.state <> 'immature') OR
			EXISTS (SELECT 1 FROM credits c WHERE c.coin = b.coin AND c.kind = 'block' AND c.ref = b.hash))`},
	{"confirmed rewards are mature and credited exactly", `
		SELECT b.coin || ' ' || b.hash FROM blocks b WHERE b.state = 'confirmed' AND (
			EXISTS (SELECT 1 FROM rewards r WHERE r.coin = b.coin AND r.block_hash = b.hash AND r.state <> 'mature') OR
			coalesce((SELECT sum(amount) FROM rewards r WHERE r.coin = b.coin AND r.block_hash = b.hash), 0) <>
			coalesce((SELECT sum(amount) FROM credits c WHERE c.coin = b.coin AND c.kind = 'block' AND c.ref = b.hash), 0))`},
	{"refunds only for failed payouts, once", `
		SELECT c.ref FROM credits c LEFT JOIN payouts p ON p.id = c.ref WHERE c.kind = 'refund'
		GROUP BY c.ref, p.state HAVING p.state IS DISTINCT FROM 'failed' OR
			sum(c.amount) <> (SELECT sum(amount) FROM payout_items i WHERE i.payout_id = c.ref)`},
	{"every reward belongs to a recorded block", `
		SELECT r.coin || ' ' || r.block_hash FROM rewards r
		LEFT JOIN blocks b ON b.coin = r.coin AND b.hash = r.block_hash
		WHERE b.hash IS NULL GROUP BY r.coin, r.block_hash`},
	{"pps batches match their credits", `
		SELECT b.coin || ' ' || b.batch_id FROM pps_batches b
		WHERE b.amount <> coalesce((SELECT sum(amount) FROM credits c WHERE c.coin = b.coin AND c.kind = 'pps' AND c.ref = b.batch_id), 0)`},
}

// CheckInvariants verifies the whole ledger: per miner, credits − payouts
// = balance; per rewarded block, Σ rewards + fee = coinbase value; every
// reward row belongs to a recorded block (no foreign key since 0002); orphaned
// blocks credit nothing; pending rewards are immature; confirmed ones are
// credited exactly once; refunds match failed payouts; PPS batches match
// their credits. It returns every violation found, joined, each wrapping
// ErrInvariant.
func (s *Store) CheckInvariants(ctx context.Context) error {
	var errs []error
	for _, q := range invariantQueries {
		rows, err := s.pool.Query(ctx, q.sql)
		if err != nil {
			return fmt.Errorf("ledger: invariant %q: %w", q.rule, err)
		}
		for rows.Next() {
			var what string
			if err := rows.Scan(&what); err != nil {
				rows.Close()
				return err
			}
			errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvariant, q.rule, what))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("ledger: invariant %q: %w", q.rule, err)
		}
	}
	return errors.Join(errs...)
}
