//go:build linux

package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jetpool/jetpool/internal/epoll"
)

// readChunk is how much a reader reads from one connection at a time.
const readChunk = 16 << 10

// After a round of fewer than coalesceBelow events a reader naps
// coalesceWait, so answers arriving meanwhile wake nobody and are read
// together. Submit latency figures include up to this much.
const (
	coalesceBelow = 32
	coalesceWait  = 500 * time.Microsecond
)

// readers read every connection's input from a few goroutines, each on an
// epoll set (level triggered, one read per readiness): 10,000 connections
// need no 10,000 parked goroutines, and an answer costs one read instead of
// a goroutine wake-up and two reads. The load generator then spends its
// CPU on hashing and writing submits, not on its own scheduler.
type readers struct {
	list []*reader
	next atomic.Uint32
}

type reader struct {
	set      *epoll.Set // its waker means stop
	mu       sync.Mutex
	conns    map[int]*conn
	stopping atomic.Bool
	done     chan struct{}
	buf      []byte // reader goroutine only
}

// startReaders starts n readers; nil (no error) when epoll is unavailable.
func startReaders(n int) (*readers, error) {
	rs := &readers{}
	for range max(n, 1) {
		set, err := epoll.New()
		if err != nil {
			rs.stop()
			return nil, fmt.Errorf("loadgen: %w", err)
		}
		r := &reader{set: set, conns: map[int]*conn{}, done: make(chan struct{}), buf: make([]byte, readChunk)}
		rs.list = append(rs.list, r)
		go r.run()
	}
	return rs, nil
}

// stop ends the readers and closes every descriptor still open.
func (rs *readers) stop() {
	if rs == nil {
		return
	}
	for _, r := range rs.list {
		r.stopping.Store(true)
		_ = r.set.Wake()
	}
	for _, r := range rs.list {
		<-r.done
		r.mu.Lock()
		left := make([]*conn, 0, len(r.conns))
		for _, c := range r.conns {
			left = append(left, c)
		}
		r.mu.Unlock()
		for _, c := range left {
			r.release(c, net.ErrClosed)
		}
		_ = r.set.Close()
	}
}

// attach gives c a duplicate of nc's descriptor (non-blocking) and closes
// nc; on error nc is untouched.
func (rs *readers) attach(c *conn, nc net.Conn) error {
	fd, err := epoll.Detach(nc)
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	c.fd = fd
	c.rd = rs.list[int(rs.next.Add(1))%len(rs.list)]
	return nil
}

// add starts reading c.
func (r *reader) add(c *conn) error {
	r.mu.Lock()
	r.conns[c.fd] = c
	r.mu.Unlock()
	if err := r.set.Add(c.fd, unix.EPOLLIN); err != nil {
		r.release(c, err)
		return err
	}
	return nil
}

func (r *reader) run() {
	defer close(r.done)
	events := make([]unix.EpollEvent, 256)
	ready := make([]*conn, len(events))
	for {
		n, err := r.set.Wait(events, -1)
		if err != nil {
			return
		}
		r.mu.Lock()
		for i := range n {
			ready[i] = r.conns[int(events[i].Fd)]
		}
		r.mu.Unlock()
		for i := range n {
			c := ready[i]
			ready[i] = nil
			if r.set.Woken(&events[i]) {
				if r.stopping.Load() {
					return
				}
				continue
			}
			if c != nil {
				r.readable(c)
			}
		}
		if n < coalesceBelow {
			time.Sleep(coalesceWait) // as the gateway's pollers do
		}
	}
}

func (r *reader) readable(c *conn) {
	if need := len(c.pend) + readChunk; len(r.buf) < need {
		r.buf = make([]byte, need)
	}
	k := copy(r.buf, c.pend)
	n, err := unix.Read(c.fd, r.buf[k:])
	if n <= 0 {
		switch {
		case err == nil:
			r.release(c, io.EOF)
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		default:
			r.release(c, err)
		}
		return
	}
	now := time.Now()
	data := r.buf[:k+n]
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i]
		data = data[i+1:]
		if m := len(line); m > 0 && line[m-1] == '\r' {
			line = line[:m-1]
		}
		if len(line) > 0 {
			c.onLine(line, now)
		}
	}
	if len(data) > clientMaxLine {
		r.release(c, errors.New("loadgen: line from the gateway too long"))
		return
	}
	if len(data) == 0 {
		c.pend = nil
	} else {
		c.pend = append(c.pend[:0:0], data...)
	}
}

// release closes c's descriptor (the reader owns it) and accounts for the
// end of the connection.
func (r *reader) release(c *conn, err error) {
	c.fdMu.Lock()
	if c.released {
		c.fdMu.Unlock()
		return
	}
	c.released = true
	_ = r.set.Del(c.fd)
	r.mu.Lock()
	delete(r.conns, c.fd)
	r.mu.Unlock()
	_ = unix.Close(c.fd)
	c.fdMu.Unlock()
	c.ended(err)
}

// fdWrite writes all of b to a non-blocking socket; a socket that cannot
// take a whole submit (the gateway stopped reading) is an error.
func fdWrite(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if n > 0 {
			b = b[n:]
		}
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err
		}
		if n <= 0 {
			return unix.EAGAIN
		}
	}
	return nil
}

func fdShutdown(fd int) { _ = unix.Shutdown(fd, unix.SHUT_RDWR) }
