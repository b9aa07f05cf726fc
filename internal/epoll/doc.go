// Package epoll owns an epoll set with a waker and detaching sockets from
// net.Conn (Linux only): creating the set and its eventfd waker, adding,
// changing and removing descriptors (level triggered, the events the caller
// names), waiting with EINTR retried, waking a blocked Wait, and taking a
// socket's descriptor out of a net.Conn so that the caller, not the Go
// runtime's poller, owns it.
//
// It owns no protocol and no buffering policy: what to read, how much, when
// to nap between rounds and when to close a descriptor belong to the
// caller (stratum-gateway's pollers, internal/loadgen's readers). Only the
// caller closes the descriptors it added; Close releases the set and its
// waker, nothing else.
//
// It must import nothing of jetpool.
package epoll
