package gateway

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/internal/target"
	"github.com/jetpool/jetpool/streams"
)

// Rejection reasons, as recorded with the share and in metrics.
const (
	reasonUnauthorized  = "unauthorized"
	reasonNotSubscribed = "not-subscribed"
	reasonJobNotFound   = "job-not-found"
	reasonStale         = "stale"
	reasonExtranonce2   = "bad-extranonce2"
	reasonNTime         = "bad-ntime"
	reasonVersion       = "bad-version"
	reasonDuplicate     = "duplicate"
	reasonLowDiff       = "low-difficulty"
	reasonNotRecorded   = "not-recorded"
)

// shareResults recycles the share check's scratch space, so checking a
// share allocates none and a session does not carry one.
var shareResults = sync.Pool{New: func() any { return new(coin.ShareResult) }}

// onSubmit checks a share. A valid share is answered once its batch is in
// the SHARES stream (batcher); without mayBlock, the network waits of a
// found block (BLOCKS stream) run on their own goroutine.
func (s *session) onSubmit(id json.RawMessage, params json.RawMessage, mayBlock bool) {
	p, err := stratum.ParseSubmit(params)
	if err != nil {
		s.paramsError(id, err)
		return
	}
	now := time.Now()
	nowMono := mono()
	s.mu.Lock()
	subscribed := s.subscribed
	w := s.workerLocked(p.Worker)
	rolling, mask := s.rolling, s.versionMask
	diff, prevDiff, changed := s.diff, s.prevDiff, s.diffChanged
	s.mu.Unlock()
	if !subscribed {
		s.reject(id, nil, nil, stratum.CodeNotSubscribed, reasonNotSubscribed, "not subscribed", 0, mayBlock)
		return
	}
	if w == nil {
		s.reject(id, nil, nil, stratum.CodeUnauthorized, reasonUnauthorized, "unauthorized worker "+truncate(p.Worker, 64), 0, mayBlock)
		return
	}
	e := s.g.jobs.get(p.JobID)
	if e == nil {
		s.reject(id, w, nil, stratum.CodeJobNotFound, reasonJobNotFound, "job not found", diff, mayBlock)
		return
	}
	if e.isStale() {
		s.reject(id, w, e, stratum.CodeJobNotFound, reasonStale, "stale job", diff, mayBlock)
		return
	}
	job := e.job
	if err := p.CheckExtranonce2Size(job.Extranonce2Size); err != nil {
		s.reject(id, w, e, stratum.CodeOther, reasonExtranonce2, fmt.Sprintf("extranonce2 must be %d bytes", job.Extranonce2Size), diff, mayBlock)
		return
	}
	if err := job.CheckNTime(p.NTime); err != nil {
		s.reject(id, w, e, stratum.CodeOther, reasonNTime, fmt.Sprintf("ntime out of range (%d..%d)", job.MinTime, job.MaxTime), diff, mayBlock)
		return
	}
	version := job.Version
	if p.HasVersionBits {
		if !rolling {
			if p.VersionBits != 0 {
				s.reject(id, w, e, stratum.CodeOther, reasonVersion, "version rolling not negotiated (mining.configure)", diff, mayBlock)
				return
			}
		} else if err := p.CheckVersionBits(mask); err != nil {
			s.reject(id, w, e, stratum.CodeOther, reasonVersion, fmt.Sprintf("version bits outside the negotiated mask %08x", mask), diff, mayBlock)
			return
		}
		version = p.Version(job.Version, mask)
	}
	switch fresh, stale := e.firstSeen(makeShareKey(s.en1[:], p.Extranonce2, p.NTime, p.Nonce, version)); {
	case stale: // a new block arrived since the lookup above
		s.reject(id, w, e, stratum.CodeJobNotFound, reasonStale, "stale job", diff, mayBlock)
		return
	case !fresh:
		s.reject(id, w, e, stratum.CodeDuplicateShare, reasonDuplicate, "duplicate share", diff, mayBlock)
		return
	}
	sub := coin.Submission{Extranonce1: s.en1[:], Extranonce2: p.Extranonce2, NTime: p.NTime, Nonce: p.Nonce, Version: version}
	shareTarget := s.shareTarget(diff)
	res := shareResults.Get().(*coin.ShareResult)
	defer shareResults.Put(res)
	if err := job.Check(s.g.coin.Hasher(), &sub, &shareTarget, res); err != nil {
		s.reject(id, w, e, stratum.CodeOther, reasonExtranonce2, err.Error(), diff, mayBlock)
		return
	}
	credited := diff
	if !res.MeetsShare {
		// Work sent before a difficulty change may still meet the old one.
		prevTarget := s.shareTarget(prevDiff)
		if prevDiff > 0 && time.Duration(nowMono-changed) < diffGrace && prevTarget.HashMeets(&res.Hash) {
			credited = prevDiff
		} else {
			actual := target.HashDifficulty(s.g.coin.Diff1(), &res.Hash)
			s.reject(id, w, e, stratum.CodeLowDifficulty, reasonLowDiff, fmt.Sprintf("low difficulty share (%.6g < %.6g)", actual, diff), diff, mayBlock)
			return
		}
	}
	share := payload.Share{TimeMs: now.UnixMilli(), Address: w.address, Worker: w.name, Difficulty: credited,
		ActualDifficulty: target.HashDifficulty(s.g.coin.Diff1(), &res.Hash), Height: job.Height,
		NetworkDifficulty: e.netDiff, JobID: job.ID, Accepted: true, Solo: w.solo}
	if res.MeetsNetwork {
		share.Block = true
		header := res.Header
		s.g.run(mayBlock, func() {
			if err := s.publishBlock(e, w, &sub, &header, &share); err != nil {
				// The block could not be made durable: the miner must not be
				// told it is fine; the share still counts below.
				s.g.log.Error("block found but not published", "height", job.Height, "err", err)
			}
			s.g.batch.add(share, s, id)
		})
	} else {
		s.g.batch.add(share, s, id)
	}
	s.mu.Lock()
	s.invalid = 0
	var newDiff float64
	var retarget bool
	if !s.suggested {
		newDiff, retarget = s.vardiff.OnShare(now)
	}
	s.mu.Unlock()
	if retarget {
		s.retargeted(newDiff, now, mayBlock)
	}
}

// reject answers a bad share, records it and bans after too many.
func (s *session) reject(id json.RawMessage, w *worker, e *jobEntry, code stratum.Code, reason, msg string, diff float64, mayBlock bool) {
	s.write(stratum.AppendError(nil, id, stratum.NewError(code, msg)))
	mShares.WithLabelValues(s.g.opts.Symbol, s.g.opts.Region, reason).Inc()
	s.g.log.Debug("share rejected", "reason", reason, "ip", s.ip, "session", s.tag(), "msg", msg)
	if w != nil {
		sh := payload.Share{TimeMs: time.Now().UnixMilli(), Address: w.address, Worker: w.name, Difficulty: diff, Reason: reason}
		if e != nil {
			sh.Height, sh.NetworkDifficulty, sh.JobID = e.job.Height, e.netDiff, e.job.ID
		}
		s.g.batch.add(sh, nil, nil)
	}
	// Honest miners send stale and unknown-job shares around every new block
	// and after a reconnect, and a changed extranonce2 size (config) is the
	// pool's doing: none of these counts toward a ban.
	if reason == reasonStale || reason == reasonJobNotFound || reason == reasonExtranonce2 {
		return
	}
	st := s.g.stratum()
	s.mu.Lock()
	now := mono()
	if time.Duration(now-s.invalidSince) > st.BanDuration.D() {
		s.invalid, s.invalidSince = 0, now
	}
	s.invalid++
	over := s.invalid >= st.InvalidShareBanLimit
	s.mu.Unlock()
	if over {
		// Nothing more from this miner is handled; the close follows the
		// ban, once it is stored.
		s.quiet.Store(true)
		reason := fmt.Sprintf("%d invalid shares", st.InvalidShareBanLimit)
		s.g.run(mayBlock, func() { s.ban(reason, w) })
	}
}

// publishBlock makes the solution durable on blocks.<coin>.found (message
// id = block hash) before the miner hears anything; blocksubmit takes it to
// the node from there.
func (s *session) publishBlock(e *jobEntry, w *worker, sub *coin.Submission, header *[80]byte, share *payload.Share) error {
	mBlocks.WithLabelValues(s.g.opts.Symbol, s.g.opts.Region).Inc()
	blockHash := coin.Hash(sha256dHeader(header[:]))
	found := payload.BlockFound{
		Coin: s.g.opts.Symbol, Network: s.g.opts.Network, Region: s.g.opts.Region, Gateway: s.g.id,
		Height: e.job.Height, Hash: blockHash.String(), TemplateID: e.job.TemplateID, Job: e.raw,
		Extranonce1: hex.EncodeToString(sub.Extranonce1), Extranonce2: hex.EncodeToString(sub.Extranonce2),
		NTime: sub.NTime, Nonce: sub.Nonce, Version: sub.Version,
		Address: w.address, Worker: w.name, ShareDifficulty: share.Difficulty, ActualDifficulty: share.ActualDifficulty,
		NetworkDifficulty: e.netDiff, CoinbaseValue: e.job.CoinbaseValue, Solo: w.solo, Time: time.Now().UTC(),
	}
	data, err := json.Marshal(found)
	if err != nil {
		return err
	}
	s.g.log.Info("block found", "height", found.Height, "hash", found.Hash, "address", w.address, "worker", w.name)
	ctx, cancel := contextWithTimeout(5 * time.Second)
	defer cancel()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		_, lastErr = s.g.env.JS.Publish(ctx, streams.BlockFoundSubject(s.g.opts.Symbol), data, jetstream.WithMsgID(found.Hash))
		if lastErr == nil {
			return nil
		}
		if errors.Is(lastErr, ctx.Err()) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return lastErr
}

// ban puts the session's IP in KV bans (every gateway honours it) and closes.
func (s *session) ban(reason string, w *worker) {
	st := s.g.stratum()
	b := payload.Ban{Until: time.Now().Add(st.BanDuration.D()).UTC(), Reason: reason, By: s.g.id}
	ctx, cancel := contextWithTimeout(2 * time.Second)
	defer cancel()
	if err := putBan(ctx, s.g.env.KV.Bans, banKeyIP(s.ip), b); err != nil {
		s.g.log.Error("ban not stored", "ip", s.ip, "err", err)
	}
	s.g.bans.set(banKeyIP(s.ip), b)
	s.g.log.Warn("banned", "ip", s.ip, "until", b.Until, "reason", reason)
	s.event(payload.WorkerBanned, w, reason)
	s.close()
}
