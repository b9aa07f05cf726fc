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
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
	epfd, wake int
	mu         sync.Mutex
	conns      map[int]*conn
	stopping   atomic.Bool
	done       chan struct{}
	buf        []byte // reader goroutine only
}

// startReaders starts n readers; nil (no error) when epoll is unavailable.
func startReaders(n int) (*readers, error) {
	rs := &readers{}
	for range max(n, 1) {
		epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			rs.stop()
			return nil, fmt.Errorf("loadgen: epoll_create1: %w", err)
		}
		wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err == nil {
			err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)})
		}
		if err != nil {
			_ = unix.Close(epfd)
			rs.stop()
			return nil, fmt.Errorf("loadgen: eventfd: %w", err)
		}
		r := &reader{epfd: epfd, wake: wake, conns: map[int]*conn{}, done: make(chan struct{}), buf: make([]byte, readChunk)}
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
		one := [8]byte{1}
		_, _ = unix.Write(r.wake, one[:])
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
		_ = unix.Close(r.wake)
		_ = unix.Close(r.epfd)
	}
}

// attach gives c a duplicate of nc's descriptor (non-blocking) and closes
// nc; on error nc is untouched.
func (rs *readers) attach(c *conn, nc net.Conn) error {
	sc, ok := nc.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return fmt.Errorf("loadgen: %T has no descriptor", nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(orig uintptr) { fd, dupErr = unix.FcntlInt(orig, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return err
	}
	if dupErr != nil {
		return dupErr
	}
	_ = nc.Close()
	c.fd = fd
	c.rd = rs.list[int(rs.next.Add(1))%len(rs.list)]
	return nil
}

// add starts reading c.
func (r *reader) add(c *conn) error {
	r.mu.Lock()
	r.conns[c.fd] = c
	r.mu.Unlock()
	if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(c.fd)}); err != nil {
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
		n, err := unix.EpollWait(r.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
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
			if int(events[i].Fd) == r.wake {
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
	_ = unix.EpollCtl(r.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
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
