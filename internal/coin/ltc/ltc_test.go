package ltc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/cointest"
	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

var good, bad = cointest.GoodAddress, cointest.BadAddress

// addressVectors were made by litecoind 0.21.2 (getnewaddress,
// addmultisigaddress, getaddressinfo/validateaddress) on each network.
func addressVectors(t testing.TB, network string) []cointest.AddressVector {
	mainnet := []cointest.AddressVector{
		good(t, "mainnet P2PKH", "LSqprWgPu8HuBsnf8BjX41QvMJdNaBQqaf", "76a9145391abb2e9f0079de744f91bb19f185e7ab101d488ac"),
		good(t, "mainnet P2SH (M)", "MJWmXbwGrzUhhewVAKi3XWvDVBg9K9eyjT", "a914746d47ba76647d8ceac06a9261d1767b557e3ec487"),
		good(t, "mainnet P2SH legacy (3)", "36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm", "a914373b819a068f32b7a6b38b6b38729647cfde01c287"),
		good(t, "mainnet P2SH (M) of the same script", "MCwCgYjt3HcMNerfqPqg5jcJm7aCy89KeQ", "a914373b819a068f32b7a6b38b6b38729647cfde01c287"),
		good(t, "mainnet P2WPKH", "ltc1q2j9yv4gwx77g4jjtglgdzqj937furyvp2qtv9d", "0014548a46550e37bc8aca4b47d0d102458f93c19181"),
		good(t, "mainnet P2WSH", "ltc1qeucr6tn6q46wgy5w29mw4ffgwnd255pdgah6duk9fdmkjlrjzrgqu4qgjr", "0020cf303d2e7a0574e4128e5176eaa52874daaa502d476fa6f2c54b77697c7210d0"),
		bad("mainnet bech32 bad checksum", "ltc1qg82tlq7dpw3sv6dwssrnn2vgjdlqwd2nqlkcrs", nil),
		bad("mainnet P2PKH bad checksum", "LSqprWgPu8HuBsnf8BjX41QvMJdNaBQqag", nil),
		bad("bitcoin P2PKH", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", nil),
		bad("bitcoin P2WPKH", "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv", nil),
		bad("MWEB stealth address is unsupported", "ltcmweb1qq2wqppt2q2cjyhpd6825gd45tfu6setxeacgkzdaq45gz0ph2qw6gquhul33d85fgz6ar04xj9j2vpk24g5ymuzcqp0egcggu7kdfayswv05h0ed", nil),
	}
	testnet := []cointest.AddressVector{
		good(t, "testnet P2PKH", "mj7HAzioy2Eifmn5G7j7tmgsFkaANMUAut", "76a91427664764243a491e0bfd4fa10e60eb9b1d73edb488ac"),
		good(t, "testnet P2SH (Q)", "QdJ4EYuVKA8sgLd99dMTzwaNw86DLMysSo", "a914b716182bc08c9be408a0b997a6a2d3bac371e10a87"),
		good(t, "testnet P2SH legacy (2)", "2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA", "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87"),
		good(t, "testnet P2WPKH", "tltc1q7uhp63waedfu64665dzlj35v74d097dgnet33f", "0014f72e1d45ddcb53cd575aa345f9468cf55af2f9a8"),
		good(t, "testnet P2WSH", "tltc1q39q3lynucwt4ursjrvx6975f47h4vqxpjjsu7p2y8vz2mg4agkmsnqpuqg", "002089411f927cc3975e0e121b0da2fa89afaf5600c194a1cf05443b04ada2bd45b7"),
	}
	regtest := []cointest.AddressVector{
		good(t, "regtest P2PKH", "mi5kyp48jZL6zumze3YxgfCyd5MGcBcgxo", "76a9141c24888e7e6d68700e1d57f83a14ed588c8c845088ac"),
		good(t, "regtest P2SH (Q)", "QMCdphQTWxscmFhmGnRJ9X3LAu7KEFp44C", "a914068d9fe3c35a24061abb5bd11e7bdf6610435d7a87"),
		good(t, "regtest P2SH (Q) of 2Mx…", "QRcLrM34YvbqCgZfoYbTxpJNHMWgobqN79", "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87"),
		good(t, "regtest P2WPKH", "rltc1qzj6wfkt63fpaq89c9x63mtum2p9h799wz966hh", "001414b4e4d97a8a43d01cb829b51daf9b504b7f14ae"),
		good(t, "regtest P2WSH", "rltc1qpj62rskmkqx7xh53a9kyqkx4mmg5ue30em6eqrtg8wj4aywez90sevwwwe", "00200cb4a1c2dbb00de35e91e96c4058d5ded14e662fcef5900d683ba55e91d9115f"),
	}
	common := []cointest.AddressVector{
		bad("empty", "", nil),
		bad("garbage", "not an address", nil),
		bad("too long", strings.Repeat("L", 200), nil),
	}
	sets := map[string][]cointest.AddressVector{"mainnet": mainnet, "testnet4": testnet, "regtest": regtest}
	out := append([]cointest.AddressVector{}, common...)
	for net, set := range sets {
		for _, v := range set {
			base58 := !strings.Contains(v.Addr, "1q")
			switch {
			case net == network, v.Script == nil:
				out = append(out, v)
			case base58 && net != "mainnet" && network != "mainnet":
				out = append(out, v) // testnet4 and regtest share version bytes
			default:
				out = append(out, bad(v.Name+" on "+network, v.Addr, coin.ErrWrongNetwork))
			}
		}
	}
	return out
}

func TestConformance(t *testing.T) {
	genesis := cointest.TestdataHex(t, "block-0.hex")
	regBlock1 := cointest.TestdataHex(t, "regtest-block-1.hex")
	headers := []cointest.HeaderVector{{
		Name:   "mainnet genesis",
		Header: genesis[:80],
		Hash:   "12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2",
		PoW:    "0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00",
	}}
	bits := []cointest.BitsVector{
		// litecoind mainnet getdifficulty at the genesis block.
		{Name: "mainnet genesis 1e0ffff0", Bits: 0x1e0ffff0, Difficulty: 0.000244140625},
	}
	for _, network := range []string{"mainnet", "testnet4", "regtest"} {
		t.Run(network, func(t *testing.T) {
			c := cointest.New(t, New, network)
			v := cointest.Vectors{
				Network:   network,
				Addresses: addressVectors(t, network),
				Headers:   headers,
				Blocks:    []cointest.BlockVector{cointest.RawBlockVector(t, "mainnet genesis", genesis, 0)},
				Bits:      bits,
				// Litecoin Core: 50 LTC halved every 840,000 blocks (150 on
				// regtest); 6.25 LTC since the 2023 halving at 2,520,000.
				Subsidies: map[string][]cointest.SubsidyVector{
					"mainnet":  {{Height: 839_999, Want: 50e8}, {Height: 840_000, Want: 25e8}, {Height: 2_520_000, Want: 625_000_000}, {Height: 2_900_000, Want: 625_000_000}},
					"testnet4": {{Height: 840_000, Want: 25e8}},
					"regtest":  {{Height: 149, Want: 50e8}, {Height: 150, Want: 25e8}},
				}[network],
			}
			if network == "regtest" {
				v.Blocks = append(v.Blocks, cointest.RawBlockVector(t, "regtest block 1", regBlock1, 1))
			}
			payout, err := c.ValidateAddress(map[string]string{
				"mainnet": "ltc1q2j9yv4gwx77g4jjtglgdzqj937furyvp2qtv9d", "testnet4": "tltc1q7uhp63waedfu64665dzlj35v74d097dgnet33f",
				"regtest": "rltc1qzj6wfkt63fpaq89c9x63mtum2p9h799wz966hh"}[network])
			if err != nil {
				t.Fatal(err)
			}
			v.Templates = []cointest.TemplateVector{{
				Name: "litecoind regtest height 2", Raw: cointest.Testdata(t, "regtest-gbt-2.json"), PayoutScript: payout,
				PoolTag: "/jetpool/", WantWitness: true,
				WantCommitment: cointest.Hex(t, "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9"),
			}}
			cointest.Run(t, c, v)
		})
	}
}

func TestMetadata(t *testing.T) {
	c := cointest.New(t, New, "regtest")
	if got := c.TemplateRules(); len(got) != 2 || got[0] != "mweb" || got[1] != "segwit" {
		t.Fatalf("TemplateRules = %v", got)
	}
	if c.Diff1() != target.ScryptDiff1 || c.HashrateMultiplier() != 65536 {
		t.Fatalf("diff1 %v multiplier %v", c.Diff1(), c.HashrateMultiplier())
	}
	if h := c.Hasher()(make([]byte, 80)); h != pow.Scrypt(make([]byte, 80)) {
		t.Fatal("hasher is not scrypt")
	}
}

// TestMWEBBlock builds the block for litecoind's template at the MWEB
// activation height (432, a peg-in in the mempool): the HogEx is the last
// transaction and the MWEB block follows the transactions after 0x01.
func TestMWEBBlock(t *testing.T) {
	c := cointest.New(t, New, "regtest")
	raw := cointest.Testdata(t, "regtest-gbt-432-mweb.json")
	tpl, err := c.ParseTemplate(raw)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		MWEB         string `json:"mweb"`
		Transactions []struct {
			Data, TxID string
		} `json:"transactions"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	if len(tpl.Transactions) != len(j.Transactions) || !bytes.Equal(tpl.Raw, raw) {
		t.Fatalf("%d transactions, reply has %d", len(tpl.Transactions), len(j.Transactions))
	}
	for i, tx := range j.Transactions {
		if tpl.Transactions[i].TxID.String() != tx.TxID || hex.EncodeToString(tpl.Transactions[i].Data) != tx.Data {
			t.Fatalf("transaction %d: %s, reply has %s", i, tpl.Transactions[i].TxID, tx.TxID)
		}
	}
	payout, err := c.ValidateAddress("rltc1qzj6wfkt63fpaq89c9x63mtum2p9h799wz966hh")
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.NewJob(tpl, coin.JobOptions{JobID: "1", PayoutScript: payout})
	if err != nil {
		t.Fatal(err)
	}
	if !job.Witness || job.TxCount != 2 {
		t.Fatalf("witness %v, %d txs", job.Witness, job.TxCount)
	}
	sub := coin.Submission{Extranonce1: []byte{1, 2, 3, 4}, Extranonce2: make([]byte, job.Extranonce2Size), NTime: job.NTime, Version: job.Version}
	blk, err := c.BuildBlock(job, tpl, sub)
	if err != nil {
		t.Fatal(err)
	}
	mweb := cointest.Hex(t, j.MWEB)
	hogex := tpl.Transactions[1].Data
	tail := append(append(append([]byte{}, hogex...), 0x01), mweb...)
	if !bytes.HasSuffix(blk.Raw, tail) {
		t.Fatal("block does not end with HogEx ‖ 0x01 ‖ mweb")
	}
	// btcd reads the canonical part: header, 3 transactions, the HogEx
	// (flag 0x08) aside.
	body := blk.Raw[:len(blk.Raw)-len(tail)]
	if body[80] != 3 {
		t.Fatalf("tx count %d", body[80])
	}
	var hdr wire.BlockHeader
	if err := hdr.Deserialize(bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(body[81:])
	for i := 0; i < 2; i++ {
		var tx wire.MsgTx
		if err := tx.Deserialize(r); err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if i == 1 && tx.TxHash().String() != j.Transactions[0].TxID {
			t.Fatalf("tx 1 is %s", tx.TxHash())
		}
	}
	if r.Len() != 0 {
		t.Fatalf("%d bytes between the transactions and the HogEx", r.Len())
	}
	all := []coin.Hash{coin.Hash(pow.SHA256d(mustCoinbase(t, job, sub)))}
	all = append(all, tpl.TxIDs()...)
	if root := coin.MerkleRoot(all); !bytes.Equal(root[:], blk.Header[36:68]) {
		t.Fatal("merkle root does not cover the HogEx")
	}
}

func mustCoinbase(t testing.TB, job *coin.Job, sub coin.Submission) []byte {
	t.Helper()
	b, err := job.CoinbaseTx(sub.Extranonce1, sub.Extranonce2)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMWEBTemplateErrors(t *testing.T) {
	c := cointest.New(t, New, "regtest")
	raw := cointest.Testdata(t, "regtest-gbt-432-mweb.json")
	edit := func(f func(m map[string]any)) []byte { return cointest.EditJSON(t, raw, f) }
	txs := func(m map[string]any) []any { return m["transactions"].([]any) }
	tests := []struct {
		name string
		raw  []byte
	}{
		{"mweb not hex", edit(func(m map[string]any) { m["mweb"] = "zz" })},
		{"mweb empty", edit(func(m map[string]any) { m["mweb"] = "" })},
		{"no transactions", edit(func(m map[string]any) { m["transactions"] = []any{} })},
		{"last is not a hogex", edit(func(m map[string]any) { m["transactions"] = txs(m)[:1] })},
		{"hogex txid wrong", edit(func(m map[string]any) {
			txs(m)[1].(map[string]any)["txid"] = strings.Repeat("11", 32)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.ParseTemplate(tt.raw); !errors.Is(err, coin.ErrBadTemplate) {
				t.Fatalf("ParseTemplate: %v", err)
			}
		})
	}
}

// FuzzValidateAddress: payout addresses come from miners' usernames. An
// accepted address pays a standard script (P2PKH 25, P2SH 23, P2WPKH 22 or
// P2WSH 34 bytes) and a Litecoin address never decodes as a taproot or
// MWEB output.
func FuzzValidateAddress(f *testing.F) {
	for _, v := range addressVectors(f, "mainnet") {
		f.Add(v.Addr)
	}
	f.Add("ltc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqp3mvzv")
	c := cointest.New(f, New, "mainnet")
	f.Fuzz(func(t *testing.T, addr string) {
		script, ok := cointest.FuzzAddress(t, c, addr)
		if !ok {
			return
		}
		switch len(script) {
		case 25, 23, 22, 34:
		default:
			t.Fatalf("%q: script %x", addr, script)
		}
		if script[0] == 0x51 {
			t.Fatalf("%q: taproot script %x accepted", addr, script)
		}
	})
}

// FuzzParseTemplate feeds getblocktemplate replies (as a node would send
// them) to the MWEB-aware parser; it must not panic, and an accepted
// template must serialise a block.
func FuzzParseTemplate(f *testing.F) {
	f.Add(cointest.Testdata(f, "regtest-gbt-432-mweb.json"))
	f.Add(cointest.Testdata(f, "regtest-gbt-2.json"))
	c := cointest.New(f, New, "regtest")
	f.Fuzz(func(t *testing.T, raw []byte) { cointest.FuzzTemplate(t, c, raw) })
}
