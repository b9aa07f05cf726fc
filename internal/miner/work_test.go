package miner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"strconv"
	"testing"

	"github.com/jetpool/jetpool/internal/stratum"
)

type vector struct {
	Name         string          `json:"name"`
	Notify       json.RawMessage `json:"notify"`
	Extranonce1  string          `json:"extranonce1"`
	Extranonce2  string          `json:"extranonce2"`
	Nonce        string          `json:"nonce"`
	VersionMask  string          `json:"version_mask"`
	VersionBits  string          `json:"version_bits"`
	PrevHash     string          `json:"prevhash"`
	CoinbaseTxid string          `json:"coinbase_txid"`
	MerkleRoot   string          `json:"merkle_root"`
	Hash         string          `json:"hash"`
	IsBlock      bool            `json:"is_block"`
	MinDiff      float64         `json:"min_difficulty"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Vectors []vector }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 3 {
		t.Fatalf("only %d vectors", len(f.Vectors))
	}
	return f.Vectors
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hex32(t testing.TB, s string) uint32 {
	t.Helper()
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v)
}

// display returns a header-order hash as the usual reversed hex.
func display(h []byte) string {
	r := make([]byte, len(h))
	for i := range h {
		r[len(h)-1-i] = h[i]
	}
	return hex.EncodeToString(r)
}

// compactTarget expands nbits (independent of the code under test).
func compactTarget(nbits uint32) *big.Int {
	mant := big.NewInt(int64(nbits & 0x007fffff))
	exp := int(nbits >> 24)
	if exp <= 3 {
		return mant.Rsh(mant, uint(8*(3-exp)))
	}
	return mant.Lsh(mant, uint(8*(exp-3)))
}

// TestKnownAnswer rebuilds real blocks and a real pool share from their
// Stratum form: prevhash word order, coinbase split, merkle branch, field
// byte orders and BIP310 version bits must all be right for the hash to
// come out.
func TestKnownAnswer(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			n, err := stratum.ParseNotify(v.Notify)
			if err != nil {
				t.Fatal(err)
			}
			if got := display(n.PrevHash[:]); got != v.PrevHash {
				t.Fatalf("prevhash = %s, want %s", got, v.PrevHash)
			}
			en1, en2 := unhex(t, v.Extranonce1), unhex(t, v.Extranonce2)
			txid, _ := coinbaseTxid(nil, &n, en1, en2)
			if v.CoinbaseTxid != "" && display(txid[:]) != v.CoinbaseTxid {
				t.Fatalf("coinbase txid = %s, want %s", display(txid[:]), v.CoinbaseTxid)
			}
			root := merkleRoot(txid, n.MerkleBranch)
			if v.MerkleRoot != "" && display(root[:]) != v.MerkleRoot {
				t.Fatalf("merkle root = %s, want %s", display(root[:]), v.MerkleRoot)
			}
			version := n.Version
			if v.VersionBits != "" {
				p := stratum.SubmitParams{VersionBits: hex32(t, v.VersionBits), HasVersionBits: true}
				version = p.Version(n.Version, hex32(t, v.VersionMask))
			}
			nonce := hex32(t, v.Nonce)
			hdr := shareHeader(&n, en1, en2, version, n.NTime, nonce)
			if got := sha256dSum(hdr[:]); display(got[:]) != v.Hash {
				t.Fatalf("header hash = %s, want %s", display(got[:]), v.Hash)
			}
			// The mining hasher (midstate) agrees with the plain hash.
			h := NewSHA256d()
			h.SetHeader(&hdr)
			var out [32]byte
			h.Hash(nonce, &out)
			if display(out[:]) != v.Hash {
				t.Fatalf("hasher = %s, want %s", display(out[:]), v.Hash)
			}
			if v.IsBlock {
				tgt := compactTarget(n.NBits)
				if new(big.Int).SetBytes(unhex(t, v.Hash)).Cmp(tgt) > 0 {
					t.Fatalf("block hash above its nbits target")
				}
			}
			if d := hashDifficulty(&out, diff1SHA256); d < v.MinDiff {
				t.Fatalf("share difficulty %v < %v", d, v.MinDiff)
			}
			if v.MinDiff > 0 {
				tgt := targetFromDifficulty(v.MinDiff, diff1SHA256)
				if !tgt.Meets(&out) {
					t.Fatalf("share does not meet difficulty %v", v.MinDiff)
				}
			}
		})
	}
}

func TestTargetFromDifficulty(t *testing.T) {
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	tests := []struct {
		name string
		diff float64
		want *big.Int
	}{
		{"difficulty 1", 1, diff1SHA256},
		{"difficulty 2", 2, new(big.Int).Rsh(diff1SHA256, 1)},
		{"difficulty 65536", 65536, new(big.Int).Lsh(big.NewInt(0xffff), 192)},
		{"difficulty 0.5", 0.5, new(big.Int).Lsh(diff1SHA256, 1)},
		{"difficulty 2^-16", 1.0 / 65536, new(big.Int).Lsh(big.NewInt(0xffff), 224)},
		{"difficulty 2^-32", math.Ldexp(1, -32), new(big.Int).Lsh(big.NewInt(0xffff), 240)},
		{"difficulty 2^-40 clamps to max", math.Ldexp(1, -40), max},
		{"zero means 1", 0, diff1SHA256},
		{"negative means 1", -3, diff1SHA256},
		{"NaN means 1", math.NaN(), diff1SHA256},
		{"huge", 1e80, big.NewInt(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := targetFromDifficulty(tc.diff, diff1SHA256)
			if got := tg.Big(); got.Cmp(tc.want) != 0 {
				t.Fatalf("target %x, want %x", got, tc.want)
			}
		})
	}
	// A fractional difficulty: 0.0001 → diff1 * 10000 (to float precision).
	got := targetFromDifficulty(0.0001, diff1SHA256)
	want := new(big.Int).Mul(diff1SHA256, big.NewInt(10000))
	diff := new(big.Int).Sub(got.Big(), want)
	if diff.Abs(diff).Cmp(new(big.Int).Rsh(want, 40)) > 0 {
		t.Fatalf("0.0001 target %x too far from %x", got.Big(), want)
	}
}

func TestTargetMeets(t *testing.T) {
	tg := targetFromDifficulty(1, diff1SHA256) // 00000000ffff0000…
	var h [32]byte
	h[27] = 0xff
	h[26] = 0xff // hash == target
	if !tg.Meets(&h) {
		t.Error("equal hash does not meet")
	}
	h[0] = 1 // just above
	if tg.Meets(&h) {
		t.Error("hash above target meets")
	}
	h = [32]byte{}
	h[28] = 1 // far above (bit 224)
	if tg.Meets(&h) {
		t.Error("big hash meets")
	}
	h = [32]byte{31: 0}
	if !tg.Meets(&h) {
		t.Error("zero hash does not meet")
	}
}

func TestDepositBits(t *testing.T) {
	tests := []struct{ v, mask, want uint32 }{
		{0, 0x1fffe000, 0},
		{1, 0x1fffe000, 0x00002000},
		{2, 0x1fffe000, 0x00004000},
		{3, 0x1fffe000, 0x00006000},
		{0xffff, 0x1fffe000, 0x1fffe000},
		{0x1ffff, 0x1fffe000, 0x1fffe000}, // bits beyond the mask are dropped
		{5, 0x00000101, 0x00000001},
		{5, 0, 0},
	}
	for _, tc := range tests {
		if got := depositBits(tc.v, tc.mask); got != tc.want {
			t.Errorf("depositBits(%x, %08x) = %08x, want %08x", tc.v, tc.mask, got, tc.want)
		}
	}
	if rollCount(0x1fffe000) != 1<<16 || rollCount(0xffffffff) != 1<<maxRollBits || rollCount(0x3) != 4 {
		t.Error("rollCount")
	}
	if extranonce2Count(4) != 1<<32 || extranonce2Count(0) != 1 || extranonce2Count(8) != 1<<63 {
		t.Error("extranonce2Count")
	}
	b := make([]byte, 4)
	putExtranonce2(b, 0x0102)
	if !bytes.Equal(b, []byte{0, 0, 1, 2}) {
		t.Errorf("putExtranonce2 = %x", b)
	}
}

func TestSHA256dHasher(t *testing.T) {
	h := NewSHA256d()
	var hdr [80]byte
	var out [32]byte
	// Before any SetHeader, it hashes the zero header.
	h.Hash(7, &out)
	hdr[76] = 7
	if out != sha256dSum(hdr[:]) {
		t.Fatal("fresh hasher disagrees with sha256d")
	}
	for i := range hdr {
		hdr[i] = byte(i * 31)
	}
	h.SetHeader(&hdr)
	for _, nonce := range []uint32{0, 1, 0xdeadbeef, 0xffffffff} {
		h.Hash(nonce, &out)
		hdr[76], hdr[77], hdr[78], hdr[79] = byte(nonce), byte(nonce>>8), byte(nonce>>16), byte(nonce>>24)
		first := sha256.Sum256(hdr[:])
		if want := sha256.Sum256(first[:]); out != want {
			t.Fatalf("nonce %x: got %x want %x", nonce, out, want)
		}
	}
	if _, err := LookupAlgorithm("x11"); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
	a, err := LookupAlgorithm("sha256d")
	if err != nil || a.Diff1.Cmp(diff1SHA256) != 0 {
		t.Fatalf("sha256d lookup = %+v, %v", a, err)
	}
}

// BenchmarkHash reports sha256d header hashes per second for one thread.
func BenchmarkHash(b *testing.B) {
	for _, name := range []string{"sha256d", "scrypt"} {
		b.Run(name, func(b *testing.B) {
			a, err := LookupAlgorithm(name)
			if err != nil {
				b.Fatal(err)
			}
			h := a.NewHasher()
			var hdr [80]byte
			hdr[0] = 0x20
			h.SetHeader(&hdr)
			var out [32]byte
			n := uint32(0)
			for b.Loop() {
				h.Hash(n, &out)
				n++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
		})
	}
}

// TestScryptHasher checks the miner's scrypt against the Litecoin genesis
// block: its PoW hash (0000050c34a6…1e00) meets nBits 1e0ffff0.
func TestScryptHasher(t *testing.T) {
	a, err := LookupAlgorithm("scrypt")
	if err != nil || a.Diff1.Cmp(new(big.Int).Lsh(big.NewInt(0xffff), 224)) != 0 {
		t.Fatalf("scrypt lookup = %+v, %v", a, err)
	}
	hdr, err := hex.DecodeString("010000000000000000000000000000000000000000000000000000000000000000000000d9ced4ed1130f7b7faad9be25323ffafa33232a17c3edf6cfd97bee6bafbdd97b9aa8e4ef0ff0f1ecd513f7c")
	if err != nil {
		t.Fatal(err)
	}
	h := a.NewHasher()
	h.SetHeader((*[80]byte)(hdr))
	var out [32]byte
	h.Hash(2084524493, &out)
	want := "0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00"
	rev := make([]byte, 32)
	for i := range out {
		rev[31-i] = out[i]
	}
	if got := hex.EncodeToString(rev); got != want {
		t.Fatalf("scrypt(genesis) = %s, want %s", got, want)
	}
}
