package gateway_test

import (
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/jetpool/jetpool/internal/stratum"
)

func TestSubscribeGivesEverySessionItsOwnExtranonce1(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	seen := map[string]bool{}
	for range 50 {
		c := dial(t, g.tcp())
		m := c.call(stratum.MethodSubscribe, "cgminer/4.12.1", nil)
		if m.Error != nil {
			t.Fatal(m.Error)
		}
		// [[["mining.set_difficulty",id],["mining.notify",id]],extranonce1,extranonce2_size]
		var shape []json.RawMessage
		if err := json.Unmarshal(m.Result, &shape); err != nil || len(shape) != 3 {
			t.Fatalf("subscribe result %s: want a 3-element array", m.Result)
		}
		r, err := stratum.ParseSubscribeResult(m.Result)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Subscriptions) != 2 || r.Subscriptions[0][0] != stratum.MethodSetDifficulty ||
			r.Subscriptions[1][0] != stratum.MethodNotify || r.Subscriptions[0][1] == "" {
			t.Fatalf("subscriptions %v", r.Subscriptions)
		}
		if len(r.Extranonce1) != 4 {
			t.Fatalf("extranonce1 %x: want 4 bytes", r.Extranonce1)
		}
		if r.Extranonce2Size != en2Size {
			t.Fatalf("extranonce2 size %d, want the configured %d", r.Extranonce2Size, en2Size)
		}
		en1 := hex.EncodeToString(r.Extranonce1)
		if seen[en1] {
			t.Fatalf("extranonce1 %s given to two sessions", en1)
		}
		seen[en1] = true
		c.conn.Close()
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	job := p.publishJob(jobSpec{id: "a1"})
	g.waitJob(t)

	t.Run("address.worker", func(t *testing.T) {
		c := dial(t, g.tcp())
		c.subscribe()
		wantTrue(t, c.authorize(regtestAddr(t, 1)+".rig1"))
		// Work starts with the difficulty, then the current job, clean.
		if got := c.note(stratum.MethodSetDifficulty); c.diff != baseDiff {
			t.Fatalf("first set_difficulty %s, want %v", got.raw, baseDiff)
		}
		n := c.note(stratum.MethodNotify)
		if nt := c.jobs[job.ID]; c.last != job.ID || !nt.CleanJobs || nt.NBits != job.NBits || nt.NTime != job.NTime {
			t.Fatalf("first notify %s: want job %s, clean", n.raw, job.ID)
		}
	})

	for _, tc := range []struct {
		name, user, msg string
	}{
		{"malformed address", "notanaddress.rig1", "invalid btc address"},
		{"empty address", ".rig1", "invalid btc address"},
		{"mainnet address on regtest", mainnetAddr(t, 1) + ".rig1", "another network"},
		{"bad bech32 checksum", "bcrt1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq.rig", "invalid btc address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, g.tcp())
			c.subscribe()
			wantError(t, c.authorize(tc.user), stratum.CodeUnauthorized, tc.msg)
			c.sync()
			if got := c.methods(); len(got) != 0 {
				t.Fatalf("work sent after a refused authorize: %v", got)
			}
			// A share from the refused user is unauthorized.
			m := c.call(stratum.MethodSubmit, tc.user, job.ID, "000000000000", "6b49d200", "00000000")
			wantError(t, m, stratum.CodeUnauthorized, "unauthorized")
		})
	}
}

func TestSuggestDifficulty(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "a1"})
	g.waitJob(t)
	user := regtestAddr(t, 2) + ".rig"

	t.Run("before authorize", func(t *testing.T) {
		c := dial(t, g.tcp())
		c.subscribe()
		wantTrue(t, c.call(stratum.MethodSuggestDifficulty, 0.0005))
		wantTrue(t, c.authorize(user))
		c.note(stratum.MethodSetDifficulty)
		if c.diff != 0.0005 {
			t.Fatalf("first set_difficulty %v, want the suggested 0.0005", c.diff)
		}
	})
	t.Run("after authorize", func(t *testing.T) {
		c := dial(t, g.tcp())
		c.handshake(user)
		c.note(stratum.MethodSetDifficulty)
		wantTrue(t, c.call(stratum.MethodSuggestDifficulty, 0.0005))
		c.note(stratum.MethodSetDifficulty)
		if c.diff != 0.0005 {
			t.Fatalf("set_difficulty %v after suggesting 0.0005", c.diff)
		}
	})
	t.Run("clamped to vardiff max", func(t *testing.T) {
		c := dial(t, g.tcp())
		c.handshake(user)
		c.note(stratum.MethodSetDifficulty)
		wantTrue(t, c.call(stratum.MethodSuggestDifficulty, 1e9))
		c.note(stratum.MethodSetDifficulty)
		if max := testOptions().Vardiff.Max; c.diff != max {
			t.Fatalf("set_difficulty %v after suggesting 1e9, want the max %v", c.diff, max)
		}
	})
	for _, tc := range []struct {
		name   string
		params string
	}{
		{"zero", `[0]`},
		{"negative", `[-1]`},
		{"string", `["0.5"]`},
		{"none", `[]`},
	} {
		t.Run("invalid "+tc.name, func(t *testing.T) {
			c := dial(t, g.tcp())
			c.send(`{"id":7,"method":"mining.suggest_difficulty","params":` + tc.params + `}`)
			m := c.response(7)
			wantError(t, m, stratum.CodeInvalidParams, "")
		})
	}
}

func TestExtranonceSubscribe(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	c := dial(t, g.tcp())
	c.subscribe()
	wantTrue(t, c.call(stratum.MethodExtranonceSubscribe))
}

// TestExtranonce2SizeChangeReachesSubscribedMiners: when the jobs' extranonce2
// size changes at run time (stratum.extranonce2_size), a miner that sent
// mining.extranonce.subscribe gets mining.set_extranonce with the new size
// before the next job and its shares of the new size are accepted; a miner
// that did not is asked to reconnect (client.reconnect to the same pool)
// and closed, so it subscribes again instead of having every share refused.
func TestExtranonce2SizeChangeReachesSubscribedMiners(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil)
	p.publishJob(jobSpec{id: "a"})
	g.waitJob(t)
	told := dial(t, g.tcp())
	told.subscribe()
	told.sync() // mining.extranonce.subscribe
	told.authorize(regtestAddr(t, 40) + ".told")
	told.note(stratum.MethodNotify)
	plain := dial(t, g.tcp())
	plain.handshake(regtestAddr(t, 41) + ".plain")
	if told.en2Size != en2Size || plain.en2Size != en2Size {
		t.Fatalf("extranonce2 sizes %d, %d at subscribe, want %d", told.en2Size, plain.en2Size, en2Size)
	}

	const newSize = en2Size + 2
	p.publishJob(jobSpec{id: "b", en2: newSize}) // same block, new size
	en1 := string(told.en1)
	if l := told.note(stratum.MethodSetExtranonce); told.en2Size != newSize || string(told.en1) != en1 {
		t.Fatalf("set_extranonce %s: size %d, want %d and the same extranonce1", l.raw, told.en2Size, newSize)
	}
	n := told.note(stratum.MethodNotify)
	if told.last != "b" || !told.jobs["b"].CleanJobs {
		t.Fatalf("after set_extranonce: %s, want job b with clean_jobs", n.raw)
	}
	wantTrue(t, told.submit(told.valid()))

	var reconnect bool
	for _, l := range plain.closed() {
		if l.msg.Method == stratum.MethodReconnect {
			r, err := stratum.ParseReconnect(l.msg.Params)
			if err != nil || r != (stratum.Reconnect{}) {
				t.Fatalf("client.reconnect %s (%v): want the same pool at once", l.raw, err)
			}
			reconnect = true
		}
		if l.msg.Method == stratum.MethodNotify {
			t.Fatalf("a miner on the old size got the new job: %s", l.raw)
		}
	}
	if !reconnect {
		t.Fatal("the miner without extranonce.subscribe was closed without client.reconnect")
	}
	// It comes back and learns the new size at subscribe.
	again := dial(t, g.tcp())
	again.handshake(regtestAddr(t, 41) + ".plain")
	if again.en2Size != newSize {
		t.Fatalf("resubscribed with extranonce2 size %d, want %d", again.en2Size, newSize)
	}
	wantTrue(t, again.submit(again.valid()))
}

func TestConfigureVersionRolling(t *testing.T) {
	t.Parallel()
	p := newPool(t)
	g := p.startGateway(nil) // pool mask 1fffe000 (config default)
	for _, tc := range []struct {
		name     string
		exts     []string
		params   map[string]any
		want     map[string]any // the whole result object
		wantMask string
	}{
		{"default mask (all bits)", []string{"version-rolling"}, map[string]any{},
			map[string]any{"version-rolling": true, "version-rolling.mask": "1fffe000"}, "1fffe000"},
		{"miner mask ffffffff", []string{"version-rolling"}, map[string]any{"version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2},
			map[string]any{"version-rolling": true, "version-rolling.mask": "1fffe000"}, "1fffe000"},
		{"narrower miner mask", []string{"version-rolling"}, map[string]any{"version-rolling.mask": "00fff000"},
			map[string]any{"version-rolling": true, "version-rolling.mask": "00ffe000"}, "00ffe000"},
		{"no common bits", []string{"version-rolling"}, map[string]any{"version-rolling.mask": "00001fff"},
			map[string]any{"version-rolling": false}, ""},
		{"too few common bits", []string{"version-rolling"}, map[string]any{"version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 17},
			map[string]any{"version-rolling": false}, ""},
		{"with other extensions", []string{"minimum-difficulty", "version-rolling", "subscribe-extranonce"},
			map[string]any{"version-rolling.mask": "1fffe000", "minimum-difficulty.value": 2048},
			map[string]any{"minimum-difficulty": false, "version-rolling": true, "version-rolling.mask": "1fffe000", "subscribe-extranonce": true}, "1fffe000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, g.tcp())
			m := c.call(stratum.MethodConfigure, tc.exts, tc.params)
			if m.Error != nil {
				t.Fatal(m.Error)
			}
			var got map[string]any
			if err := json.Unmarshal(m.Result, &got); err != nil {
				t.Fatalf("configure result %s: %v", m.Result, err)
			}
			wantJSON, _ := json.Marshal(tc.want)
			gotJSON, _ := json.Marshal(got)
			if string(gotJSON) != string(wantJSON) {
				t.Fatalf("configure result %s, want %s", gotJSON, wantJSON)
			}
			res, err := stratum.ParseConfigureResult(m.Result)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantMask != "" && hex32(res.VersionRollingMask) != tc.wantMask {
				t.Fatalf("parsed mask %08x, want %s", res.VersionRollingMask, tc.wantMask)
			}
		})
	}
	t.Run("bad params", func(t *testing.T) {
		c := dial(t, g.tcp())
		wantError(t, c.call(stratum.MethodConfigure, []string{"version-rolling"}, map[string]any{"version-rolling.mask": "xyz"}),
			stratum.CodeInvalidParams, "")
	})
}
