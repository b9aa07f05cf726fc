package gateway_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/stratum"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
	"github.com/jetpool/jetpool/streams"
)

// TestValidShareIsStoredBeforeTrue checks the gateway's core promise: a
// miner hears true only once its share's batch is in the SHARES stream. The
// batch delay is long, so an early answer would find the stream empty.
func TestValidShareIsStoredBeforeTrue(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(func(o *gateway.Options) { o.Stratum.ShareBatchDelay = config.Duration(300 * time.Millisecond) })
	job := p.publishJob(jobSpec{id: "j1", txs: 3, height: 321})
	addr := regtestAddr(t, 3)
	c := dial(t, g.tcp())
	c.handshake(addr + ".rig1")
	if n := c.jobs["j1"]; len(n.MerkleBranch) != 2 {
		t.Fatalf("merkle branch of %d for 3 transactions, want 2", len(n.MerkleBranch))
	}
	w := c.valid()
	// The miner's header (built from mining.notify) is the job's header.
	var want [80]byte
	if err := job.Header(&want, c.en1, w.en2, w.ntime, w.nonce, w.version); err != nil || want != w.header {
		t.Fatalf("header from notify differs from the job's header (err %v)", err)
	}
	wantTrue(t, c.submit(w))
	got := p.shares() // read the moment true arrived
	if len(got) != 1 {
		t.Fatalf("SHARES holds %d shares when true arrived, want 1", len(got))
	}
	s := got[0]
	if !s.Accepted || s.Reason != "" || s.Address != addr || s.Worker != "rig1" || s.Difficulty != baseDiff ||
		s.Height != 321 || s.JobID != "j1" || s.NetworkDifficulty != 1 || s.Block || s.Solo {
		t.Fatalf("stored share %+v", s)
	}
	if s.ActualDifficulty < s.Difficulty {
		t.Fatalf("actual difficulty %v below the credited %v", s.ActualDifficulty, s.Difficulty)
	}
	if age := time.Since(time.UnixMilli(s.TimeMs)); age < 0 || age > time.Minute {
		t.Fatalf("share time %d is not now", s.TimeMs)
	}

	// Shares sent together are batched: fewer messages than shares.
	before := len(p.streamMsgs("SHARES", ""))
	var ids []int
	for range 20 {
		ids = append(ids, c.request(stratum.MethodSubmit, c.valid().params(c.user)...))
	}
	for _, id := range ids {
		wantTrue(t, c.response(id))
	}
	batches := len(p.streamMsgs("SHARES", "")) - before
	if all := len(p.shares()); all != 21 || batches < 1 || batches >= 20 {
		t.Fatalf("%d shares in %d batches, want 21 shares with 20 of them in fewer than 20 batches", all, batches)
	}
}

// TestShareErrors drives every rejection path and checks its Stratum code
// and that the rejection is recorded in SHARES with its reason.
func TestShareErrors(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "j1", txs: 1})
	g.waitJob(t)
	user := regtestAddr(t, 4) + ".w"
	stranger := regtestAddr(t, 5) + ".x"

	// miner returns a fresh, working session.
	miner := func(t *testing.T) *client {
		c := dial(t, g.tcp())
		c.handshake(user)
		return c
	}
	type rejectCase struct {
		name   string
		setup  func(t *testing.T, c *client) // optional, before the share is made
		share  func(c *client) *work
		code   stratum.Code
		msg    string
		reason string // recorded reason; "" = not recorded (no worker)
	}
	for _, tc := range []rejectCase{
		{name: "unknown job", share: func(c *client) *work { w := c.valid(); w.job = "nope"; return w },
			code: stratum.CodeJobNotFound, msg: "job not found", reason: "job-not-found"},
		{name: "extranonce2 too short", share: func(c *client) *work { w := c.valid(); w.en2Override = w.en2[:4]; return w },
			code: stratum.CodeOther, msg: fmt.Sprintf("extranonce2 must be %d bytes", en2Size), reason: "bad-extranonce2"},
		{name: "extranonce2 too long", share: func(c *client) *work { w := c.valid(); w.en2Override = append(w.en2, 0); return w },
			code: stratum.CodeOther, msg: "extranonce2 must be", reason: "bad-extranonce2"},
		{name: "ntime before mintime", share: func(c *client) *work { return c.mineAt("", minTime-1, 0, meets(c.diff)) },
			code: stratum.CodeOther, msg: "ntime out of range", reason: "bad-ntime"},
		{name: "ntime after maxtime", share: func(c *client) *work { return c.mineAt("", maxTime+1, 0, meets(c.diff)) },
			code: stratum.CodeOther, msg: "ntime out of range", reason: "bad-ntime"},
		{name: "version bits without negotiation", share: func(c *client) *work {
			w := c.mine("", jobVersion|0x2000, meets(c.diff))
			w.sendBits, w.bits = true, 0x2000
			return w
		}, code: stratum.CodeOther, msg: "not negotiated", reason: "bad-version"},
		{name: "version bits outside the mask", setup: func(t *testing.T, c *client) {
			c.configureRolling(t, "ffffffff", 0x1fffe000)
		}, share: func(c *client) *work {
			w := c.mine("", jobVersion|0x1000, meets(c.diff))
			w.sendBits, w.bits = true, 0x1000
			return w
		}, code: stratum.CodeOther, msg: "outside the negotiated mask 1fffe000", reason: "bad-version"},
		{name: "low difficulty", share: func(c *client) *work { return c.mine("", 0, not(meets(c.diff))) },
			code: stratum.CodeLowDifficulty, msg: "low difficulty share", reason: "low-difficulty"},
		{name: "unknown worker", share: func(c *client) *work { w := c.valid(); w.worker = stranger; return w },
			code: stratum.CodeUnauthorized, msg: "unauthorized worker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := miner(t)
			if tc.setup != nil {
				tc.setup(t, c)
			}
			before := len(p.shares())
			wantError(t, c.submit(tc.share(c)), tc.code, tc.msg)
			// The session lives on: a good share is still accepted.
			wantTrue(t, c.submit(c.valid()))
			got := p.shares()[before:]
			var reasons []string
			for _, s := range got {
				if !s.Accepted {
					reasons = append(reasons, s.Reason)
				}
			}
			want := []string{}
			if tc.reason != "" {
				want = []string{tc.reason}
			}
			if !slices.Equal(reasons, want) && !(len(reasons) == 0 && len(want) == 0) {
				t.Fatalf("recorded rejections %q, want %q", reasons, want)
			}
		})
	}

	accepted := []struct {
		name  string
		share func(c *client) *work
	}{
		{"ntime at mintime", func(c *client) *work { return c.mineAt("", minTime, 0, meets(c.diff)) }},
		{"ntime at maxtime", func(c *client) *work { return c.mineAt("", maxTime, 0, meets(c.diff)) }},
		{"zero version bits without negotiation", func(c *client) *work {
			w := c.valid()
			w.sendBits, w.bits = true, 0
			return w
		}},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			c := miner(t)
			wantTrue(t, c.submit(tc.share(c)))
		})
	}

	t.Run("duplicate", func(t *testing.T) {
		c := miner(t)
		c.configureRolling(t, "1fffe000", 0x1fffe000)
		// A nonce that is a share with and without rolled version bits.
		n := c.jobs[c.last]
		ok := meets(c.diff)
		w := &work{job: c.last, en2: c.nextEn2(), ntime: n.NTime}
		for ; ; w.nonce++ {
			h1 := header(&n, c.en1, w.en2, w.ntime, w.nonce, jobVersion)
			h2 := header(&n, c.en1, w.en2, w.ntime, w.nonce, jobVersion|0x2000)
			if a, b := pow.SHA256d(h1[:]), pow.SHA256d(h2[:]); ok(&a) && ok(&b) {
				break
			}
		}
		wantTrue(t, c.submit(w))
		wantError(t, c.submit(w), stratum.CodeDuplicateShare, "duplicate share")
		// The same nonce and extranonce2 under rolled version bits is other work.
		rolled := *w
		rolled.sendBits, rolled.bits = true, 0x2000
		wantTrue(t, c.submit(&rolled))
		wantError(t, c.submit(&rolled), stratum.CodeDuplicateShare, "duplicate share")
		// The same share from another session (other extranonce1) is not a duplicate
		// of this one, but a different header; what matters is it is not "22".
		other := miner(t)
		if m := other.submit(w); m.Error != nil && m.Error.Code == stratum.CodeDuplicateShare {
			t.Fatal("another session's share counted as a duplicate")
		}
	})

	t.Run("submit before authorize", func(t *testing.T) {
		c := dial(t, g.tcp())
		c.subscribe()
		m := c.call(stratum.MethodSubmit, user, "j1", "000000000001", hex32(curTime), "00000000")
		wantError(t, m, stratum.CodeUnauthorized, "unauthorized worker")
	})
	t.Run("submit before subscribe", func(t *testing.T) {
		c := dial(t, g.tcp())
		wantTrue(t, c.authorize(user))
		m := c.call(stratum.MethodSubmit, user, "j1", "000000000001", hex32(curTime), "00000000")
		wantError(t, m, stratum.CodeNotSubscribed, "not subscribed")
	})

	for _, tc := range []struct {
		name   string
		line   string
		id     string
		code   stratum.Code
		substr string
	}{
		{"malformed JSON", `{"id":5,"method":"mining.submit","params":[`, "null", stratum.CodeParseError, "not valid JSON"},
		{"not an object", `[1,2,3]`, "null", stratum.CodeInvalidRequest, "object"},
		{"unknown method", `{"id":6,"method":"mining.frobnicate","params":[]}`, "6", stratum.CodeMethodNotFound, "mining.frobnicate"},
		{"submit with 3 params", `{"id":"x7","method":"mining.submit","params":["a.b","j1","00"]}`, `"x7"`, stratum.CodeInvalidParams, "expected 5 to 6 params"},
		{"submit with a bad nonce", `{"id":8,"method":"mining.submit","params":["a.b","j1","000000000000","6b49d200","xyz"]}`, "8", stratum.CodeInvalidParams, "nonce"},
		{"authorize without user", `{"id":9,"method":"mining.authorize","params":[]}`, "9", stratum.CodeInvalidParams, ""},
		{"subscribe with a number agent", `{"id":10,"method":"mining.subscribe","params":[42]}`, "10", stratum.CodeInvalidParams, "user agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := miner(t)
			c.send(tc.line)
			var m stratum.Message
			for {
				l, ok := c.next()
				if !ok {
					t.Fatalf("connection closed: %v", c.rerr)
				}
				if l.msg.IsResponse() {
					m = l.msg
					break
				}
			}
			if string(m.ID) != tc.id {
				t.Fatalf("response id %s, want %s", m.ID, tc.id)
			}
			wantError(t, m, tc.code, tc.substr)
			// Bad input costs nothing: the session still mines.
			wantTrue(t, c.submit(c.valid()))
		})
	}

	// Last, as it moves the chain on: a job on a new previous block makes
	// the old job stale; a job on the same block does not.
	t.Run("stale after a new block", func(t *testing.T) {
		c := miner(t)
		old := c.valid()
		p.publishJob(jobSpec{id: "j2", prev: 2, height: 101})
		c.note(stratum.MethodNotify)
		if c.last != "j2" || !c.jobs["j2"].CleanJobs {
			t.Fatalf("notify for j2 with clean_jobs, got job %s clean %v", c.last, c.jobs[c.last].CleanJobs)
		}
		before := len(p.shares())
		wantError(t, c.submit(old), stratum.CodeJobNotFound, "stale")
		wantTrue(t, c.submit(c.valid()))

		// Same block, new transactions: not clean, and j2 stays valid.
		keep := c.valid()
		p.publishJob(jobSpec{id: "j3", prev: 2, height: 101, txs: 2})
		c.note(stratum.MethodNotify)
		if c.last != "j3" || c.jobs["j3"].CleanJobs {
			t.Fatalf("notify for j3 without clean_jobs, got job %s clean %v", c.last, c.jobs[c.last].CleanJobs)
		}
		wantTrue(t, c.submit(keep))
		var reasons []string
		for _, s := range p.shares()[before:] {
			if !s.Accepted {
				reasons = append(reasons, s.Reason)
			}
		}
		if !slices.Equal(reasons, []string{"stale"}) {
			t.Fatalf("recorded rejections %q, want [stale]", reasons)
		}
		// A late job for an older height does not move miners back.
		p.publishJob(jobSpec{id: "j0", prev: 9, height: 99})
		c.sync()
		if strings.Contains(strings.Join(c.methods(), ","), stratum.MethodNotify) {
			t.Fatal("a job for an older height was sent to miners")
		}
	})
}

// TestPreviousDifficultyGrace: right after a difficulty rise, a share that
// meets only the old difficulty is accepted and credited at the old one.
func TestPreviousDifficultyGrace(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "j1"})
	c := dial(t, g.tcp())
	c.handshake(regtestAddr(t, 6) + ".g")
	c.note(stratum.MethodSetDifficulty)
	if c.diff != baseDiff {
		t.Fatalf("difficulty %v, want %v", c.diff, baseDiff)
	}
	const high = 1e-7 // about one hash in 430
	wantTrue(t, c.call(stratum.MethodSuggestDifficulty, high))
	c.note(stratum.MethodSetDifficulty)
	if c.diff != high {
		t.Fatalf("difficulty %v after suggesting %v", c.diff, high)
	}
	lastAccepted := func() payload.Share {
		t.Helper()
		all := p.shares()
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].Accepted {
				return all[i]
			}
		}
		t.Fatal("no accepted share")
		return payload.Share{}
	}
	oldOnly := c.mine("", 0, func(h *[32]byte) bool { return meets(baseDiff)(h) && !meets(high)(h) })
	wantTrue(t, c.submit(oldOnly))
	if s := lastAccepted(); s.Difficulty != baseDiff {
		t.Fatalf("share meeting only the old difficulty credited at %v, want %v", s.Difficulty, baseDiff)
	}
	wantError(t, c.submit(c.mine("", 0, not(meets(baseDiff)))), stratum.CodeLowDifficulty, "low difficulty")
	wantTrue(t, c.submit(c.mine("", 0, meets(high))))
	if s := lastAccepted(); s.Difficulty != high {
		t.Fatalf("share meeting the new difficulty credited at %v, want %v", s.Difficulty, high)
	}
}

// TestVersionRollingShare: the header the gateway checks has version
// (job version &^ mask) | (bits & mask). The job's version has a bit inside
// the mask (BIP9 signalling bit 22) that the miner rolls away.
func TestVersionRollingShare(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	const version = jobVersion | 1<<22
	p.publishJob(jobSpec{id: "j1", ver: version})
	c := dial(t, g.tcp())
	c.configureRolling(t, "ffffffff", 0x1fffe000)
	c.handshake(regtestAddr(t, 7) + ".vr")
	n := c.jobs[c.last]
	if n.Version != version {
		t.Fatalf("notify version %08x, want %08x", n.Version, version)
	}
	const bits = 0x0a1ae000 // inside the mask, bit 22 clear
	const rolled = version&^0x1fffe000 | bits
	ok := meets(c.diff)
	hashAt := func(en2 []byte, v, nonce uint32) [32]byte {
		h := header(&n, c.en1, en2, n.NTime, nonce, v)
		return pow.SHA256d(h[:])
	}
	// A nonce that is a share only under the rolled version: not under the
	// job's version, the bits taken as the whole version, or the bits
	// or-ed into the job's version.
	en2 := c.nextEn2()
	var nonce uint32
	for ; ; nonce++ {
		hr, hj, hb, ho := hashAt(en2, rolled, nonce), hashAt(en2, version, nonce), hashAt(en2, bits, nonce), hashAt(en2, version|bits, nonce)
		if ok(&hr) && !ok(&hj) && !ok(&hb) && !ok(&ho) {
			break
		}
	}
	w := &work{job: c.last, en2: en2, ntime: n.NTime, nonce: nonce, sendBits: true, bits: bits}
	wantTrue(t, c.submit(w))
	// Rolled again with other bits inside the mask: other work, accepted.
	w2 := c.mine("", version&^0x1fffe000|0x00ffe000, ok)
	w2.sendBits, w2.bits = true, 0x00ffe000
	wantTrue(t, c.submit(w2))
	// Bits outside the mask mixed in are refused even if the hash is fine.
	w3 := c.mine("", version&^0x1fffe000|0x00ffe000, ok)
	w3.sendBits, w3.bits = true, 0x00ffe001
	wantError(t, c.submit(w3), stratum.CodeOther, "outside the negotiated mask")
}

// TestShareNotRecordedIsNotAccepted: when the SHARES stream cannot take the
// batch, the miner is told to resubmit instead of hearing true.
func TestShareNotRecordedIsNotAccepted(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "j1"})
	c := dial(t, g.tcp())
	c.handshake(regtestAddr(t, 18) + ".nr")
	wantTrue(t, c.submit(c.valid()))
	ctx := context.Background()
	if err := p.js.DeleteStream(ctx, streams.Shares); err != nil {
		t.Fatal(err)
	}
	wantError(t, c.submit(c.valid()), stratum.CodeOther, "share not recorded, please resubmit")
	if err := streams.Ensure(ctx, p.js, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	wantTrue(t, c.submit(c.valid()))
	if got := p.shares(); len(got) != 1 || !got[0].Accepted {
		t.Fatalf("shares after the stream came back %+v, want the one accepted since", got)
	}
}
