package gateway

import "time"

// serveConn is the goroutine transport: the connection's own goroutine
// reads and handles its input, with blocking writes (writeTimeout). TLS
// connections use it, and every connection outside Linux. It costs a
// goroutine stack and a read buffer per connection, which is why plain TCP
// on Linux is served by the pollers instead.
func (s *session) serveConn() {
	defer s.g.sessionEnded(s)
	defer s.close()
	buf := make([]byte, 2048)
	var out []byte
	k := 0 // pending input at buf[:k]
	for {
		if k == len(buf) {
			// consume ends the connection before a line outgrows
			// max_line_bytes + 2, so this stays bounded.
			grown := make([]byte, 2*len(buf))
			copy(grown, buf[:k])
			buf = grown
		}
		n, err := s.nc.Read(buf[k:])
		if n > 0 {
			s.lastRead.Store(mono())
			if !s.beginInput(&out) {
				return
			}
			used, act := s.consume(buf[:k+n], true)
			k = copy(buf, buf[used:k+n])
			closing := s.endInput()
			if act != actNext || closing {
				return
			}
			if k == 0 && len(buf) > 2048 {
				buf = make([]byte, 2048)
			}
		}
		if err != nil {
			return
		}
	}
}

// sweep closes sessions that have been silent for stratum.idle_timeout and
// those whose queued output has waited writeTimeout (the miner does not
// read), every quarter of the idle timeout (at most every second): one pass
// over the sessions instead of a timer or deadline per connection.
func (g *Gateway) sweep(stop <-chan struct{}) {
	var list []*session
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for {
		idle := g.stratum().IdleTimeout.D()
		t.Reset(min(max(idle/4, 10*time.Millisecond), time.Second))
		select {
		case <-stop:
			return
		case <-t.C:
		}
		list = g.snapshot(list[:0])
		now := mono()
		for _, s := range list {
			switch since := s.wqSince.Load(); {
			case time.Duration(now-s.lastRead.Load()) >= idle:
				g.log.Debug("idle timeout", "ip", s.ip, "session", s.tag())
				s.close()
			case since != 0 && time.Duration(now-since) >= writeTimeout:
				g.log.Warn("miner not reading for "+writeTimeout.String()+"; disconnected", "ip", s.ip, "session", s.tag())
				s.close()
			}
		}
		clear(list)
	}
}
