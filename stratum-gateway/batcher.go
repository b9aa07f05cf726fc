package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/streams"
)

// pendingShare is a checked share waiting for its batch to be durable.
type pendingShare struct {
	share payload.Share
	reply reply
}

// reply is whom to answer when a share's batch is acknowledged: request
// id of session s (s nil for rejected shares, answered at once).
type reply struct {
	s  *session
	id json.RawMessage
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

// add queues a share; s and id (nil for a rejected share) are the session
// and request to answer once the share is durable.
func (b *batcher) add(sh payload.Share, s *session, id json.RawMessage) {
	b.in <- pendingShare{share: sh, reply: reply{s: s, id: id}}
}

// encodeBuffers recycles the JSON of published batches.
var encodeBuffers sync.Pool

// run batches until ctx ends, then flushes what is left.
func (b *batcher) run(ctx context.Context) {
	var (
		shares  []payload.Share
		replies []reply
		timer   *time.Timer
		fire    <-chan time.Time
		start   time.Time
	)
	take := func(p pendingShare) {
		if len(shares) == 0 {
			size := b.g.stratum().ShareBatchSize
			shares, replies = make([]payload.Share, 0, size), make([]reply, 0, size)
		}
		shares = append(shares, p.share)
		replies = append(replies, p.reply)
	}
	flush := func() {
		if len(shares) > 0 {
			b.publish(shares, replies, start)
			shares, replies = nil, nil
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
					take(p)
				default:
					flush()
					return
				}
			}
		case p := <-b.in:
			if len(shares) == 0 {
				start = time.Now()
				st := b.g.stratum()
				if timer == nil {
					timer = time.NewTimer(st.ShareBatchDelay.D())
				} else {
					timer.Reset(st.ShareBatchDelay.D())
				}
				fire = timer.C
			}
			take(p)
			if len(shares) >= b.g.stratum().ShareBatchSize {
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
func (b *batcher) publish(shares []payload.Share, replies []reply, start time.Time) {
	b.seq++
	msg := payload.ShareBatch{Gateway: b.g.id, Coin: b.g.opts.Symbol, Region: b.g.opts.Region, Seq: b.seq, Shares: shares}
	buf, _ := encodeBuffers.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	data, err := msg.AppendJSON((*buf)[:0])
	if err != nil {
		encodeBuffers.Put(buf)
		b.answer(replies, err)
		return
	}
	*buf = data
	nm := &nats.Msg{Subject: streams.SharesSubject(b.g.opts.Symbol, b.g.opts.Region), Data: data, Header: nats.Header{}}
	nm.Header.Set(jetstream.MsgIDHeader, msg.MsgID())
	go func() {
		b.publishWithRetry(nm, replies, start)
		encodeBuffers.Put(buf) // the message is neither pending nor retried any more
	}()
}

func (b *batcher) publishWithRetry(nm *nats.Msg, replies []reply, start time.Time) {
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		fut, err := b.g.env.JS.PublishMsgAsync(nm)
		if err == nil {
			select {
			case <-fut.Ok():
				mBatchLatency.WithLabelValues(b.g.opts.Symbol, b.g.opts.Region).Observe(time.Since(start).Seconds())
				b.answer(replies, nil)
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
	b.g.log.Error("share batch not recorded", "id", nm.Header.Get(jetstream.MsgIDHeader), "shares", len(replies), "err", lastErr)
	b.answer(replies, lastErr)
}

// answer tells the miners of a batch its outcome: true, or an error asking
// them to resubmit. A miner with several shares in the batch gets its
// answers in one write.
func (b *batcher) answer(replies []reply, err error) {
	if err != nil {
		for _, r := range replies {
			if r.s != nil {
				r.s.write(stratum.AppendError(nil, r.id, stratum.NewError(stratum.CodeOther, "share not recorded, please resubmit")))
				mShares.WithLabelValues(b.g.opts.Symbol, b.g.opts.Region, reasonNotRecorded).Inc()
			}
		}
		return
	}
	// Group by session: first[s] is the index of s's first share, next
	// chains its others.
	first := make(map[*session]int, len(replies))
	last := make(map[*session]int, len(replies))
	next := make([]int32, len(replies))
	for i, r := range replies {
		next[i] = -1
		if r.s == nil {
			continue
		}
		if j, ok := last[r.s]; ok {
			next[j] = int32(i)
		} else {
			first[r.s] = i
		}
		last[r.s] = i
	}
	var buf []byte
	accepted := 0
	for s, i := range first {
		buf = buf[:0]
		for ; i >= 0; i = int(next[i]) {
			buf = stratum.AppendTrue(buf, replies[i].id)
			accepted++
		}
		s.write(buf)
	}
	b.g.accepted.Add(float64(accepted))
}
