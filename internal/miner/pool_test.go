package miner

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/stratum"
)

// fakePool is an in-process Stratum v1 pool on loopback. It checks every
// submitted share on its own (header rebuilt from the job it sent, double
// SHA-256, compared with diff1/difficulty as big integers) and answers
// true or an error.
type fakePool struct {
	t    *testing.T
	ln   net.Listener
	port int

	difficulty float64
	en2Size    int
	grantMask  uint32 // version-rolling mask granted; 0 refuses
	authFail   bool
	hangUp     string // method on which the pool drops the connection

	mu         sync.Mutex
	conns      []*poolConn
	job        *poolJob
	seen       map[string]bool
	rejectNext int
	nextEn1    uint32
	invalid    []string // shares that failed verification

	shares    chan seenShare
	responses chan stratum.Message // responses the miner sent to pool requests
	wg        sync.WaitGroup
}

type poolJob struct {
	notify stratum.Notify
	sent   time.Time
}

type poolConn struct {
	p     *fakePool
	index int // 1-based, in accept order
	c     net.Conn
	wmu   sync.Mutex

	mu   sync.Mutex
	en1  []byte
	size int
	mask uint32
	// jobs maps job id → the extranonce1/size in force when it was sent.
	jobs map[string]connJob
}

type connJob struct {
	job  *poolJob
	en1  []byte
	size int
}

// seenShare is one submit as the pool judged it.
type seenShare struct {
	conn     int
	params   stratum.SubmitParams
	valid    bool
	accepted bool
	reason   string
}

func newFakePool(t *testing.T, difficulty float64, useTLS bool) *fakePool {
	t.Helper()
	var ln net.Listener
	var err error
	if useTLS {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, MinVersion: tls.VersionTLS12})
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePool{
		t: t, ln: ln, port: ln.Addr().(*net.TCPAddr).Port,
		difficulty: difficulty, en2Size: 4,
		seen:      map[string]bool{},
		shares:    make(chan seenShare, 100000),
		responses: make(chan stratum.Message, 100),
	}
	p.job = p.makeJob("1", true)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *fakePool) url(scheme string) string {
	return scheme + "://127.0.0.1:" + strconv.Itoa(p.port)
}

func (p *fakePool) close() {
	p.ln.Close()
	p.closeConns()
	p.wg.Wait()
}

func (p *fakePool) closeConns() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.c.Close()
	}
}

func (p *fakePool) makeJob(id string, clean bool) *poolJob {
	n := stratum.Notify{
		JobID:     id,
		Coinb1:    []byte("coinbase part one, height and tag "),
		Coinb2:    []byte(" coinbase part two with outputs"),
		Version:   0x20000000,
		NBits:     0x207fffff,
		NTime:     uint32(time.Now().Unix()),
		CleanJobs: clean,
	}
	rand.Read(n.PrevHash[:])
	n.MerkleBranch = make([][32]byte, 2)
	rand.Read(n.MerkleBranch[0][:])
	rand.Read(n.MerkleBranch[1][:])
	return &poolJob{notify: n, sent: time.Now()}
}

func (p *fakePool) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.nextEn1++
		pc := &poolConn{p: p, index: int(p.nextEn1), c: c, size: p.en2Size, jobs: map[string]connJob{}}
		pc.en1 = binary.BigEndian.AppendUint32(nil, 0xe0000000+p.nextEn1)
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			pc.serve()
		}()
	}
}

func (c *poolConn) write(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.c.Write(b)
}

// sendJob sends j, remembering the extranonce in force.
func (c *poolConn) sendJob(j *poolJob) {
	c.mu.Lock()
	c.jobs[j.notify.JobID] = connJob{job: j, en1: c.en1, size: c.size}
	c.mu.Unlock()
	c.write(stratum.AppendNotify(nil, &j.notify))
}

func (c *poolConn) serve() {
	lr := stratum.NewLineReader(c.c, 0)
	for {
		line, err := lr.ReadLine()
		if err != nil {
			return
		}
		if m, err := stratum.DecodeMessage(line); err == nil && m.IsResponse() {
			c.p.responses <- m
			continue
		}
		req, err := stratum.DecodeRequest(line)
		if err != nil {
			var se *stratum.Error
			errors.As(err, &se)
			c.write(stratum.AppendError(nil, req.ID, se))
			continue
		}
		if req.Method == c.p.hangUp {
			return
		}
		v, err := stratum.ParseClientParams(req.Method, req.Params)
		if err != nil {
			var se *stratum.Error
			errors.As(err, &se)
			c.write(stratum.AppendError(nil, req.ID, se))
			continue
		}
		switch params := v.(type) {
		case stratum.ConfigureParams:
			vr, ok := params.VersionRolling()
			res := stratum.ConfigureResult{Requested: params.Extensions}
			if ok && c.p.grantMask != 0 {
				res.VersionRolling, res.VersionRollingMask = true, c.p.grantMask&vr.Mask
				c.mu.Lock()
				c.mask = res.VersionRollingMask
				c.mu.Unlock()
			}
			c.write(stratum.AppendConfigureResult(nil, req.ID, &res))
		case stratum.SubscribeParams:
			c.mu.Lock()
			en1, size := c.en1, c.size
			c.mu.Unlock()
			c.write(stratum.AppendSubscribeResult(nil, req.ID, "sub1", en1, size))
		case stratum.AuthorizeParams:
			if c.p.authFail {
				c.write(stratum.AppendError(nil, req.ID, stratum.ErrUnauthorized))
				continue
			}
			c.write(stratum.AppendTrue(nil, req.ID))
			c.write(stratum.AppendSetDifficulty(nil, c.p.difficulty))
			c.p.mu.Lock()
			j := c.p.job
			c.p.mu.Unlock()
			c.sendJob(j)
		case stratum.SubmitParams:
			c.submit(req.ID, params)
		default:
			c.write(stratum.AppendTrue(nil, req.ID))
		}
	}
}

func (c *poolConn) submit(id json.RawMessage, s stratum.SubmitParams) {
	p := c.p
	c.mu.Lock()
	cj, ok := c.jobs[s.JobID]
	mask := c.mask
	c.mu.Unlock()
	seen := seenShare{conn: c.index, params: s}
	reply := func(e *stratum.Error) {
		if e == nil {
			seen.accepted = true
			c.write(stratum.AppendTrue(nil, id))
		} else {
			seen.reason = e.Message
			c.write(stratum.AppendError(nil, id, e))
		}
		p.shares <- seen
	}
	if !ok {
		p.recordInvalid(fmt.Sprintf("unknown job %q", s.JobID))
		reply(stratum.ErrJobNotFound)
		return
	}
	if err := s.CheckExtranonce2Size(cj.size); err != nil {
		p.recordInvalid("extranonce2 size")
		reply(stratum.ErrExtranonce2Size)
		return
	}
	if err := s.CheckVersionBits(mask); err != nil {
		p.recordInvalid(err.Error())
		reply(err.(*stratum.Error))
		return
	}
	if !verifyShare(&cj.job.notify, cj.en1, s, mask, p.difficulty) {
		p.recordInvalid(fmt.Sprintf("share above target: job %s en2 %x nonce %08x", s.JobID, s.Extranonce2, s.Nonce))
		reply(stratum.ErrLowDifficulty)
		return
	}
	seen.valid = true
	key := fmt.Sprintf("%x/%s/%x/%08x/%08x/%08x", cj.en1, s.JobID, s.Extranonce2, s.NTime, s.Nonce, s.VersionBits)
	p.mu.Lock()
	dup := p.seen[key]
	p.seen[key] = true
	forced := p.rejectNext > 0
	if forced {
		p.rejectNext--
	}
	stale := cj.job != p.job && p.job.notify.CleanJobs && cj.job.sent.Before(p.job.sent)
	p.mu.Unlock()
	switch {
	case dup:
		p.recordInvalid("duplicate " + key)
		reply(stratum.ErrDuplicateShare)
	case forced:
		reply(stratum.NewError(stratum.CodeLowDifficulty, ""))
	case stale:
		reply(stratum.ErrJobNotFound)
	default:
		reply(nil)
	}
}

// connections returns how many connections the pool has accepted.
func (p *fakePool) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return int(p.nextEn1)
}

func (p *fakePool) recordInvalid(why string) {
	p.mu.Lock()
	p.invalid = append(p.invalid, why)
	p.mu.Unlock()
}

func (p *fakePool) invalidShares() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.invalid...)
}

// broadcast sends a new job to every connection.
func (p *fakePool) broadcast(j *poolJob) {
	p.mu.Lock()
	p.job = j
	conns := append([]*poolConn(nil), p.conns...)
	p.mu.Unlock()
	for _, c := range conns {
		c.sendJob(j)
	}
}

func (p *fakePool) eachConn(f func(*poolConn)) {
	p.mu.Lock()
	conns := append([]*poolConn(nil), p.conns...)
	p.mu.Unlock()
	for _, c := range conns {
		f(c)
	}
}

// verifyShare rebuilds the share's header from the job as sent and checks
// its double SHA-256 against diff1/difficulty. It shares no code with the
// miner's header assembly.
func verifyShare(n *stratum.Notify, en1 []byte, s stratum.SubmitParams, mask uint32, difficulty float64) bool {
	var cb bytes.Buffer
	cb.Write(n.Coinb1)
	cb.Write(en1)
	cb.Write(s.Extranonce2)
	cb.Write(n.Coinb2)
	dsha := func(b []byte) []byte {
		x := sha256.Sum256(b)
		y := sha256.Sum256(x[:])
		return y[:]
	}
	node := dsha(cb.Bytes())
	for _, b := range n.MerkleBranch {
		node = dsha(append(append([]byte{}, node...), b[:]...))
	}
	version := n.Version
	if s.HasVersionBits {
		version = (n.Version &^ mask) | (s.VersionBits & mask)
	}
	var hdr bytes.Buffer
	binary.Write(&hdr, binary.LittleEndian, version)
	hdr.Write(n.PrevHash[:])
	hdr.Write(node)
	binary.Write(&hdr, binary.LittleEndian, s.NTime)
	binary.Write(&hdr, binary.LittleEndian, n.NBits)
	binary.Write(&hdr, binary.LittleEndian, s.Nonce)
	h := dsha(hdr.Bytes())
	be := make([]byte, 32)
	for i := range h {
		be[31-i] = h[i]
	}
	hv := new(big.Int).SetBytes(be)
	// hash <= diff1/difficulty  ⇔  hash*difficulty <= diff1 (exact rationals).
	lhs := new(big.Rat).Mul(new(big.Rat).SetInt(hv), new(big.Rat).SetFloat64(difficulty))
	diff1 := new(big.Int).Lsh(big.NewInt(0xffff), 208)
	return lhs.Cmp(new(big.Rat).SetInt(diff1)) <= 0
}

// selfSigned returns a throwaway certificate for 127.0.0.1.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "jetpool test pool"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
