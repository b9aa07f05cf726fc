//go:build !linux

package gateway

import (
	"errors"
	"net"
)

// Outside Linux every connection has its own goroutine (session.serveConn);
// these stand-ins are never reached with a session.

type poller struct{}

type pollers struct{}

func startPollers(*Gateway) (*pollers, error) { return nil, nil }

func (ps *pollers) stop() {}

func (ps *pollers) attach(*session, net.Conn) error { return errors.ErrUnsupported }

func (p *poller) add(*session) {}

func (s *session) fdSendLocked([]byte) {}

func (s *session) fdHangUpLocked() {}

func (s *session) drain() {}
