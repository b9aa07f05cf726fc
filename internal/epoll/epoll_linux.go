//go:build linux

package epoll

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNoDescriptor is returned by Detach for a net.Conn that has no
// SyscallConn (it is not backed by a socket descriptor).
var ErrNoDescriptor = errors.New("epoll: connection has no descriptor")

// Set is an epoll instance with an eventfd waker registered for EPOLLIN.
// Its methods may be called from any goroutine; Close only once, after the
// goroutine that waits is done.
type Set struct {
	epfd int
	wake int
}

// New creates an epoll set (close-on-exec) and its non-blocking waker. An
// error is an *os.SyscallError naming the call that failed (epoll_create1,
// eventfd or epoll_ctl); nothing is left open then.
func New() (*Set, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		_ = unix.Close(wake)
		_ = unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &Set{epfd: epfd, wake: wake}, nil
}

// Add registers fd for events (level triggered: no EPOLLET unless the
// caller asks); the events Wait reports carry fd in their Fd field.
func (s *Set) Add(fd int, events uint32) error {
	return s.ctl(unix.EPOLL_CTL_ADD, fd, events)
}

// Mod changes the events fd is registered for.
func (s *Set) Mod(fd int, events uint32) error {
	return s.ctl(unix.EPOLL_CTL_MOD, fd, events)
}

// Del removes fd from the set. It does not close fd.
func (s *Set) Del(fd int) error {
	if err := unix.EpollCtl(s.epfd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

func (s *Set) ctl(op, fd int, events uint32) error {
	if err := unix.EpollCtl(s.epfd, op, fd, &unix.EpollEvent{Events: events, Fd: int32(fd)}); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Wait fills events with ready descriptors and returns how many; msec is
// epoll_wait's timeout (-1: until something is ready or Wake). An
// interrupted wait (EINTR) is retried; any other error is an
// *os.SyscallError and the set is of no further use. The waker's event is
// among the results after Wake: tell it apart with Woken.
func (s *Set) Wait(events []unix.EpollEvent, msec int) (int, error) {
	for {
		n, err := unix.EpollWait(s.epfd, events, msec)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, unix.EINTR) {
			return 0, os.NewSyscallError("epoll_wait", err)
		}
	}
}

// Wake makes a blocked (or the next) Wait return with the waker's event.
// Wake-ups before the waiter sees them count once.
func (s *Set) Wake() error {
	one := [8]byte{1}
	if _, err := unix.Write(s.wake, one[:]); err != nil {
		return os.NewSyscallError("write", err)
	}
	return nil
}

// IsWaker reports whether fd is the set's waker (a Wait result's Fd).
func (s *Set) IsWaker(fd int32) bool { return int(fd) == s.wake }

// Woken reports whether ev is the waker's event and, if so, resets the
// waker so that (level triggered) the next Wait does not report it again.
func (s *Set) Woken(ev *unix.EpollEvent) bool {
	if !s.IsWaker(ev.Fd) {
		return false
	}
	var b [8]byte
	_, _ = unix.Read(s.wake, b[:])
	return true
}

// Close closes the waker and the epoll descriptor. Descriptors still in
// the set stay open: they are the caller's.
func (s *Set) Close() error {
	return errors.Join(closeFd("close waker", s.wake), closeFd("close epoll", s.epfd))
}

func closeFd(what string, fd int) error {
	if err := unix.Close(fd); err != nil {
		return os.NewSyscallError(what, err)
	}
	return nil
}

// Detach takes conn's socket out of the Go runtime: it duplicates the
// descriptor (close-on-exec), makes sure the duplicate is non-blocking, and
// closes conn, so the runtime's poller forgets it and the caller owns the
// returned descriptor (and must close it). On error conn is untouched:
// ErrNoDescriptor when conn has no SyscallConn, SyscallConn's or Control's
// error as is, or an *os.SyscallError ("dup" or "setnonblock").
func Detach(conn net.Conn) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("%w (%T)", ErrNoDescriptor, conn)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(orig uintptr) {
		fd, dupErr = unix.FcntlInt(orig, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err // f did not run: nothing was duplicated
	}
	if dupErr != nil {
		return -1, os.NewSyscallError("dup", dupErr)
	}
	// The duplicate shares the file status flags of the runtime's (already
	// non-blocking) descriptor; setting them again covers a conn built on a
	// blocking one.
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, os.NewSyscallError("setnonblock", err)
	}
	_ = conn.Close()
	return fd, nil
}
