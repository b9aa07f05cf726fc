package gateway

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/internal/target"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// writeTimeout bounds how long a miner may leave output unread: a blocking
// write (goroutine transport) fails after it, queued output (poller
// transport) older than it gets the miner disconnected by the sweep.
const writeTimeout = 5 * time.Second

// maxQueued bounds the output a poller session keeps while the miner's
// socket buffer is full; beyond it the miner is disconnected as too slow.
const maxQueued = 64 << 10

// diffGrace is how long shares at the previous difficulty still count after
// a difficulty change (the miner may be working on older work).
const diffGrace = 10 * time.Second

// monoEpoch anchors mono: session clocks are int64 nanoseconds on the
// monotonic clock (8 bytes each instead of a time.Time's 24).
var monoEpoch = time.Now()

func mono() int64 { return int64(time.Since(monoEpoch)) }

// worker is one authorized user on a session.
type worker struct {
	user    string // as authorized: address.name
	address string
	name    string
	solo    bool
}

// action tells the input side what to do after handling input.
type action uint8

const (
	actNext  action = iota // go on reading
	actClose               // close the connection (after the replies so far)
	actBlock               // the next request may block: hand the input to a goroutine
)

// session is one miner connection.
//
// Input (read, split lines, handle requests) runs on one goroutine at a
// time: the connection's poller (plain TCP on Linux), the goroutine a
// poller hands a request that may block to (see poller.pause), or the
// connection's own goroutine (TLS, other systems). The fields marked
// "input side" belong to whichever of these holds the input.
//
// mu guards the protocol state that the job broadcast, the ticker and batch
// acknowledgements also touch; wmu guards the output side and the
// transport. Neither is held while taking the other.
type session struct {
	g   *Gateway
	ip  string
	en1 [4]byte

	// Transport, under wmu (nc and p are set before the session is shared).
	wmu      sync.Mutex
	nc       net.Conn // goroutine transport (TLS, non-Linux); nil on a poller
	p        *poller  // the poller that owns fd; nil with nc
	fd       int      // the socket on a poller; -1 once released
	batch    *[]byte  // while input is handled: output collects here, sent in one write after
	wq       []byte   // poller: output the socket did not take yet
	paused   bool     // poller: input handed to a goroutine, fd out of the epoll set
	armedOut bool     // poller: EPOLLOUT requested
	hungUp   bool     // the transport was shut down (close done or underway)

	closing  atomic.Bool  // close requested: no more input handled, no more output queued
	quiet    atomic.Bool  // input is dropped: a ban is being stored, the close follows
	lastRead atomic.Int64 // mono time of the last read that returned data (idle sweep)
	wqSince  atomic.Int64 // mono time wq became non-empty, 0 while empty (stall sweep)

	// Input side.
	pend        []byte // unhandled input: a partial line, or the lines after a request that blocks
	tokens      float64
	tokensAt    int64
	rateStrikes int
	workers     atomic.Int32 // authorized workers: each after the first raises the rate limit
	// targets caches share targets by difficulty.
	targets [2]cachedTarget

	// Protocol state, under mu.
	mu           sync.Mutex
	subscribed   bool
	rolling      bool
	suggested    bool
	versionMask  uint32
	agent        string
	en2Size      int  // extranonce2 size the miner was told (subscribe, set_extranonce)
	extranonceOK bool // the miner sent mining.extranonce.subscribe
	primary      *worker
	extra        []*worker // further workers authorized on the connection (proxies)
	diff         float64
	prevDiff     float64
	diffChanged  int64 // mono
	vardiff      Vardiff
	lastJobSent  *jobEntry
	invalid      int
	invalidSince int64 // mono
}

// maxWorkersPerSession bounds the workers one connection may authorize
// (a proxy's rigs); more are refused.
const maxWorkersPerSession = 1024

func newSession(g *Gateway, ip string) *session {
	vd := *g.vardiff()
	now := time.Now()
	s := &session{g: g, ip: ip, fd: -1, diff: vd.Initial,
		tokens: float64(g.stratum().MessageBurst), tokensAt: mono()}
	s.en1 = g.nextExtranonce1()
	s.vardiff.init(vd, vd.Initial, now)
	s.lastRead.Store(mono())
	return s
}

// tag is the session's name in logs and events: its extranonce1 in hex.
func (s *session) tag() string { return hex.EncodeToString(s.en1[:]) }

// consume handles the complete lines at the start of data and returns how
// many bytes it used: up to the end of the last complete line handled. With
// actBlock (only when !mayBlock) it stops before the request that may block;
// the caller hands data[n:] to a goroutine that calls consume again with
// mayBlock. Lines longer than stratum.max_line_bytes end the connection.
func (s *session) consume(data []byte, mayBlock bool) (int, action) {
	st := s.g.stratum()
	used := 0
	for {
		if s.closing.Load() {
			return len(data), actClose
		}
		if s.quiet.Load() {
			return len(data), actNext
		}
		rest := data[used:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if len(rest) >= st.MaxLineBytes+2 { // no line end within the limit (and a "\r")
				s.lineTooLong(st.MaxLineBytes)
				return len(data), actClose
			}
			return used, actNext
		}
		line := rest[:i]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > st.MaxLineBytes {
			s.lineTooLong(st.MaxLineBytes)
			return used + i + 1, actClose
		}
		if len(line) == 0 {
			used += i + 1
			continue
		}
		if ok, burst := s.allow(st); !ok {
			if s.rateStrikes > burst {
				s.protocolError("flood", "disconnected: message rate far over the limit")
				return used + i + 1, actClose
			}
			// Answer with the request's id so the miner's call completes.
			req, _ := stratum.DecodeRequest(line)
			s.replyError(req.ID, stratum.NewError(stratum.CodeOther, "rate limit exceeded; slow down"))
			s.protocolError("rate", "message over the rate limit dropped")
			used += i + 1
			continue
		}
		switch s.handleLine(line, mayBlock) {
		case actBlock:
			s.tokens++ // the goroutine handles this line again and is charged then
			return used, actBlock
		case actClose:
			return used + i + 1, actClose
		}
		used += i + 1
	}
}

func (s *session) lineTooLong(max int) {
	s.replyError(nil, stratum.NewError(stratum.CodeInvalidRequest, fmt.Sprintf("line longer than %d bytes", max)))
	s.protocolError("too-long", "line over the length limit; disconnected")
}

// allow applies the per-connection token bucket (input side): the
// configured rate and burst, raised for every worker authorized after the
// first by worker_messages_per_second (and twice it), so a proxy carrying
// many workers on one connection is not throttled like one miner. It
// returns the burst in force: more refused messages in a row than that
// disconnect.
func (s *session) allow(st *config.Stratum) (ok bool, burst int) {
	now := mono()
	rate, limit := st.MaxMessagesPerSecond, float64(st.MessageBurst)
	if extra := float64(s.workers.Load() - 1); extra > 0 {
		rate += extra * st.WorkerMessagesPerSecond
		limit += extra * math.Ceil(2*st.WorkerMessagesPerSecond)
	}
	s.tokens += float64(now-s.tokensAt) / float64(time.Second) * rate
	s.tokensAt = now
	if s.tokens > limit {
		s.tokens = limit
	}
	if s.tokens < 1 {
		s.rateStrikes++
		return false, int(limit)
	}
	s.tokens--
	s.rateStrikes = 0
	return true, int(limit)
}

func (s *session) protocolError(kind, msg string) {
	mProtocolErrors.WithLabelValues(s.g.opts.Symbol, s.g.opts.Region, kind).Inc()
	s.g.log.Warn("stratum protocol error", "kind", kind, "ip", s.ip, "session", s.tag(), "msg", msg)
}

// handleLine answers one request. Without mayBlock (on a poller) it does
// nothing and returns actBlock for a request that would wait on the network
// before answering.
func (s *session) handleLine(line []byte, mayBlock bool) action {
	req, err := stratum.DecodeRequest(line)
	if err != nil {
		var se *stratum.Error
		if !errors.As(err, &se) {
			se = stratum.NewError(stratum.CodeParseError, err.Error())
		}
		s.replyError(req.ID, se)
		s.protocolError("parse", se.Error())
		return actNext
	}
	// req.ID points into the decoder's own copy of the line: it may be kept.
	id := req.ID
	switch req.Method {
	case stratum.MethodSubscribe:
		s.onSubscribe(id, req.Params)
	case stratum.MethodAuthorize:
		return s.onAuthorize(id, req.Params, mayBlock)
	case stratum.MethodSubmit:
		s.onSubmit(id, req.Params, mayBlock)
	case stratum.MethodConfigure:
		s.onConfigure(id, req.Params)
	case stratum.MethodSuggestDifficulty:
		s.onSuggestDifficulty(id, req.Params)
	case stratum.MethodExtranonceSubscribe:
		s.mu.Lock()
		s.extranonceOK = true
		s.mu.Unlock()
		s.write(stratum.AppendTrue(nil, id))
	case stratum.MethodGetTransactions:
		s.write(stratum.AppendResult(nil, id, json.RawMessage("[]")))
	default:
		s.replyError(id, stratum.NewError(stratum.CodeMethodNotFound, "unknown method "+truncate(req.Method, 64)))
		s.protocolError("method", "unknown method "+truncate(req.Method, 64))
	}
	return actNext
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
	// The jobs decide the extranonce2 size (jobmaker builds the coinbase);
	// the config value is only the fallback before the first job.
	en2Size := s.g.stratum().Extranonce2Size
	if e := s.g.jobs.currentJob(); e != nil {
		en2Size = e.job.Extranonce2Size
	}
	s.mu.Lock()
	s.subscribed = true
	s.agent = p.UserAgent
	s.en2Size = en2Size
	s.mu.Unlock()
	s.write(stratum.AppendSubscribeResult(nil, id, s.tag(), s.en1[:], en2Size))
	s.maybeStartWork()
}

// workerLocked finds an authorized worker by the user it authorized as.
func (s *session) workerLocked(user string) *worker {
	if s.primary != nil && s.primary.user == user {
		return s.primary
	}
	for _, w := range s.extra {
		if w.user == user {
			return w
		}
	}
	return nil
}

func (s *session) onAuthorize(id json.RawMessage, params json.RawMessage, mayBlock bool) action {
	p, err := stratum.ParseAuthorize(params)
	if err != nil {
		s.paramsError(id, err)
		return actNext
	}
	address, name, _ := strings.Cut(p.User, ".")
	if _, err := s.g.coin.ValidateAddress(address); err != nil {
		s.replyError(id, stratum.NewError(stratum.CodeUnauthorized, fmt.Sprintf("invalid %s address: %v", s.g.opts.Symbol, err)))
		s.protocolError("address", err.Error())
		return actNext
	}
	if b, banned := s.g.bans.address(address); banned {
		s.replyError(id, stratum.NewError(stratum.CodeUnauthorized, "address banned until "+b.Until.UTC().Format(time.RFC3339)))
		return actNext
	}
	opts := parsePassword(p.Pass)
	s.mu.Lock()
	first := s.primary == nil
	suggested := s.suggested
	known := s.workerLocked(p.User) != nil
	full := !known && len(s.extra) >= maxWorkersPerSession
	s.mu.Unlock()
	if full {
		s.replyError(id, stratum.NewError(stratum.CodeUnauthorized, fmt.Sprintf("more than %d workers on one connection", maxWorkersPerSession)))
		s.protocolError("workers", "too many workers on one connection")
		return actNext
	}
	// The first worker's difficulty may come from KV vardiff: a network
	// round trip a poller must not wait for.
	restore := first && !(opts.difficulty > 0) && !suggested
	if restore && !mayBlock {
		return actBlock
	}
	w := &worker{user: p.User, address: address, name: name, solo: opts.solo}
	if first {
		// Settle the starting difficulty before the worker becomes the
		// primary: from then on a job broadcast may start the work, and
		// its first set_difficulty must already be this one.
		switch {
		case opts.difficulty > 0:
			s.setDifficulty(opts.difficulty, false)
		case restore:
			s.restoreDifficulty(w)
		}
	}
	s.write(stratum.AppendTrue(nil, id))
	s.mu.Lock()
	switch {
	case s.primary == nil:
		s.primary = w
	case s.primary.user == p.User:
		s.primary = w
	default:
		replaced := false
		for i, x := range s.extra {
			if x.user == p.User {
				s.extra[i], replaced = w, true
			}
		}
		if !replaced {
			s.extra = append(s.extra, w)
		}
	}
	s.workers.Store(int32(1 + len(s.extra)))
	s.mu.Unlock()
	s.event(payload.WorkerAuthorized, w, "")
	s.maybeStartWork()
	return actNext
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
// whichever gateway of the coin it came from. It waits on the network.
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
	s.prevDiff, s.diff, s.diffChanged = s.diff, d, mono()
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
	if s.closing.Load() {
		return
	}
	s.mu.Lock()
	if !s.subscribed || s.primary == nil {
		s.mu.Unlock()
		return
	}
	// A job with another extranonce2 size (stratum.extranonce2_size changed
	// at run time): a miner that accepts mining.set_extranonce is told the
	// new size before the job; any other is asked to reconnect, so it
	// subscribes again and learns it, instead of having every share refused.
	var setExtranonce bool
	if e.job.Extranonce2Size != s.en2Size {
		if !s.extranonceOK {
			s.mu.Unlock()
			s.g.log.Info("extranonce2 size changed; asking the miner to reconnect", "session", s.tag(), "size", e.job.Extranonce2Size)
			s.sendReconnect(0)
			s.close()
			return
		}
		s.en2Size, setExtranonce, clean = e.job.Extranonce2Size, true, true
	}
	first := s.lastJobSent == nil
	s.lastJobSent = e
	diff := s.diff
	s.mu.Unlock()
	if setExtranonce {
		s.write(stratum.AppendSetExtranonce(nil, s.en1[:], e.job.Extranonce2Size))
	}
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
		s.prevDiff, s.diff, s.diffChanged = s.diff, d, mono()
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
		s.retargeted(d, now, true)
	}
}

// retargeted applies a vardiff decision and saves it in KV vardiff for
// reconnects; without mayBlock the save runs on its own goroutine.
func (s *session) retargeted(d float64, now time.Time, mayBlock bool) {
	s.mu.Lock()
	if d == s.diff {
		s.mu.Unlock()
		return
	}
	s.prevDiff, s.diff, s.diffChanged = s.diff, d, mono()
	w := s.primary
	s.mu.Unlock()
	s.write(stratum.AppendSetDifficulty(nil, d))
	if w == nil {
		return
	}
	save := func() {
		ctx, cancel := contextWithTimeout(2 * time.Second)
		defer cancel()
		if _, err := kv.Put(ctx, s.g.env.KV.Vardiff, s.vardiffKey(w), payload.VardiffState{Difficulty: d, Updated: now.UTC()}); err != nil {
			s.g.log.Warn("save vardiff", "err", err)
		}
	}
	s.g.run(mayBlock, save)
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

// write sends complete lines, in the order of the calls. b is not kept.
// While the input side handles a read, output collects in its batch and
// goes out in one write afterwards. On a poller it never blocks: what the
// socket does not take is queued and sent when it is writable. A failed
// write closes the session.
func (s *session) write(b []byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closing.Load() {
		return
	}
	if s.batch != nil {
		*s.batch = append(*s.batch, b...)
		return
	}
	s.sendLocked(b)
}

func (s *session) sendLocked(b []byte) {
	if s.hungUp {
		return
	}
	if s.nc != nil {
		_ = s.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := s.nc.Write(b); err != nil {
			s.closeLocked()
		}
		return
	}
	s.fdSendLocked(b)
}

// beginInput starts collecting output in *buf while input is handled; false
// when the session is already gone.
func (s *session) beginInput(buf *[]byte) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.hungUp || (s.nc == nil && s.fd < 0) {
		return false
	}
	*buf = (*buf)[:0]
	s.batch = buf
	return true
}

// endInput sends the collected output in one write and reports whether the
// session is closing (then its transport is shut down).
func (s *session) endInput() (closing bool) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	out := *s.batch
	s.batch = nil
	if len(out) > 0 {
		s.sendLocked(out)
	}
	if s.closing.Load() {
		s.hangUpLocked()
		return true
	}
	return false
}

// close ends the session: output queued so far is still sent (best effort),
// nothing after. Safe from any goroutine, any number of times.
func (s *session) close() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.closeLocked()
}

func (s *session) closeLocked() {
	if s.closing.Swap(true) {
		return
	}
	if s.batch != nil {
		return // endInput sends the batch, then hangs up
	}
	s.hangUpLocked()
}

// hangUpLocked shuts the transport down. On a poller the socket is only
// shut down (shutdown(2)); its owner closes the descriptor when it reads the
// end of stream, so a descriptor number is never reused under a poller.
func (s *session) hangUpLocked() {
	if s.hungUp {
		return
	}
	s.hungUp = true
	if s.nc != nil {
		_ = s.nc.Close()
		return
	}
	s.fdHangUpLocked()
}

func (s *session) event(name string, w *worker, reason string) {
	ev := payload.WorkerEvent{Event: name, Coin: s.g.opts.Symbol, Region: s.g.opts.Region, Gateway: s.g.id,
		Session: s.tag(), RemoteIP: s.ip, Reason: reason, Time: time.Now().UTC()}
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
// does no big-number division. Input side only.
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
