package bch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/cointest"
	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

// header serialises an 80-byte header from its fields (hashes in display
// hex).
func header(t testing.TB, version uint32, prev, merkle string, time, bits, nonce uint32) []byte {
	t.Helper()
	p, err := coin.HashFromString(prev)
	if err != nil {
		t.Fatal(err)
	}
	m, err := coin.HashFromString(merkle)
	if err != nil {
		t.Fatal(err)
	}
	h := binary.LittleEndian.AppendUint32(nil, version) // Version
	h = append(h, p[:]...)                              // PrevBlock
	h = append(h, m[:]...)                              // MerkleRoot
	h = binary.LittleEndian.AppendUint32(h, time)       // Timestamp
	h = binary.LittleEndian.AppendUint32(h, bits)       // Bits
	return binary.LittleEndian.AppendUint32(h, nonce)   // Nonce
}

// forkHeaders are mainnet blocks 478559 (the first Bitcoin Cash block,
// 1 August 2017) to 478562. Each hash is the next header's PrevBlock, and
// 478559's is the checkpoint in every BCH node
// (000000000000000000651ef9…); the hashes are recomputed, so a wrong field
// fails the test.
func forkHeaders(t testing.TB) []cointest.HeaderVector {
	const bits = 0x18014735
	hs := []struct {
		height       int
		version      uint32
		prev, merkle string
		time, nonce  uint32
		hash         string
	}{
		{478559, 0x20000000, "0000000000000000011865af4122fe3b144e2cbeea86142e8ff2fb4107352d43", "c896c91a0be4d3eed5568bab4c3084945e5e06669be38ec06b1c8ca4d84baaab", 1501611161, 0xe84aca22, "000000000000000000651ef99cb9fcbe0dadde1d424bd9f15ff20136191a5eec"},
		{478560, 0x20000000, "000000000000000000651ef99cb9fcbe0dadde1d424bd9f15ff20136191a5eec", "088a7d29c4c6b95a74e362d64a801f492e748369a4fec1ca4e1ab47eefc8af82", 1501612386, 0xcb72a740, "000000000000000000b15ad892af8f6aca4462d46d0b6e5884cadc033c8f257b"},
		{478561, 0x20000002, "000000000000000000b15ad892af8f6aca4462d46d0b6e5884cadc033c8f257b", "f64de8adf8dac328fb8f1dcb4ba19b6e94de7abc8c4eeaae83df8f62504e8758", 1501612639, 0x0310f5e2, "00000000000000000013ee8874665f73862a3a0b6a30f895fe34f4c94d3e8a15"},
		{478562, 0x20000000, "00000000000000000013ee8874665f73862a3a0b6a30f895fe34f4c94d3e8a15", "a464516af1dab6eadb963b62c5df0e503c8908af503dfff7a169b9d3f9851b11", 1501613578, 0x0a24f4c4, "0000000000000000005c6e82aa704d326a3a2d6a4aa09f1725f532da8bb8de4d"},
	}
	var out []cointest.HeaderVector
	for _, h := range hs {
		out = append(out, cointest.HeaderVector{
			Name:   fmt.Sprintf("mainnet %d", h.height),
			Header: header(t, h.version, h.prev, h.merkle, h.time, bits, h.nonce),
			Hash:   h.hash, PoW: h.hash,
		})
	}
	return out
}

var good, bad = cointest.GoodAddress, cointest.BadAddress

// specPairs is the legacy ↔ CashAddr translation table of the CashAddr
// specification (bitcoincashorg/spec cashaddr.md, "Examples of address
// translation"), with the scripts the hashes make.
var specPairs = []struct{ legacy, cash, script string }{
	{"1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "76a91476a04053bda0a88bda5177b86a15c3b29f55987388ac"},
	{"1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR", "bitcoincash:qr95sy3j9xwd2ap32xkykttr4cvcu7as4y0qverfuy", "76a914cb481232299cd5743151ac4b2d63ae198e7bb0a988ac"},
	{"16w1D5WRVKJuZUsSRzdLp9w3YGcgoxDXb", "bitcoincash:qqq3728yw0y47sqn6l2na30mcw6zm78dzqre909m2r", "76a914011f28e473c95f4013d7d53ec5fbc3b42df8ed1088ac"},
	{"3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC", "bitcoincash:ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq", "a91476a04053bda0a88bda5177b86a15c3b29f55987387"},
	{"3LDsS579y7sruadqu11beEJoTjdFiFCdX4", "bitcoincash:pr95sy3j9xwd2ap32xkykttr4cvcu7as4yc93ky28e", "a914cb481232299cd5743151ac4b2d63ae198e7bb0a987"},
	{"31nwvkZwyPdgzjBJZXfDmSWsC4ZLKpYyUw", "bitcoincash:pqq3728yw0y47sqn6l2na30mcw6zm78dzq5ucqzc37", "a914011f28e473c95f4013d7d53ec5fbc3b42df8ed1087"},
}

// The hash F5BF48B3… of the specification's "larger test vectors" (20-byte
// rows), which also give the other prefixes and types.
const specHash = "f5bf48b397dae70be82b3cca4793f8eb2b6cdac9"

func addressVectors(t testing.TB, network string) []cointest.AddressVector {
	var mainnet []cointest.AddressVector
	for _, p := range specPairs {
		mainnet = append(mainnet,
			good(t, "spec legacy "+p.legacy, p.legacy, p.script),
			good(t, "spec cashaddr "+p.cash, p.cash, p.script),
			good(t, "spec cashaddr unprefixed "+p.cash, strings.TrimPrefix(p.cash, "bitcoincash:"), p.script),
			good(t, "spec cashaddr upper case "+p.cash, strings.ToUpper(p.cash), p.script),
		)
	}
	mainnet = append(mainnet,
		good(t, "spec 20-byte P2PKH", "bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2", "76a914"+specHash+"88ac"),
		good(t, "token-aware P2PKH (type 2)", "bitcoincash:zr6m7j9njldwwzlg9v7v53unlr4jkmx6eycnjehshe", "76a914"+specHash+"88ac"),
	)
	testnet := []cointest.AddressVector{
		good(t, "spec bchtest P2SH", "bchtest:pr6m7j9njldwwzlg9v7v53unlr4jkmx6eyvwc0uz5t", "a914"+specHash+"87"),
		good(t, "bchtest P2PKH", mustCash(t, "bchtest", 0, specHash), "76a914"+specHash+"88ac"),
	}
	regtest := []cointest.AddressVector{
		good(t, "bchreg P2PKH", mustCash(t, "bchreg", 0, specHash), "76a914"+specHash+"88ac"),
		good(t, "bchreg P2SH", mustCash(t, "bchreg", 1, specHash), "a914"+specHash+"87"),
	}
	simnet := []cointest.AddressVector{
		good(t, "bchsim P2PKH", mustCash(t, "bchsim", 0, specHash), "76a914"+specHash+"88ac"),
		good(t, "simnet legacy P2PKH", base58.CheckEncode(cointest.Hex(t, specHash), 0x3f), "76a914"+specHash+"88ac"),
	}
	// Legacy testnet addresses (m…/2…) are valid on testnet and regtest.
	legacyTest := []cointest.AddressVector{
		good(t, "legacy testnet P2PKH", base58.CheckEncode(cointest.Hex(t, specHash), 0x6f), "76a914"+specHash+"88ac"),
		good(t, "legacy testnet P2SH", base58.CheckEncode(cointest.Hex(t, specHash), 0xc4), "a914"+specHash+"87"),
	}
	common := []cointest.AddressVector{
		bad("empty", "", nil),
		bad("garbage", "not an address", nil),
		bad("too long", strings.Repeat("q", 200), nil),
		bad("mixed case", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvY22gdx6a", nil),
		bad("cashaddr bad checksum", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6c", nil),
		bad("legacy bad checksum", "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggv", nil),
		bad("unknown prefix (spec pref:)", "pref:pr6m7j9njldwwzlg9v7v53unlr4jkmx6ey65nvtks5", nil),
		bad("spec type 15", "prefix:0r6m7j9njldwwzlg9v7v53unlr4jkmx6ey3qnjwsrf", nil),
		bad("bitcoin P2WPKH (BIP173)", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", coin.ErrUnsupportedAddress),
		bad("bitcoin testnet P2WSH (BIP173)", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", coin.ErrUnsupportedAddress),
		bad("bitcoin regtest P2WPKH", "bcrt1qzj6wfkt63fpaq89c9x63mtum2p9h799wv4d7ys", nil),
		bad("litecoin P2PKH", "LSqprWgPu8HuBsnf8BjX41QvMJdNaBQqaf", nil),
	}
	out := append([]cointest.AddressVector{}, common...)
	if network == "mainnet" {
		out = append(out,
			bad("spec 40-byte hash", "bitcoincash:qnq8zwpj8cq05n7pytfmskuk9r4gzzel8qtsvwz79zdskftrzxtar994cgutavfklv39gr3uvz", coin.ErrUnsupportedAddress))
	}
	sets := map[string][]cointest.AddressVector{"mainnet": mainnet, "testnet": testnet, "regtest": regtest, "simnet": simnet}
	for net, set := range sets {
		for _, v := range set {
			if net == network {
				out = append(out, v)
			} else {
				out = append(out, bad(v.Name+" on "+network, v.Addr, coin.ErrWrongNetwork))
			}
		}
	}
	for _, v := range legacyTest {
		if network == "testnet" || network == "regtest" {
			out = append(out, v)
		} else {
			out = append(out, bad(v.Name+" on "+network, v.Addr, coin.ErrWrongNetwork))
		}
	}
	return out
}

func mustCash(t testing.TB, prefix string, typ byte, h string) string {
	t.Helper()
	s, err := EncodeCashAddr(prefix, typ, cointest.Hex(t, h))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	genesis := cointest.TestdataHex(t, "block-0.hex")
	regBlock1 := cointest.TestdataHex(t, "regtest-block-1.hex")
	bits := []cointest.BitsVector{
		{Name: "mainnet genesis 1d00ffff", Bits: 0x1d00ffff, Difficulty: 1},
		// Difficulty of blocks 478559…: 860,221,984,436.2223 (getdifficulty).
		{Name: "mainnet 478559 18014735", Bits: 0x18014735, Difficulty: 860221984436.2223},
	}
	payouts := map[string]string{
		"mainnet": "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
		"testnet": "bchtest:pr6m7j9njldwwzlg9v7v53unlr4jkmx6eyvwc0uz5t",
		"regtest": mustCash(t, "bchreg", 0, specHash),
		"simnet":  mustCash(t, "bchsim", 1, specHash),
	}
	for _, network := range []string{"mainnet", "testnet", "regtest", "simnet"} {
		t.Run(network, func(t *testing.T) {
			c := cointest.New(t, New, network)
			payout, err := c.ValidateAddress(payouts[network])
			if err != nil {
				t.Fatal(err)
			}
			v := cointest.Vectors{
				Network:   network,
				Addresses: addressVectors(t, network),
				Headers:   forkHeaders(t),
				Blocks: []cointest.BlockVector{
					cointest.RawBlockVector(t, "mainnet genesis", genesis, 0),
					cointest.RawBlockVector(t, "bchd regtest block 1", regBlock1, 1),
				},
				Bits: bits,
				// bchd: 50 BCH halved every 210,000 blocks (150 on regtest);
				// 6.25 BCH from the 2020 halving at 630,000.
				Subsidies: map[string][]cointest.SubsidyVector{
					"mainnet": {{Height: 629_999, Want: 125e7}, {Height: 630_000, Want: 625_000_000}},
					"testnet": {{Height: 210_000, Want: 25e8}},
					"regtest": {{Height: 149, Want: 50e8}, {Height: 150, Want: 25e8}},
					"simnet":  {{Height: 210_000, Want: 25e8}},
				}[network],
				Templates: []cointest.TemplateVector{{
					Name: "bchd v0.22.2 regtest height 2", Raw: cointest.Testdata(t, "regtest-gbt-2.json"),
					PayoutScript: payout, PoolTag: "/jetpool/", WantWitness: false,
				}},
			}
			cointest.Run(t, c, v)
		})
	}
}

func TestMetadata(t *testing.T) {
	c := cointest.New(t, New, "regtest")
	if got := c.TemplateRules(); len(got) != 0 {
		t.Errorf("TemplateRules = %v, want none", got)
	}
	if c.Diff1() != target.SHA256dDiff1 || c.HashrateMultiplier() != target.SHA256dHashesPerDiff1 || c.CoinbaseMaturity() != 100 {
		t.Errorf("diff1 %v multiplier %v maturity %d", c.Diff1(), c.HashrateMultiplier(), c.CoinbaseMaturity())
	}
	if h := c.Hasher()(make([]byte, 80)); h != pow.SHA256d(make([]byte, 80)) {
		t.Error("hasher is not sha256d")
	}
	if c.Base.Segwit() {
		t.Error("segwit enabled")
	}
	for name, net := range map[string]coin.Network{"main": coin.Mainnet, "testnet3": coin.Testnet, "testnet4": coin.Testnet4, "simnet": coin.Simnet} {
		c, err := New(name)
		if err != nil || c.Network() != net {
			t.Errorf("New(%q) = %v, %v", name, c, err)
		}
	}
	if _, err := coin.Get(Symbol, "regtest"); err != nil {
		t.Errorf("not registered: %v", err)
	}
}

// TestLegacyCashAddrPairs checks that each spec pair carries the same hash
// and that EncodeCashAddr reproduces the CashAddr from the legacy hash.
func TestLegacyCashAddrPairs(t *testing.T) {
	for _, p := range specPairs {
		t.Run(p.legacy, func(t *testing.T) {
			h, ver, err := base58.CheckDecode(p.legacy)
			if err != nil {
				t.Fatal(err)
			}
			typ := byte(CashP2PKH)
			if ver == 0x05 {
				typ = CashP2SH
			}
			got, err := EncodeCashAddr("bitcoincash", typ, h)
			if err != nil {
				t.Fatal(err)
			}
			if got != p.cash {
				t.Fatalf("EncodeCashAddr = %s, want %s", got, p.cash)
			}
			a, err := decodeCashAddr(p.cash, "bitcoincash")
			if err != nil || a.Type != typ || !bytes.Equal(a.Hash, h) {
				t.Fatalf("decode = %+v, %v", a, err)
			}
		})
	}
}

// TestChecksumVectors are the specification's checksum-only examples.
func TestChecksumVectors(t *testing.T) {
	for _, s := range []string{
		"prefix:x64nx6hz",
		"p:gpf8m4h7",
		"bitcoincash:qpzry9x8gf2tvdw0s3jn54khce6mua7lcw20ayyn",
		"bchtest:testnetaddress4d6njnut",
		"bchreg:555555555555555555555555555555555555555555555udxmlmrz",
	} {
		t.Run(s, func(t *testing.T) {
			i := strings.IndexByte(s, ':')
			data := []byte{}
			for _, c := range []byte(s[:i]) {
				data = append(data, c&0x1f)
			}
			data = append(data, 0)
			for _, c := range []byte(s[i+1:]) {
				data = append(data, byte(strings.IndexByte(cashCharset, c)))
			}
			if m := cashPolymod(data); m != 0 {
				t.Fatalf("polymod = %x", m)
			}
			data[len(data)-1] ^= 1
			if cashPolymod(data) == 0 {
				t.Fatal("a flipped bit still checks")
			}
		})
	}
}

func TestCashAddrErrors(t *testing.T) {
	tests := []struct {
		name, addr string
		want       error
	}{
		{"mixed case", "bitcoincash:Qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", errCashCase},
		{"bad checksum", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6c", errCashChecksum},
		{"letter b", "bitcoincash:bpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", errCashChar},
		{"short", "bitcoincash:qpm2qszn", errCashLength},
		{"prefix of another case", "BITCOINCASH:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", errCashCase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeCashAddr(tt.addr, "bitcoincash"); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// A standard-looking 1-in 1-out P2PKH spend (version 2, no witness).
const spendTx = "0200000001" + "1111111111111111111111111111111111111111111111111111111111111111" + "00000000" +
	"6a" + "47" + "3044022000000000000000000000000000000000000000000000000000000000000000010220000000000000000000000000000000000000000000000000000000000000000141" +
	"21" + "020000000000000000000000000000000000000000000000000000000000000001" + "ffffffff" +
	"01" + "0010a5d4e8000000" + "1976a914" + specHash + "88ac" + "00000000"

func TestTemplateLimits(t *testing.T) {
	c := cointest.New(t, New, "regtest")
	raw := cointest.Testdata(t, "regtest-gbt-2.json")
	withTx := func(sigchecks int) func(m map[string]any) {
		return func(m map[string]any) {
			m["transactions"] = []any{map[string]any{"data": spendTx, "depends": []any{}, "fee": 1000, "sigchecks": sigchecks, "size": len(spendTx) / 2}}
		}
	}
	txLen := len(spendTx) / 2
	fits := 80 + 9 + maxCoinbaseSize + txLen
	tests := []struct {
		name string
		raw  []byte
		want error // nil: accepted
	}{
		{"bchd template", raw, nil},
		{"one tx within limits", cointest.EditJSON(t, raw, withTx(1)), nil},
		{"sizelimit exactly fits", cointest.EditJSON(t, raw, func(m map[string]any) { withTx(1)(m); m["sizelimit"] = fits }), nil},
		{"sizelimit one byte short", cointest.EditJSON(t, raw, func(m map[string]any) { withTx(1)(m); m["sizelimit"] = fits - 1 }), ErrTemplateLimit},
		{"sigchecks at the limit", cointest.EditJSON(t, raw, func(m map[string]any) { withTx(5)(m); m["sigchecklimit"] = 5 }), nil},
		{"sigchecks over the limit", cointest.EditJSON(t, raw, func(m map[string]any) { withTx(6)(m); m["sigchecklimit"] = 5 }), ErrTemplateLimit},
		{"negative sigchecks", cointest.EditJSON(t, raw, withTx(-1)), coin.ErrBadTemplate},
		{"no limits sent", cointest.EditJSON(t, raw, func(m map[string]any) { withTx(1)(m); delete(m, "sizelimit"); delete(m, "sigchecklimit") }), nil},
		{"witness tx", cointest.EditJSON(t, raw, func(m map[string]any) {
			// The same spend with a segwit marker, flag and one empty witness.
			w := spendTx[:8] + "0001" + spendTx[8:len(spendTx)-8] + "00" + spendTx[len(spendTx)-8:]
			m["transactions"] = []any{map[string]any{"data": w}}
		}), coin.ErrBadTemplate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := c.ParseTemplate(tt.raw)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, coin.ErrBadTemplate) {
				t.Fatalf("ParseTemplate = %v, %v; want %v", tpl, err, tt.want)
			}
		})
	}
}

// TestNoWitnessCommitment: a default_witness_commitment is ignored; the
// job and the block never carry one.
func TestNoWitnessCommitment(t *testing.T) {
	c := cointest.New(t, New, "regtest")
	raw := cointest.EditJSON(t, cointest.Testdata(t, "regtest-gbt-2.json"), func(m map[string]any) {
		m["default_witness_commitment"] = "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9"
	})
	tpl, err := c.ParseTemplate(raw)
	if err != nil {
		t.Fatal(err)
	}
	if tpl.WitnessCommitment != nil {
		t.Fatalf("witness commitment %x kept", tpl.WitnessCommitment)
	}
	job, err := c.NewJob(tpl, coin.JobOptions{JobID: "1", PayoutScript: cointest.Hex(t, "76a914"+specHash+"88ac"), PoolTag: "/jetpool/"})
	if err != nil {
		t.Fatal(err)
	}
	if job.Witness || bytes.Contains(job.Coinb2, []byte{0xaa, 0x21, 0xa9, 0xed}) {
		t.Fatalf("job carries a witness commitment: %x", job.Coinb2)
	}
}

// TestMinCoinbaseSize: without a pool tag the coinbase is padded to 100
// bytes; with a long tag it is left alone.
func TestMinCoinbaseSize(t *testing.T) {
	c := cointest.New(t, New, "regtest")
	tpl := cointest.Template(t, c, "regtest-gbt-2.json")
	tests := []struct {
		name   string
		tag    string
		script string
		en2    int
		exact  bool // padded to exactly MinCoinbaseSize
	}{
		{"no tag, P2PKH", "", "76a914" + specHash + "88ac", 0, true},
		{"no tag, P2SH, 4-byte extranonce2", "", "a914" + specHash + "87", 4, true},
		{"short tag, 1-byte script", "/j/", "51", 1, true},
		{"long tag", "/jetpool is a mining pool/", "76a914" + specHash + "88ac", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := coin.JobOptions{JobID: "1", PayoutScript: cointest.Hex(t, tt.script), PoolTag: tt.tag, Extranonce2Size: tt.en2}
			job, err := c.NewJob(tpl, opts)
			if err != nil {
				t.Fatal(err)
			}
			cb, err := job.CoinbaseTx(make([]byte, job.Extranonce1Size), make([]byte, job.Extranonce2Size))
			if err != nil {
				t.Fatal(err)
			}
			if len(cb) < MinCoinbaseSize || (tt.exact && len(cb) != MinCoinbaseSize) {
				t.Fatalf("coinbase of %d bytes", len(cb))
			}
			var tx wire.MsgTx
			if err := tx.Deserialize(bytes.NewReader(cb)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(tx.TxIn[0].SignatureScript, []byte(tt.tag)) || !bytes.Equal(tx.TxOut[0].PkScript, opts.PayoutScript) {
				t.Fatalf("coinbase %x lost the tag or payout", cb)
			}
		})
	}
}

func FuzzValidateAddress(f *testing.F) {
	for _, p := range specPairs {
		f.Add(p.legacy)
		f.Add(p.cash)
	}
	f.Add("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
	f.Add("prefix:x64nx6hz")
	c := cointest.New(f, New, "mainnet")
	f.Fuzz(func(t *testing.T, addr string) {
		script, ok := cointest.FuzzAddress(t, c, addr)
		if !ok {
			return
		}
		if len(script) != 25 && len(script) != 23 {
			t.Fatalf("script %x", script)
		}
		// An accepted CashAddr re-encodes to itself (lower case, prefixed).
		if strings.Contains(strings.ToLower(addr), "bitcoincash:") {
			a, err := decodeCashAddr(addr, "bitcoincash")
			if err != nil {
				t.Fatal(err)
			}
			back, err := EncodeCashAddr(a.Prefix, a.Type, a.Hash)
			if err != nil || back != strings.ToLower(addr) {
				t.Fatalf("re-encoded %q as %q (%v)", addr, back, err)
			}
		}
	})
}

func FuzzParseTemplate(f *testing.F) {
	f.Add(cointest.Testdata(f, "regtest-gbt-2.json"))
	c := cointest.New(f, New, "regtest")
	f.Fuzz(func(t *testing.T, raw []byte) {
		if job := cointest.FuzzTemplate(t, c, raw); job != nil && job.Witness {
			t.Fatal("bch job with a witness commitment")
		}
	})
}
