package miner

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/stratum"
)

// testDifficulty makes a share every ~86k hashes: many per second per
// thread, even under the race detector.
const testDifficulty = 0.00002

// waitLimit bounds how long a test waits for an event before failing; it
// is a hang guard, never a performance assertion.
const waitLimit = 60 * time.Second

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type running struct {
	m       *Miner
	cancel  context.CancelFunc
	done    chan error
	results chan ShareResult
}

// startMiner runs a miner against url until the test ends.
func startMiner(t *testing.T, cfg Config, tweak func(*Miner)) *running {
	t.Helper()
	results := make(chan ShareResult, 100000)
	if cfg.User == "" {
		cfg.User = "bcrt1qtest.worker1"
	}
	if cfg.Threads == 0 {
		cfg.Threads = 2
	}
	cfg.Logger = testLogger()
	cfg.ReconnectMin = 10 * time.Millisecond
	cfg.ReconnectMax = 50 * time.Millisecond
	cfg.OnShare = func(r ShareResult) { results <- r }
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{m: m, cancel: cancel, done: make(chan error, 1), results: results}
	go func() { r.done <- m.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the miner and waits for Run to return nil.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok && err != nil {
			t.Errorf("Run returned %v after cancel", err)
		}
		if ok {
			close(r.done)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after cancel")
	}
}

// waitShares reads the pool's verdicts until want returns true.
func waitShares(t *testing.T, p *fakePool, what string, want func(seenShare) bool) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case s := <-p.shares:
			if want(s) {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitResult returns the miner's next answered share.
func waitResult(t *testing.T, r *running) ShareResult {
	t.Helper()
	select {
	case res := <-r.results:
		return res
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting for a share result")
		return ShareResult{}
	}
}

func assertAllValid(t *testing.T, p *fakePool) {
	t.Helper()
	if bad := p.invalidShares(); len(bad) > 0 {
		t.Fatalf("%d invalid shares, first: %s", len(bad), bad[0])
	}
}

func TestMinerSubmitsValidShares(t *testing.T) {
	tests := []struct {
		name    string
		tls     bool
		rolling bool
	}{
		{"tcp", false, false},
		{"tls self-signed", true, false},
		{"version rolling", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakePool(t, testDifficulty, tc.tls)
			if tc.rolling {
				p.grantMask = 0x1fffe000
			}
			scheme := "stratum+tcp"
			if tc.tls {
				scheme = "stratum+tls"
			}
			r := startMiner(t, Config{URL: p.url(scheme), InsecureSkipVerify: tc.tls, VersionRolling: tc.rolling, SuggestDifficulty: 0.001},
				func(m *Miner) { m.nonceSpan = 1 << 16 }) // iterate extranonce2 / version bits quickly

			en2s, vbits := map[string]bool{}, map[uint32]bool{}
			accepted := 0
			waitShares(t, p, "accepted shares on several extranonce2/version values", func(s seenShare) bool {
				if !s.valid || !s.accepted {
					t.Fatalf("share not accepted: %+v", s)
				}
				accepted++
				en2s[string(s.params.Extranonce2)] = true
				vbits[s.params.VersionBits] = true
				if s.params.HasVersionBits != tc.rolling {
					t.Fatalf("HasVersionBits = %v with rolling %v", s.params.HasVersionBits, tc.rolling)
				}
				if tc.rolling {
					return accepted >= 8 && len(vbits) >= 2
				}
				return accepted >= 8 && len(en2s) >= 2
			})
			// The miner has seen the answers too, each consistent with its share.
			tgt := targetFromDifficulty(testDifficulty, diff1SHA256)
			for i := 0; i < accepted; i++ {
				res := waitResult(t, r)
				if !res.Accepted || res.Err != nil || !tgt.Meets(&res.Hash) || res.Difficulty != testDifficulty || res.HasVersionBits != tc.rolling {
					t.Fatalf("share result %+v", res)
				}
			}
			r.stop(t)
			assertAllValid(t, p)

			st := r.m.Stats()
			if st.Accepted < 8 || st.Rejected != 0 || st.Submitted < st.Accepted || st.Hashes < st.Submitted || st.Connects != 1 || st.Jobs != 1 {
				t.Fatalf("stats = %+v", st)
			}
			if st.Difficulty != testDifficulty {
				t.Fatalf("difficulty = %v", st.Difficulty)
			}
		})
	}
}

func TestCleanJobsSwitchesWork(t *testing.T) {
	p := newFakePool(t, testDifficulty, false)
	r := startMiner(t, Config{URL: p.url("stratum+tcp")}, nil)

	n := 0
	waitShares(t, p, "shares on job 1", func(s seenShare) bool { n++; return s.params.JobID == "1" && n >= 3 })

	p.broadcast(p.makeJob("2", true))
	sawJob2 := 0
	waitShares(t, p, "shares on job 2 only", func(s seenShare) bool {
		switch s.params.JobID {
		case "2":
			sawJob2++
			if !s.accepted {
				t.Fatalf("job 2 share rejected: %+v", s)
			}
		case "1":
			if sawJob2 > 0 {
				t.Fatalf("share for abandoned job 1 after a job 2 share: %+v", s)
			}
		}
		return sawJob2 >= 5
	})

	// A job without clean_jobs is picked up as well.
	p.broadcast(p.makeJob("3", false))
	waitShares(t, p, "shares on job 3", func(s seenShare) bool { return s.params.JobID == "3" })
	r.stop(t)
	assertAllValid(t, p)
	if st := r.m.Stats(); st.Jobs != 3 {
		t.Fatalf("jobs = %d, want 3", st.Jobs)
	}
}

func TestRejectedShareCounted(t *testing.T) {
	p := newFakePool(t, testDifficulty, false)
	p.rejectNext = 2
	r := startMiner(t, Config{URL: p.url("stratum+tcp")}, nil)

	rejected, accepted := 0, 0
	for rejected < 2 || accepted < 1 {
		res := waitResult(t, r)
		if res.Accepted {
			accepted++
			continue
		}
		rejected++
		if !errors.Is(res.Err, stratum.ErrLowDifficulty) {
			t.Fatalf("rejection error = %v, want code 23", res.Err)
		}
	}
	r.stop(t)
	st := r.m.Stats()
	if st.Rejected != 2 || st.Accepted < 1 || !strings.Contains(st.LastError, "Low difficulty share") {
		t.Fatalf("stats = %+v", st)
	}
}

func TestReconnectAfterServerClose(t *testing.T) {
	p := newFakePool(t, testDifficulty, false)
	r := startMiner(t, Config{URL: p.url("stratum+tcp")}, nil)

	waitShares(t, p, "a share on the first connection", func(s seenShare) bool { return s.conn == 1 && s.accepted })
	p.closeConns()
	waitShares(t, p, "a share on a new connection", func(s seenShare) bool { return s.conn >= 2 && s.accepted })
	r.stop(t)
	assertAllValid(t, p)
	st := r.m.Stats()
	if st.Connects < 2 || st.LastConnError == "" {
		t.Fatalf("stats = %+v", st)
	}
}

// A pool that hangs up mid-handshake is retried at once, not after the
// handshake timeout.
func TestHangUpDuringHandshake(t *testing.T) {
	p := newFakePool(t, testDifficulty, false)
	p.hangUp = stratum.MethodAuthorize
	r := startMiner(t, Config{URL: p.url("stratum+tcp"), Timeout: time.Hour}, nil)
	deadline := time.Now().Add(waitLimit)
	for p.connections() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("miner did not retry after the pool hung up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.stop(t)
	if st := r.m.Stats(); st.Connects != 0 || !strings.Contains(st.LastConnError, "closed by the pool") {
		t.Fatalf("stats = %+v", st)
	}
}

func TestClientReconnect(t *testing.T) {
	p1 := newFakePool(t, testDifficulty, false)
	p2 := newFakePool(t, testDifficulty, false)
	r := startMiner(t, Config{URL: p1.url("stratum+tcp")}, nil)

	waitShares(t, p1, "a share on pool 1", func(s seenShare) bool { return s.accepted })
	p1.eachConn(func(c *poolConn) {
		c.write(stratum.AppendReconnect(nil, stratum.Reconnect{Host: "127.0.0.1", Port: p2.port, WaitSeconds: 0}))
		c.c.Close() // as pools do right after client.reconnect
	})
	waitShares(t, p2, "a share on pool 2", func(s seenShare) bool { return s.accepted })
	r.stop(t)
	assertAllValid(t, p1)
	assertAllValid(t, p2)
}

func TestSetExtranonce(t *testing.T) {
	p := newFakePool(t, testDifficulty, false)
	r := startMiner(t, Config{URL: p.url("stratum+tcp")}, nil)

	waitShares(t, p, "a share", func(s seenShare) bool { return s.accepted })
	newEn1 := []byte{0xca, 0xfe, 0x00, 0x01, 0x02}
	p.eachConn(func(c *poolConn) {
		c.mu.Lock()
		c.en1, c.size = newEn1, 3
		c.mu.Unlock()
		c.write(stratum.AppendSetExtranonce(nil, newEn1, 3))
	})
	p.broadcast(p.makeJob("2", true))
	// The pool verifies job-2 shares with the new extranonce1 and size.
	waitShares(t, p, "accepted shares with the new extranonce", func(s seenShare) bool {
		return s.params.JobID == "2" && s.accepted && len(s.params.Extranonce2) == 3
	})
	r.stop(t)
	assertAllValid(t, p)
}

// mining.set_version_mask applies at once: shares use bits only the new
// mask allows (bit 28 would take 2^31 hashes per thread to reach by
// rolling under the old mask).
func TestSetVersionMask(t *testing.T) {
	p := newFakePool(t, testDifficulty, false)
	p.grantMask = 0x1fffe000
	r := startMiner(t, Config{URL: p.url("stratum+tcp"), VersionRolling: true}, func(m *Miner) { m.nonceSpan = 1 << 14 })

	waitShares(t, p, "a rolled share", func(s seenShare) bool { return s.accepted && s.params.HasVersionBits })
	const newMask = 0x10002000
	p.eachConn(func(c *poolConn) {
		c.mu.Lock()
		c.mask |= newMask // tolerate shares already in flight
		c.mu.Unlock()
		c.write(stratum.AppendSetVersionMask(nil, newMask))
	})
	waitShares(t, p, "a share with bit 28 rolled", func(s seenShare) bool {
		return s.accepted && s.params.VersionBits&0x10000000 != 0
	})
	r.stop(t)
	assertAllValid(t, p)
}

// Requests from the pool get answers: client.get_version with the user
// agent, unknown methods with -32601.
func TestAnswersPoolRequests(t *testing.T) {
	p := newFakePool(t, testDifficulty, false)
	r := startMiner(t, Config{URL: p.url("stratum+tcp"), UserAgent: "jetpool-test/é"}, nil)
	waitShares(t, p, "a share", func(s seenShare) bool { return s.accepted })
	p.eachConn(func(c *poolConn) {
		c.write([]byte(`{"id":77,"method":"client.get_version","params":[]}` + "\n"))
		c.write([]byte(`{"id":78,"method":"mining.ping","params":[]}` + "\n"))
		c.write([]byte(`{"id":null,"method":"client.show_message","params":["hello"]}` + "\n"))
		c.write([]byte(`{"id":null,"method":"mining.notify","params":["bad"]}` + "\n"))
	})
	got := map[string]stratum.Message{}
	for len(got) < 2 {
		select {
		case m := <-p.responses:
			got[string(m.ID)] = m
		case <-time.After(waitLimit):
			t.Fatalf("answers received: %v", got)
		}
	}
	var ua string
	if v := got["77"]; v.Error != nil || json.Unmarshal(v.Result, &ua) != nil || ua != "jetpool-test/é" {
		t.Errorf("get_version answer = %s %v", v.Result, v.Error)
	}
	if v := got["78"]; v.Error == nil || v.Error.Code != stratum.CodeMethodNotFound {
		t.Errorf("unknown method answer = %s %v", v.Result, v.Error)
	}
	// The bad notify was ignored: mining goes on with the same job.
	waitShares(t, p, "a share after the bad notify", func(s seenShare) bool { return s.accepted && s.params.JobID == "1" })
	r.stop(t)
	if st := r.m.Stats(); st.Jobs != 1 {
		t.Fatalf("jobs = %d, want 1", st.Jobs)
	}
}

func TestAuthorizeRejected(t *testing.T) {
	p := newFakePool(t, testDifficulty, false)
	p.authFail = true
	err := Run(context.Background(), Config{URL: p.url("stratum+tcp"), User: "nobody", Threads: 1, Logger: testLogger()})
	if !errors.Is(err, ErrUnauthorized) || !errors.Is(err, stratum.ErrUnauthorized) {
		t.Fatalf("Run = %v, want ErrUnauthorized with the pool's code 24", err)
	}
}

// minerGoroutines lists live goroutines running this package's session
// or Run code.
func minerGoroutines() []string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "internal/miner.(*session)") || strings.Contains(g, "internal/miner.(*Miner).Run") {
			out = append(out, g)
		}
	}
	return out
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Run("while mining", func(t *testing.T) {
		p := newFakePool(t, testDifficulty, false)
		r := startMiner(t, Config{URL: p.url("stratum+tcp"), Threads: 3}, nil)
		waitShares(t, p, "a share", func(s seenShare) bool { return s.accepted })
		r.stop(t)
		if g := minerGoroutines(); len(g) > 0 {
			t.Fatalf("%d goroutines left after Run returned:\n%s", len(g), g[0])
		}
		// No worker hashes any more.
		h := r.m.Stats().Hashes
		runtime.Gosched()
		if r.m.Stats().Hashes != h || r.m.Stats().Connected {
			t.Fatal("miner still active after Run returned")
		}
	})
	t.Run("while reconnecting", func(t *testing.T) {
		p := newFakePool(t, testDifficulty, false)
		url := p.url("stratum+tcp")
		p.close() // nothing listens any more
		r := startMiner(t, Config{URL: url}, nil)
		deadline := time.Now().Add(waitLimit)
		for r.m.Stats().LastConnError == "" && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		r.stop(t)
		if st := r.m.Stats(); st.LastConnError == "" || st.Connects != 0 {
			t.Fatalf("stats = %+v", st)
		}
		if g := minerGoroutines(); len(g) > 0 {
			t.Fatalf("%d goroutines left after Run returned:\n%s", len(g), g[0])
		}
	})
	t.Run("second Run", func(t *testing.T) {
		m, err := New(Config{URL: "stratum+tcp://127.0.0.1:1", User: "u"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := m.Run(ctx); err != nil {
			t.Fatalf("first Run with cancelled ctx = %v", err)
		}
		if err := m.Run(ctx); err == nil {
			t.Fatal("second Run accepted")
		}
	})
}
