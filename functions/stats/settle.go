package stats

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/chstore"
	"github.com/jetpool/jetpool/streams"
)

// A settle mark says: at ClickHouse time asOf, every share batch the SHARES
// stream received before `through` had been written by ingest. Written means
// committed before its ack, so such shares have ins < asOf; once asOf is
// older than the grace, a window computed as of asOf sees all of them.
type settleMark struct {
	asOf    int64     // ClickHouse server time (unix s)
	through time.Time // stream time up to which ingest had acknowledged everything
}

// settleLog samples ingest progress on a schedule.
type settleLog struct {
	env   *functions.Env
	store *chstore.Store
	every time.Duration

	mu    sync.Mutex
	marks []settleMark
}

func newSettleLog(env *functions.Env, store *chstore.Store, every time.Duration) *settleLog {
	return &settleLog{env: env, store: store, every: every}
}

func (l *settleLog) run(ctx context.Context) {
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		if m, err := l.sample(ctx); err == nil {
			l.mu.Lock()
			l.marks = append(l.marks, m)
			// Keep a few minutes of marks.
			if keep := int(5*time.Minute/l.every) + 2; len(l.marks) > keep {
				l.marks = append(l.marks[:0], l.marks[len(l.marks)-keep:]...)
			}
			l.mu.Unlock()
		} else if ctx.Err() == nil {
			l.env.Log.Debug("ingest progress not sampled", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sample reads ingest's progress, then the ClickHouse clock.
func (l *settleLog) sample(ctx context.Context) (settleMark, error) {
	cons, err := l.env.JS.Consumer(ctx, streams.Shares, streams.ConsumerIngest)
	if err != nil {
		return settleMark{}, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return settleMark{}, err
	}
	var through time.Time
	if info.NumPending == 0 && info.NumAckPending == 0 {
		through = time.Now()
	} else {
		stream, err := l.env.JS.Stream(ctx, streams.Shares)
		if err != nil {
			return settleMark{}, err
		}
		msg, err := stream.GetMsg(ctx, info.AckFloor.Stream+1)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			// Gone from the stream (deleted or aged out): nothing newer is known.
			through = time.Time{}
		case err != nil:
			return settleMark{}, err
		default:
			through = msg.Time
		}
	}
	now, err := l.store.ServerNow(ctx)
	if err != nil {
		return settleMark{}, err
	}
	// ins has whole seconds: an insert acknowledged before now has
	// ins <= now, so ins < now+1.
	return settleMark{asOf: now + 1, through: through}, nil
}

// snapshot is the newest mark old enough that every share it vouches for is
// visible (asOf at least one grace ago), with asOf set for chstore.
func (l *settleLog) snapshot(ctx context.Context) (settleMark, bool) {
	now, err := l.store.ServerNow(ctx)
	if err != nil {
		return settleMark{}, false
	}
	limit := now - l.store.GraceSeconds()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.marks) - 1; i >= 0; i-- {
		if m := l.marks[i]; m.asOf <= limit {
			return settleMark{asOf: m.asOf, through: m.through}, true
		}
	}
	return settleMark{}, false
}
