package loadgen

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/internal/target"
)

// notifyOf is the mining.notify a gateway sends for job, as the client
// parses it off the wire.
func notifyOf(t *testing.T, job *coin.Job) stratum.Notify {
	t.Helper()
	n := stratum.Notify{JobID: job.ID, PrevHash: job.PrevHash, Coinb1: job.Coinb1, Coinb2: job.Coinb2,
		Version: job.Version, NBits: job.NBits, NTime: job.NTime, CleanJobs: true}
	for _, h := range job.MerkleBranch {
		n.MerkleBranch = append(n.MerkleBranch, h)
	}
	msg, err := stratum.DecodeMessage(stratum.AppendNotify(nil, &n))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := stratum.ParseNotify(msg.Params)
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

// The client's header for a notify must be the header the gateway builds
// from the job, and a share it mines must pass the gateway's Check.
func TestClientSharesPassTheGatewayCheck(t *testing.T) {
	c, err := coin.Get(benchCoin, benchNetwork)
	if err != nil {
		t.Fatal(err)
	}
	for _, txs := range []int{0, 1, 2000} {
		jm, err := newJobMaker(c, DefaultAddress, txs, 4, 4)
		if err != nil {
			t.Fatal(err)
		}
		job, _, err := jm.next()
		if err != nil {
			t.Fatal(err)
		}
		if txs == 2000 && len(job.MerkleBranch) != 11 {
			t.Fatalf("2000 transactions: branch of %d, want 11", len(job.MerkleBranch))
		}
		n := notifyOf(t, job)
		en1, en2 := []byte{0xde, 0xad, 0xbe, 0xef}, []byte{1, 0, 0, 0}
		header := headerFor(&n, en1, en2)
		var want [80]byte
		if err := job.Header(&want, en1, en2, job.NTime, 0, job.Version); err != nil {
			t.Fatal(err)
		}
		if header != want {
			t.Fatalf("%d txs: client header\n%x\nwant\n%x", txs, header, want)
		}
		tgt, err := target.FromDifficulty(target.SHA256dDiff1, DefaultDifficulty)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for nonce := uint32(0); nonce < 64 && !found; nonce++ {
			binary.LittleEndian.PutUint32(header[76:80], nonce)
			h := pow.SHA256d(header[:])
			if !tgt.HashMeets(&h) {
				continue
			}
			found = true
			var res coin.ShareResult
			sub := coin.Submission{Extranonce1: en1, Extranonce2: en2, NTime: job.NTime, Nonce: nonce, Version: job.Version}
			if err := job.Check(c.Hasher(), &sub, &tgt, &res); err != nil {
				t.Fatal(err)
			}
			if !res.MeetsShare || res.MeetsNetwork {
				t.Fatalf("share: meets share %v, meets network %v; want a share that is no block", res.MeetsShare, res.MeetsNetwork)
			}
		}
		if !found {
			t.Fatalf("no share in 64 nonces at difficulty %g (about half of all hashes should be)", DefaultDifficulty)
		}
	}
}

func TestTrueResponseID(t *testing.T) {
	tests := []struct {
		name string
		line string
		id   uint64
		ok   bool
	}{
		{"gateway ack", string(stratum.AppendTrue(nil, []byte("12345")))[:len(stratum.AppendTrue(nil, []byte("12345")))-1], 12345, true},
		{"error", `{"id":7,"result":null,"error":[21,"Job not found",null]}`, 0, false},
		{"false", `{"id":7,"result":false,"error":null}`, 0, false},
		{"string id", `{"id":"7","result":true,"error":null}`, 0, false},
		{"spaces", `{"id": 7,"result":true,"error":null}`, 0, false},
		{"empty id", `{"id":,"result":true,"error":null}`, 0, false},
		{"too long", `{"id":123456789012345678901,"result":true,"error":null}`, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := trueResponseID([]byte(tc.line))
			if id != tc.id || ok != tc.ok {
				t.Fatalf("trueResponseID(%s) = %d, %v; want %d, %v", tc.line, id, ok, tc.id, tc.ok)
			}
		})
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name    string
		values  []time.Duration
		q       float64
		wantMs  float64
		maxRel  float64
		wantCnt uint64
	}{
		{"empty", nil, 0.5, 0, 0, 0},
		{"exact small", []time.Duration{5 * time.Microsecond}, 0.5, 0.005, 0, 1},
		{"median of 1..100 ms", ramp(100, time.Millisecond), 0.5, 50, 1.0 / 16, 100},
		{"p99 of 1..100 ms", ramp(100, time.Millisecond), 0.99, 99, 1.0 / 16, 100},
		{"max", ramp(10, time.Second), 1, 10_000, 1.0 / 16, 10},
		{"negative counts as zero", []time.Duration{-time.Second}, 1, 0, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tc.values {
				h.Record(v)
			}
			if h.Count() != tc.wantCnt {
				t.Fatalf("count %d, want %d", h.Count(), tc.wantCnt)
			}
			got := h.Quantile(tc.q)
			if math.Abs(got-tc.wantMs) > tc.wantMs*tc.maxRel {
				t.Fatalf("q%.2f = %v ms, want %v ms ± %.0f%%", tc.q, got, tc.wantMs, tc.maxRel*100)
			}
		})
	}
}

func ramp(n int, unit time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * unit
	}
	return out
}

func TestBucketsCoverEveryValue(t *testing.T) {
	prev := -1
	for _, us := range []uint64{0, 1, 31, 32, 33, 47, 48, 63, 64, 1000, 1 << 40, math.MaxUint64} {
		b := bucketOf(us)
		if b < 0 || b >= histBuckets || b < prev {
			t.Fatalf("bucketOf(%d) = %d (previous %d, %d buckets)", us, b, prev, histBuckets)
		}
		if mid := bucketMid(b); us >= 32 && math.Abs(mid-float64(us)) > float64(us)/16 {
			t.Fatalf("bucket %d middle %v too far from %d", b, mid, us)
		}
		prev = b
	}
}
