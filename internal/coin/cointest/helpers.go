package cointest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/target"
)

// Helpers the coin packages' own tests share: vectors from hex and
// testdata files, and the checks their fuzz targets make.

// Hex decodes s, hex with optional surrounding white space, and fails the
// test if it is not hex.
func Hex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Testdata returns the contents of testdata/name in the package under
// test.
func Testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestdataHex returns the bytes of testdata/name, a file of hex (a raw
// block as getblock <hash> 0 prints it).
func TestdataHex(t testing.TB, name string) []byte {
	t.Helper()
	return Hex(t, string(Testdata(t, name)))
}

// New returns the coin newCoin makes for network (a coin package's New),
// failing the test on an error.
func New[C coin.Coin](t testing.TB, newCoin func(network string) (C, error), network string) C {
	t.Helper()
	c, err := newCoin(network)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Template returns c's parse of testdata/name, a getblocktemplate reply,
// failing the test on an error.
func Template(t testing.TB, c coin.Coin, name string) *coin.Template {
	t.Helper()
	tpl, err := c.ParseTemplate(Testdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// RawBlockVector turns a raw block (bitcoin-family serialisation, as btcd's
// wire decodes it) into a BlockVector at height; it leaves WTxIDs nil.
func RawBlockVector(t testing.TB, name string, raw []byte, height int64) BlockVector {
	t.Helper()
	var msg wire.MsgBlock
	if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	var cb bytes.Buffer
	if err := msg.Transactions[0].Serialize(&cb); err != nil {
		t.Fatal(err)
	}
	v := BlockVector{Name: name, Header: raw[:80], Coinbase: cb.Bytes(), Height: height}
	for _, tx := range msg.Transactions[1:] {
		v.TxIDs = append(v.TxIDs, coin.Hash(tx.TxHash()))
	}
	return v
}

// GoodAddress is an AddressVector of an address that must map to script
// (hex).
func GoodAddress(t testing.TB, name, addr, script string) AddressVector {
	t.Helper()
	return AddressVector{Name: name, Addr: addr, Script: Hex(t, script)}
}

// BadAddress is an AddressVector of an address that must be rejected,
// with an error that also matches kind when kind is not nil.
func BadAddress(name, addr string, kind error) AddressVector {
	return AddressVector{Name: name, Addr: addr, Err: kind}
}

// EditJSON returns the JSON object raw after edit has changed its decoded
// fields.
func EditJSON(t testing.TB, raw []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzAddress is the common part of a coin's address fuzz target: it
// returns c's script for addr, or ok false after checking that the error
// wraps coin.ErrBadAddress.
func FuzzAddress(t *testing.T, c coin.Coin, addr string) (script []byte, ok bool) {
	t.Helper()
	script, err := c.ValidateAddress(addr)
	if err != nil {
		if !errors.Is(err, coin.ErrBadAddress) {
			t.Fatalf("error %v does not wrap ErrBadAddress", err)
		}
		return nil, false
	}
	return script, true
}

// FuzzTemplate is the common part of a coin's template fuzz target: raw,
// a getblocktemplate reply as a node could send it, is either rejected by
// ParseTemplate or NewJob (FuzzTemplate returns nil) or gives a job whose
// block BuildBlock serialises (FuzzTemplate returns the job).
func FuzzTemplate(t *testing.T, c coin.Coin, raw []byte) *coin.Job {
	t.Helper()
	tpl, err := c.ParseTemplate(raw)
	if err != nil {
		return nil
	}
	job, err := c.NewJob(tpl, coin.JobOptions{JobID: "f", PayoutScript: []byte{0x51}})
	if err != nil {
		return nil
	}
	sub := coin.Submission{Extranonce1: make([]byte, job.Extranonce1Size), Extranonce2: make([]byte, job.Extranonce2Size)}
	if _, err := c.BuildBlock(job, tpl, sub); err != nil {
		t.Fatalf("BuildBlock of an accepted template: %v", err)
	}
	return job
}

// BenchShares measures the gateway's per-share path: the job that job
// returns (a lookup, for a coin whose benchmark includes one), ntime
// check, coinbase assembly, merkle root, header, PoW hash and the
// comparison with a pool-difficulty-65536 share target and the network
// target, for sub with the job's ntime and a new nonce each time. It
// reports allocations and shares/s.
func BenchShares(b *testing.B, c coin.Coin, job func() *coin.Job, sub coin.Submission) {
	b.Helper()
	shareTarget, err := target.FromDifficulty(c.Diff1(), 65536)
	if err != nil {
		b.Fatal(err)
	}
	hasher := c.Hasher()
	res := new(coin.ShareResult)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		j := job()
		sub.NTime = j.NTime
		sub.Nonce = uint32(i)
		if err := j.CheckNTime(sub.NTime); err != nil {
			b.Fatal(err)
		}
		if err := j.Check(hasher, &sub, &shareTarget, res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "shares/s")
}
