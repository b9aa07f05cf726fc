package cointest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/blockchain"
	"github.com/btcsuite/btcd/btcutil/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

// Vectors are the chain-specific inputs of the suite.
type Vectors struct {
	// Network is the name the coin under test was created with; the
	// suite checks that coin.Get(symbol, Network) returns the same coin.
	Network string

	Addresses []AddressVector
	Headers   []HeaderVector
	Blocks    []BlockVector
	Templates []TemplateVector
	Bits      []BitsVector
	// Subsidies are block subsidies at heights, from the real chain (the
	// coinbase of a block minus its fees) or the node's schedule.
	Subsidies []SubsidyVector
}

// SubsidyVector is the subsidy (base units) of a block at Height.
type SubsidyVector struct {
	Height int64
	Want   int64
}

// AddressVector is a payout address and the script it must map to, or an
// address that must be rejected (Script nil).
type AddressVector struct {
	Name   string
	Addr   string
	Script []byte
	// Err, for a rejected address, is an error the result must match
	// with errors.Is in addition to coin.ErrBadAddress (may be nil).
	Err error
}

// HeaderVector is a real 80-byte header with its block hash and PoW hash,
// both in display (RPC) hex.
type HeaderVector struct {
	Name   string
	Header []byte
	Hash   string
	PoW    string
}

// BlockVector is a real block as its header, its coinbase (serialised as in
// the block, with witness if it has one) and the ids of its other
// transactions in block order. WTxIDs is set for blocks with a witness
// commitment. Height is the BIP34 height (0 before BIP34).
type BlockVector struct {
	Name     string
	Header   []byte
	Coinbase []byte
	TxIDs    []coin.Hash
	WTxIDs   []coin.Hash
	Height   int64
}

// TemplateVector is a getblocktemplate result and the pool's choices.
type TemplateVector struct {
	Name         string
	Raw          []byte
	PayoutScript []byte
	PoolTag      string
	// WantWitness is whether the job must carry a witness commitment.
	WantWitness bool
	// WantCommitment, when set, is the witness commitment output script
	// the coinbase must carry.
	WantCommitment []byte
}

// BitsVector is a compact target and its network difficulty as nodes print
// it (getdifficulty).
type BitsVector struct {
	Name       string
	Bits       uint32
	Difficulty float64
}

// Run runs the conformance suite against c.
func Run(t *testing.T, c coin.Coin, v Vectors) {
	t.Run("Metadata", func(t *testing.T) { testMetadata(t, c, v) })
	t.Run("Addresses", func(t *testing.T) { testAddresses(t, c, v.Addresses) })
	t.Run("Headers", func(t *testing.T) { testHeaders(t, c, v.Headers) })
	t.Run("Blocks", func(t *testing.T) { testBlocks(t, c, v.Blocks) })
	t.Run("Templates", func(t *testing.T) { testTemplates(t, c, v.Templates) })
	t.Run("Bits", func(t *testing.T) { testBits(t, c, v.Bits) })
	t.Run("Subsidy", func(t *testing.T) { testSubsidy(t, c, v.Subsidies) })
}

func testSubsidy(t *testing.T, c coin.Coin, vs []SubsidyVector) {
	for _, v := range vs {
		if got := c.BlockSubsidy(v.Height); got != v.Want {
			t.Errorf("BlockSubsidy(%d) = %d, want %d", v.Height, got, v.Want)
		}
	}
	// Every coin: a positive subsidy at genesis that never grows.
	prev := c.BlockSubsidy(0)
	if prev <= 0 {
		t.Fatalf("BlockSubsidy(0) = %d, want > 0", prev)
	}
	for h := int64(1); h < 1<<40; h = h*3 + 7 {
		s := c.BlockSubsidy(h)
		if s < 0 || s > prev {
			t.Fatalf("BlockSubsidy(%d) = %d after %d: must be non-negative and never grow", h, s, prev)
		}
		prev = s
	}
}

func testMetadata(t *testing.T, c coin.Coin, v Vectors) {
	sym := c.Symbol()
	if sym == "" || sym != strings.ToLower(sym) {
		t.Errorf("Symbol() = %q, want non-empty lower case", sym)
	}
	got, err := coin.Get(sym, v.Network)
	if err != nil {
		t.Fatalf("coin.Get(%q, %q): %v", sym, v.Network, err)
	}
	if got.Symbol() != sym || got.Network() != c.Network() {
		t.Errorf("coin.Get returned %s/%s, want %s/%s", got.Symbol(), got.Network(), sym, c.Network())
	}
	if _, err := coin.Get(sym, "no-such-network"); !errors.Is(err, coin.ErrUnknownNetwork) {
		t.Errorf("coin.Get(%q, no-such-network) error = %v, want ErrUnknownNetwork", sym, err)
	}
	if c.CoinbaseMaturity() < 1 {
		t.Errorf("CoinbaseMaturity() = %d", c.CoinbaseMaturity())
	}
	if c.Hasher() == nil {
		t.Fatal("Hasher() is nil")
	}
	d1 := c.Diff1()
	if d1.IsZero() {
		t.Fatal("Diff1() is zero")
	}
	// The multiplier is the mean number of hashes per diff1 share.
	if want := math.Ldexp(1, 256) / d1.Float64(); math.Abs(c.HashrateMultiplier()-want)/want > 1e-3 {
		t.Errorf("HashrateMultiplier() = %v, 2^256/diff1 = %v", c.HashrateMultiplier(), want)
	}
	if diff := target.Difficulty(d1, d1); diff != 1 {
		t.Errorf("difficulty of diff1 = %v", diff)
	}
}

func testAddresses(t *testing.T, c coin.Coin, vs []AddressVector) {
	if len(vs) == 0 {
		t.Fatal("no address vectors")
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			script, err := c.ValidateAddress(v.Addr)
			if v.Script == nil {
				if err == nil {
					t.Fatalf("ValidateAddress(%q) accepted it (script %x)", v.Addr, script)
				}
				if !errors.Is(err, coin.ErrBadAddress) {
					t.Fatalf("error %v does not wrap coin.ErrBadAddress", err)
				}
				if v.Err != nil && !errors.Is(err, v.Err) {
					t.Fatalf("error %v does not wrap %v", err, v.Err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ValidateAddress(%q): %v", v.Addr, err)
			}
			if !bytes.Equal(script, v.Script) {
				t.Fatalf("ValidateAddress(%q) = %x, want %x", v.Addr, script, v.Script)
			}
		})
	}
}

func testHeaders(t *testing.T, c coin.Coin, vs []HeaderVector) {
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			if len(v.Header) != 80 {
				t.Fatalf("header is %d bytes", len(v.Header))
			}
			if got := coin.Hash(pow.SHA256d(v.Header)).String(); got != v.Hash {
				t.Errorf("block hash = %s, want %s", got, v.Hash)
			}
			p := c.Hasher()(v.Header)
			if got := coin.Hash(p).String(); got != v.PoW {
				t.Errorf("PoW hash = %s, want %s", got, v.PoW)
			}
			var hdr wire.BlockHeader
			if err := hdr.Deserialize(bytes.NewReader(v.Header)); err != nil {
				t.Fatal(err)
			}
			tgt, err := target.FromCompact(hdr.Bits)
			if err != nil {
				t.Fatal(err)
			}
			if !tgt.HashMeets(&p) {
				t.Errorf("PoW hash %s does not meet its nBits %08x", coin.Hash(p), hdr.Bits)
			}
		})
	}
}

func testBlocks(t *testing.T, c coin.Coin, vs []BlockVector) {
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) { testBlock(t, c, v) })
	}
}

func testBlock(t *testing.T, c coin.Coin, v BlockVector) {
	var hdr wire.BlockHeader
	if err := hdr.Deserialize(bytes.NewReader(v.Header)); err != nil {
		t.Fatal(err)
	}
	var cb wire.MsgTx
	if err := cb.Deserialize(bytes.NewReader(v.Coinbase)); err != nil {
		t.Fatal(err)
	}
	var stripped bytes.Buffer
	if err := cb.SerializeNoWitness(&stripped); err != nil {
		t.Fatal(err)
	}
	nw := stripped.Bytes()

	// coin.ParseTx agrees with btcd on both ids.
	info, err := coin.ParseTx(v.Coinbase)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != len(v.Coinbase) || info.TxID != coin.Hash(cb.TxHash()) || info.WTxID != coin.Hash(cb.WitnessHash()) {
		t.Fatalf("ParseTx(coinbase) = %+v; btcd txid %s wtxid %s", info, cb.TxHash(), cb.WitnessHash())
	}

	// Merkle root: full tree and coinbase branch.
	all := append([]coin.Hash{info.TxID}, v.TxIDs...)
	if got := coin.MerkleRoot(all); got != coin.Hash(hdr.MerkleRoot) {
		t.Fatalf("MerkleRoot = %s, header has %s", got, hdr.MerkleRoot)
	}
	branch := coin.MerkleBranch(v.TxIDs)
	if got := coin.MerkleRootFromBranch(info.TxID, branch); got != coin.Hash(hdr.MerkleRoot) {
		t.Fatalf("root from branch = %s, header has %s", got, hdr.MerkleRoot)
	}

	// A job cut from the real coinbase reproduces the real header: the
	// "extranonces" are the 8 bytes that end the scriptSig (for a short
	// scriptSig they reach back into the prevout; the cut is arbitrary).
	sigLen := len(cb.TxIn[0].SignatureScript)
	// version, input count, prevout, scriptSig length, scriptSig
	sigEnd := 4 + 1 + 36 + wire.VarIntSerializeSize(uint64(sigLen)) + sigLen
	cut := sigEnd - 8
	tgt, err := target.FromCompact(hdr.Bits)
	if err != nil {
		t.Fatal(err)
	}
	job := &coin.Job{
		ID:              "real",
		Coin:            c.Symbol(),
		Height:          v.Height,
		PrevHash:        coin.Hash(hdr.PrevBlock),
		Coinb1:          nw[:cut],
		Coinb2:          nw[cut+8:],
		Extranonce1Size: 4,
		Extranonce2Size: 4,
		MerkleBranch:    branch,
		Version:         uint32(hdr.Version),
		NBits:           hdr.Bits,
		NetworkTarget:   tgt,
		Witness:         cb.HasWitness(),
	}
	sub := coin.Submission{
		Extranonce1: nw[cut : cut+4],
		Extranonce2: nw[cut+4 : cut+8],
		NTime:       uint32(hdr.Timestamp.Unix()),
		Nonce:       hdr.Nonce,
		Version:     uint32(hdr.Version),
	}
	var res coin.ShareResult
	shareTarget := c.Diff1()
	if err := job.Check(c.Hasher(), &sub, &shareTarget, &res); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Header[:], v.Header) {
		t.Fatalf("Job.Header = %x, want %x", res.Header, v.Header)
	}
	if res.Hash != c.Hasher()(v.Header) || !res.MeetsNetwork {
		t.Fatalf("Check: hash %s meets network %v", coin.Hash(res.Hash), res.MeetsNetwork)
	}
	if tgt.Cmp(shareTarget) <= 0 && !res.MeetsShare {
		t.Fatal("a block at or above difficulty 1 does not meet the diff1 share target")
	}
	got, err := job.CoinbaseTxWitness(sub.Extranonce1, sub.Extranonce2)
	if err != nil {
		t.Fatal(err)
	}
	if w := cb.TxIn[0].Witness; len(w) == 0 || (len(w) == 1 && bytes.Equal(w[0], make([]byte, 32))) {
		if !bytes.Equal(got, v.Coinbase) {
			t.Fatalf("CoinbaseTxWitness = %x, want %x", got, v.Coinbase)
		}
	}

	if v.WTxIDs != nil {
		want, ok := blockchain.ExtractWitnessCommitment(btcutil.NewTx(&cb))
		if !ok {
			t.Fatal("block vector has wtxids but its coinbase has no witness commitment")
		}
		if cm := coin.WitnessCommitment(v.WTxIDs); !bytes.Equal(cm[:], want) {
			t.Fatalf("WitnessCommitment = %s, coinbase has %x", cm, want)
		}
	}
	if v.Height > 0 {
		if err := blockchain.CheckSerializedHeight(btcutil.NewTx(&cb), int32(v.Height)); err != nil {
			t.Fatalf("coinbase height: %v", err)
		}
	}
}

// testHeights are the BIP34 heights whose encoding changes shape.
var testHeights = []int64{1, 2, 15, 16, 17, 127, 128, 255, 256, 32767, 32768, 65535, 65536, 8388607, 8388608, 16777215, 16777216, 1<<31 - 1}

func testTemplates(t *testing.T, c coin.Coin, vs []TemplateVector) {
	if len(vs) == 0 {
		t.Fatal("no template vectors")
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) { testTemplate(t, c, v) })
	}
}

func testTemplate(t *testing.T, c coin.Coin, v TemplateVector) {
	tpl, err := c.ParseTemplate(v.Raw)
	if err != nil {
		t.Fatal(err)
	}
	opts := coin.JobOptions{JobID: "cointest", PayoutScript: v.PayoutScript, PoolTag: v.PoolTag, CleanJobs: true}
	job, err := c.NewJob(tpl, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if job.Coin != c.Symbol() || job.TemplateID != tpl.ID || job.Height != tpl.Height || job.NTime != tpl.CurTime {
		t.Fatalf("job identity %q/%q/%d/%d", job.Coin, job.TemplateID, job.Height, job.NTime)
	}
	if job.Witness != v.WantWitness {
		t.Fatalf("job.Witness = %v, want %v", job.Witness, v.WantWitness)
	}
	if job.MaxTime <= job.NTime || job.MinTime > job.NTime {
		t.Fatalf("time window %d..%d around ntime %d", job.MinTime, job.MaxTime, job.NTime)
	}
	if err := job.CheckNTime(job.NTime); err != nil {
		t.Fatal(err)
	}
	if err := job.CheckNTime(job.MaxTime + 1); !errors.Is(err, coin.ErrNTimeRange) {
		t.Fatalf("CheckNTime(maxtime+1) = %v", err)
	}

	// JSON round trip.
	data, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	var back coin.Job
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !back.CreatedAt.Equal(job.CreatedAt) {
		t.Fatalf("created_at %v != %v", back.CreatedAt, job.CreatedAt)
	}
	back.CreatedAt = job.CreatedAt
	if !reflect.DeepEqual(&back, job) {
		t.Fatalf("JSON round trip differs:\n%s", data)
	}
	if len(tpl.Transactions) > 0 && bytes.Contains(data, []byte(hex.EncodeToString(tpl.Transactions[0].Data))) {
		t.Fatal("job JSON carries transaction data")
	}

	// Mine: grind the nonce until the (easy regtest) target is met, else
	// just build the block for nonce 0.
	en1, en2 := seq(job.Extranonce1Size, 1), seq(job.Extranonce2Size, 0x80)
	sub := coin.Submission{Extranonce1: en1, Extranonce2: en2, NTime: job.NTime, Version: job.Version}
	var res coin.ShareResult
	maxT := target.Max
	for nonce := uint32(0); nonce < 1000; nonce++ {
		sub.Nonce = nonce
		if err := job.Check(c.Hasher(), &sub, &maxT, &res); err != nil {
			t.Fatal(err)
		}
		if res.MeetsNetwork {
			break
		}
	}
	blk, err := c.BuildBlock(job, tpl, sub)
	if err != nil {
		t.Fatal(err)
	}
	if blk.Header != res.Header || blk.PoWHash != coin.Hash(res.Hash) || blk.MeetsTarget != res.MeetsNetwork {
		t.Fatal("BuildBlock and Job.Check disagree on the header")
	}
	if !res.MeetsShare {
		t.Fatal("hash does not meet the maximum target")
	}

	checkBlock(t, c, tpl, job, v, sub, blk)

	// BIP34 heights of every encoding length, as btcd checks them.
	for _, h := range testHeights {
		tp := *tpl
		tp.Height = h
		j, err := c.NewJob(&tp, opts)
		if err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		raw, err := j.CoinbaseTx(en1, en2)
		if err != nil {
			t.Fatal(err)
		}
		var tx wire.MsgTx
		if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		if err := blockchain.CheckSerializedHeight(btcutil.NewTx(&tx), int32(h)); err != nil {
			t.Fatalf("height %d: %v (scriptSig %x)", h, err, tx.TxIn[0].SignatureScript)
		}
		if h <= 16 && tx.TxIn[0].SignatureScript[0] != byte(0x50+h) {
			t.Fatalf("height %d: scriptSig %x does not start with OP_%d", h, tx.TxIn[0].SignatureScript, h)
		}
	}

	// Errors callers rely on.
	var hdr [80]byte
	if err := job.Header(&hdr, en1[1:], en2, 0, 0, 0); !errors.Is(err, coin.ErrExtranonceSize) {
		t.Errorf("Header with short extranonce1: %v", err)
	}
	long := opts
	long.PoolTag = strings.Repeat("x", 100)
	if _, err := c.NewJob(tpl, long); !errors.Is(err, coin.ErrBadJobOptions) {
		t.Errorf("NewJob with a 100-byte pool tag: %v", err)
	}
	other := *tpl
	other.PreviousBlockHash[0] ^= 1
	if _, err := c.BuildBlock(job, &other, sub); !errors.Is(err, coin.ErrTemplateMismatch) {
		t.Errorf("BuildBlock with another template: %v", err)
	}

	// The share hot path does not allocate.
	if allocs := testing.AllocsPerRun(50, func() {
		_ = job.Check(c.Hasher(), &sub, &maxT, &res)
	}); allocs != 0 {
		t.Errorf("Job.Check allocates %v times", allocs)
	}
}

func checkBlock(t *testing.T, c coin.Coin, tpl *coin.Template, job *coin.Job, v TemplateVector, sub coin.Submission, blk *coin.Block) {
	t.Helper()
	var msg wire.MsgBlock
	if err := msg.Deserialize(bytes.NewReader(blk.Raw)); err != nil {
		t.Fatalf("btcd cannot decode the block: %v", err)
	}
	var again bytes.Buffer
	if err := msg.Serialize(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), blk.Raw) {
		t.Fatal("block does not survive a btcd decode/encode round trip")
	}
	if msg.BlockHash() != chainhash.Hash(blk.Hash) {
		t.Fatalf("block hash %s, btcd says %s", blk.Hash, msg.BlockHash())
	}
	if len(msg.Transactions) != len(tpl.Transactions)+1 {
		t.Fatalf("%d transactions, want %d", len(msg.Transactions), len(tpl.Transactions)+1)
	}
	block := btcutil.NewBlock(&msg)
	cbTx := block.Transactions()[0]
	cb := cbTx.MsgTx()
	if !blockchain.IsCoinBaseTx(cb) {
		t.Fatal("first transaction is not a coinbase")
	}
	if err := blockchain.CheckTransactionSanity(cbTx); err != nil {
		t.Fatalf("coinbase sanity: %v", err)
	}
	if err := blockchain.CheckSerializedHeight(cbTx, int32(tpl.Height)); err != nil {
		t.Fatalf("coinbase height: %v", err)
	}
	nonWitness, err := job.CoinbaseTx(sub.Extranonce1, sub.Extranonce2)
	if err != nil {
		t.Fatal(err)
	}
	if cb.TxHash() != chainhash.Hash(pow.SHA256d(nonWitness)) {
		t.Fatal("coinbase txid differs from SHA256d(coinb1‖en1‖en2‖coinb2)")
	}
	sig := cb.TxIn[0].SignatureScript
	if len(sig) < 2 || len(sig) > coin.MaxCoinbaseScriptSig {
		t.Fatalf("scriptSig of %d bytes", len(sig))
	}
	if !bytes.HasSuffix(sig, append(append([]byte{}, sub.Extranonce1...), sub.Extranonce2...)) {
		t.Fatalf("scriptSig %x does not end with the extranonces", sig)
	}
	if v.PoolTag != "" && !bytes.Contains(sig, []byte(v.PoolTag)) {
		t.Fatalf("scriptSig %x lacks the pool tag", sig)
	}
	var total int64
	for _, o := range cb.TxOut {
		total += o.Value
	}
	if total != tpl.CoinbaseValue || cb.TxOut[0].Value != tpl.CoinbaseValue {
		t.Fatalf("coinbase pays %d, template value %d", total, tpl.CoinbaseValue)
	}
	if !bytes.Equal(cb.TxOut[0].PkScript, v.PayoutScript) {
		t.Fatalf("coinbase pays %x, want %x", cb.TxOut[0].PkScript, v.PayoutScript)
	}
	if root := blockchain.CalcMerkleRoot(block.Transactions(), false); root != msg.Header.MerkleRoot {
		t.Fatalf("merkle root %s, btcd computes %s", msg.Header.MerkleRoot, root)
	}
	if err := blockchain.ValidateWitnessCommitment(block); err != nil {
		t.Fatalf("witness commitment: %v", err)
	}
	_, hasCommitment := blockchain.ExtractWitnessCommitment(cbTx)
	if hasCommitment != v.WantWitness || cb.HasWitness() != v.WantWitness {
		t.Fatalf("commitment %v, coinbase witness %v, want %v", hasCommitment, cb.HasWitness(), v.WantWitness)
	}
	if v.WantCommitment != nil && !bytes.Equal(cb.TxOut[len(cb.TxOut)-1].PkScript, v.WantCommitment) {
		t.Fatalf("commitment output %x, want %x", cb.TxOut[len(cb.TxOut)-1].PkScript, v.WantCommitment)
	}
	for i, tx := range msg.Transactions[1:] {
		var b bytes.Buffer
		if err := tx.Serialize(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), tpl.Transactions[i].Data) {
			t.Fatalf("transaction %d differs from the template", i)
		}
	}
	if binary.LittleEndian.Uint32(blk.Raw[72:76]) != job.NBits {
		t.Fatal("nbits not in the header")
	}
	// Full context-free consensus check when the coin's PoW is sha256d
	// (the only PoW btcd knows) and the block is solved.
	if blk.MeetsTarget && blk.PoWHash == blk.Hash {
		powLimit := job.NetworkTarget.Big()
		if err := blockchain.CheckBlockSanity(block, powLimit, blockchain.NewMedianTime()); err != nil {
			t.Fatalf("CheckBlockSanity: %v", err)
		}
	}
}

func testBits(t *testing.T, c coin.Coin, vs []BitsVector) {
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			if d := target.BitsDifficulty(v.Bits); math.Abs(d-v.Difficulty)/v.Difficulty > 1e-12 {
				t.Errorf("BitsDifficulty(%08x) = %.15g, want %.15g", v.Bits, d, v.Difficulty)
			}
			tgt, err := target.FromCompact(v.Bits)
			if err != nil {
				t.Fatal(err)
			}
			if tgt.Compact() != v.Bits {
				t.Errorf("Compact round trip %08x -> %08x", v.Bits, tgt.Compact())
			}
			// Expected hashes per block do not depend on the diff1
			// convention: pool difficulty × multiplier = bdiff × 2^32.
			hashes := target.Difficulty(c.Diff1(), tgt) * c.HashrateMultiplier()
			if want := v.Difficulty * target.SHA256dHashesPerDiff1; math.Abs(hashes-want)/want > 1e-3 {
				t.Errorf("hashes per block %v, want %v", hashes, want)
			}
		})
	}
}

func seq(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}
