package gateway

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/internal/target"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// writeTimeout bounds every write to a miner; a miner that cannot take a
// line in this time is disconnected rather than slowing others.
const writeTimeout = 5 * time.Second

// diffGrace is how long shares at the previous difficulty still count after
// a difficulty change (the miner may be working on older work).
const diffGrace = 10 * time.Second

// worker is one authorized user on a session.
type worker struct {
	address string
	name    string
	solo    bool
}

// session is one miner connection. The read loop owns the protocol state;
// mu guards what the job broadcast, the ticker and batch acks also touch.
type session struct {
	g      *Gateway
	conn   net.Conn
	ip     string
	en1    []byte
	en1Hex string
	reader *stratum.LineReader
	// res is the share check's scratch space: only the read loop uses it,
	// so checking a share does not allocate one per share.
	res coin.ShareResult
	// targets caches share targets by difficulty (read loop only).
	targets [2]cachedTarget

	wmu  sync.Mutex
	wbuf []byte

	mu           sync.Mutex
	subscribed   bool
	agent        string
	workers      map[string]*worker
	primary      *worker
	versionMask  uint32
	rolling      bool
	diff         float64
	prevDiff     float64
	diffChanged  time.Time
	vardiff      *Vardiff
	suggested    bool
	lastJobSent  *jobEntry
	closed       bool
	tokens       float64
	tokensAt     time.Time
	invalid      int
	invalidSince time.Time
	rateStrikes  int
}

func newSession(g *Gateway, conn net.Conn, ip string) *session {
	en1 := g.nextExtranonce1()
	vd := *g.vardiff()
	now := time.Now()
	st := g.stratum()
	return &session{
		g: g, conn: conn, ip: ip, en1: en1, en1Hex: hex.EncodeToString(en1),
		reader:   stratum.NewLineReader(conn, st.MaxLineBytes),
		workers:  map[string]*worker{},
		diff:     vd.Initial,
		vardiff:  NewVardiff(vd, vd.Initial, now),
		tokens:   float64(st.MessageBurst),
		tokensAt: now,
	}
}

// serve runs the read loop until the connection ends.
func (s *session) serve() {
	defer s.close()
	s.event(payload.WorkerConnected, nil, "")
	defer func() {
		s.mu.Lock()
		w := s.primary
		s.mu.Unlock()
		s.event(payload.WorkerDisconnected, w, "")
	}()
	for {
		st := s.g.stratum()
		_ = s.conn.SetReadDeadline(time.Now().Add(st.IdleTimeout.D()))
		line, err := s.reader.ReadLine()
		if err != nil {
			s.readFailed(err)
			return
		}
		if len(line) == 0 {
			continue
		}
		if !s.allow(st) {
			if s.rateStrikes > st.MessageBurst {
				s.protocolError("flood", "disconnected: message rate far over the limit")
				return
			}
			// Answer with the request's id so the miner's call completes.
			req, _ := stratum.DecodeRequest(line)
			s.replyError(req.ID, stratum.NewError(stratum.CodeOther, "rate limit exceeded; slow down"))
			s.protocolError("rate", "message over the rate limit dropped")
			continue
		}
		if !s.handleLine(line) {
			return
		}
	}
}

func (s *session) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, stratum.ErrLineTooLong):
		s.replyError(nil, stratum.NewError(stratum.CodeInvalidRequest, fmt.Sprintf("line longer than %d bytes", s.reader.MaxLineLength())))
		s.protocolError("too-long", "line over the length limit; disconnected")
	case errors.As(err, &ne) && ne.Timeout():
		s.g.log.Debug("idle timeout", "ip", s.ip, "session", s.en1Hex)
	}
}

// allow applies the per-connection token bucket.
func (s *session) allow(st *config.Stratum) bool {
	now := time.Now()
	s.tokens += now.Sub(s.tokensAt).Seconds() * st.MaxMessagesPerSecond
	s.tokensAt = now
	if limit := float64(st.MessageBurst); s.tokens > limit {
		s.tokens = limit
	}
	if s.tokens < 1 {
		s.rateStrikes++
		return false
	}
	s.tokens--
	s.rateStrikes = 0
	return true
}

func (s *session) protocolError(kind, msg string) {
	mProtocolErrors.WithLabelValues(s.g.opts.Symbol, s.g.opts.Region, kind).Inc()
	s.g.log.Warn("stratum protocol error", "kind", kind, "ip", s.ip, "session", s.en1Hex, "msg", msg)
}

// handleLine answers one request; false closes the connection.
func (s *session) handleLine(line []byte) bool {
	req, err := stratum.DecodeRequest(line)
	if err != nil {
		var se *stratum.Error
		if !errors.As(err, &se) {
			se = stratum.NewError(stratum.CodeParseError, err.Error())
		}
		s.replyError(req.ID, se)
		s.protocolError("parse", se.Error())
		return true
	}
	id := append(json.RawMessage(nil), req.ID...)
	switch req.Method {
	case stratum.MethodSubscribe:
		s.onSubscribe(id, req.Params)
	case stratum.MethodAuthorize:
		s.onAuthorize(id, req.Params)
	case stratum.MethodSubmit:
		s.onSubmit(id, req.Params)
	case stratum.MethodConfigure:
		s.onConfigure(id, req.Params)
	case stratum.MethodSuggestDifficulty:
		s.onSuggestDifficulty(id, req.Params)
	case stratum.MethodExtranonceSubscribe:
		s.write(stratum.AppendTrue(nil, id))
	case stratum.MethodGetTransactions:
		s.write(stratum.AppendResult(nil, id, json.RawMessage("[]")))
	default:
		s.replyError(id, stratum.NewError(stratum.CodeMethodNotFound, "unknown method "+truncate(req.Method, 64)))
		s.protocolError("method", "unknown method "+truncate(req.Method, 64))
	}
	return true
}

func (s *session) paramsError(id json.RawMessage, err error) {
	var se *stratum.Error
	if !errors.As(err, &se) {
		se = stratum.NewError(stratum.CodeInvalidParams, err.Error())
	}
	s.replyError(id, se)
	s.protocolError("params", se.Error())
}

func (s *session) onSubscribe(id json.RawMessage, params json.RawMessage) {
	p, err := stratum.ParseSubscribe(params)
	if err != nil {
		s.paramsError(id, err)
		return
	}
	s.mu.Lock()
	s.subscribed = true
	s.agent = p.UserAgent
	s.mu.Unlock()
	// The jobs decide the extranonce2 size (jobmaker builds the coinbase);
	// the config value is only the fallback before the first job.
	en2Size := s.g.stratum().Extranonce2Size
	if e := s.g.jobs.currentJob(); e != nil {
		en2Size = e.job.Extranonce2Size
	}
	s.write(stratum.AppendSubscribeResult(nil, id, s.en1Hex, s.en1, en2Size))
	s.maybeStartWork()
}

func (s *session) onAuthorize(id json.RawMessage, params json.RawMessage) {
	p, err := stratum.ParseAuthorize(params)
	if err != nil {
		s.paramsError(id, err)
		return
	}
	address, name, _ := strings.Cut(p.User, ".")
	if _, err := s.g.coin.ValidateAddress(address); err != nil {
		s.replyError(id, stratum.NewError(stratum.CodeUnauthorized, fmt.Sprintf("invalid %s address: %v", s.g.opts.Symbol, err)))
		s.protocolError("address", err.Error())
		return
	}
	if b, banned := s.g.bans.address(address); banned {
		s.replyError(id, stratum.NewError(stratum.CodeUnauthorized, "address banned until "+b.Until.UTC().Format(time.RFC3339)))
		return
	}
	opts := parsePassword(p.Pass)
	w := &worker{address: address, name: name, solo: opts.solo}
	s.mu.Lock()
	first := s.primary == nil
	s.mu.Unlock()
	if first {
		// Settle the starting difficulty before the worker becomes the
		// primary: from then on a job broadcast may start the work, and
		// its first set_difficulty must already be this one.
		switch {
		case opts.difficulty > 0:
			s.setDifficulty(opts.difficulty, false)
		default:
			s.restoreDifficulty(w)
		}
	}
	s.write(stratum.AppendTrue(nil, id))
	s.mu.Lock()
	s.workers[p.User] = w
	if s.primary == nil {
		s.primary = w
	}
	s.mu.Unlock()
	s.event(payload.WorkerAuthorized, w, "")
	s.maybeStartWork()
}

// passwordOptions are the per-miner options a Stratum password may carry,
// comma separated: d=DIFF (starting difficulty) and m=solo (SOLO scheme).
type passwordOptions struct {
	difficulty float64
	solo       bool
}

func parsePassword(pass string) passwordOptions {
	var o passwordOptions
	for _, part := range strings.FieldsFunc(pass, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "d", "diff":
			var d float64
			if _, err := fmt.Sscanf(v, "%g", &d); err == nil && d > 0 {
				o.difficulty = d
			}
		case "m", "mode":
			o.solo = strings.EqualFold(v, "solo")
		}
	}
	return o
}

func (s *session) onConfigure(id json.RawMessage, params json.RawMessage) {
	p, err := stratum.ParseConfigure(params)
	if err != nil {
		s.paramsError(id, err)
		return
	}
	res := &stratum.ConfigureResult{Requested: p.Extensions}
	if vr, ok := p.VersionRolling(); ok {
		poolMask := versionMask(s.g.stratum().VersionRollingMask)
		mask := vr.Mask & poolMask
		res.VersionRolling = mask != 0 && bitCount(mask) >= vr.MinBitCount
		res.VersionRollingMask = mask
		s.mu.Lock()
		s.rolling, s.versionMask = res.VersionRolling, mask
		s.mu.Unlock()
	}
	if p.Has("subscribe-extranonce") {
		res.SubscribeExtranonce = true
	}
	s.write(stratum.AppendConfigureResult(nil, id, res))
}

func versionMask(hexMask string) uint32 {
	var m uint32
	_, _ = fmt.Sscanf(hexMask, "%x", &m)
	return m
}

func bitCount(x uint32) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func (s *session) onSuggestDifficulty(id json.RawMessage, params json.RawMessage) {
	d, err := stratum.ParseSuggestDifficulty(params)
	if err != nil {
		s.paramsError(id, err)
		return
	}
	s.write(stratum.AppendTrue(nil, id))
	s.mu.Lock()
	s.suggested = true
	started := s.lastJobSent != nil
	s.mu.Unlock()
	s.setDifficulty(d, started)
}

// restoreDifficulty picks up the worker's last difficulty from KV vardiff,
// whichever gateway of the coin it came from.
func (s *session) restoreDifficulty(w *worker) {
	s.mu.Lock()
	suggested := s.suggested
	s.mu.Unlock()
	if suggested {
		return
	}
	ctx, cancel := contextWithTimeout(2 * time.Second)
	defer cancel()
	st, _, err := kv.Get[payload.VardiffState](ctx, s.g.env.KV.Vardiff, s.vardiffKey(w))
	if err != nil || !(st.Difficulty > 0) {
		return
	}
	s.setDifficulty(st.Difficulty, false)
}

func (s *session) vardiffKey(w *worker) string {
	return s.g.opts.Symbol + "." + kv.SafeKey(w.address) + "." + kv.SafeKey(w.name)
}

// setDifficulty changes the session's difficulty (clamped to the vardiff
// range) and tells the miner when work has started (else the first notify
// carries it).
func (s *session) setDifficulty(d float64, send bool) {
	now := time.Now()
	s.mu.Lock()
	d = s.vardiff.Set(d, now)
	if d == s.diff {
		s.mu.Unlock()
		return
	}
	s.prevDiff, s.diff, s.diffChanged = s.diff, d, now
	started := s.lastJobSent != nil
	s.mu.Unlock()
	if send || started {
		s.write(stratum.AppendSetDifficulty(nil, d))
	}
}

// maybeStartWork sends difficulty and the current job once the miner is
// subscribed and authorized.
func (s *session) maybeStartWork() {
	s.mu.Lock()
	ready := s.subscribed && s.primary != nil && s.lastJobSent == nil
	s.mu.Unlock()
	if !ready {
		return
	}
	if e := s.g.jobs.currentJob(); e != nil {
		s.sendJob(e, true)
	}
}

// sendJob sends mining.notify (preceded by set_difficulty on the first job).
func (s *session) sendJob(e *jobEntry, clean bool) {
	s.mu.Lock()
	if !s.subscribed || s.primary == nil || s.closed {
		s.mu.Unlock()
		return
	}
	first := s.lastJobSent == nil
	s.lastJobSent = e
	diff := s.diff
	s.mu.Unlock()
	line := e.notifyKeep
	if clean || first {
		line = e.notifyClean
	}
	if first {
		s.write(append(stratum.AppendSetDifficulty(nil, diff), line...))
		return
	}
	s.write(line)
}

func (s *session) applyVardiffConfig(v config.Vardiff) {
	s.mu.Lock()
	s.vardiff.SetConfig(v)
	d := s.vardiff.Difficulty()
	changed := d != s.diff
	started := s.lastJobSent != nil
	if changed {
		s.prevDiff, s.diff, s.diffChanged = s.diff, d, time.Now()
	}
	s.mu.Unlock()
	if changed && started {
		s.write(stratum.AppendSetDifficulty(nil, d))
	}
}

// tick lets vardiff lower the difficulty of a worker that went quiet.
func (s *session) tick(now time.Time) {
	s.mu.Lock()
	if s.primary == nil || s.suggested {
		s.mu.Unlock()
		return
	}
	d, changed := s.vardiff.OnTick(now)
	s.mu.Unlock()
	if changed {
		s.retargeted(d, now)
	}
}

// retargeted applies a vardiff decision and saves it for reconnects.
func (s *session) retargeted(d float64, now time.Time) {
	s.mu.Lock()
	if d == s.diff {
		s.mu.Unlock()
		return
	}
	s.prevDiff, s.diff, s.diffChanged = s.diff, d, now
	w := s.primary
	s.mu.Unlock()
	s.write(stratum.AppendSetDifficulty(nil, d))
	if w != nil {
		ctx, cancel := contextWithTimeout(2 * time.Second)
		defer cancel()
		if _, err := kv.Put(ctx, s.g.env.KV.Vardiff, s.vardiffKey(w), payload.VardiffState{Difficulty: d, Updated: now.UTC()}); err != nil {
			s.g.log.Warn("save vardiff", "err", err)
		}
	}
}

func (s *session) sendReconnect(wait time.Duration) {
	s.write(stratum.AppendReconnect(nil, stratum.Reconnect{WaitSeconds: int(wait / time.Second)}))
}

func (s *session) replyError(id json.RawMessage, e *stratum.Error) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	s.write(stratum.AppendError(nil, id, e))
}

// write sends one or more complete lines; a failed write closes the session.
func (s *session) write(b []byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := s.conn.Write(b); err != nil {
		go s.close()
	}
}

func (s *session) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	_ = s.conn.Close()
}

func (s *session) event(name string, w *worker, reason string) {
	ev := payload.WorkerEvent{Event: name, Coin: s.g.opts.Symbol, Region: s.g.opts.Region, Gateway: s.g.id,
		Session: s.en1Hex, RemoteIP: s.ip, Reason: reason, Time: time.Now().UTC()}
	s.mu.Lock()
	ev.UserAgent = s.agent
	s.mu.Unlock()
	if w != nil {
		ev.Address, ev.Worker = w.address, w.name
	}
	data, _ := json.Marshal(ev)
	if _, err := s.g.env.JS.PublishAsync(streams.EventSubject("worker", s.g.opts.Symbol, name), data); err != nil {
		s.g.log.Warn("publish worker event", "event", name, "err", err)
	}
}

// shareTarget converts a difficulty to the coin's target, remembering the
// last two conversions (current and previous difficulty) so the share path
// does no big-number division. Only the read loop calls it.
func (s *session) shareTarget(d float64) target.Target {
	for i := range s.targets {
		if s.targets[i].diff == d && d != 0 {
			return s.targets[i].t
		}
	}
	t, err := target.FromDifficulty(s.g.coin.Diff1(), d)
	if err != nil {
		return target.Target{}
	}
	s.targets[1] = s.targets[0]
	s.targets[0] = cachedTarget{diff: d, t: t}
	return t
}

type cachedTarget struct {
	diff float64
	t    target.Target
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
