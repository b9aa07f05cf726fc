//go:build linux

package gateway

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jetpool/jetpool/internal/epoll"
)

// readChunk is how much a poller reads from one connection per readiness
// event (more than a burst of requests; longer lines come in pieces).
const readChunk = 16 << 10

// Event coalescing: after a round of fewer than coalesceBelow events the
// poller naps coalesceWait before the next epoll_wait. Requests arriving
// meanwhile only join the ready list; nobody is woken per request (on a
// loopback or a busy host a wake-up costs about as much as the request),
// and the next round takes them together. It adds at most coalesceWait to
// a request's latency, small next to the share batch delay.
const (
	coalesceBelow = 32
	coalesceWait  = 500 * time.Microsecond
)

// poller serves plain TCP connections from one epoll set, level triggered:
// a connection that is readable after one read (more than readChunk
// waiting) is simply reported again by the next epoll_wait, so each
// readiness costs exactly one read (no read-until-EAGAIN), a flooding
// miner gets one read per round like everybody else, and input handed to
// a goroutine (pause) loses no wake-up. EPOLLOUT is asked for only while a
// session has output the socket did not take.
//
// Only the poller closes descriptors (release); every other goroutine
// ends a connection with shutdown(2) and lets the poller read the end of
// stream, so a descriptor number is never reused while events or table
// entries still name it.
type poller struct {
	g   *Gateway
	set *epoll.Set // its waker means stop

	mu    sync.Mutex
	conns []*session // by descriptor

	stopping atomic.Bool
	done     chan struct{}

	// Owned by the poller goroutine.
	buf []byte // read buffer: a session's pending partial line, then the read
	out []byte // a session's output while its input is handled
}

// pollers is the set of pollers of one gateway.
type pollers struct {
	list []*poller
	next atomic.Uint32
}

// startPollers starts one poller per CPU (at most 8).
func startPollers(g *Gateway) (*pollers, error) {
	n := min(max(runtime.GOMAXPROCS(0), 1), 8)
	ps := &pollers{}
	for range n {
		p, err := newPoller(g)
		if err != nil {
			ps.stop()
			return nil, err
		}
		ps.list = append(ps.list, p)
		go p.run()
	}
	return ps, nil
}

func newPoller(g *Gateway) (*poller, error) {
	set, err := epoll.New()
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return &poller{g: g, set: set, done: make(chan struct{}), buf: make([]byte, readChunk)}, nil
}

// stop ends the poller goroutines; their sessions must be gone already.
func (ps *pollers) stop() {
	if ps == nil {
		return
	}
	for _, p := range ps.list {
		p.stopping.Store(true)
		_ = p.set.Wake()
	}
	for _, p := range ps.list {
		<-p.done
		_ = p.set.Close()
	}
}

// attach moves a plain TCP connection to a poller: the session takes a
// duplicate of its descriptor (non-blocking like the original) and the
// net.Conn is closed, so the runtime's poller forgets it. On error conn is
// untouched.
func (ps *pollers) attach(s *session, conn net.Conn) error {
	if ps == nil {
		return errors.New("no poller")
	}
	fd, err := epoll.Detach(conn)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	s.fd = fd
	s.p = ps.list[int(ps.next.Add(1))%len(ps.list)]
	return nil
}

// add starts serving s (attached). On error the session is released.
func (p *poller) add(s *session) {
	p.mu.Lock()
	if s.fd >= len(p.conns) {
		grown := make([]*session, max(2*len(p.conns), s.fd+1, 1024))
		copy(grown, p.conns)
		p.conns = grown
	}
	p.conns[s.fd] = s
	p.mu.Unlock()
	s.wmu.Lock()
	ev := uint32(unix.EPOLLIN)
	if len(s.wq) > 0 {
		ev |= unix.EPOLLOUT
		s.armedOut = true
	}
	err := p.set.Add(s.fd, ev)
	s.wmu.Unlock()
	if err != nil {
		p.g.log.Error("epoll_ctl add", "err", err, "ip", s.ip)
		p.release(s)
	}
}

func (p *poller) run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	ready := make([]*session, len(events))
	for {
		n, err := p.set.Wait(events, -1)
		if err != nil {
			p.g.log.Error("epoll_wait failed; poller stopped", "err", err)
			return
		}
		p.mu.Lock()
		for i := range n {
			fd := int(events[i].Fd)
			ready[i] = nil
			if fd >= 0 && fd < len(p.conns) && !p.set.IsWaker(events[i].Fd) {
				ready[i] = p.conns[fd]
			}
		}
		p.mu.Unlock()
		for i := range n {
			s := ready[i]
			ready[i] = nil
			if p.set.Woken(&events[i]) {
				if p.stopping.Load() {
					return
				}
				continue
			}
			if s == nil {
				continue
			}
			ev := events[i].Events
			if ev&unix.EPOLLOUT != 0 {
				p.writable(s)
			}
			if ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR|unix.EPOLLRDHUP) != 0 {
				p.readable(s)
			}
		}
		if n < coalesceBelow {
			time.Sleep(coalesceWait)
		}
	}
}

// readable reads once and handles the complete lines.
func (p *poller) readable(s *session) {
	if !s.beginInput(&p.out) {
		p.release(s) // shut down by another goroutine: the end of stream is here
		return
	}
	// beginInput locked wmu: whatever a paused goroutine left in pend is
	// visible from here on.
	if need := len(s.pend) + readChunk; len(p.buf) < need {
		p.buf = make([]byte, need)
	}
	k := copy(p.buf, s.pend)
	n, err := unix.Read(s.fd, p.buf[k:])
	eof := false
	switch {
	case n > 0:
		s.lastRead.Store(mono())
	case err == nil: // n == 0: end of stream
		eof = true
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
	default:
		eof = true
	}
	n = max(n, 0)
	data := p.buf[:k+n]
	used, act := 0, actNext
	if n > 0 {
		used, act = s.consume(data, false)
	}
	if act == actBlock {
		s.pend = append([]byte(nil), data[used:]...)
	} else {
		s.pend = keep(s.pend, data[used:])
	}
	closing := s.endInput()
	if cap(p.out) > 1<<20 {
		p.out = nil
	}
	if cap(p.buf) > 4*readChunk && len(s.pend) < readChunk {
		p.buf = make([]byte, readChunk)
	}
	switch {
	case act == actBlock && !closing:
		p.pause(s)
		go s.drain()
	case eof || closing || act != actNext:
		p.release(s)
	}
}

// keep stores rest (a partial line) as the session's pending input,
// reusing old's array when it fits and holding nothing when rest is empty.
func keep(old, rest []byte) []byte {
	if len(rest) == 0 {
		return nil
	}
	if cap(old) >= len(rest) && cap(old) <= 2*len(rest)+64 {
		return append(old[:0], rest...)
	}
	return append([]byte(nil), rest...)
}

// pause takes s out of the epoll set while a goroutine handles a request
// that may block (and what followed it); resume puts it back.
func (p *poller) pause(s *session) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.paused, s.armedOut = true, false
	_ = p.set.Del(s.fd)
}

// drain handles a paused session's pending lines, allowed to block, then
// hands the session back to its poller.
func (s *session) drain() {
	used, act := s.consume(s.pend, true)
	s.pend = keep(nil, s.pend[used:])
	if act == actClose {
		s.close()
	}
	s.p.resume(s)
}

func (p *poller) resume(s *session) {
	s.wmu.Lock()
	s.paused = false
	ev := uint32(unix.EPOLLIN)
	if len(s.wq) > 0 {
		ev |= unix.EPOLLOUT
		s.armedOut = true
	}
	err := p.set.Add(s.fd, ev)
	s.wmu.Unlock()
	if err != nil {
		// Not in the set: nothing else can reach the descriptor, release here.
		p.g.log.Error("epoll_ctl add", "err", err, "ip", s.ip)
		p.release(s)
	}
}

// writable sends queued output.
func (p *poller) writable(s *session) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.fd < 0 || s.paused {
		return
	}
	if len(s.wq) > 0 && !s.hungUp {
		n, err := writeAll(s.fd, s.wq)
		s.wq = s.wq[n:]
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			s.wq = nil
			s.wqSince.Store(0)
			s.closeLocked()
			return
		}
	}
	if len(s.wq) == 0 {
		s.wq = nil
		s.wqSince.Store(0)
		if s.armedOut {
			s.armedOut = false
			_ = p.set.Mod(s.fd, unix.EPOLLIN)
		}
	}
}

// release closes the descriptor and ends the session. Only the goroutine
// that holds the session's input calls it (its poller, or the paused
// goroutine when the poller could not take the session back).
func (p *poller) release(s *session) {
	s.wmu.Lock()
	fd := s.fd
	if fd < 0 {
		s.wmu.Unlock()
		return
	}
	s.fd = -1
	s.closing.Store(true)
	s.hungUp = true
	s.wq = nil
	s.wqSince.Store(0)
	s.wmu.Unlock()
	// Explicitly: a forked child may briefly share the descriptor, and the
	// epoll registration lives as long as any copy does.
	_ = p.set.Del(fd)
	p.mu.Lock()
	p.conns[fd] = nil
	p.mu.Unlock()
	_ = unix.Close(fd)
	s.pend = nil
	p.g.sessionEnded(s)
}

// fdSendLocked writes b without blocking; what the socket does not take is
// queued (EPOLLOUT armed) up to maxQueued.
func (s *session) fdSendLocked(b []byte) {
	if s.fd < 0 {
		return
	}
	if len(s.wq) == 0 {
		n, err := writeAll(s.fd, b)
		if err == nil {
			return
		}
		if !errors.Is(err, unix.EAGAIN) {
			s.closeLocked()
			return
		}
		b = b[n:]
	}
	if len(s.wq)+len(b) > maxQueued {
		s.g.log.Warn("miner not reading; disconnected", "ip", s.ip, "session", s.tag(), "queued", len(s.wq)+len(b))
		s.wq = nil
		s.wqSince.Store(0)
		s.closeLocked()
		return
	}
	if len(s.wq) == 0 {
		s.wqSince.Store(mono())
	}
	s.wq = append(s.wq, b...)
	if !s.armedOut && !s.paused {
		s.armedOut = true
		_ = s.p.set.Mod(s.fd, unix.EPOLLIN|unix.EPOLLOUT)
	}
}

// fdHangUpLocked sends what is queued if the socket takes it, then shuts
// the socket down; the poller sees the end of stream and releases it.
func (s *session) fdHangUpLocked() {
	if s.fd < 0 {
		return
	}
	if len(s.wq) > 0 {
		_, _ = writeAll(s.fd, s.wq)
		s.wq = nil
		s.wqSince.Store(0)
	}
	_ = unix.Shutdown(s.fd, unix.SHUT_RDWR)
}

// writeAll writes b until it is all written or the socket refuses more; it
// returns how much was written and, unless all of it was, why not.
func writeAll(fd int, b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := unix.Write(fd, b[done:])
		if n > 0 {
			done += n
		}
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return done, err
		}
		if n <= 0 {
			return done, unix.EAGAIN
		}
	}
	return done, nil
}
