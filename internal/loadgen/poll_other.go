//go:build !linux

package loadgen

import (
	"errors"
	"net"
)

// Outside Linux each connection reads on its own goroutine (conn.readLoop).

type readers struct{}

type reader struct{}

func startReaders(int) (*readers, error) { return nil, nil }

func (rs *readers) stop() {}

func (rs *readers) attach(*conn, net.Conn) error { return errors.ErrUnsupported }

func (r *reader) add(*conn) error { return errors.ErrUnsupported }

func fdWrite(int, []byte) error { return errors.ErrUnsupported }

func fdShutdown(int) {}

func (r *reader) release(*conn, error) {}
