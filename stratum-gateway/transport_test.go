package gateway_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/stratum"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
)

// TestPipelinedRequestsAnsweredInOrder: requests sent in one write are
// answered in order, also when one of them (an authorize that restores the
// difficulty from KV) is handed off the poller to wait on the network.
func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "j1"})
	g.waitJob(t)
	c := dial(t, g.tcp())
	user := regtestAddr(t, 40) + ".pipe"
	c.send(strings.Join([]string{
		`{"id":1,"method":"mining.subscribe","params":["pipe/1"]}`,
		`{"id":2,"method":"mining.authorize","params":["` + user + `","x"]}`,
		`{"id":3,"method":"mining.extranonce.subscribe","params":[]}`,
		`{"id":4,"method":"mining.authorize","params":["` + user + `2","x"]}`,
		`{"id":5,"method":"mining.extranonce.subscribe","params":[]}`,
	}, "\n"))
	var order []string
	for len(order) < 5 {
		l, ok := c.next()
		if !ok {
			t.Fatalf("connection closed: %v", c.rerr)
		}
		if l.msg.IsResponse() {
			if l.msg.Error != nil {
				t.Fatalf("response %s: %v", l.msg.ID, l.msg.Error)
			}
			order = append(order, string(l.msg.ID))
			if string(l.msg.ID) == "1" {
				r, err := stratum.ParseSubscribeResult(l.msg.Result)
				if err != nil {
					t.Fatal(err)
				}
				c.en1, c.en2Size = r.Extranonce1, r.Extranonce2Size
			}
		}
	}
	if got := strings.Join(order, ","); got != "1,2,3,4,5" {
		t.Fatalf("responses in order %s, want 1,2,3,4,5", got)
	}
	// set_difficulty came before the first notify, and the second worker
	// mines on the same connection.
	if m := c.methods(); len(m) < 2 || m[0] != stratum.MethodSetDifficulty || m[1] != stratum.MethodNotify {
		t.Fatalf("notifications %v, want set_difficulty then notify first", m)
	}
	c.user = user
	wantTrue(t, c.submit(c.valid()))
	c.user = user + "2"
	wantTrue(t, c.submit(c.valid()))
}

// TestRequestInPieces: a request arriving in several TCP segments is
// handled once its line is complete; a line that reaches the limit
// without an end is refused before it is complete.
func TestRequestInPieces(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(func(o *gateway.Options) { o.Stratum.MaxLineBytes = 1024 })
	c := dial(t, g.tcp())
	req := `{"id":9,"method":"mining.subscribe","params":["pieces/1"]}` + "\r\n"
	for _, piece := range []string{req[:1], req[1:10], req[10 : len(req)-1], req[len(req)-1:]} {
		if _, err := io.WriteString(c.conn, piece); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // separate segments, read separately
	}
	if m := c.response(9); m.Error != nil {
		t.Fatalf("subscribe in pieces: %v", m.Error)
	}

	c2 := dial(t, g.tcp())
	if _, err := io.WriteString(c2.conn, `{"id":1,"method":"mining.subscribe","params":["`+strings.Repeat("x", 1100)); err != nil {
		t.Fatal(err)
	}
	got := c2.closed()
	if len(got) != 1 || got[0].msg.Error == nil || got[0].msg.Error.Code != stratum.CodeInvalidRequest ||
		!strings.Contains(got[0].msg.Error.Message, "longer than 1024 bytes") {
		t.Fatalf("want the line-too-long error and a disconnect for an unterminated long line, got %v", got)
	}
}

// TestMinerNotReadingIsDisconnected: a miner that sends requests but never
// reads the answers cannot make the gateway buffer without bound: once its
// socket is full and the gateway's queue for it passes its limit, it is
// disconnected; other miners are served throughout.
func TestMinerNotReadingIsDisconnected(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(func(o *gateway.Options) {
		o.Stratum.MaxMessagesPerSecond, o.Stratum.MessageBurst = 1e9, 1<<30
	})
	other := dial(t, g.tcp())
	other.subscribe()

	conn, err := net.DialTimeout("tcp", g.tcp(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096) // fill up sooner
	}
	// About 50 bytes of answer per request: 400,000 requests are ~20 MB of
	// output, far more than loopback socket buffers hold.
	line := []byte(`{"id":1,"method":"mining.get_transactions","params":[]}` + "\n")
	chunk := []byte(strings.Repeat(string(line), 1000))
	writeErr := make(chan error, 1)
	go func() {
		for range 400 {
			if _, err := conn.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()
	waitFor(t, "the miner that does not read to be dropped", func() bool { return g.SessionCount() == 1 })
	other.sync()
	// Its writes fail or end, and reading ends in a close, not a hang.
	select {
	case <-writeErr:
	case <-time.After(wait):
		t.Fatal("writer still blocked after the disconnect")
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	_, err = io.Copy(io.Discard, bufio.NewReader(conn))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("connection still open after the disconnect")
	}
}
