package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Payout states.
const (
	PayoutIntent    = "intent"
	PayoutSent      = "sent"
	PayoutConfirmed = "confirmed"
	PayoutFailed    = "failed"
)

// Fee policies.
const (
	FeePolicyPool  = "pool"
	FeePolicyMiner = "miner"
)

// PayoutItem is one recipient of a payout.
type PayoutItem struct {
	Address string `json:"address"`
	Amount  int64  `json:"amount"` // debited from the balance
	Sent    int64  `json:"sent"`   // paid by the transaction
}

// Payout is one wallet transaction paying a batch of miners.
type Payout struct {
	ID            string       `json:"id"`
	Coin          string       `json:"coin"`
	State         string       `json:"state"`
	FeePolicy     string       `json:"fee_policy"`
	TxID          string       `json:"txid,omitempty"`
	Confirmations int64        `json:"confirmations"`
	Error         string       `json:"error,omitempty"`
	CreatedAt     time.Time    `json:"created_at"`
	Items         []PayoutItem `json:"items"`
}

// PayoutPlan says who is paid.
type PayoutPlan struct {
	Coin string
	// Minimum is the pool minimum; a miner's own threshold applies when higher.
	Minimum   int64
	FeePolicy string
	// FeePerOutput is each recipient's share of the network fee under the
	// miner-pays policy (deducted from what is sent); ignored otherwise.
	FeePerOutput int64
	// BatchSize is the most recipients in one transaction.
	BatchSize int
	// Now names the payouts: "<coin>-<unix nanos>-<n>".
	Now time.Time
}

// CreatePayouts records the intent to pay every miner whose balance reached
// its threshold: payouts in state intent with their items, and balances
// debited, in one transaction. Nothing has been sent yet; the caller sends
// each payout and records its txid (MarkPayoutSent). Under the miner-pays
// policy a balance not above FeePerOutput is left alone.
func (s *Store) CreatePayouts(ctx context.Context, p PayoutPlan) ([]Payout, error) {
	if p.Minimum <= 0 || p.BatchSize <= 0 {
		return nil, fmt.Errorf("ledger: payout plan needs minimum > 0 and batch size > 0")
	}
	if p.FeePolicy != FeePolicyPool && p.FeePolicy != FeePolicyMiner {
		return nil, fmt.Errorf("ledger: fee policy %q", p.FeePolicy)
	}
	perOutput := int64(0)
	if p.FeePolicy == FeePolicyMiner {
		perOutput = p.FeePerOutput
	}
	var out []Payout
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT b.address, b.confirmed FROM balances b
			LEFT JOIN miners m ON m.coin = b.coin AND m.address = b.address
			WHERE b.coin = $1 AND b.confirmed >= greatest($2::bigint, coalesce(m.payout_threshold, 0)) AND b.confirmed > $3
			ORDER BY b.address FOR UPDATE OF b`, p.Coin, p.Minimum, perOutput)
		if err != nil {
			return err
		}
		items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PayoutItem, error) {
			var it PayoutItem
			err := r.Scan(&it.Address, &it.Amount)
			it.Sent = it.Amount - perOutput
			return it, err
		})
		if err != nil {
			return err
		}
		for n := 0; len(items) > 0; n++ {
			k := min(p.BatchSize, len(items))
			po := Payout{ID: p.Coin + "-" + strconv.FormatInt(p.Now.UnixNano(), 10) + "-" + strconv.Itoa(n),
				Coin: p.Coin, State: PayoutIntent, FeePolicy: p.FeePolicy, CreatedAt: p.Now, Items: items[:k]}
			items = items[k:]
			if _, err := tx.Exec(ctx, `INSERT INTO payouts (id, coin, state, fee_policy, created_at) VALUES ($1, $2, 'intent', $3, $4)`,
				po.ID, po.Coin, po.FeePolicy, po.CreatedAt); err != nil {
				return err
			}
			addrs, amounts, sent := itemArrays(po.Items)
			if _, err := tx.Exec(ctx, `INSERT INTO payout_items (payout_id, coin, address, amount, sent)
				SELECT $1, $2, a, m, s FROM unnest($3::text[], $4::bigint[], $5::bigint[]) AS t(a, m, s)`,
				po.ID, po.Coin, addrs, amounts, sent); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE balances b SET confirmed = b.confirmed - t.m
				FROM unnest($2::text[], $3::bigint[]) AS t(a, m) WHERE b.coin = $1 AND b.address = t.a`,
				po.Coin, addrs, amounts); err != nil {
				return err
			}
			out = append(out, po)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: create payouts: %w", err)
	}
	return out, nil
}

func itemArrays(items []PayoutItem) (addrs []string, amounts, sent []int64) {
	for _, it := range items {
		addrs = append(addrs, it.Address)
		amounts = append(amounts, it.Amount)
		sent = append(sent, it.Sent)
	}
	return
}

// Payouts returns the coin's payouts in the given states (all when none),
// oldest first, with their items.
func (s *Store) Payouts(ctx context.Context, coin string, states ...string) ([]Payout, error) {
	if states == nil {
		states = []string{} // a nil slice reaches SQL as NULL, and cardinality(NULL) is NULL
	}
	rows, err := s.pool.Query(ctx, `SELECT id, coin, state, fee_policy, coalesce(txid, ''), confirmations, error, created_at
		FROM payouts WHERE coin = $1 AND (cardinality($2::text[]) = 0 OR state = ANY($2)) ORDER BY created_at, id`, coin, states)
	if err != nil {
		return nil, fmt.Errorf("ledger: payouts: %w", err)
	}
	pos, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Payout, error) {
		var p Payout
		err := r.Scan(&p.ID, &p.Coin, &p.State, &p.FeePolicy, &p.TxID, &p.Confirmations, &p.Error, &p.CreatedAt)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: payouts: %w", err)
	}
	for i := range pos {
		rows, err := s.pool.Query(ctx, `SELECT address, amount, sent FROM payout_items WHERE payout_id = $1 ORDER BY address`, pos[i].ID)
		if err != nil {
			return nil, fmt.Errorf("ledger: payout items: %w", err)
		}
		pos[i].Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PayoutItem, error) {
			var it PayoutItem
			err := r.Scan(&it.Address, &it.Amount, &it.Sent)
			return it, err
		})
		if err != nil {
			return nil, fmt.Errorf("ledger: payout items: %w", err)
		}
	}
	return pos, nil
}

// KnownTxIDs returns every txid recorded for the coin's payouts.
func (s *Store) KnownTxIDs(ctx context.Context, coin string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT txid FROM payouts WHERE coin = $1 AND txid IS NOT NULL`, coin)
	if err != nil {
		return nil, fmt.Errorf("ledger: txids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("ledger: txids: %w", err)
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// ErrPayoutState: the payout is not in a state that allows the change.
var ErrPayoutState = errors.New("ledger: payout state does not allow this")

// MarkPayoutSent records the txid of a payout in state intent. Recording
// the same txid again is a no-op.
func (s *Store) MarkPayoutSent(ctx context.Context, id, txid string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE payouts SET state = 'sent', txid = $2, sent_at = now(), updated_at = now()
		WHERE id = $1 AND (state = 'intent' OR (state <> 'failed' AND txid = $2))`, id, txid)
	if err != nil {
		return fmt.Errorf("ledger: payout %s sent: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s cannot become sent with %s", ErrPayoutState, id, txid)
	}
	return nil
}

// SetPayoutConfirmations records a sent payout's confirmations; confirmed
// moves it to state confirmed.
func (s *Store) SetPayoutConfirmations(ctx context.Context, id string, n int64, confirmed bool) error {
	state := PayoutSent
	if confirmed {
		state = PayoutConfirmed
	}
	_, err := s.pool.Exec(ctx, `UPDATE payouts SET confirmations = $2, state = $3,
		confirmed_at = CASE WHEN $3 = 'confirmed' THEN now() ELSE confirmed_at END, updated_at = now()
		WHERE id = $1 AND state IN ('sent', 'confirmed')`, id, n, state)
	if err != nil {
		return fmt.Errorf("ledger: payout %s confirmations: %w", id, err)
	}
	return nil
}

// FailPayout marks a payout (intent or sent) failed and returns its amounts
// to the balances as refund credits, in one transaction. Failing a failed
// payout is a no-op (false).
func (s *Store) FailPayout(ctx context.Context, id, reason string) (bool, error) {
	var done bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var coin, state string
		err := tx.QueryRow(ctx, `SELECT coin, state FROM payouts WHERE id = $1 FOR UPDATE`, id).Scan(&coin, &state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: payout %s", ErrNotFound, id)
		}
		if err != nil {
			return err
		}
		switch state {
		case PayoutFailed:
			return nil
		case PayoutConfirmed:
			return fmt.Errorf("%w: %s is confirmed", ErrPayoutState, id)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO credits (coin, address, kind, ref, amount)
			SELECT coin, address, 'refund', payout_id, amount FROM payout_items WHERE payout_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO balances (coin, address, confirmed)
			SELECT coin, address, amount FROM payout_items WHERE payout_id = $1
			ON CONFLICT (coin, address) DO UPDATE SET confirmed = balances.confirmed + excluded.confirmed`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE payouts SET state = 'failed', error = $2, updated_at = now() WHERE id = $1`, id, reason)
		done = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("ledger: fail payout %s: %w", id, err)
	}
	return done, nil
}

// Owed is what the pool owes on one coin, for reconciliation against the
// wallet's balance.
type Owed struct {
	Coin      string `json:"coin"`
	Balances  int64  `json:"balances"`  // confirmed, not yet paid
	Immature  int64  `json:"immature"`  // rewards of pending blocks
	InFlight  int64  `json:"in_flight"` // payouts recorded but not yet sent (intent)
	Unconfirm int64  `json:"unconfirmed_sent"`
}

// Owed sums what the pool owes its miners on coin.
func (s *Store) Owed(ctx context.Context, coin string) (Owed, error) {
	o := Owed{Coin: coin}
	err := s.pool.QueryRow(ctx, `SELECT
		coalesce((SELECT sum(confirmed) FROM balances WHERE coin = $1), 0)::bigint,
		coalesce((SELECT sum(amount) FROM rewards WHERE coin = $1 AND state = 'immature'), 0)::bigint,
		coalesce((SELECT sum(i.sent) FROM payout_items i JOIN payouts p ON p.id = i.payout_id WHERE p.coin = $1 AND p.state = 'intent'), 0)::bigint,
		coalesce((SELECT sum(i.sent) FROM payout_items i JOIN payouts p ON p.id = i.payout_id WHERE p.coin = $1 AND p.state = 'sent'), 0)::bigint`,
		coin).Scan(&o.Balances, &o.Immature, &o.InFlight, &o.Unconfirm)
	if err != nil {
		return o, fmt.Errorf("ledger: owed: %w", err)
	}
	return o, nil
}
