package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/streams"
)

// pendingShare is a checked share waiting for its batch to be durable.
// done (nil for rejected shares) is told the outcome.
type pendingShare struct {
	share payload.Share
	done  func(error)
}

// batcher groups shares into ShareBatch messages on shares.<coin>.<region>:
// a batch goes out when it is full (stratum.share_batch_size) or its first
// share has waited stratum.share_batch_delay. Each batch has the message id
// "<gateway>-<seq>", so a retried publish is de-duplicated by the stream.
// Miners are answered only after the stream acknowledged their batch.
type batcher struct {
	g   *Gateway
	in  chan pendingShare
	seq uint64
}

func newBatcher(g *Gateway) *batcher {
	return &batcher{g: g, in: make(chan pendingShare, 8192)}
}

func (b *batcher) add(s payload.Share, done func(error)) {
	b.in <- pendingShare{share: s, done: done}
}

// run batches until ctx ends, then flushes what is left.
func (b *batcher) run(ctx context.Context) {
	var (
		batch []pendingShare
		timer *time.Timer
		fire  <-chan time.Time
		start time.Time
	)
	flush := func() {
		if len(batch) > 0 {
			b.publish(batch, start)
			batch = nil
		}
		if timer != nil {
			timer.Stop()
			fire = nil
		}
	}
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case p := <-b.in:
					batch = append(batch, p)
				default:
					flush()
					return
				}
			}
		case p := <-b.in:
			if len(batch) == 0 {
				start = time.Now()
				st := b.g.stratum()
				if timer == nil {
					timer = time.NewTimer(st.ShareBatchDelay.D())
				} else {
					timer.Reset(st.ShareBatchDelay.D())
				}
				fire = timer.C
			}
			batch = append(batch, p)
			if len(batch) >= b.g.stratum().ShareBatchSize {
				flush()
			}
		case <-fire:
			fire = nil
			flush()
		}
	}
}

// publish sends one batch asynchronously and answers its shares when the
// acknowledgement (or a final failure) arrives.
func (b *batcher) publish(batch []pendingShare, start time.Time) {
	b.seq++
	msg := payload.ShareBatch{Gateway: b.g.id, Coin: b.g.opts.Symbol, Region: b.g.opts.Region, Seq: b.seq,
		Shares: make([]payload.Share, len(batch))}
	for i, p := range batch {
		msg.Shares[i] = p.share
	}
	data, err := json.Marshal(&msg)
	if err != nil {
		finish(batch, err)
		return
	}
	nm := &nats.Msg{Subject: streams.SharesSubject(b.g.opts.Symbol, b.g.opts.Region), Data: data, Header: nats.Header{}}
	nm.Header.Set(jetstream.MsgIDHeader, msg.MsgID())
	go b.publishWithRetry(nm, batch, start)
}

func (b *batcher) publishWithRetry(nm *nats.Msg, batch []pendingShare, start time.Time) {
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		fut, err := b.g.env.JS.PublishMsgAsync(nm)
		if err == nil {
			select {
			case <-fut.Ok():
				mBatchLatency.WithLabelValues(b.g.opts.Symbol, b.g.opts.Region).Observe(time.Since(start).Seconds())
				finish(batch, nil)
				return
			case err = <-fut.Err():
			case <-time.After(10 * time.Second):
				err = errors.New("no acknowledgement within 10s")
			}
		}
		lastErr = err
		b.g.log.Warn("share batch publish failed; retrying with the same message id", "id", nm.Header.Get(jetstream.MsgIDHeader), "attempt", attempt+1, "err", err)
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	b.g.log.Error("share batch not recorded", "id", nm.Header.Get(jetstream.MsgIDHeader), "shares", len(batch), "err", lastErr)
	finish(batch, lastErr)
}

func finish(batch []pendingShare, err error) {
	for _, p := range batch {
		if p.done != nil {
			p.done(err)
		}
	}
}
