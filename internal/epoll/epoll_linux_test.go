//go:build linux

package epoll

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accepted{c, err}
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	a := <-ch
	if a.err != nil {
		t.Fatal(a.err)
	}
	return client, a.c
}

func newSet(t *testing.T) *Set {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDetachedSocketReadable(t *testing.T) {
	s := newSet(t)
	defer s.Close()
	client, server := tcpPair(t)

	fd, err := Detach(server)
	if err != nil {
		t.Fatalf("Detach: %v", err)
	}
	defer unix.Close(fd)
	if _, err := server.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write on the detached net.Conn: err %v, want net.ErrClosed", err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Fatalf("detached descriptor flags %#x (err %v): not non-blocking", fl, err)
	}
	fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || fdfl&unix.FD_CLOEXEC == 0 {
		t.Fatalf("detached descriptor fd flags %#x (err %v): not close-on-exec", fdfl, err)
	}

	// Nothing written yet: a non-blocking read says EAGAIN, Wait(0) finds nothing.
	buf := make([]byte, 64)
	if _, err := unix.Read(fd, buf); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("read before any input: err %v, want EAGAIN", err)
	}
	if err := s.Add(fd, unix.EPOLLIN); err != nil {
		t.Fatalf("Add: %v", err)
	}
	events := make([]unix.EpollEvent, 8)
	if n, err := s.Wait(events, 0); err != nil || n != 0 {
		t.Fatalf("Wait before input = %d, %v; want 0, nil", n, err)
	}

	if _, err := client.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	n, err := s.Wait(events, -1)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if n != 1 || int(events[0].Fd) != fd || events[0].Events&unix.EPOLLIN == 0 {
		t.Fatalf("Wait = %d events, first %+v; want fd %d readable", n, events[0], fd)
	}
	if s.Woken(&events[0]) {
		t.Fatal("a socket's event taken for the waker's")
	}

	// Level triggered: still readable until read.
	if n, err := s.Wait(events, 0); err != nil || n != 1 || int(events[0].Fd) != fd {
		t.Fatalf("second Wait = %d, %v; want the socket again (level triggered)", n, err)
	}
	k, err := unix.Read(fd, buf)
	if err != nil || string(buf[:k]) != "hello\n" {
		t.Fatalf("read %q, %v; want %q", buf[:max(k, 0)], err, "hello\n")
	}
	if _, err := unix.Read(fd, buf); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("read after draining: err %v, want EAGAIN", err)
	}
	if n, err := s.Wait(events, 0); err != nil || n != 0 {
		t.Fatalf("Wait after draining = %d, %v; want 0, nil", n, err)
	}

	// Mod to EPOLLOUT: an idle socket is writable.
	if err := s.Mod(fd, unix.EPOLLIN|unix.EPOLLOUT); err != nil {
		t.Fatalf("Mod: %v", err)
	}
	if n, err := s.Wait(events, 0); err != nil || n != 1 || events[0].Events&unix.EPOLLOUT == 0 {
		t.Fatalf("Wait after Mod(EPOLLOUT) = %d, %v, %+v; want writable", n, err, events[0])
	}

	// Del: input no longer reported; the descriptor stays open.
	if err := s.Del(fd); err != nil {
		t.Fatalf("Del: %v", err)
	}
	if _, err := client.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Wait(events, 0); err != nil || n != 0 {
		t.Fatalf("Wait after Del = %d, %v; want 0, nil", n, err)
	}
	if k, err := unix.Read(fd, buf); err != nil || string(buf[:k]) != "more" {
		t.Fatalf("read after Del %q, %v; want %q", buf[:max(k, 0)], err, "more")
	}

	// The peer's close reaches the descriptor as end of stream.
	if err := s.Add(fd, unix.EPOLLIN); err != nil {
		t.Fatalf("Add again: %v", err)
	}
	client.Close()
	if n, err := s.Wait(events, -1); err != nil || n != 1 || int(events[0].Fd) != fd {
		t.Fatalf("Wait after peer close = %d, %v", n, err)
	}
	if k, err := unix.Read(fd, buf); k != 0 || err != nil {
		t.Fatalf("read after peer close = %d, %v; want 0, nil (end of stream)", k, err)
	}
}

func TestWakeInterruptsWait(t *testing.T) {
	s := newSet(t)
	defer s.Close()
	type result struct {
		n     int
		err   error
		woken bool
	}
	ch := make(chan result, 1)
	go func() {
		events := make([]unix.EpollEvent, 4)
		n, err := s.Wait(events, -1) // nothing but the waker can end it
		r := result{n: n, err: err}
		if n == 1 {
			r.woken = s.Woken(&events[0])
		}
		ch <- r
	}()
	if err := s.Wake(); err != nil {
		t.Fatalf("Wake: %v", err)
	}
	r := <-ch
	if r.err != nil || r.n != 1 || !r.woken {
		t.Fatalf("Wait after Wake = %+v; want 1 event, the waker's", r)
	}
	// Woken reset the waker: it is not reported again.
	events := make([]unix.EpollEvent, 4)
	if n, err := s.Wait(events, 0); err != nil || n != 0 {
		t.Fatalf("Wait after Woken = %d, %v; want 0, nil", n, err)
	}
	// Wake-ups before the wait count once.
	_ = s.Wake()
	_ = s.Wake()
	if n, err := s.Wait(events, -1); err != nil || n != 1 || !s.IsWaker(events[0].Fd) {
		t.Fatalf("Wait after two Wakes = %d, %v", n, err)
	}
}

func TestCloseReleases(t *testing.T) {
	s := newSet(t)
	_, server := tcpPair(t)
	fd, err := Detach(server)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := s.Add(fd, unix.EPOLLIN); err != nil {
		t.Fatal(err)
	}
	epfd, wake := s.epfd, s.wake
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, d := range map[string]int{"epoll": epfd, "waker": wake} {
		if _, err := unix.FcntlInt(uintptr(d), unix.F_GETFD, 0); !errors.Is(err, unix.EBADF) {
			t.Errorf("%s descriptor after Close: err %v, want EBADF", name, err)
		}
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		t.Errorf("added socket closed by Close (%v): it is the caller's", err)
	}
}

// plainConn is a net.Conn without SyscallConn.
type plainConn struct{ net.Conn }

// brokenRaw has a SyscallConn that fails.
type brokenRaw struct{ net.Conn }

var errRaw = errors.New("no raw conn")

func (brokenRaw) SyscallConn() (syscall.RawConn, error) { return nil, errRaw }

func TestDetachErrors(t *testing.T) {
	pipeA, pipeB := net.Pipe()
	defer pipeA.Close()
	defer pipeB.Close()
	_, closedServer := tcpPair(t)
	closedServer.Close()

	tests := []struct {
		name string
		conn func(t *testing.T) net.Conn
		want error
	}{
		{"net.Pipe has no descriptor", func(*testing.T) net.Conn { return pipeA }, ErrNoDescriptor},
		{"wrapper hides SyscallConn", func(t *testing.T) net.Conn {
			_, s := tcpPair(t)
			t.Cleanup(func() { s.Close() })
			return plainConn{s}
		}, ErrNoDescriptor},
		{"SyscallConn fails", func(t *testing.T) net.Conn {
			_, s := tcpPair(t)
			t.Cleanup(func() { s.Close() })
			return brokenRaw{s}
		}, errRaw},
		{"already closed", func(*testing.T) net.Conn { return closedServer }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.conn(t)
			fd, err := Detach(c)
			if err == nil {
				unix.Close(fd)
				t.Fatalf("Detach(%T) = %d, nil; want an error", c, fd)
			}
			if fd != -1 {
				t.Errorf("Detach error with fd %d, want -1", fd)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Detach error %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				var se *os.SyscallError
				if errors.Is(err, ErrNoDescriptor) || errors.As(err, &se) {
					t.Errorf("Detach of a closed conn: %v, want the runtime's error", err)
				}
			}
			// On error the conn is untouched: still usable where it was.
			if tc.want == errRaw || (tc.want == ErrNoDescriptor && c != pipeA) {
				if err := c.SetDeadline(time.Time{}); err != nil {
					t.Errorf("conn closed by a failed Detach: %v", err)
				}
			}
		})
	}
	// The pipe, whose Detach failed, still carries data.
	go func() { _, _ = pipeA.Write([]byte("ok")) }()
	b := make([]byte, 2)
	if _, err := io.ReadFull(pipeB, b); err != nil || string(b) != "ok" {
		t.Fatalf("pipe after failed Detach: %q, %v", b, err)
	}
}

func TestOperationsOnBadDescriptor(t *testing.T) {
	s := newSet(t)
	defer s.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	notAdded := int(r.Fd())
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"Mod of a descriptor not in the set", func() error { return s.Mod(notAdded, unix.EPOLLIN) }, unix.ENOENT},
		{"Del of a descriptor not in the set", func() error { return s.Del(notAdded) }, unix.ENOENT},
		{"Add of a closed descriptor", func() error { return s.Add(1<<20, unix.EPOLLIN) }, unix.EBADF},
		{"Add twice", func() error {
			if err := s.Add(notAdded, unix.EPOLLIN); err != nil {
				return err
			}
			defer s.Del(notAdded)
			return s.Add(notAdded, unix.EPOLLIN)
		}, unix.EEXIST},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			var se *os.SyscallError
			if !errors.As(err, &se) || se.Syscall != "epoll_ctl" {
				t.Fatalf("err %v: want an *os.SyscallError for epoll_ctl", err)
			}
		})
	}
}
