package btc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/cointest"
	"github.com/jetpool/jetpool/internal/pow"
)

// compactBlock is the JSON form of testdata/block-540107.json.
type compactBlock struct {
	Height   int64       `json:"height"`
	Hash     string      `json:"hash"`
	Header   string      `json:"header"`
	Coinbase string      `json:"coinbase"`
	TxIDs    []coin.Hash `json:"txids"`
	WTxIDs   []coin.Hash `json:"wtxids"`
}

func loadCompact(t testing.TB, name string) compactBlock {
	t.Helper()
	var b compactBlock
	if err := json.Unmarshal(cointest.Testdata(t, name), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// templateFromBlock writes a getblocktemplate reply holding the
// transactions of a real block, as a node would have offered it.
func templateFromBlock(t testing.TB, raw []byte, height int64) []byte {
	t.Helper()
	var msg wire.MsgBlock
	if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	type tx struct {
		Data string `json:"data"`
		TxID string `json:"txid"`
		Hash string `json:"hash"`
	}
	var txs []tx
	for _, m := range msg.Transactions[1:] {
		var b bytes.Buffer
		if err := m.Serialize(&b); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx{hex.EncodeToString(b.Bytes()), m.TxHash().String(), m.WitnessHash().String()})
	}
	var value int64
	for _, o := range msg.Transactions[0].TxOut {
		value += o.Value
	}
	out, err := json.Marshal(map[string]any{
		"version":           msg.Header.Version,
		"previousblockhash": msg.Header.PrevBlock.String(),
		"transactions":      txs,
		"coinbasevalue":     value,
		"bits":              fmt.Sprintf("%08x", msg.Header.Bits),
		"height":            height,
		"curtime":           msg.Header.Timestamp.Unix(),
		"mintime":           msg.Header.Timestamp.Unix() - 3600,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withField returns a JSON object with one field set (or removed if v is
// nil).
func withField(t testing.TB, raw []byte, key string, v any) []byte {
	t.Helper()
	return cointest.EditJSON(t, raw, func(m map[string]any) {
		if v == nil {
			delete(m, key)
		} else {
			m[key] = v
		}
	})
}

var good, bad = cointest.GoodAddress, cointest.BadAddress

// Address vectors: Bitcoin Core's key_io_valid.json (main, testnet4,
// regtest; testnet3 and testnet4 share encodings) and BIP173/BIP350.
// Simnet exists only in btcd; its strings were encoded with btcd's
// address/v2 from the regtest programs.
func addressVectors(t testing.TB, network string) []cointest.AddressVector {
	mainnet := []cointest.AddressVector{
		good(t, "mainnet P2PKH genesis", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac"),
		good(t, "mainnet P2PKH", "1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mo", "76a914a31c06bd463e3923bc1aadbde48b16976c08071788ac"),
		good(t, "mainnet P2SH", "36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm", "a914373b819a068f32b7a6b38b6b38729647cfde01c287"),
		good(t, "mainnet P2WPKH", "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv", "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c"),
		good(t, "mainnet P2WPKH upper case", "BC1QVYQ0CC6RAHYVSAZFDJE0TWL7EZ82NDMUAC2LHV", "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c"),
		good(t, "mainnet P2WSH", "bc1qyucykdlhp62tezs0hagqury402qwhk589q80tqs5myh3rxq34nwqhkdhv7", "002027304b37f70e94bc8a0fbf500e0c957a80ebda87280ef58214d92f119811acdc"),
		good(t, "mainnet P2TR", "bc1p83n3au0rjylefxq2nc2xh2y4jzz4pm6zxj4mw5pagdjjr2a9f36s6jjnnu", "51203c671ef1e3913f94980a9e146ba895908550ef4234abb7503d436521aba54c75"),
		good(t, "mainnet P2TR BIP350", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
		bad("mainnet witness v2 is unsupported", "bc1z2rksukkjr8", coin.ErrUnsupportedAddress),
		bad("mainnet P2PKH bad checksum", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", nil),
		bad("mainnet P2WPKH bad checksum", "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhw", nil),
		bad("BIP350 bech32 checksum on v1", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", nil),
		bad("BIP350 bech32m checksum on v0", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", nil),
		bad("BIP350 invalid character in checksum", "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", nil),
		bad("BIP350 program of 1 byte", "bc1pw5dgrnzv", nil),
		bad("BIP350 program of 41 bytes", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav", nil),
		bad("BIP350 v0 program of 16 bytes", "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", nil),
		bad("BIP350 empty data", "bc1gmk9yu", nil),
		bad("BIP350 unknown hrp", "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", nil),
	}
	testnet := []cointest.AddressVector{
		good(t, "testnet P2PKH", "mzK2FFDEhxqHcmrJw1ysqFkVyhUULo45hZ", "76a914ce28b26c57472737f5c3561a1761185bd8589a4388ac"),
		good(t, "testnet P2SH", "2NC2hEhe28ULKAJkW5MjZ3jtTMJdvXmByvK", "a914ce0bba75891ff9ec60148d4bd4a09ee2dc5c933187"),
		good(t, "testnet P2WPKH", "tb1qcrh3yqn4nlleplcez2yndq2ry8h9ncg3qh7n54", "0014c0ef1202759fff90ff19128936814321ee59e111"),
		good(t, "testnet P2WSH", "tb1quyl9ujpgwr2chdzdnnalen48sup245vdfnh2jxhsuq3yx80rrwlq5hqfe4", "0020e13e5e482870d58bb44d9cfbfccea78702aad18d4ceea91af0e022431de31bbe"),
		good(t, "testnet P2TR", "tb1p35n52jy6xkm4wd905tdy8qtagrn73kqdz73xe4zxpvq9t3fp50aqk3s6gz", "51208d2745489a35b75734afa2da43817d40e7e8d80d17a26cd4460b0055c521a3fa"),
		good(t, "testnet P2TR BIP350", "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c", "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"),
		bad("BIP350 mixed case", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", nil),
		bad("BIP350 non-zero padding", "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", nil),
	}
	regtest := []cointest.AddressVector{
		good(t, "regtest P2PKH", "n4fajahJrAuKbN7uNsKjLjQkz9Qn5ewJXQ", "76a914fdeca3b08e38af53d7c4c60e3ad208ce5066441088ac"),
		good(t, "regtest P2SH", "2MxFajLApXpYk4VodBSZSt7rw8y4ryABkfA", "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87"),
		good(t, "regtest P2WPKH", "bcrt1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy97tmnu9", "00146f58bac9506f9bfb821d62e69330410bb56f0085"),
		good(t, "regtest P2WSH", "bcrt1qan8gntac7z7me2ejt4hpru42ad2f759fmy0m3ejvs98656znv7eqga4uhv", "0020ecce89afb8f0bdbcab325d6e11f2aaeb549f50a9d91fb8e64c814faa685367b2"),
		good(t, "regtest P2TR", "bcrt1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkq3553uh", "51204b8d20316baaf061adbfe72c9d914d678cd5004d49356ec9949ba752777171ac"),
		bad("regtest witness v16 is unsupported", "bcrt1s489d9fhmyel0vzfqsrmew4x7r80asuqesm5hgqacy35daflcyufh3j8cgdtflvt99ph05m", coin.ErrUnsupportedAddress),
	}
	simnet := []cointest.AddressVector{
		good(t, "simnet P2PKH", "SkSdUNPUmWfGLZRkCjLS4iLzmw3VxaD28o", "76a914fdeca3b08e38af53d7c4c60e3ad208ce5066441088ac"),
		good(t, "simnet P2SH", "raaYrQQnheinMrdJPpFBUxzWC9G158ya3x", "a91436e9f191e0b75036a77f65e2eaa4752443233fbe87"),
		good(t, "simnet P2WPKH", "sb1qdavt4j2sd7dlhqsavtnfxvzppw6k7qy9e9fmtn", "00146f58bac9506f9bfb821d62e69330410bb56f0085"),
		good(t, "simnet P2WSH", "sb1qan8gntac7z7me2ejt4hpru42ad2f759fmy0m3ejvs98656znv7eqz44amn", "0020ecce89afb8f0bdbcab325d6e11f2aaeb549f50a9d91fb8e64c814faa685367b2"),
		good(t, "simnet P2TR", "sb1pfwxjqvtt4tcxrtdluukfmy2dv7xd2qzdfy6kajv5nwn4yam3wxkqmu5ssg", "51204b8d20316baaf061adbfe72c9d914d678cd5004d49356ec9949ba752777171ac"),
	}
	common := []cointest.AddressVector{
		bad("empty", "", nil),
		bad("garbage", "not an address", nil),
		bad("too long", strings.Repeat("1", 200), nil),
		bad("compressed public key (P2PK) is unsupported", "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", coin.ErrUnsupportedAddress),
		bad("litecoin bech32", "ltc1qg82tlq7dpw3sv6dwssrnn2vgjdlqwd2nqlkcrs", nil),
	}
	// An address of every other network is rejected as wrong-network.
	// testnet, testnet4 and regtest share base58 version bytes, so their
	// base58 addresses are interchangeable (as in Bitcoin Core).
	sets := map[string][]cointest.AddressVector{"mainnet": mainnet, "testnet": testnet, "regtest": regtest, "simnet": simnet}
	own := map[string]string{"mainnet": "mainnet", "testnet": "testnet", "testnet4": "testnet", "regtest": "regtest", "simnet": "simnet"}[network]
	shareBase58 := func(a, b string) bool {
		tn := map[string]bool{"testnet": true, "regtest": true}
		return tn[a] && tn[b]
	}
	out := append([]cointest.AddressVector{}, common...)
	for net, set := range sets {
		for _, v := range set {
			switch {
			case net == own:
				out = append(out, v)
			case v.Script == nil:
				// another network's malformed address is still malformed
				out = append(out, v)
			case shareBase58(net, own) && !strings.Contains(v.Addr, "1q") && !strings.Contains(v.Addr, "1p"):
				out = append(out, v) // same base58 encoding: valid here too
			default:
				out = append(out, bad(v.Name+" on "+network, v.Addr, coin.ErrWrongNetwork))
			}
		}
	}
	return out
}

func regtestTemplates(t testing.TB, payout []byte) []cointest.TemplateVector {
	witness := cointest.Testdata(t, "regtest-gbt-witness.json")
	var j struct {
		Commitment string `json:"default_witness_commitment"`
	}
	if err := json.Unmarshal(witness, &j); err != nil {
		t.Fatal(err)
	}
	script := append(cointest.Hex(t, "6a24aa21a9ed"), cointest.Hex(t, j.Commitment)...)
	return []cointest.TemplateVector{
		{Name: "btcd empty", Raw: cointest.Testdata(t, "regtest-gbt-empty.json"), PayoutScript: payout, PoolTag: "/jetpool/"},
		{Name: "btcd witness", Raw: witness, PayoutScript: payout, PoolTag: "/jetpool/", WantWitness: true, WantCommitment: script},
		{
			// Without default_witness_commitment the commitment is computed.
			Name: "btcd witness, commitment omitted", Raw: withField(t, witness, "default_witness_commitment", nil),
			PayoutScript: payout, WantWitness: true, WantCommitment: script,
		},
		{
			// Bitcoin Core sends the whole output script and "rules".
			Name: "core style", Raw: withField(t, withField(t, witness, "default_witness_commitment", hex.EncodeToString(script)), "rules", []string{"csv", "!segwit", "taproot"}),
			PayoutScript: payout, PoolTag: "jetpool", WantWitness: true, WantCommitment: script,
		},
		{Name: "no pool tag", Raw: cointest.Testdata(t, "regtest-gbt-empty.json"), PayoutScript: cointest.Hex(t, "51204b8d20316baaf061adbfe72c9d914d678cd5004d49356ec9949ba752777171ac")},
	}
}

func bitsVectors() []cointest.BitsVector {
	return []cointest.BitsVector{
		{Name: "genesis", Bits: 0x1d00ffff, Difficulty: 1},
		{Name: "block 100000", Bits: 0x1b04864c, Difficulty: 14484.1623612254},
		{Name: "block 540107", Bits: 0x1729d72d, Difficulty: 6727225469722.534},
		{Name: "regtest", Bits: 0x207fffff, Difficulty: 4.6565423739069247e-10},
	}
}

func TestConformanceMainnet(t *testing.T) {
	c := cointest.New(t, New, "mainnet")
	seg := loadCompact(t, "block-540107.json")
	b100k := cointest.TestdataHex(t, "block-100000.hex")
	genesis := cointest.TestdataHex(t, "block-0.hex")
	payout := cointest.Hex(t, "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c")
	cointest.Run(t, c, cointest.Vectors{
		Network:   "mainnet",
		Addresses: addressVectors(t, "mainnet"),
		Headers: []cointest.HeaderVector{
			{Name: "genesis", Header: genesis[:80], Hash: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f", PoW: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"},
			{Name: "block 100000", Header: b100k[:80], Hash: "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506", PoW: "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506"},
			{Name: "block 540107", Header: cointest.Hex(t, seg.Header), Hash: seg.Hash, PoW: seg.Hash},
		},
		Blocks: []cointest.BlockVector{
			cointest.RawBlockVector(t, "genesis", genesis, 0),
			cointest.RawBlockVector(t, "block 100000", b100k, 0),
			{Name: "block 540107 (segwit)", Header: cointest.Hex(t, seg.Header), Coinbase: cointest.Hex(t, seg.Coinbase), TxIDs: seg.TxIDs, WTxIDs: seg.WTxIDs, Height: seg.Height},
		},
		Templates: []cointest.TemplateVector{
			{Name: "block 100000 transactions", Raw: templateFromBlock(t, b100k, 100000), PayoutScript: payout, PoolTag: "/jetpool/"},
		},
		Bits: bitsVectors(),
		// Mainnet: 50 BTC at genesis and block 100000, 25 from 210000, 3.125
		// from the 2024 halving at 840000, nothing from 6,930,000 (33 halvings).
		Subsidies: []cointest.SubsidyVector{{Height: 0, Want: 50e8}, {Height: 100_000, Want: 50e8}, {Height: 210_000, Want: 25e8},
			{Height: 839_999, Want: 625_000_000}, {Height: 840_000, Want: 312_500_000}, {Height: 6_929_999, Want: 1}, {Height: 6_930_000, Want: 0}},
	})
}

func TestConformanceRegtest(t *testing.T) {
	c := cointest.New(t, New, "regtest")
	b1 := cointest.TestdataHex(t, "regtest-block-1.hex")
	payout := cointest.Hex(t, "00146f58bac9506f9bfb821d62e69330410bb56f0085")
	cointest.Run(t, c, cointest.Vectors{
		Network:   "regtest",
		Addresses: addressVectors(t, "regtest"),
		Headers: []cointest.HeaderVector{
			{Name: "block 1", Header: b1[:80], Hash: "36c056247e8c0589f6307995e4e13acf2b2b79cad9ecd5a4eeab2131ed0ecde5", PoW: "36c056247e8c0589f6307995e4e13acf2b2b79cad9ecd5a4eeab2131ed0ecde5"},
		},
		Blocks:    []cointest.BlockVector{{Name: "block 1 (OP_1 height, empty witness commitment)", Header: b1[:80], Coinbase: cointest.RawBlockVector(t, "b1", b1, 1).Coinbase, WTxIDs: []coin.Hash{}, Height: 1}},
		Templates: regtestTemplates(t, payout),
		Bits:      bitsVectors(),
		// Bitcoin Core regtest: nSubsidyHalvingInterval 150.
		Subsidies: []cointest.SubsidyVector{{Height: 149, Want: 50e8}, {Height: 150, Want: 25e8}, {Height: 300, Want: 1_250_000_000}},
	})
}

func TestConformanceOtherNetworks(t *testing.T) {
	for _, tc := range []struct{ network, payout string }{
		{"testnet", "0014c0ef1202759fff90ff19128936814321ee59e111"},
		{"testnet4", "0014c0ef1202759fff90ff19128936814321ee59e111"},
		{"simnet", "00146f58bac9506f9bfb821d62e69330410bb56f0085"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			c := cointest.New(t, New, tc.network)
			cointest.Run(t, c, cointest.Vectors{
				Network:   tc.network,
				Addresses: addressVectors(t, tc.network),
				Templates: regtestTemplates(t, cointest.Hex(t, tc.payout)),
				Bits:      bitsVectors(),
				Subsidies: []cointest.SubsidyVector{{Height: 209_999, Want: 50e8}, {Height: 210_000, Want: 25e8}},
			})
		})
	}
}

func TestNetworks(t *testing.T) {
	tests := []struct {
		name, network string
		want          coin.Network
		params        string
	}{
		{"mainnet", "mainnet", coin.Mainnet, "mainnet"},
		{"main alias", "main", coin.Mainnet, "mainnet"},
		{"testnet", "testnet", coin.Testnet, "testnet3"},
		{"testnet3 alias", "testnet3", coin.Testnet, "testnet3"},
		{"testnet4", "testnet4", coin.Testnet4, "testnet4"},
		{"regtest", "regtest", coin.Regtest, "regtest"},
		{"simnet", "simnet", coin.Simnet, "simnet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := coin.Get("btc", tc.network)
			if err != nil {
				t.Fatal(err)
			}
			if c.Network() != tc.want || c.(*Coin).Params().Name != tc.params {
				t.Fatalf("network %s params %s", c.Network(), c.(*Coin).Params().Name)
			}
			if c.CoinbaseMaturity() != 100 || c.HashrateMultiplier() != 1<<32 {
				t.Fatalf("maturity %d multiplier %v", c.CoinbaseMaturity(), c.HashrateMultiplier())
			}
			if rules := c.TemplateRules(); len(rules) != 1 || rules[0] != "segwit" {
				t.Fatalf("rules %v", rules)
			}
		})
	}
	if _, err := New("signet"); !errors.Is(err, coin.ErrUnknownNetwork) {
		t.Fatalf("New(signet) = %v, want ErrUnknownNetwork", err)
	}
}

// TestJobLayout pins the coinbase byte layout field by field for the btcd
// witness template at height 118.
func TestJobLayout(t *testing.T) {
	c := cointest.New(t, New, "regtest")
	tpl := cointest.Template(t, c, "regtest-gbt-witness.json")
	payout := cointest.Hex(t, "00146f58bac9506f9bfb821d62e69330410bb56f0085")
	job, err := c.NewJob(tpl, coin.JobOptions{JobID: "1", PayoutScript: payout, PoolTag: "/jetpool/"})
	if err != nil {
		t.Fatal(err)
	}
	wantCoinb1 := "02000000" + // tx version 2
		"01" + // one input
		strings.Repeat("00", 32) + "ffffffff" + // null prevout
		"15" + // scriptSig length 21
		"0176" + // BIP34 height 118
		"092f6a6574706f6f6c2f" + // push "/jetpool/"
		"08" // push of extranonce1 ‖ extranonce2 (4+4)
	if got := hex.EncodeToString(job.Coinb1); got != wantCoinb1 {
		t.Fatalf("coinb1\n got %s\nwant %s", got, wantCoinb1)
	}
	wantCoinb2 := "ffffffff" + // sequence
		"02" + // two outputs
		fmt.Sprintf("%016x", reverse64(uint64(tpl.CoinbaseValue))) + "16" + hex.EncodeToString(payout) + // payout
		"0000000000000000" + "26" + hex.EncodeToString(tpl.WitnessCommitment) + // witness commitment
		"00000000" // locktime
	if got := hex.EncodeToString(job.Coinb2); got != wantCoinb2 {
		t.Fatalf("coinb2\n got %s\nwant %s", got, wantCoinb2)
	}
	n := job.Notify()
	if n.PrevHash != coin.StratumPrevHash(tpl.PreviousBlockHash) || n.Version != "20000000" || n.NBits != "207fffff" ||
		n.NTime != fmt.Sprintf("%08x", tpl.CurTime) || len(n.MerkleBranch) != 2 || !n.CleanJobs == job.CleanJobs {
		t.Fatalf("notify %+v", n)
	}
	// The first branch entry is the first transaction's txid in internal order.
	if n.MerkleBranch[0] != hex.EncodeToString(tpl.Transactions[0].TxID[:]) {
		t.Fatalf("branch[0] = %s", n.MerkleBranch[0])
	}
}

func reverse64(v uint64) uint64 {
	var r uint64
	for i := 0; i < 8; i++ {
		r = r<<8 | v&0xff
		v >>= 8
	}
	return r
}

// FuzzValidateAddress: payout addresses come from miners' usernames.
func FuzzValidateAddress(f *testing.F) {
	for _, v := range addressVectors(f, "mainnet") {
		f.Add(v.Addr)
	}
	c := cointest.New(f, New, "mainnet")
	f.Fuzz(func(t *testing.T, addr string) {
		script, ok := cointest.FuzzAddress(t, c, addr)
		if ok && (len(script) < 22 || len(script) > 34) {
			t.Fatalf("%q: script %x", addr, script)
		}
	})
}

// FuzzCoinbase builds coinbases for arbitrary heights, tags and extranonces
// and checks btcd decodes them to the same txid with the right height.
func FuzzCoinbase(f *testing.F) {
	f.Add(int64(1), "/jetpool/", []byte{1, 2, 3, 4}, []byte{5, 6, 7, 8})
	f.Add(int64(500000), "", []byte{0xff}, []byte{0, 0, 0, 0, 0, 0, 0, 0})
	c := cointest.New(f, New, "regtest")
	tpl := cointest.Template(f, c, "regtest-gbt-witness.json")
	f.Fuzz(func(t *testing.T, height int64, tag string, en1, en2 []byte) {
		if height < 1 || height > 1<<31-1 || len(en1) == 0 || len(en2) == 0 {
			return // size 0 selects the default size, tested elsewhere
		}
		tp := *tpl
		tp.Height = height
		job, err := c.NewJob(&tp, coin.JobOptions{JobID: "f", PayoutScript: []byte{0x51}, PoolTag: tag, Extranonce1Size: len(en1), Extranonce2Size: len(en2)})
		if err != nil {
			if !errors.Is(err, coin.ErrBadJobOptions) {
				t.Fatal(err)
			}
			return
		}
		raw, err := job.CoinbaseTxWitness(en1, en2)
		if err != nil {
			t.Fatal(err)
		}
		var tx wire.MsgTx
		if err := tx.Deserialize(bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		nw, _ := job.CoinbaseTx(en1, en2)
		if tx.TxHash() != pow.SHA256d(nw) || len(tx.TxIn[0].SignatureScript) > 100 {
			t.Fatalf("txid mismatch or scriptSig %d bytes", len(tx.TxIn[0].SignatureScript))
		}
	})
}
