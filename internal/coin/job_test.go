package coin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

var testPayout = []byte{0x00, 0x14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}

func testBase(t testing.TB, segwit bool) *Base {
	t.Helper()
	b, err := NewBase(BaseConfig{
		Symbol: "tst", Network: Regtest, CoinbaseMaturity: 100, InitialSubsidy: 50e8, HalvingInterval: 150, Hasher: pow.SHA256d,
		Diff1: target.SHA256dDiff1, HashrateMultiplier: target.SHA256dHashesPerDiff1, Segwit: segwit,
		TemplateRules: []string{"segwit"},
		DecodeAddress: func(addr string) ([]byte, error) { return nil, &AddressError{Addr: addr} },
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testJob(t testing.TB, opts JobOptions) (*Base, *Template, *Job) {
	t.Helper()
	b := testBase(t, true)
	tpl, err := b.ParseTemplate(witnessTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	if opts.JobID == "" {
		opts.JobID = "j1"
	}
	if opts.PayoutScript == nil {
		opts.PayoutScript = testPayout
	}
	job, err := b.NewJob(tpl, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b, tpl, job
}

func TestNewBaseErrors(t *testing.T) {
	ok := BaseConfig{Symbol: "x", Network: Regtest, CoinbaseMaturity: 1, InitialSubsidy: 1, HalvingInterval: 1, Hasher: pow.SHA256d, Diff1: target.SHA256dDiff1,
		HashrateMultiplier: 1, DecodeAddress: func(string) ([]byte, error) { return nil, nil }}
	tests := []struct {
		name string
		mut  func(*BaseConfig)
	}{
		{"empty symbol", func(c *BaseConfig) { c.Symbol = "" }},
		{"empty network", func(c *BaseConfig) { c.Network = "" }},
		{"zero maturity", func(c *BaseConfig) { c.CoinbaseMaturity = 0 }},
		{"zero subsidy", func(c *BaseConfig) { c.InitialSubsidy = 0 }},
		{"zero halving interval", func(c *BaseConfig) { c.HalvingInterval = 0 }},
		{"nil hasher", func(c *BaseConfig) { c.Hasher = nil }},
		{"zero diff1", func(c *BaseConfig) { c.Diff1 = target.Target{} }},
		{"zero multiplier", func(c *BaseConfig) { c.HashrateMultiplier = 0 }},
		{"nil decoder", func(c *BaseConfig) { c.DecodeAddress = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mut(&c)
			if _, err := NewBase(c); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := NewBase(ok); err != nil {
		t.Fatal(err)
	}
}

func TestNewJobDefaults(t *testing.T) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	_, tpl, job := testJob(t, JobOptions{CreatedAt: created, CleanJobs: true})
	switch {
	case job.Extranonce1Size != 4 || job.Extranonce2Size != 4:
		t.Fatalf("extranonce sizes %d+%d", job.Extranonce1Size, job.Extranonce2Size)
	case job.Coinb1[len(job.Coinb1)-1] != 8:
		t.Fatalf("coinb1 ends with %#x, want push of 8", job.Coinb1[len(job.Coinb1)-1])
	case !job.Witness || job.TxCount != 2 || len(job.MerkleBranch) != 2:
		t.Fatalf("witness %v txs %d branch %d", job.Witness, job.TxCount, len(job.MerkleBranch))
	case job.MinTime != tpl.MinTime || job.MaxTime != tpl.MaxTime || job.NTime != tpl.CurTime:
		t.Fatalf("times %d %d %d", job.MinTime, job.NTime, job.MaxTime)
	case !job.CreatedAt.Equal(created) || !job.CleanJobs || job.TemplateID != tpl.ID:
		t.Fatalf("created %v clean %v template %q", job.CreatedAt, job.CleanJobs, job.TemplateID)
	case job.NetworkTarget != tpl.Target || job.CoinbaseValue != tpl.CoinbaseValue || job.Coin != "tst":
		t.Fatal("target, value or coin not copied")
	}
	if err := job.Validate(); err != nil {
		t.Fatal(err)
	}
	// Without mintime/maxtime the window is curtime .. curtime+2h.
	tp := *tpl
	tp.MinTime, tp.MaxTime = 0, 0
	j2, err := testBase(t, true).NewJob(&tp, JobOptions{JobID: "x", PayoutScript: testPayout})
	if err != nil {
		t.Fatal(err)
	}
	if j2.MinTime != tp.CurTime || j2.MaxTime != tp.CurTime+7200 {
		t.Fatalf("derived window %d..%d", j2.MinTime, j2.MaxTime)
	}
}

func TestNewJobErrors(t *testing.T) {
	b := testBase(t, true)
	tpl, err := b.ParseTemplate(witnessTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts JobOptions
	}{
		{"no job id", JobOptions{PayoutScript: testPayout}},
		{"no payout", JobOptions{JobID: "a"}},
		{"payout too long", JobOptions{JobID: "a", PayoutScript: make([]byte, MaxPayoutScript+1)}},
		{"extranonce1 too big", JobOptions{JobID: "a", PayoutScript: testPayout, Extranonce1Size: 17}},
		{"negative extranonce2", JobOptions{JobID: "a", PayoutScript: testPayout, Extranonce2Size: -1}},
		{"pool tag too long", JobOptions{JobID: "a", PayoutScript: testPayout, PoolTag: strings.Repeat("t", 88)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := b.NewJob(tpl, tc.opts); !errors.Is(err, ErrBadJobOptions) {
				t.Fatalf("err = %v, want ErrBadJobOptions", err)
			}
		})
	}
	// The longest tag that fits: height push (2) + OP_PUSHDATA1 tag push
	// (2+87) + extranonce push (1+8) = 100 bytes.
	if _, err := b.NewJob(tpl, JobOptions{JobID: "a", PayoutScript: testPayout, PoolTag: strings.Repeat("t", 87)}); err != nil {
		t.Fatalf("87-byte tag: %v", err)
	}
}

func TestNoSegwitCoin(t *testing.T) {
	b := testBase(t, false)
	if _, err := b.ParseTemplate(witnessTemplate(t)); !errors.Is(err, ErrBadTemplate) {
		t.Fatalf("witness template on a non-segwit coin: %v", err)
	}
	tpl, err := testBase(t, true).ParseTemplate(setField(t, "transactions", []any{}))
	if err != nil {
		t.Fatal(err)
	}
	tpl.WitnessCommitment = []byte{1}
	job, err := b.NewJob(tpl, JobOptions{JobID: "a", PayoutScript: testPayout})
	if err != nil || job.Witness {
		t.Fatalf("non-segwit job witness %v, %v", job.Witness, err)
	}
}

func TestHeaderAndCheck(t *testing.T) {
	_, _, job := testJob(t, JobOptions{})
	en1, en2 := []byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}
	cb, err := job.CoinbaseTx(en1, en2)
	if err != nil {
		t.Fatal(err)
	}
	root := MerkleRootFromBranch(Hash(pow.SHA256d(cb)), job.MerkleBranch)
	var hdr [80]byte
	if err := job.Header(&hdr, en1, en2, 0x11223344, 0x55667788, 0x20000004); err != nil {
		t.Fatal(err)
	}
	switch {
	case binary.LittleEndian.Uint32(hdr[0:]) != 0x20000004:
		t.Fatal("version")
	case !bytes.Equal(hdr[4:36], job.PrevHash[:]):
		t.Fatal("prev hash")
	case !bytes.Equal(hdr[36:68], root[:]):
		t.Fatal("merkle root")
	case binary.LittleEndian.Uint32(hdr[68:]) != 0x11223344 || binary.LittleEndian.Uint32(hdr[72:]) != job.NBits || binary.LittleEndian.Uint32(hdr[76:]) != 0x55667788:
		t.Fatal("time, bits or nonce")
	}

	sub := Submission{Extranonce1: en1, Extranonce2: en2, NTime: 0x11223344, Nonce: 0x55667788, Version: 0x20000004}
	var res ShareResult
	easy, hard := target.Max, target.Target{1}
	if err := job.Check(pow.SHA256d, &sub, &easy, &res); err != nil || res.Header != hdr || !res.MeetsShare {
		t.Fatalf("easy check: %v %v", res.MeetsShare, err)
	}
	if res.Hash != pow.SHA256d(hdr[:]) || res.MeetsNetwork != job.NetworkTarget.HashMeets(&res.Hash) {
		t.Fatal("hash or network verdict")
	}
	if err := job.Check(pow.SHA256d, &sub, &hard, &res); err != nil || res.MeetsShare {
		t.Fatalf("hard check: %v %v", res.MeetsShare, err)
	}
	sub.Extranonce2 = en2[:3]
	if err := job.Check(pow.SHA256d, &sub, &easy, &res); !errors.Is(err, ErrExtranonceSize) {
		t.Fatalf("short extranonce2: %v", err)
	}
	if _, err := job.CoinbaseTx(en1, nil); !errors.Is(err, ErrExtranonceSize) {
		t.Fatalf("CoinbaseTx short: %v", err)
	}
}

func TestCoinbaseWitnessForm(t *testing.T) {
	_, _, job := testJob(t, JobOptions{})
	en1, en2 := []byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}
	nw, _ := job.CoinbaseTx(en1, en2)
	w, err := job.CoinbaseTxWitness(en1, en2)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != len(nw)+2+34 || w[4] != 0 || w[5] != 1 {
		t.Fatalf("witness form %x", w)
	}
	info, err := ParseTx(w)
	if err != nil || !info.HasWitness || info.TxID != Hash(pow.SHA256d(nw)) || info.Size != len(w) {
		t.Fatalf("ParseTx(witness coinbase) = %+v, %v", info, err)
	}
	// witness: 1 item of 32 zero bytes just before the locktime
	wit := w[len(w)-4-34 : len(w)-4]
	if wit[0] != 1 || wit[1] != 32 || !bytes.Equal(wit[2:], make([]byte, 32)) {
		t.Fatalf("witness %x", wit)
	}
}

// TestHeaderLargeCoinbase covers coinbases beyond the stack buffer.
func TestHeaderLargeCoinbase(t *testing.T) {
	big := append([]byte{0x6a, 0x4d, 0xfd, 0x01}, make([]byte, 509)...)
	_, _, job := testJob(t, JobOptions{PayoutScript: big})
	en1, en2 := []byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}
	cb, _ := job.CoinbaseTx(en1, en2)
	if len(cb) <= stackCoinbase {
		t.Fatalf("coinbase of %d bytes does not exceed the stack buffer", len(cb))
	}
	var hdr [80]byte
	if err := job.Header(&hdr, en1, en2, 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	root := MerkleRootFromBranch(Hash(pow.SHA256d(cb)), job.MerkleBranch)
	if !bytes.Equal(hdr[36:68], root[:]) {
		t.Fatal("merkle root differs for a large coinbase")
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	_, _, job := testJob(t, JobOptions{PoolTag: "/jetpool/"})
	sub := Submission{Extranonce1: []byte{1, 2, 3, 4}, Extranonce2: []byte{5, 6, 7, 8}}
	res := new(ShareResult)
	tgt := target.SHA256dDiff1
	var h pow.Hasher = pow.SHA256d
	if a := testing.AllocsPerRun(100, func() {
		sub.Nonce++
		_ = job.Check(h, &sub, &tgt, res)
	}); a != 0 {
		t.Fatalf("Check allocates %v times", a)
	}
}

func TestCheckNTime(t *testing.T) {
	job := &Job{MinTime: 100, MaxTime: 200}
	for _, tc := range []struct {
		ntime uint32
		ok    bool
	}{{99, false}, {100, true}, {150, true}, {200, true}, {201, false}} {
		if err := job.CheckNTime(tc.ntime); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrNTimeRange)) {
			t.Errorf("CheckNTime(%d) = %v", tc.ntime, err)
		}
	}
}

func TestValidate(t *testing.T) {
	_, _, good := testJob(t, JobOptions{})
	tests := []struct {
		name string
		mut  func(*Job)
	}{
		{"empty id", func(j *Job) { j.ID = "" }},
		{"empty coin", func(j *Job) { j.Coin = "" }},
		{"zero extranonce1", func(j *Job) { j.Extranonce1Size = 0 }},
		{"huge extranonce2", func(j *Job) { j.Extranonce2Size = 99 }},
		{"coinb1 push mismatch", func(j *Job) { j.Extranonce2Size = 5 }},
		{"short coinb1", func(j *Job) { j.Coinb1 = j.Coinb1[:10] }},
		{"short coinb2", func(j *Job) { j.Coinb2 = j.Coinb2[:5] }},
		{"long branch", func(j *Job) { j.MerkleBranch = make([]Hash, 33) }},
		{"zero target", func(j *Job) { j.NetworkTarget = target.Target{} }},
		{"target not nbits", func(j *Job) { j.NetworkTarget = target.Max }},
		{"stratum prev hash", func(j *Job) { j.PrevHashStratum = "00" }},
		{"time window", func(j *Job) { j.MaxTime = j.MinTime - 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := *good
			j.Coinb1 = append(HexBytes{}, good.Coinb1...)
			tc.mut(&j)
			if err := j.Validate(); !errors.Is(err, ErrBadJob) {
				t.Fatalf("Validate = %v, want ErrBadJob", err)
			}
		})
	}
}

func TestBuildBlockMismatch(t *testing.T) {
	b, tpl, job := testJob(t, JobOptions{})
	sub := Submission{Extranonce1: []byte{1, 2, 3, 4}, Extranonce2: []byte{5, 6, 7, 8}, NTime: job.NTime, Version: job.Version}
	if _, err := b.BuildBlock(job, tpl, sub); err != nil {
		t.Fatal(err)
	}
	swapped := *tpl
	swapped.Transactions = []TemplateTx{tpl.Transactions[1], tpl.Transactions[0]}
	otherID := *tpl
	otherID.ID = "other"
	otherCoin := *job
	otherCoin.Coin = "btc"
	tests := []struct {
		name string
		job  *Job
		tpl  *Template
	}{
		{"nil template", job, nil},
		{"transactions reordered", job, &swapped},
		{"other template id", job, &otherID},
		{"job of another coin", &otherCoin, tpl},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := b.BuildBlock(tc.job, tc.tpl, sub); !errors.Is(err, ErrTemplateMismatch) {
				t.Fatalf("err = %v, want ErrTemplateMismatch", err)
			}
		})
	}
	sub.Extranonce1 = nil
	if _, err := b.BuildBlock(job, tpl, sub); !errors.Is(err, ErrExtranonceSize) {
		t.Fatalf("missing extranonce1: %v", err)
	}
}

func TestNotify(t *testing.T) {
	_, tpl, job := testJob(t, JobOptions{CleanJobs: true})
	n := job.Notify()
	if n.JobID != "j1" || n.Coinb1 != job.Coinb1.String() || n.Coinb2 != job.Coinb2.String() || !n.CleanJobs ||
		n.Version != "20000000" || n.NBits != "207fffff" || len(n.NTime) != 8 || n.PrevHash != job.PrevHashStratum {
		t.Fatalf("%+v", n)
	}
	if len(n.MerkleBranch) != 2 || n.MerkleBranch[0] != strings.ToLower(n.MerkleBranch[0]) || len(n.MerkleBranch[1]) != 64 {
		t.Fatalf("branch %v", n.MerkleBranch)
	}
	if tpl.Transactions[0].TxID.String() == n.MerkleBranch[0] {
		t.Fatal("branch must be in internal byte order, not display order")
	}
}
