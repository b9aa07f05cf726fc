package btc

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/cointest"
)

// bigTemplate returns a getblocktemplate reply with n transactions, every
// other one spending a P2WPKH output with a witness.
func bigTemplate(tb testing.TB, n int) []byte {
	tb.Helper()
	type tx struct {
		Data   string `json:"data"`
		TxID   string `json:"txid"`
		Hash   string `json:"hash"`
		Fee    int64  `json:"fee"`
		Weight int64  `json:"weight"`
	}
	txs := make([]tx, n)
	for i := range txs {
		m := wire.NewMsgTx(2)
		prev := chainhash.Hash(sha256.Sum256(binary.LittleEndian.AppendUint32(nil, uint32(i))))
		in := wire.NewTxIn(wire.NewOutPoint(&prev, 0), nil, nil)
		if i%2 == 0 {
			in.Witness = wire.TxWitness{bytes.Repeat([]byte{0x30}, 72), bytes.Repeat([]byte{0x02}, 33)}
		} else {
			in.SignatureScript = bytes.Repeat([]byte{0x47}, 107)
		}
		m.AddTxIn(in)
		m.AddTxOut(wire.NewTxOut(int64(1000+i), append([]byte{0x00, 0x14}, prev[:20]...)))
		m.AddTxOut(wire.NewTxOut(int64(5000+i), append([]byte{0x00, 0x14}, prev[12:]...)))
		var b bytes.Buffer
		if err := m.Serialize(&b); err != nil {
			tb.Fatal(err)
		}
		txs[i] = tx{hex.EncodeToString(b.Bytes()), m.TxHash().String(), m.WitnessHash().String(), 1000, int64(4 * b.Len())}
	}
	raw, err := json.Marshal(map[string]any{
		"version": 0x20000000, "previousblockhash": "00000000000000000001d4a3b4e4f1b4d9c2bd3e0d4b5a0b9f1e2d3c4b5a6978",
		"transactions": txs, "coinbasevalue": 312500000 + 1000*int64(n), "bits": "17034219",
		"height": 900000, "curtime": 1750000000, "mintime": 1749990000,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// BenchmarkShareValidation is the gateway's per-share path on a
// 2,000-transaction mainnet template: job lookup by id, ntime check,
// coinbase assembly, merkle root through an 11-hash branch, header,
// SHA256d, share and network target comparison.
func BenchmarkShareValidation(b *testing.B) {
	c := cointest.New(b, New, "mainnet")
	tpl, err := c.ParseTemplate(bigTemplate(b, 2000))
	if err != nil {
		b.Fatal(err)
	}
	payout, err := c.ValidateAddress("bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv")
	if err != nil {
		b.Fatal(err)
	}
	jobs := map[string]*coin.Job{}
	for i := 0; i < 8; i++ {
		id := fmt.Sprintf("%x", i)
		job, err := c.NewJob(tpl, coin.JobOptions{JobID: id, PayoutScript: payout, PoolTag: "/jetpool/"})
		if err != nil {
			b.Fatal(err)
		}
		jobs[id] = job
	}
	if n := len(jobs["7"].MerkleBranch); n != 11 {
		b.Fatalf("branch of %d", n)
	}
	sub := coin.Submission{Extranonce1: []byte{1, 2, 3, 4}, Extranonce2: []byte{0, 0, 0, 0}, Version: 0x20000000}
	cointest.BenchShares(b, c, func() *coin.Job { return jobs["7"] }, sub)
}

// BenchmarkNewJob is the jobmaker's cost per 2,000-transaction template
// (parse with txid checks, then job).
func BenchmarkNewJob(b *testing.B) {
	c := cointest.New(b, New, "mainnet")
	raw := bigTemplate(b, 2000)
	payout := []byte{0x51, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}
	b.ReportAllocs()
	for b.Loop() {
		tpl, err := c.ParseTemplate(raw)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.NewJob(tpl, coin.JobOptions{JobID: "1", PayoutScript: payout}); err != nil {
			b.Fatal(err)
		}
	}
}
