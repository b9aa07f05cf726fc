package miner

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetpool/jetpool/internal/stratum"
)

// requestedVersionMask is the mask the miner offers in mining.configure:
// the BIP320 general-purpose bits.
const requestedVersionMask = 0x1fffe000

// maxServerLine bounds a line from the pool; notify lines with long
// coinbases and branches stay far below it.
const maxServerLine = 1 << 20

// hashBatch is how many nonces a worker hashes between checks for new work.
const hashBatch = 4096

// work is one unit of search handed to the workers: a job plus the session
// state it is mined under. Immutable except for the atomics.
type work struct {
	job      *stratum.Notify
	en1      []byte
	en2Size  int
	mask     uint32 // negotiated version-rolling mask, 0 = none
	gen      uint64 // bumped for every published work
	epoch    uint64 // clean_jobs epoch the job belongs to
	en2Start uint64 // first extranonce2 value to use

	target     atomic.Pointer[shareTarget]
	difficulty atomic.Uint64 // float64 bits of the pool difficulty behind target
	en2High    atomic.Uint64 // highest extranonce2 any worker started
}

func (w *work) noteEn2(v uint64) {
	for {
		old := w.en2High.Load()
		if v <= old || w.en2High.CompareAndSwap(old, v) {
			return
		}
	}
}

func (w *work) setTarget(t shareTarget, difficulty float64) {
	w.target.Store(&t)
	w.difficulty.Store(math.Float64bits(difficulty))
}

// session is one connection to the pool.
type session struct {
	m    *Miner
	cfg  *settings
	log  *slog.Logger
	conn net.Conn
	done chan struct{} // closed when the session is being torn down
	dead chan struct{} // closed when the reader has stopped

	writeMu sync.Mutex
	wbuf    []byte
	nextID  uint64

	pendMu  sync.Mutex
	pending map[uint64]func(stratum.Message)

	mu          sync.Mutex
	subscribed  bool
	en1         []byte
	en2Size     int
	rolling     bool    // version rolling negotiated
	versionMask uint32  // current mask when rolling
	difficulty  float64 // 0 until the first set_difficulty
	job         *stratum.Notify
	cur         *work
	changed     chan struct{} // closed and replaced whenever cur changes

	gen   atomic.Uint64
	epoch atomic.Uint64

	reconnect chan stratum.Reconnect
}

// sessionEnd says why a session ended.
type sessionEnd struct {
	err       error
	handshook bool
	redirect  *stratum.Reconnect
}

func (m *Miner) dial(ctx context.Context, ep endpoint) (net.Conn, error) {
	d := &net.Dialer{Timeout: m.cfg.Timeout, KeepAlive: 15 * time.Second}
	if !ep.tls {
		return d.DialContext(ctx, "tcp", ep.addr())
	}
	td := &tls.Dialer{NetDialer: d, Config: &tls.Config{
		ServerName:         ep.host,
		InsecureSkipVerify: m.cfg.InsecureSkipVerify, //nolint:gosec // opt-in for dev self-signed certificates
		MinVersion:         tls.VersionTLS12,
	}}
	return td.DialContext(ctx, "tcp", ep.addr())
}

// runSession connects, handshakes, mines until the connection ends or ctx
// is cancelled, and stops every goroutine it started before returning.
func (m *Miner) runSession(ctx context.Context, ep endpoint) sessionEnd {
	conn, err := m.dial(ctx, ep)
	if err != nil {
		return sessionEnd{err: fmt.Errorf("miner: dial %s: %w", ep, err)}
	}
	s := &session{
		m:         m,
		cfg:       &m.cfg,
		log:       m.cfg.Logger.With("pool", ep.String()),
		conn:      conn,
		done:      make(chan struct{}),
		dead:      make(chan struct{}),
		nextID:    1,
		pending:   map[uint64]func(stratum.Message){},
		changed:   make(chan struct{}),
		reconnect: make(chan stratum.Reconnect, 1),
	}
	var wg sync.WaitGroup
	readErr := make(chan error, 1)
	wg.Go(func() {
		err := s.readLoop()
		close(s.dead)
		readErr <- err
	})

	// Closing the connection unblocks the reader and any writer; closing
	// done stops the workers and pending calls. Cancelling ctx ends the
	// handshake calls and the wait below, which then call stop.
	stop := func() {
		close(s.done)
		conn.Close()
		wg.Wait()
		m.connected.Store(false)
	}
	if err := s.handshake(ctx); err != nil {
		stop()
		return sessionEnd{err: err}
	}
	m.connects.Add(1)
	m.connected.Store(true)
	s.log.Info("mining", "user", m.cfg.User, "threads", m.cfg.threads, "algo", m.cfg.algo.Name)
	for i := 0; i < m.cfg.threads; i++ {
		hasher := m.cfg.algo.NewHasher()
		wg.Go(func() { s.worker(i, hasher) })
	}

	var end sessionEnd
	end.handshook = true
	select {
	case <-ctx.Done():
	case err := <-readErr:
		end.err = fmt.Errorf("miner: connection lost: %w", err)
	case r := <-s.reconnect:
		end.redirect = &r
	}
	if end.redirect == nil {
		// Pools usually hang up right after client.reconnect; the reader
		// queued the request before it saw the end of the stream.
		select {
		case r := <-s.reconnect:
			end.redirect, end.err = &r, nil
		default:
		}
	}
	stop()
	return end
}

// handshake runs configure (optional), subscribe, suggest_difficulty
// (optional), authorize and extranonce.subscribe.
func (s *session) handshake(ctx context.Context) error {
	if s.cfg.VersionRolling {
		err := s.call(ctx, func(b []byte, id uint64) []byte {
			return stratum.AppendConfigure(b, id, stratum.VersionRollingConfigure(requestedVersionMask, 2))
		}, s.onConfigure)
		if err != nil {
			return fmt.Errorf("miner: mining.configure: %w", err)
		}
	}
	err := s.call(ctx, func(b []byte, id uint64) []byte {
		return stratum.AppendSubscribe(b, id, stratum.SubscribeParams{UserAgent: s.cfg.UserAgent})
	}, s.onSubscribe)
	if err != nil {
		return fmt.Errorf("miner: mining.subscribe: %w", err)
	}
	if d := s.cfg.SuggestDifficulty; d > 0 {
		// Pools answer this inconsistently (true, an error, or nothing):
		// send it without waiting.
		if err := s.send(func(b []byte, id uint64) []byte { return stratum.AppendSuggestDifficulty(b, id, d) }, s.logReply("mining.suggest_difficulty")); err != nil {
			return err
		}
	}
	err = s.call(ctx, func(b []byte, id uint64) []byte {
		return stratum.AppendAuthorize(b, id, stratum.AuthorizeParams{User: s.cfg.User, Pass: s.cfg.Pass})
	}, func(msg stratum.Message) error {
		if msg.Error != nil {
			return fmt.Errorf("%w: %q: %w", ErrUnauthorized, s.cfg.User, msg.Error)
		}
		if ok, _ := stratum.ParseBoolResult(msg.Result); !ok {
			return fmt.Errorf("%w: %q", ErrUnauthorized, s.cfg.User)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("miner: mining.authorize: %w", err)
	}
	return s.send(func(b []byte, id uint64) []byte { return stratum.AppendExtranonceSubscribe(b, id) },
		s.logReply("mining.extranonce.subscribe"))
}

func (s *session) logReply(method string) func(stratum.Message) {
	return func(msg stratum.Message) {
		if msg.Error != nil {
			s.log.Debug("pool refused optional request", "method", method, "err", msg.Error)
		}
	}
}

// onConfigure records the negotiated version-rolling mask (reader goroutine).
func (s *session) onConfigure(msg stratum.Message) error {
	if msg.Error != nil {
		s.log.Info("pool refused mining.configure; mining without version rolling", "err", msg.Error)
		return nil
	}
	r, err := stratum.ParseConfigureResult(msg.Result)
	if err != nil {
		s.log.Info("bad mining.configure result; mining without version rolling", "err", err)
		return nil
	}
	if !r.VersionRolling || r.VersionRollingMask == 0 {
		s.log.Info("pool declined version rolling")
		return nil
	}
	s.mu.Lock()
	s.rolling, s.versionMask = true, r.VersionRollingMask
	s.mu.Unlock()
	s.log.Debug("version rolling", "mask", fmt.Sprintf("%08x", r.VersionRollingMask))
	return nil
}

// onSubscribe records extranonce1 and the extranonce2 size. It runs in the
// reader goroutine, so a notify right behind the response already sees them.
func (s *session) onSubscribe(msg stratum.Message) error {
	if msg.Error != nil {
		return msg.Error
	}
	r, err := stratum.ParseSubscribeResult(msg.Result)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.subscribed = true
	s.en1 = r.Extranonce1
	s.en2Size = r.Extranonce2Size
	s.publishLocked(false)
	s.mu.Unlock()
	s.log.Debug("subscribed", "extranonce1", fmt.Sprintf("%x", r.Extranonce1), "extranonce2_size", r.Extranonce2Size)
	return nil
}

// send writes one request built by build and registers onReply for its
// answer, without waiting.
func (s *session) send(build func([]byte, uint64) []byte, onReply func(stratum.Message)) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	id := s.nextID
	s.nextID++
	s.addPending(id, onReply)
	s.wbuf = build(s.wbuf[:0], id)
	if err := s.writeLocked(); err != nil {
		s.takePending(id)
		return err
	}
	return nil
}

// call sends a request and waits for its answer; onReply runs in the reader
// goroutine and its error is call's.
func (s *session) call(ctx context.Context, build func([]byte, uint64) []byte, onReply func(stratum.Message) error) error {
	ch := make(chan error, 1)
	if err := s.send(build, func(msg stratum.Message) { ch <- onReply(msg) }); err != nil {
		return err
	}
	t := time.NewTimer(s.cfg.Timeout)
	defer t.Stop()
	select {
	case err := <-ch:
		return err
	case <-t.C:
		return fmt.Errorf("no answer within %v", s.cfg.Timeout)
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errors.New("session closed")
	case <-s.dead:
		return errors.New("connection closed by the pool")
	}
}

func (s *session) writeLocked() error {
	if err := s.conn.SetWriteDeadline(time.Now().Add(s.cfg.Timeout)); err != nil {
		return err
	}
	_, err := s.conn.Write(s.wbuf)
	return err
}

func (s *session) addPending(id uint64, f func(stratum.Message)) {
	s.pendMu.Lock()
	s.pending[id] = f
	s.pendMu.Unlock()
}

func (s *session) takePending(id uint64) func(stratum.Message) {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	f := s.pending[id]
	delete(s.pending, id)
	return f
}

// readLoop reads and dispatches pool messages until the connection fails.
func (s *session) readLoop() error {
	lr := stratum.NewLineReader(s.conn, maxServerLine)
	for {
		line, err := lr.ReadLine()
		if errors.Is(err, stratum.ErrLineTooLong) {
			s.log.Warn("pool sent an over-long line; skipped")
			continue
		}
		if err != nil {
			return err
		}
		msg, err := stratum.DecodeMessage(line)
		if err != nil {
			s.log.Warn("undecodable line from pool", "err", err)
			continue
		}
		if msg.IsResponse() {
			s.deliver(msg)
			continue
		}
		s.handleNotification(msg)
	}
}

// deliver hands a response to whoever waits for its id.
func (s *session) deliver(msg stratum.Message) {
	raw := string(msg.ID)
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' {
		raw = raw[1 : n-1]
	}
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		s.log.Debug("response with unknown id", "id", stratum.IDString(msg.ID))
		return
	}
	if f := s.takePending(id); f != nil {
		f(msg)
		return
	}
	s.log.Debug("response to no pending request", "id", id)
}

func (s *session) handleNotification(msg stratum.Message) {
	switch msg.Method {
	case stratum.MethodNotify:
		n, err := stratum.ParseNotify(msg.Params)
		if err != nil {
			s.log.Warn("bad mining.notify", "err", err)
			return
		}
		s.m.jobs.Add(1)
		s.mu.Lock()
		s.job = &n
		if n.CleanJobs {
			// Before publishing: a share of the old epoch can then no
			// longer be sent once any worker holds the new job.
			s.epoch.Add(1)
		}
		s.publishLocked(false)
		s.mu.Unlock()
		s.log.Debug("new job", "job", n.JobID, "clean", n.CleanJobs)
	case stratum.MethodSetDifficulty:
		d, err := stratum.ParseSetDifficulty(msg.Params)
		if err != nil {
			s.log.Warn("bad mining.set_difficulty", "err", err)
			return
		}
		s.m.difficulty.Store(math.Float64bits(d))
		s.mu.Lock()
		first := s.difficulty == 0
		s.difficulty = d
		// A harder difficulty applies to the current job at once (its
		// shares satisfy the old one too); an easier one waits for the next
		// job, unless it is the first the pool sends.
		if w := s.cur; w != nil && (first || d >= math.Float64frombits(w.difficulty.Load())) {
			w.setTarget(targetFromDifficulty(d, s.cfg.algo.Diff1), d)
		}
		s.mu.Unlock()
		s.log.Debug("difficulty", "difficulty", d)
	case stratum.MethodSetExtranonce:
		en1, size, err := stratum.ParseSetExtranonce(msg.Params)
		if err != nil {
			s.log.Warn("bad mining.set_extranonce", "err", err)
			return
		}
		s.mu.Lock()
		s.en1, s.en2Size = en1, size // used from the next job on
		s.mu.Unlock()
		s.log.Debug("extranonce", "extranonce1", fmt.Sprintf("%x", en1), "extranonce2_size", size)
	case stratum.MethodSetVersionMask:
		mask, err := stratum.ParseSetVersionMask(msg.Params)
		if err != nil {
			s.log.Warn("bad mining.set_version_mask", "err", err)
			return
		}
		s.mu.Lock()
		if s.rolling {
			s.versionMask = mask
			s.publishLocked(true) // valid immediately (BIP310)
		}
		s.mu.Unlock()
	case stratum.MethodReconnect:
		r, err := stratum.ParseReconnect(msg.Params)
		if err != nil {
			s.log.Warn("bad client.reconnect", "err", err)
			return
		}
		select {
		case s.reconnect <- r:
		default:
		}
	case "client.show_message":
		s.log.Info("message from pool", "params", string(msg.Params))
	case "client.get_version":
		s.answer(msg.ID, func(b []byte) []byte {
			ua, _ := json.Marshal(s.cfg.UserAgent)
			return stratum.AppendResult(b, msg.ID, ua)
		})
	default:
		s.log.Debug("unhandled pool method", "method", msg.Method)
		s.answer(msg.ID, func(b []byte) []byte {
			return stratum.AppendError(b, msg.ID, stratum.NewError(stratum.CodeMethodNotFound, "Method not found: "+msg.Method))
		})
	}
}

// answer replies to a pool request that carries an id.
func (s *session) answer(id []byte, build func([]byte) []byte) {
	if len(id) == 0 || string(id) == "null" {
		return
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.wbuf = build(s.wbuf[:0])
	if err := s.writeLocked(); err != nil {
		s.log.Debug("answer to pool failed", "err", err)
	}
}

// publishLocked makes the current job (with the current extranonce,
// mask and difficulty) the workers' work. With sameJob the job has not
// changed (new version mask): extranonce2 continues after the highest
// value already used, so no header is hashed twice.
func (s *session) publishLocked(sameJob bool) {
	if s.job == nil || !s.subscribed {
		return
	}
	w := &work{
		job:     s.job,
		en1:     s.en1,
		en2Size: s.en2Size,
		mask:    s.versionMask,
		epoch:   s.epoch.Load(),
	}
	d := s.difficulty
	if d == 0 {
		d = 1
	}
	t := targetFromDifficulty(d, s.cfg.algo.Diff1)
	if old := s.cur; sameJob && old != nil && old.job == s.job {
		w.en2Start = old.en2High.Load() + 1
		t, d = *old.target.Load(), math.Float64frombits(old.difficulty.Load())
	}
	w.setTarget(t, d)
	w.gen = s.gen.Add(1)
	s.cur = w
	close(s.changed)
	s.changed = make(chan struct{})
}

// nextWork blocks until there is work other than last, or the session ends.
func (s *session) nextWork(last *work) *work {
	for {
		s.mu.Lock()
		cur, ch := s.cur, s.changed
		s.mu.Unlock()
		select {
		case <-s.done:
			return nil
		default:
		}
		if cur != nil && cur != last {
			return cur
		}
		select {
		case <-ch:
		case <-s.done:
			return nil
		}
	}
}

func (s *session) worker(idx int, h HeaderHasher) {
	var last *work
	for {
		w := s.nextWork(last)
		if w == nil {
			return
		}
		last = w
		s.mine(w, idx, h)
	}
}

// nonceRange returns thread idx's slice [start, end) of the nonce space.
func (s *session) nonceRange(idx int) (uint64, uint64) {
	threads := uint64(s.cfg.threads)
	span := s.m.nonceSpan
	if span == 0 {
		span = (1 << 32) / threads
	}
	start := uint64(idx) * span
	end := start + span
	if s.m.nonceSpan == 0 && uint64(idx) == threads-1 {
		end = 1 << 32
	}
	return min(start, 1<<32), min(end, 1<<32)
}

// stale reports whether w is no longer the newest work.
func (s *session) stale(w *work) bool {
	if s.gen.Load() != w.gen {
		return true
	}
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// mine searches w: for each extranonce2 from w.en2Start, for each rolled
// version, thread idx's slice of the nonce space. It returns when the
// space is exhausted or w is superseded.
func (s *session) mine(w *work, idx int, h HeaderHasher) {
	start, end := s.nonceRange(idx)
	if start >= end {
		return
	}
	n := w.job
	en2 := make([]byte, w.en2Size)
	var cbuf []byte
	var txid [32]byte
	rolls := uint64(1)
	if w.mask != 0 {
		rolls = rollCount(w.mask)
	}
	var out [32]byte
	for e := w.en2Start; e < extranonce2Count(w.en2Size); e++ {
		w.noteEn2(e)
		putExtranonce2(en2, e)
		txid, cbuf = coinbaseTxid(cbuf, n, w.en1, en2)
		root := merkleRoot(txid, n.MerkleBranch)
		for r := uint64(0); r < rolls; r++ {
			version := n.Version ^ depositBits(uint32(r), w.mask)
			hdr := buildHeader(version, &n.PrevHash, &root, n.NTime, n.NBits, 0)
			h.SetHeader(&hdr)
			target := w.target.Load()
			for nonce := start; nonce < end; {
				stop := min(nonce+hashBatch, end)
				first := nonce
				for ; nonce < stop; nonce++ {
					h.Hash(uint32(nonce), &out)
					if target.Meets(&out) {
						s.submit(w, en2, version, uint32(nonce), &out)
					}
				}
				s.m.hashes.Add(stop - first)
				if s.stale(w) {
					return
				}
				target = w.target.Load()
			}
		}
	}
	s.log.Debug("job search space exhausted", "job", n.JobID, "thread", idx)
}

// submit sends a share found for w, unless clean_jobs has abandoned w's job.
func (s *session) submit(w *work, en2 []byte, version, nonce uint32, hash *[32]byte) {
	r := ShareResult{
		JobID:       w.job.JobID,
		Extranonce1: w.en1,
		Extranonce2: append([]byte(nil), en2...),
		NTime:       w.job.NTime,
		Nonce:       nonce,
		Version:     version,
		Hash:        *hash,
		Difficulty:  math.Float64frombits(w.difficulty.Load()),
	}
	p := stratum.SubmitParams{
		Worker:      s.cfg.User,
		JobID:       r.JobID,
		Extranonce2: r.Extranonce2,
		NTime:       r.NTime,
		Nonce:       nonce,
	}
	if w.mask != 0 {
		p.VersionBits, p.HasVersionBits = version&w.mask, true
		r.VersionBits, r.HasVersionBits = p.VersionBits, true
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if w.epoch != s.epoch.Load() {
		s.m.stale.Add(1)
		return
	}
	id := s.nextID
	s.nextID++
	s.addPending(id, func(msg stratum.Message) { s.m.shareAnswered(r, msg) })
	s.wbuf = stratum.AppendSubmit(s.wbuf[:0], id, &p)
	s.m.submitted.Add(1)
	if err := s.writeLocked(); err != nil {
		s.takePending(id)
		s.m.submitted.Add(^uint64(0))
		s.log.Debug("submit failed", "err", err)
		return
	}
	s.log.Debug("share submitted", "job", r.JobID, "nonce", fmt.Sprintf("%08x", nonce), "extranonce2", fmt.Sprintf("%x", r.Extranonce2))
}
