package loadgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/internal/target"
)

// Request ids of the handshake; submits count up from firstSubmitID.
const (
	idSubscribe   = 1
	idAuthorize   = 2
	firstSubmitID = 10
)

// clientMaxLine bounds a line from the gateway: a notify with a full
// 32-hash merkle branch and a large coinbase fits.
const clientMaxLine = 8 << 10

// maxInflight is how many unanswered submits one connection may have; the
// scheduler skips a connection at the limit (the gateway is behind).
const maxInflight = 8

// maxTriesPerShare bounds the hashing for one share (~2 ms); at the
// bench's difficulty a share takes two tries on average. A gateway whose
// difficulty needs more (--url against a production-like pool) gets fewer
// shares than asked for: the scheduler stops its round for that tick.
const maxTriesPerShare = 1 << 12

// submitStatus is what one submit attempt did.
type submitStatus int

const (
	submitSent     submitStatus = iota
	submitBusy                  // no job yet, closed, or too many unanswered
	submitTooHard               // no share within maxTriesPerShare hashes
	submitWriteErr              // the connection failed
)

var errAuthorize = errors.New("loadgen: authorize refused")

// counters are shared by every connection.
type counters struct {
	submitted, accepted, rejected, stale, unsent atomic.Uint64
	inflight                                     atomic.Int64
	lost, protocolErrors, tooHard                atomic.Uint64
	submitLatency, notifyLatency                 Histogram
	firstReject                                  atomic.Pointer[string]
}

// notifyMark is a job published by the bench at T0 (self-contained mode):
// every connection records when its mining.notify for JobID arrives.
type notifyMark struct {
	jobID string
	t0    time.Time
}

// clientShared is what every connection of one run refers to.
type clientShared struct {
	c        *counters
	mark     atomic.Pointer[notifyMark]
	loading  atomic.Bool // the load phase is running
	firstRx  sync.Map    // URL mode: job id → time the first connection saw it
	selfMode bool
	// readers serve every connection's input from a few goroutines (Linux);
	// nil: each connection reads on its own goroutine.
	readers *readers
	// notifies caches parsed mining.notify lines: every connection gets
	// the same line for a job, so it is decoded once per run, not per
	// connection (as one miner with many devices would).
	notifies notifyCache
}

// notifyCache remembers the last few mining.notify lines and their parse.
type notifyCache struct {
	mu      sync.Mutex
	entries [4]notifyEntry
	next    int
}

type notifyEntry struct {
	raw []byte
	n   *stratum.Notify
}

// lookup returns the parse of line if line is a cached notify.
func (nc *notifyCache) lookup(line []byte) *stratum.Notify {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	for _, e := range nc.entries {
		if e.n != nil && len(e.raw) == len(line) && bytes.Equal(e.raw, line) {
			return e.n
		}
	}
	return nil
}

func (nc *notifyCache) store(line []byte, n *stratum.Notify) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	nc.entries[nc.next] = notifyEntry{raw: append([]byte(nil), line...), n: n}
	nc.next = (nc.next + 1) % len(nc.entries)
}

// work is a connection's current job, ready to hash: the header with the
// merkle root for the current extranonce2 and a nonce counter.
type work struct {
	jobID  string
	notify stratum.Notify
	en2    []byte
	header [80]byte
	nonce  uint32
	valid  bool
	// stale: header not built for this job yet. The scheduler builds it
	// on the next submit, so a new block's notify costs the reader no
	// hashing and the notify latency of the next connections is not
	// inflated by this one's merkle root.
	stale bool
}

// conn is one Stratum connection. Its input is read either by a reader
// (fd, Linux) or by its own goroutine (nc); mu guards the job, difficulty
// and pending submits that the scheduler also touches.
type conn struct {
	sh   *clientShared
	nc   net.Conn
	user string

	// fd transport: the reader rd owns the descriptor's input and closes
	// it (release); fdMu keeps it open while the scheduler writes.
	fd       int
	rd       *reader
	fdMu     sync.RWMutex
	released bool
	pend     []byte // reader: a partial line

	readyOnce sync.Once
	ready     chan error // receives nil after subscribe+authorize+first job, or the failure

	mu         sync.Mutex
	en1        []byte
	en2Size    int
	subscribed bool
	authorized bool
	tgt        target.Target
	w          work
	pending    map[uint64]time.Time
	nextID     uint64
	closed     bool
	wbuf       []byte
}

// newConn takes over nc: its descriptor moves to one of sh's readers when
// there are readers, else it keeps nc and reads on its own goroutine.
func newConn(sh *clientShared, nc net.Conn, user string) *conn {
	c := &conn{sh: sh, user: user, fd: -1, ready: make(chan error, 1), pending: map[uint64]time.Time{},
		nextID: firstSubmitID, tgt: target.SHA256dDiff1}
	if sh.readers == nil || sh.readers.attach(c, nc) != nil {
		c.nc = nc
	}
	return c
}

// start sends mining.subscribe and mining.authorize and starts reading.
func (c *conn) start() error {
	b := stratum.AppendSubscribe(nil, idSubscribe, stratum.SubscribeParams{UserAgent: "jetpool-bench/1"})
	b = stratum.AppendAuthorize(b, idAuthorize, stratum.AuthorizeParams{User: c.user, Pass: "x"})
	if err := c.send(b, time.Now()); err != nil {
		if c.rd != nil {
			c.rd.release(c, err) // not registered yet: only closes the descriptor
		}
		return err
	}
	if c.rd != nil {
		return c.rd.add(c)
	}
	go c.readLoop()
	return nil
}

// send writes one or more whole lines.
func (c *conn) send(b []byte, now time.Time) error {
	if c.nc != nil {
		_ = c.nc.SetWriteDeadline(now.Add(5 * time.Second))
		_, err := c.nc.Write(b)
		return err
	}
	c.fdMu.RLock()
	defer c.fdMu.RUnlock()
	if c.released {
		return net.ErrClosed
	}
	return fdWrite(c.fd, b)
}

func (c *conn) signal(err error) {
	c.readyOnce.Do(func() { c.ready <- err })
}

// close ends the connection; its reader (or reading goroutine) then sees
// the end and releases it.
func (c *conn) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	if c.nc != nil {
		_ = c.nc.Close()
		return
	}
	c.fdMu.RLock()
	defer c.fdMu.RUnlock()
	if !c.released {
		fdShutdown(c.fd)
	}
}

// readLoop is the goroutine transport's reader.
func (c *conn) readLoop() {
	lr := stratum.NewLineReader(c.nc, clientMaxLine)
	for {
		line, err := lr.ReadLine()
		if err != nil {
			c.ended(err)
			return
		}
		c.onLine(line, time.Now())
	}
}

// ended accounts for the end of the connection.
func (c *conn) ended(err error) {
	c.mu.Lock()
	wasClosed := c.closed
	c.closed = true
	n := len(c.pending)
	c.pending = map[uint64]time.Time{}
	c.mu.Unlock()
	c.sh.c.inflight.Add(-int64(n))
	if !wasClosed {
		c.sh.c.lost.Add(1)
	}
	c.signal(fmt.Errorf("loadgen: connection ended: %w", err))
}

// onLine handles one line from the gateway, read at now.
func (c *conn) onLine(line []byte, now time.Time) {
	if id, ok := trueResponseID(line); ok && id >= firstSubmitID {
		c.settle(id, now, nil, true) // the common case, without a full decode
		return
	}
	if n := c.sh.notifies.lookup(line); n != nil {
		c.onNotify(n, now)
		return
	}
	msg, err := stratum.DecodeMessage(line)
	if err != nil {
		c.sh.c.protocolErrors.Add(1)
		return
	}
	if msg.IsResponse() {
		c.onResponse(&msg, now)
		return
	}
	if msg.Method == stratum.MethodNotify {
		n, err := stratum.ParseNotify(msg.Params)
		if err != nil {
			c.sh.c.protocolErrors.Add(1)
			return
		}
		c.sh.notifies.store(line, &n)
		c.onNotify(&n, now)
		return
	}
	c.onNotification(&msg, now)
}

func (c *conn) onResponse(msg *stratum.Message, now time.Time) {
	id, err := strconv.ParseUint(string(msg.ID), 10, 64)
	if err != nil {
		c.sh.c.protocolErrors.Add(1)
		return
	}
	switch id {
	case idSubscribe:
		if msg.Error != nil {
			c.signal(fmt.Errorf("loadgen: subscribe refused: %w", msg.Error))
			return
		}
		res, err := stratum.ParseSubscribeResult(msg.Result)
		if err != nil {
			c.signal(fmt.Errorf("loadgen: subscribe result: %w", err))
			return
		}
		c.mu.Lock()
		c.en1, c.en2Size, c.subscribed = res.Extranonce1, res.Extranonce2Size, true
		c.mu.Unlock()
		return
	case idAuthorize:
		ok, _ := stratum.ParseBoolResult(msg.Result)
		if msg.Error != nil || !ok {
			reason := "false"
			if msg.Error != nil {
				reason = msg.Error.Error()
			}
			c.signal(fmt.Errorf("%w: %s", errAuthorize, reason))
			return
		}
		c.mu.Lock()
		c.authorized = true
		c.mu.Unlock()
		c.maybeReady()
		return
	}
	accepted, _ := stratum.ParseBoolResult(msg.Result)
	c.settle(id, now, msg.Error, accepted)
}

// settle records the answer to submit id.
func (c *conn) settle(id uint64, now time.Time, serr *stratum.Error, accepted bool) {
	c.mu.Lock()
	sent, ok := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if !ok {
		return
	}
	cs := c.sh.c
	cs.inflight.Add(-1)
	cs.submitLatency.Record(now.Sub(sent))
	switch {
	case serr == nil && accepted:
		cs.accepted.Add(1)
	case serr != nil && serr.Code == stratum.CodeJobNotFound:
		// A share for the previous block that crossed the new block's
		// notify on the wire: honest, expected, counted apart.
		cs.stale.Add(1)
	default:
		cs.rejected.Add(1)
		why := "result false"
		if serr != nil {
			why = serr.Error()
		}
		cs.firstReject.CompareAndSwap(nil, &why)
	}
}

// trueResponseID recognises the exact line stratum.AppendTrue writes for a
// numeric id, {"id":N,"result":true,"error":null}, and returns N. Any other
// spelling goes through the full decoder.
func trueResponseID(line []byte) (uint64, bool) {
	const head, tail = `{"id":`, `,"result":true,"error":null}`
	if len(line) <= len(head)+len(tail) || string(line[:len(head)]) != head || string(line[len(line)-len(tail):]) != tail {
		return 0, false
	}
	digits := line[len(head) : len(line)-len(tail)]
	if len(digits) > 19 {
		return 0, false
	}
	var id uint64
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
		id = id*10 + uint64(d-'0')
	}
	return id, true
}

// onNotify switches to a new job (n is shared and read-only).
func (c *conn) onNotify(n *stratum.Notify, now time.Time) {
	c.recordNotify(n, now)
	c.mu.Lock()
	if c.subscribed && (n.CleanJobs || !c.w.valid || n.JobID != c.w.jobID) {
		c.setWorkLocked(n)
	}
	c.mu.Unlock()
	c.maybeReady()
}

func (c *conn) onNotification(msg *stratum.Message, now time.Time) {
	switch msg.Method {
	case stratum.MethodSetDifficulty:
		d, err := stratum.ParseSetDifficulty(msg.Params)
		if err != nil {
			c.sh.c.protocolErrors.Add(1)
			return
		}
		t, err := target.FromDifficulty(target.SHA256dDiff1, d)
		if err != nil {
			c.sh.c.protocolErrors.Add(1)
			return
		}
		c.mu.Lock()
		c.tgt = t
		c.mu.Unlock()
	}
}

// recordNotify measures the notify latency of a new block: against the
// bench's publish time in self-contained mode, against the first
// connection that saw the job when hitting an existing gateway.
func (c *conn) recordNotify(n *stratum.Notify, now time.Time) {
	if !n.CleanJobs || !c.sh.loading.Load() {
		return
	}
	if c.sh.selfMode {
		if m := c.sh.mark.Load(); m != nil && m.jobID == n.JobID {
			c.sh.c.notifyLatency.Record(now.Sub(m.t0))
		}
		return
	}
	first, _ := c.sh.firstRx.LoadOrStore(n.JobID, now)
	c.sh.c.notifyLatency.Record(now.Sub(first.(time.Time)))
}

func (c *conn) maybeReady() {
	c.mu.Lock()
	ok := c.subscribed && c.authorized && c.w.valid
	c.mu.Unlock()
	if ok {
		c.signal(nil)
	}
}

// setWorkLocked switches to job n from extranonce2 0, nonce 0. The
// notify's slices are shared with other connections and never written.
func (c *conn) setWorkLocked(n *stratum.Notify) {
	c.w = work{jobID: n.JobID, notify: *n, en2: make([]byte, c.en2Size), valid: true, stale: true}
}

func (c *conn) fillHeaderLocked() {
	c.w.header = headerFor(&c.w.notify, c.en1, c.w.en2)
}

// headerFor is the block header of job n for the extranonces, nonce zero.
func headerFor(n *stratum.Notify, en1, en2 []byte) [80]byte {
	var h [80]byte
	root := merkleRoot(n.Coinb1, en1, en2, n.Coinb2, n.MerkleBranch)
	binary.LittleEndian.PutUint32(h[0:4], n.Version)
	copy(h[4:36], n.PrevHash[:])
	copy(h[36:68], root[:])
	binary.LittleEndian.PutUint32(h[68:72], n.NTime)
	binary.LittleEndian.PutUint32(h[72:76], n.NBits)
	return h
}

// merkleRoot is the header merkle root of the coinbase coinb1 ‖ en1 ‖ en2 ‖
// coinb2 folded through the branch.
func merkleRoot(coinb1, en1, en2, coinb2 []byte, branch [][32]byte) [32]byte {
	cb := make([]byte, 0, len(coinb1)+len(en1)+len(en2)+len(coinb2))
	cb = append(append(append(append(cb, coinb1...), en1...), en2...), coinb2...)
	h := pow.SHA256d(cb)
	for i := range branch {
		h = pow.SHA256dPair(&h, &branch[i])
	}
	return h
}

// submit mines the connection's next valid share and writes its
// mining.submit.
func (c *conn) submit() submitStatus {
	c.mu.Lock()
	if c.closed || !c.w.valid || len(c.pending) >= maxInflight {
		c.mu.Unlock()
		return submitBusy
	}
	w := &c.w
	if w.stale {
		c.fillHeaderLocked()
		w.stale = false
	}
	found := false
	for range maxTriesPerShare {
		nonce := w.nonce
		w.nonce++
		binary.LittleEndian.PutUint32(w.header[76:80], nonce)
		h := pow.SHA256d(w.header[:])
		if c.tgt.HashMeets(&h) {
			found = true
			break
		}
		if w.nonce == 0 { // nonce space spent: next extranonce2
			incrementLE(w.en2)
			c.fillHeaderLocked()
		}
	}
	if !found {
		c.mu.Unlock()
		c.sh.c.tooHard.Add(1)
		return submitTooHard
	}
	id := c.nextID
	c.nextID++
	p := stratum.SubmitParams{Worker: c.user, JobID: w.jobID, Extranonce2: w.en2, NTime: w.notify.NTime,
		Nonce: binary.LittleEndian.Uint32(w.header[76:80])}
	c.wbuf = stratum.AppendSubmit(c.wbuf[:0], id, &p)
	line := c.wbuf
	if w.nonce == 0 {
		incrementLE(w.en2)
		c.fillHeaderLocked()
	}
	sent := time.Now()
	c.pending[id] = sent
	// Writes happen only here, from one scheduler goroutine per
	// connection, so the buffer is not shared while the lock is released.
	c.mu.Unlock()
	cs := c.sh.c
	cs.inflight.Add(1)
	cs.submitted.Add(1)
	if err := c.send(line, sent); err != nil {
		c.mu.Lock()
		if _, still := c.pending[id]; still {
			delete(c.pending, id)
			cs.inflight.Add(-1)
		}
		c.mu.Unlock()
		cs.submitted.Add(^uint64(0))
		cs.unsent.Add(1)
		c.close()
		return submitWriteErr
	}
	return submitSent
}

func incrementLE(b []byte) {
	for i := range b {
		b[i]++
		if b[i] != 0 {
			return
		}
	}
}
