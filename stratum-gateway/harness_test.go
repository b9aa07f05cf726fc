package gateway_test

// The test harness: an embedded JetStream server with the pool's streams
// and buckets, gateways running under functions.RunAll, jobs built from
// hand-made regtest templates, and a raw Stratum client that mines its
// shares from the mining.notify it receives, like a real miner.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/coin"
	_ "github.com/jetpool/jetpool/internal/coin/btc"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/natsrv"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/internal/target"
	"github.com/jetpool/jetpool/kv"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
	"github.com/jetpool/jetpool/streams"
)

const (
	region = "t1"
	// wait bounds every wait for the gateway; tests normally finish far sooner.
	wait = 10 * time.Second
	// Bits of the two kinds of job: regtest's (every share is a block) and
	// mainnet difficulty 1 (no test share is ever a block).
	easyBits = "207fffff"
	hardBits = "1d00ffff"
	// curTime is the template time of every job.
	curTime = 1_800_000_000
	minTime = curTime - 600
	maxTime = curTime + 7200
	// jobVersion is the template version (BIP9 top bits).
	jobVersion = 0x20000000
	// en2Size is the configured extranonce2 size (not the default 4, to see
	// the gateway announce the configured one).
	en2Size = 6
	// baseDiff is the starting share difficulty: about one hash in four
	// meets it (2^-32/baseDiff), so shares are found in a few hashes.
	baseDiff = 1e-9
)

func logger() *slog.Logger {
	if os.Getenv("GATEWAY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// regtestAddr and mainnetAddr are P2WPKH addresses of a fixed key hash.
func regtestAddr(t testing.TB, seed byte) string {
	return p2wpkh(t, seed, &chaincfg.RegressionNetParams)
}
func mainnetAddr(t testing.TB, seed byte) string { return p2wpkh(t, seed, &chaincfg.MainNetParams) }

func p2wpkh(t testing.TB, seed byte, params *chaincfg.Params) string {
	t.Helper()
	a, err := address.NewAddressWitnessPubKeyHash(bytes.Repeat([]byte{seed}, 20), params)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

// pool is one embedded NATS server with every stream and bucket.
type pool struct {
	t      testing.TB
	srv    *natsrv.Server
	js     jetstream.JetStream
	kv     *kv.Store
	coin   coin.Coin
	payout []byte
	n      int
}

func newPool(t testing.TB) *pool {
	t.Helper()
	srv, _, js := natstest.Start(t)
	ctx := context.Background()
	if err := streams.Ensure(ctx, js, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	store, err := kv.Ensure(ctx, js, kv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := coin.Get("btc", "regtest")
	if err != nil {
		t.Fatal(err)
	}
	payout, err := c.ValidateAddress(regtestAddr(t, 0xee))
	if err != nil {
		t.Fatal(err)
	}
	return &pool{t: t, srv: srv, js: js, kv: store, coin: c, payout: payout}
}

// env builds an Env on its own connection, as a separate process would.
func (p *pool) env(instance string) *functions.Env {
	nc, js := natstest.Connect(p.t, p.srv)
	store, err := kv.Open(context.Background(), js)
	if err != nil {
		p.t.Fatal(err)
	}
	return &functions.Env{NC: nc, JS: js, KV: store, Log: logger(), Ready: ops.NewReadiness(), Instance: instance}
}

// testOptions are the gateway settings the tests start from: the defaults
// with tiny difficulties, the configured extranonce2 size and short batches.
func testOptions() gateway.Options {
	cfg := config.Default()
	cfg.Stratum.Extranonce2Size = en2Size
	cfg.Stratum.ShareBatchDelay = config.Duration(5 * time.Millisecond)
	cfg.Vardiff = config.Vardiff{Initial: baseDiff, Min: 1e-12, Max: 1e6, TargetSeconds: 10,
		Retarget: config.Duration(90 * time.Second), VariancePercent: 30}
	return gateway.Options{Symbol: "btc", Network: "regtest", Region: region, TCPAddr: "127.0.0.1:0",
		Stratum: cfg.Stratum, Vardiff: cfg.Vardiff, ReconnectWait: 2 * time.Second}
}

// gw is a running gateway.
type gw struct {
	*gateway.Gateway
	env    *functions.Env
	cancel context.CancelFunc
	done   chan error
}

func (g *gw) tcp() string { return g.Addrs()["stratum+tcp"] }

// startGateway runs a gateway under functions.RunAll until the test ends.
func (p *pool) startGateway(mutate func(*gateway.Options)) *gw {
	p.t.Helper()
	o := testOptions()
	if mutate != nil {
		mutate(&o)
	}
	g, err := gateway.New(o)
	if err != nil {
		p.t.Fatal(err)
	}
	p.n++
	env := p.env(fmt.Sprintf("gw-%d", p.n))
	ctx, cancel := context.WithCancel(context.Background())
	h := &gw{Gateway: g, env: env, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- functions.RunAll(ctx, env, g) }()
	p.t.Cleanup(func() { h.stop(p.t) })
	select {
	case <-g.Ready():
	case err := <-h.done:
		p.t.Fatalf("gateway stopped before it was ready: %v", err)
	case <-time.After(wait):
		p.t.Fatal("gateway not ready")
	}
	return h
}

// stop cancels the gateway and waits for RunAll to return nil.
func (g *gw) stop(t testing.TB) {
	t.Helper()
	if g.cancel == nil {
		return
	}
	g.cancel()
	g.cancel = nil
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("gateway run: %v", err)
		}
	case <-time.After(wait):
		t.Error("gateway did not stop")
	}
}

// waitJob waits until the gateway holds a job (its readiness check passes).
func (g *gw) waitJob(t testing.TB) {
	t.Helper()
	waitFor(t, "gateway has a job", func() bool {
		st, _ := g.env.Ready.Status(context.Background())
		msg, ok := st[g.Name()]
		return ok && msg == ""
	})
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jobSpec describes a template; zero fields take the defaults.
type jobSpec struct {
	id     string
	height int64
	prev   byte   // previous block hash is 32 bytes of this value
	bits   string // hardBits by default
	txs    int    // non-coinbase transactions (exercise the merkle branch)
	ver    int64  // template version; 0 = jobVersion
	en2    int    // extranonce2 size; 0 = en2Size
}

// templateJSON is a getblocktemplate reply as btcd sends it on regtest.
func templateJSON(t testing.TB, s jobSpec) []byte {
	t.Helper()
	txs := []map[string]any{}
	for i := range s.txs {
		txs = append(txs, map[string]any{"data": hex.EncodeToString(simpleTx(byte(i), s.prev)), "fee": 1000})
	}
	tpl := map[string]any{
		"version": cmp.Or(s.ver, jobVersion), "previousblockhash": hex.EncodeToString(bytes.Repeat([]byte{s.prev}, 32)),
		"transactions": txs, "coinbasevalue": 5_000_000_000, "bits": s.bits, "height": s.height,
		"curtime": curTime, "mintime": minTime, "maxtime": maxTime,
		"mutable": []string{"time", "transactions/add", "prevblock", "coinbase/append"},
	}
	raw, err := json.Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// simpleTx is a well-formed one-input, one-output legacy transaction.
func simpleTx(n, salt byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 1)              // version
	b = append(b, 1)                                        // inputs
	b = append(b, bytes.Repeat([]byte{n + 1, salt}, 16)...) // prevout hash
	b = binary.LittleEndian.AppendUint32(b, uint32(n))      // prevout index
	b = append(b, 0)                                        // scriptSig
	b = binary.LittleEndian.AppendUint32(b, 0xffffffff)     // sequence
	b = append(b, 1)                                        // outputs
	b = binary.LittleEndian.AppendUint64(b, 1000)           // value
	b = append(b, 1, 0x51)                                  // OP_TRUE
	return binary.LittleEndian.AppendUint32(b, 0)           // locktime
}

// makeJob builds a job the way the jobmaker does.
func (p *pool) makeJob(s jobSpec) *coin.Job {
	p.t.Helper()
	if s.bits == "" {
		s.bits = hardBits
	}
	if s.height == 0 {
		s.height = 100
	}
	if s.prev == 0 {
		s.prev = 1
	}
	tpl, err := p.coin.ParseTemplate(templateJSON(p.t, s))
	if err != nil {
		p.t.Fatal(err)
	}
	job, err := p.coin.NewJob(tpl, coin.JobOptions{JobID: s.id, PayoutScript: p.payout, PoolTag: "/jetpool-test/",
		Extranonce1Size: 4, Extranonce2Size: cmp.Or(s.en2, en2Size), CleanJobs: true})
	if err != nil {
		p.t.Fatal(err)
	}
	return job
}

// publishJob publishes a job on jobs.btc.
func (p *pool) publishJob(s jobSpec) *coin.Job {
	p.t.Helper()
	job := p.makeJob(s)
	data, err := json.Marshal(job)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.js.Publish(context.Background(), streams.JobsSubject("btc"), data); err != nil {
		p.t.Fatal(err)
	}
	return job
}

// shares reads every share batch of the region from the SHARES stream.
func (p *pool) shares() []payload.Share {
	p.t.Helper()
	var out []payload.Share
	for _, m := range p.streamMsgs(streams.Shares, streams.SharesSubject("btc", region)) {
		var b payload.ShareBatch
		if err := json.Unmarshal(m.Data, &b); err != nil {
			p.t.Fatal(err)
		}
		if b.Coin != "btc" || b.Region != region || b.Gateway == "" || b.Seq == 0 {
			p.t.Fatalf("share batch header: %+v", b)
		}
		if got := m.Header.Get(jetstream.MsgIDHeader); got != b.MsgID() {
			p.t.Fatalf("share batch message id %q, want %q", got, b.MsgID())
		}
		out = append(out, b.Shares...)
	}
	return out
}

// streamMsgs returns the stored messages of a stream on one subject.
func (p *pool) streamMsgs(stream, subject string) []*jetstream.RawStreamMsg {
	p.t.Helper()
	ctx := context.Background()
	st, err := p.js.Stream(ctx, stream)
	if err != nil {
		p.t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	if info.State.Msgs == 0 {
		return nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			p.t.Fatal(err)
		}
		if subject == "" || m.Subject == subject || strings.HasSuffix(subject, ">") && strings.HasPrefix(m.Subject, strings.TrimSuffix(subject, ">")) {
			out = append(out, m)
		}
	}
	return out
}

// --- the raw Stratum client ------------------------------------------------

// line is one message received by the client.
type line struct {
	msg stratum.Message
	raw string
}

// client is a miner speaking raw Stratum lines.
type client struct {
	t     testing.TB
	conn  net.Conn
	in    chan line
	rerr  error // why in was closed
	notes []line
	id    int

	user    string
	en1     []byte
	en2Size int
	en2Next uint64
	diff    float64                   // last mining.set_difficulty
	jobs    map[string]stratum.Notify // by job id, from mining.notify
	last    string                    // last job id notified
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, conn)
}

func dialTLS(t testing.TB, addr string) *client {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: wait}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	return newClient(t, conn)
}

func newClient(t testing.TB, conn net.Conn) *client {
	c := &client{t: t, conn: conn, in: make(chan line, 4096), jobs: map[string]stratum.Notify{}}
	t.Cleanup(func() { conn.Close() })
	go c.readLoop()
	return c
}

func (c *client) readLoop() {
	defer close(c.in)
	br := bufio.NewReaderSize(c.conn, 64<<10)
	for {
		b, err := br.ReadBytes('\n')
		if err != nil {
			c.rerr = err
			return
		}
		m, err := stratum.DecodeMessage(b)
		if err != nil {
			c.rerr = fmt.Errorf("undecodable line from the gateway %q: %w", b, err)
			return
		}
		c.in <- line{msg: m, raw: string(bytes.TrimSpace(b))}
	}
}

// next returns the next message, or ok=false when the connection ended.
func (c *client) next() (line, bool) {
	c.t.Helper()
	select {
	case l, ok := <-c.in:
		if ok && !l.msg.IsResponse() {
			c.observe(l)
		}
		return l, ok
	case <-time.After(wait):
		c.t.Fatal("no message from the gateway")
		return line{}, false
	}
}

// observe keeps the miner's view: difficulty and jobs.
func (c *client) observe(l line) {
	c.t.Helper()
	switch l.msg.Method {
	case stratum.MethodSetDifficulty:
		d, err := stratum.ParseSetDifficulty(l.msg.Params)
		if err != nil {
			c.t.Fatalf("bad set_difficulty %s: %v", l.raw, err)
		}
		c.diff = d
	case stratum.MethodSetExtranonce:
		en1, size, err := stratum.ParseSetExtranonce(l.msg.Params)
		if err != nil {
			c.t.Fatalf("bad set_extranonce %s: %v", l.raw, err)
		}
		c.en1, c.en2Size = en1, size
	case stratum.MethodNotify:
		n, err := stratum.ParseNotify(l.msg.Params)
		if err != nil {
			c.t.Fatalf("bad notify %s: %v", l.raw, err)
		}
		c.jobs[n.JobID] = n
		c.last = n.JobID
	}
	c.notes = append(c.notes, l)
}

func (c *client) send(s string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c.conn, s+"\n"); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// request sends a request and returns its id.
func (c *client) request(method string, params ...any) int {
	c.t.Helper()
	c.id++
	if params == nil {
		params = []any{}
	}
	b, err := json.Marshal(map[string]any{"id": c.id, "method": method, "params": params})
	if err != nil {
		c.t.Fatal(err)
	}
	c.send(string(b))
	return c.id
}

// response waits for the response to id; notifications read meanwhile
// are kept for note.
func (c *client) response(id int) stratum.Message {
	c.t.Helper()
	want := fmt.Sprint(id)
	for {
		l, ok := c.next()
		if !ok {
			c.t.Fatalf("connection closed waiting for response %d: %v", id, c.rerr)
		}
		if !l.msg.IsResponse() {
			continue
		}
		if string(l.msg.ID) != want {
			c.t.Fatalf("response %s while waiting for %d: %s", l.msg.ID, id, l.raw)
		}
		return l.msg
	}
}

func (c *client) call(method string, params ...any) stratum.Message {
	c.t.Helper()
	return c.response(c.request(method, params...))
}

// note returns (and removes) the first notification of method, waiting
// for it if needed.
func (c *client) note(method string) line {
	c.t.Helper()
	for {
		for i, l := range c.notes {
			if l.msg.Method == method {
				c.notes = append(c.notes[:i:i], c.notes[i+1:]...)
				return l
			}
		}
		l, ok := c.next()
		if !ok {
			c.t.Fatalf("connection closed waiting for %s: %v", method, c.rerr)
		}
		if l.msg.IsResponse() {
			c.t.Fatalf("unexpected response while waiting for %s: %s", method, l.raw)
		}
	}
}

// methods lists the notifications received and not yet taken.
func (c *client) methods() []string {
	var out []string
	for _, l := range c.notes {
		out = append(out, l.msg.Method)
	}
	return out
}

// sync makes a round trip, so everything the gateway sent before is read.
func (c *client) sync() {
	c.t.Helper()
	wantTrue(c.t, c.call(stratum.MethodExtranonceSubscribe))
}

// closed waits for the gateway to close the connection and returns what
// arrived before.
func (c *client) closed() []line {
	c.t.Helper()
	var got []line
	for {
		l, ok := c.next()
		if !ok {
			return got
		}
		got = append(got, l)
	}
}

// subscribe sends mining.subscribe and records extranonce1 and the
// extranonce2 size.
func (c *client) subscribe() stratum.SubscribeResult {
	c.t.Helper()
	m := c.call(stratum.MethodSubscribe, "jetpool-test/1.0")
	if m.Error != nil {
		c.t.Fatalf("subscribe: %v", m.Error)
	}
	r, err := stratum.ParseSubscribeResult(m.Result)
	if err != nil {
		c.t.Fatalf("subscribe result %s: %v", m.Result, err)
	}
	c.en1, c.en2Size = r.Extranonce1, r.Extranonce2Size
	return r
}

func (c *client) authorize(user string) stratum.Message {
	c.t.Helper()
	m := c.call(stratum.MethodAuthorize, user, "x")
	if m.Error == nil {
		c.user = user
	}
	return m
}

// handshake subscribes, authorizes and waits for the first job.
func (c *client) handshake(user string) {
	c.t.Helper()
	c.subscribe()
	wantTrue(c.t, c.authorize(user))
	c.note(stratum.MethodNotify)
}

// work is one share to submit.
type work struct {
	job         string
	en2         []byte
	ntime       uint32
	nonce       uint32
	version     uint32 // header version
	bits        uint32 // version bits to send (with sendBits)
	sendBits    bool
	hash        [32]byte
	header      [80]byte
	worker      string // "" = the authorized user
	en2Override []byte
}

func (w *work) params(user string) []any {
	name := w.worker
	if name == "" {
		name = user
	}
	en2 := w.en2
	if w.en2Override != nil {
		en2 = w.en2Override
	}
	p := []any{name, w.job, hex.EncodeToString(en2), fmt.Sprintf("%08x", w.ntime), fmt.Sprintf("%08x", w.nonce)}
	if w.sendBits {
		p = append(p, fmt.Sprintf("%08x", w.bits))
	}
	return p
}

// header builds the block header of a submission from a mining.notify as a
// miner does: coinbase, merkle root, then the 80 bytes.
func header(n *stratum.Notify, en1, en2 []byte, ntime, nonce, version uint32) [80]byte {
	cb := append(append(append(append([]byte{}, n.Coinb1...), en1...), en2...), n.Coinb2...)
	root := pow.SHA256d(cb)
	for i := range n.MerkleBranch {
		root = pow.SHA256d(append(root[:], n.MerkleBranch[i][:]...))
	}
	var h [80]byte
	binary.LittleEndian.PutUint32(h[0:], version)
	copy(h[4:36], n.PrevHash[:])
	copy(h[36:68], root[:])
	binary.LittleEndian.PutUint32(h[68:], ntime)
	binary.LittleEndian.PutUint32(h[72:], n.NBits)
	binary.LittleEndian.PutUint32(h[76:], nonce)
	return h
}

// meets returns a predicate for hashes meeting difficulty d.
func meets(d float64) func(*[32]byte) bool {
	tg, err := target.FromDifficulty(target.SHA256dDiff1, d)
	if err != nil {
		panic(err)
	}
	return func(h *[32]byte) bool { return tg.HashMeets(h) }
}

func not(f func(*[32]byte) bool) func(*[32]byte) bool {
	return func(h *[32]byte) bool { return !f(h) }
}

// mine finds a nonce for job (the last notified when "") with a fresh
// extranonce2 whose hash of the header at version satisfies ok.
func (c *client) mine(job string, version uint32, ok func(*[32]byte) bool) *work {
	c.t.Helper()
	return c.mineAt(job, 0, version, ok)
}

// mineAt is mine with an ntime (0 = the job's).
func (c *client) mineAt(job string, ntime, version uint32, ok func(*[32]byte) bool) *work {
	c.t.Helper()
	if job == "" {
		job = c.last
	}
	n, found := c.jobs[job]
	if !found {
		c.t.Fatalf("no notify for job %q", job)
	}
	if version == 0 {
		version = n.Version
	}
	if ntime == 0 {
		ntime = n.NTime
	}
	en2 := c.nextEn2()
	w := &work{job: job, en2: en2, ntime: ntime, version: version}
	for nonce := uint32(0); nonce < 1<<22; nonce++ {
		h := header(&n, c.en1, en2, w.ntime, nonce, version)
		hash := pow.SHA256d(h[:])
		if ok(&hash) {
			w.nonce, w.hash, w.header = nonce, hash, h
			return w
		}
	}
	c.t.Fatal("no nonce found")
	return nil
}

// nextEn2 returns a fresh extranonce2.
func (c *client) nextEn2() []byte {
	c.en2Next++
	en2 := make([]byte, c.en2Size)
	for i := 0; i < len(en2) && i < 8; i++ {
		en2[len(en2)-1-i] = byte(c.en2Next >> (8 * i))
	}
	return en2
}

// valid mines a share meeting the current difficulty of the last job.
func (c *client) valid() *work {
	c.t.Helper()
	if !(c.diff > 0) {
		c.t.Fatal("no difficulty received")
	}
	return c.mine("", 0, meets(c.diff))
}

func (c *client) submit(w *work) stratum.Message {
	c.t.Helper()
	return c.call(stratum.MethodSubmit, w.params(c.user)...)
}

func wantTrue(t testing.TB, m stratum.Message) {
	t.Helper()
	if m.Error != nil || string(m.Result) != "true" {
		t.Fatalf("want result true, got result %s error %v", m.Result, m.Error)
	}
}

// wantError checks the error code and that the message contains substr.
func wantError(t testing.TB, m stratum.Message, code stratum.Code, substr string) {
	t.Helper()
	if m.Error == nil {
		t.Fatalf("want error %d, got result %s", code, m.Result)
	}
	if m.Error.Code != code || !strings.Contains(m.Error.Message, substr) {
		t.Fatalf("want error %d containing %q, got %d %q", code, substr, m.Error.Code, m.Error.Message)
	}
}

func hex32(v uint32) string { return fmt.Sprintf("%08x", v) }

// configureRolling negotiates version rolling and checks the granted mask.
func (c *client) configureRolling(t testing.TB, mask string, want uint32) {
	t.Helper()
	m := c.call(stratum.MethodConfigure, []string{"version-rolling"}, map[string]any{"version-rolling.mask": mask})
	res, err := stratum.ParseConfigureResult(m.Result)
	if m.Error != nil || err != nil || !res.VersionRolling || res.VersionRollingMask != want {
		t.Fatalf("configure version-rolling %s: result %s error %v %v, want mask %08x", mask, m.Result, m.Error, err, want)
	}
}
