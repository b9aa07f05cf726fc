package chstore

import (
	"context"
	"fmt"
	"math"

	"github.com/jetpool/jetpool/internal/payload"
)

// Columns written for each table, in order. ClickHouse 18.16 refuses a
// native INSERT whose columns are not named.
const (
	// `time` is left to its DEFAULT (the second of ts_ms): cheaper on the
	// server than encoding it here.
	insertShares = "INSERT INTO shares (coin, region, gateway, seq, idx, ts_ms, address, worker, " +
		"difficulty, actual_difficulty, height, network_difficulty, job_id, block, solo)"
	insertRejected = "INSERT INTO rejected_shares (coin, region, gateway, seq, idx, ts_ms, address, worker, " +
		"difficulty, height, reason)"
)

// Writer turns gateway share batches into rows of `shares` and
// `rejected_shares`, column by column, and writes each table with one INSERT
// block. It keeps its buffers between batches. A Writer is not safe for
// concurrent use; a Store may have many.
type Writer struct {
	s   *Store
	acc acceptedCols
	rej rejectedCols
	// Skipped counts accepted shares dropped since Reset because their
	// difficulty was not a finite number > 0 (they cannot be credited).
	Skipped int
}

type acceptedCols struct {
	coin, region, gateway []string
	seq                   []uint64
	idx                   []uint32
	tsMs                  []int64
	address, worker       []string
	diff, actual          []float64
	height                []int64
	netDiff               []float64
	jobID                 []string
	block, solo           []uint8
}

type rejectedCols struct {
	coin, region, gateway []string
	seq                   []uint64
	idx                   []uint32
	tsMs                  []int64
	address, worker       []string
	diff                  []float64
	height                []int64
	reason                []string
}

// NewWriter returns an empty writer.
func (s *Store) NewWriter() *Writer { return &Writer{s: s} }

// Reset empties the buffers (keeping their memory).
func (w *Writer) Reset() {
	a := &w.acc
	a.coin, a.region, a.gateway = a.coin[:0], a.region[:0], a.gateway[:0]
	a.seq, a.idx, a.tsMs = a.seq[:0], a.idx[:0], a.tsMs[:0]
	a.address, a.worker, a.diff, a.actual = a.address[:0], a.worker[:0], a.diff[:0], a.actual[:0]
	a.height, a.netDiff, a.jobID, a.block, a.solo = a.height[:0], a.netDiff[:0], a.jobID[:0], a.block[:0], a.solo[:0]
	r := &w.rej
	r.coin, r.region, r.gateway = r.coin[:0], r.region[:0], r.gateway[:0]
	r.seq, r.idx, r.tsMs = r.seq[:0], r.idx[:0], r.tsMs[:0]
	r.address, r.worker, r.diff, r.height, r.reason = r.address[:0], r.worker[:0], r.diff[:0], r.height[:0], r.reason[:0]
	w.Skipped = 0
}

// Accepted and Rejected are the rows buffered for each table.
func (w *Writer) Accepted() int { return len(w.acc.seq) }

// Rejected is the number of rejected-share rows buffered.
func (w *Writer) Rejected() int { return len(w.rej.seq) }

// Add buffers every share of one gateway batch. The share at index i of the
// batch gets the id (b.Gateway, b.Seq, i) whether or not other shares of the
// batch are skipped, so the same batch always yields the same rows.
func (w *Writer) Add(b *payload.ShareBatch) {
	for i := range b.Shares {
		sh := &b.Shares[i]
		if !sh.Accepted {
			r := &w.rej
			r.coin, r.region, r.gateway = append(r.coin, b.Coin), append(r.region, b.Region), append(r.gateway, b.Gateway)
			r.seq, r.idx = append(r.seq, b.Seq), append(r.idx, uint32(i))
			r.tsMs = append(r.tsMs, sh.TimeMs)
			r.address, r.worker = append(r.address, sh.Address), append(r.worker, sh.Worker)
			r.diff, r.height = append(r.diff, finiteOrZero(sh.Difficulty)), append(r.height, sh.Height)
			r.reason = append(r.reason, sh.Reason)
			continue
		}
		if !(sh.Difficulty > 0) || math.IsInf(sh.Difficulty, 0) {
			w.Skipped++
			continue
		}
		a := &w.acc
		a.coin, a.region, a.gateway = append(a.coin, b.Coin), append(a.region, b.Region), append(a.gateway, b.Gateway)
		a.seq, a.idx = append(a.seq, b.Seq), append(a.idx, uint32(i))
		a.tsMs = append(a.tsMs, sh.TimeMs)
		a.address, a.worker = append(a.address, sh.Address), append(a.worker, sh.Worker)
		a.diff, a.actual = append(a.diff, sh.Difficulty), append(a.actual, finiteOrZero(sh.ActualDifficulty))
		a.height, a.netDiff = append(a.height, sh.Height), append(a.netDiff, finiteOrZero(sh.NetworkDifficulty))
		a.jobID = append(a.jobID, sh.JobID)
		a.block, a.solo = append(a.block, b2u(sh.Block)), append(a.solo, b2u(sh.Solo))
	}
}

func finiteOrZero(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0
	}
	return f
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// WriteAccepted inserts the buffered accepted shares as one INSERT block
// (so every gateway batch lands whole, which the per-batch minute
// aggregates rely on). The buffers are kept: on error, call it again.
func (w *Writer) WriteAccepted(ctx context.Context) error {
	a := &w.acc
	if len(a.seq) == 0 {
		return nil
	}
	return w.s.insertColumns(ctx, insertShares, []any{
		a.coin, a.region, a.gateway, a.seq, a.idx, a.tsMs, a.address, a.worker,
		a.diff, a.actual, a.height, a.netDiff, a.jobID, a.block, a.solo,
	})
}

// WriteRejected inserts the buffered rejected shares.
func (w *Writer) WriteRejected(ctx context.Context) error {
	r := &w.rej
	if len(r.seq) == 0 {
		return nil
	}
	return w.s.insertColumns(ctx, insertRejected, []any{
		r.coin, r.region, r.gateway, r.seq, r.idx, r.tsMs, r.address, r.worker,
		r.diff, r.height, r.reason,
	})
}

func (s *Store) insertColumns(ctx context.Context, query string, cols []any) error {
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return fmt.Errorf("chstore: prepare insert: %w", err)
	}
	for i, c := range cols {
		if err := batch.Column(i).Append(c); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("chstore: insert column %d: %w", i, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("chstore: insert: %w", err)
	}
	return nil
}
