package ltc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/btcdaddr"
	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

// Symbol is Litecoin's registry symbol.
const Symbol = "ltc"

// MWEBActivationRegtest is the height at which MWEB activates on regtest
// (litecoind 0.21); mining it needs a peg-in in the mempool.
const MWEBActivationRegtest = 432

func init() {
	// btcd's bech32 decoder only knows prefixes of registered networks.
	for _, p := range []*chaincfg.Params{&MainNetParams, &TestNet4Params, &RegressionNetParams} {
		if err := chaincfg.Register(p); err != nil && !errors.Is(err, chaincfg.ErrDuplicateNet) {
			panic("ltc: " + err.Error())
		}
	}
	coin.Register(Symbol, func(network string) (coin.Coin, error) { return New(network) })
}

// Coin is Litecoin on one network.
type Coin struct {
	*coin.Base
	params *chaincfg.Params
	// p2sh2 is the second P2SH version byte the network accepts (the
	// legacy Bitcoin one on mainnet, 0x3a "Q" on the test networks).
	p2sh2 byte
}

// Chain parameters from Litecoin Core's chainparams.cpp (base58 prefixes,
// bech32 hrp, network magic, nSubsidyHalvingInterval); only the fields
// address decoding, chaincfg.Register and the subsidy read are set.
var (
	MainNetParams = chaincfg.Params{
		Name: "litecoin-mainnet", Net: 0xdbb6c0fb, Bech32HRPSegwit: "ltc",
		PubKeyHashAddrID: 0x30, ScriptHashAddrID: 0x32, CoinbaseMaturity: 100,
		SubsidyReductionInterval: 840_000,
	}
	TestNet4Params = chaincfg.Params{
		Name: "litecoin-testnet4", Net: 0xf1c8d2fd, Bech32HRPSegwit: "tltc",
		PubKeyHashAddrID: 0x6f, ScriptHashAddrID: 0x3a, CoinbaseMaturity: 100,
		SubsidyReductionInterval: 840_000,
	}
	RegressionNetParams = chaincfg.Params{
		// Litecoin's regtest magic (fabfb5da) is Bitcoin's; a distinct
		// value keys it in btcd's registry of networks.
		Name: "litecoin-regtest", Net: 0x6c746372, Bech32HRPSegwit: "rltc",
		PubKeyHashAddrID: 0x6f, ScriptHashAddrID: 0x3a, CoinbaseMaturity: 100,
		SubsidyReductionInterval: 150,
	}
)

type netInfo struct {
	net    coin.Network
	params *chaincfg.Params
	p2sh2  byte
}

var networks = map[string]netInfo{
	"mainnet":  {coin.Mainnet, &MainNetParams, 0x05},
	"main":     {coin.Mainnet, &MainNetParams, 0x05},
	"testnet":  {coin.Testnet4, &TestNet4Params, 0xc4},
	"testnet4": {coin.Testnet4, &TestNet4Params, 0xc4},
	"test":     {coin.Testnet4, &TestNet4Params, 0xc4},
	"regtest":  {coin.Regtest, &RegressionNetParams, 0xc4},
}

// New returns Litecoin on network: "mainnet" ("main"), "testnet4"
// ("testnet", "test") or "regtest".
func New(network string) (*Coin, error) {
	n, ok := networks[network]
	if !ok {
		return nil, fmt.Errorf("%w %q for ltc (mainnet, testnet4, regtest)", coin.ErrUnknownNetwork, network)
	}
	c := &Coin{params: n.params, p2sh2: n.p2sh2}
	base, err := coin.NewBase(coin.BaseConfig{
		Symbol:             Symbol,
		Network:            n.net,
		CoinbaseMaturity:   int(n.params.CoinbaseMaturity),
		InitialSubsidy:     50 * 100_000_000,
		HalvingInterval:    int64(n.params.SubsidyReductionInterval),
		Hasher:             pow.Scrypt,
		Diff1:              target.ScryptDiff1,
		HashrateMultiplier: target.ScryptHashesPerDiff1,
		Segwit:             true,
		TemplateRules:      []string{"mweb", "segwit"},
		DecodeAddress:      c.decodeAddress,
	})
	if err != nil {
		return nil, err
	}
	c.Base = base
	return c, nil
}

// Params returns the chain parameters of the coin's network.
func (c *Coin) Params() *chaincfg.Params { return c.params }

// decodeAddress returns the output script paying addr on c's network.
func (c *Coin) decodeAddress(addr string) ([]byte, error) {
	script, err := decodeFor(addr, c.params, c.p2sh2)
	if err == nil {
		return script, nil
	}
	var ae *coin.AddressError
	if errors.As(err, &ae) && ae.Kind != nil {
		return nil, err
	}
	for _, n := range networks {
		if n.params == c.params {
			continue
		}
		// Testnet4 and regtest share base58 version bytes.
		if _, e := decodeFor(addr, n.params, n.p2sh2); e == nil {
			return nil, &coin.AddressError{Addr: addr, Kind: coin.ErrWrongNetwork}
		}
	}
	return nil, err
}

func decodeFor(addr string, params *chaincfg.Params, p2sh2 byte) ([]byte, error) {
	// The second P2SH version byte is not in chaincfg: decode with a copy
	// of the parameters that has it as the P2SH id.
	alt := *params
	alt.ScriptHashAddrID = p2sh2
	var a address.Address
	var err error
	for _, p := range []*chaincfg.Params{params, &alt} {
		a, err = address.DecodeAddress(addr, p)
		if err == nil && a.IsForNet(p) {
			break
		}
		if err == nil {
			err = errWrongVersion
		}
	}
	if err != nil {
		return nil, btcdaddr.DecodeError(addr, err)
	}
	if _, ok := a.(*address.AddressTaproot); ok {
		// Litecoin pays P2PKH, P2SH, P2WPKH and P2WSH only.
		return nil, btcdaddr.Unsupported(addr, a)
	}
	return btcdaddr.Script(addr, a)
}

var errWrongVersion = errors.New("version byte of another network")

// ParseTemplate implements coin.Coin. A template with an "mweb" field
// must end with the HogEx; its ids are taken from the node's "txid" and
// "hash" (coin.ParseTx does not read MWEB serialisation) after a
// structural check of its data.
func (c *Coin) ParseTemplate(raw []byte) (*coin.Template, error) {
	mw, err := splitMWEB(raw)
	if err != nil {
		return nil, err
	}
	if mw == nil {
		return c.Base.ParseTemplate(raw)
	}
	t, err := c.Base.ParseTemplate(mw.stripped)
	if err != nil {
		return nil, err
	}
	t.Transactions = append(t.Transactions, mw.hogex)
	t.Raw = raw
	sum := sha256.Sum256(raw)
	t.ID = hex.EncodeToString(sum[:16])
	return t, nil
}

// BuildBlock implements coin.Coin: the bitcoin-family block, followed by
// 0x01 ‖ the MWEB block when the template has one.
func (c *Coin) BuildBlock(job *coin.Job, tpl *coin.Template, sub coin.Submission) (*coin.Block, error) {
	blk, err := c.Base.BuildBlock(job, tpl, sub)
	if err != nil {
		return nil, err
	}
	mw, err := splitMWEB(tpl.Raw)
	if err != nil {
		return nil, err
	}
	if mw != nil {
		blk.Raw = append(append(blk.Raw, 0x01), mw.block...)
	}
	return blk, nil
}

// mwebTemplate is the MWEB part of a template.
type mwebTemplate struct {
	block    []byte          // serialised MWEB block ("mweb")
	hogex    coin.TemplateTx // the last transaction
	stripped []byte          // the reply without the HogEx and "mweb"
}

// MWEB serialisation flag of a Litecoin transaction (after the 0x00
// marker), set on the HogEx.
const mwebFlag = 0x08

// splitMWEB returns nil for a template without "mweb".
func splitMWEB(raw []byte) (*mwebTemplate, error) {
	bad := func(format string, args ...any) (*mwebTemplate, error) {
		return nil, fmt.Errorf("%w: %s", coin.ErrBadTemplate, fmt.Sprintf(format, args...))
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return bad("json: %v", err)
	}
	mwRaw, ok := m["mweb"]
	if !ok {
		return nil, nil
	}
	var mwHex string
	if err := json.Unmarshal(mwRaw, &mwHex); err != nil {
		return bad("mweb: %v", err)
	}
	block, err := hex.DecodeString(mwHex)
	if err != nil || len(block) == 0 {
		return bad("mweb: not hex data (%d chars)", len(mwHex))
	}
	var txs []map[string]json.RawMessage
	if err := json.Unmarshal(m["transactions"], &txs); err != nil || len(txs) == 0 {
		return bad("mweb template without transactions: the HogEx is missing")
	}
	last := txs[len(txs)-1]
	var h struct {
		Data   string `json:"data"`
		TxID   string `json:"txid"`
		Fee    int64  `json:"fee"`
		Weight int64  `json:"weight"`
	}
	hb, _ := json.Marshal(last)
	if err := json.Unmarshal(hb, &h); err != nil {
		return bad("hogex: %v", err)
	}
	data, err := hex.DecodeString(h.Data)
	if err != nil {
		return bad("hogex data: %v", err)
	}
	txid, err := hogExTxID(data)
	if err != nil {
		return bad("last transaction is not a HogEx: %v", err)
	}
	if h.TxID != "" {
		if want, err := coin.HashFromString(h.TxID); err != nil || want != txid {
			return bad("hogex txid %q, data hashes to %s", h.TxID, txid)
		}
	}
	delete(m, "mweb")
	rest, err := json.Marshal(txs[:len(txs)-1])
	if err != nil {
		return bad("json: %v", err)
	}
	m["transactions"] = rest
	stripped, err := json.Marshal(m)
	if err != nil {
		return bad("json: %v", err)
	}
	return &mwebTemplate{
		block:    block,
		hogex:    coin.TemplateTx{Data: data, TxID: txid, WTxID: txid, Fee: h.Fee, Weight: h.Weight},
		stripped: stripped,
	}, nil
}

// HogExTxID returns the txid of a HogEx serialised as litecoind sends it,
//
//	version ‖ 0x00 ‖ 0x08 ‖ inputs ‖ outputs ‖ 0x00 (no MWEB tx) ‖ locktime
//
// which is SHA256d of the transaction without the marker, flag and MWEB
// byte; a HogEx has no witness, so its wtxid is the same.
func hogExTxID(data []byte) (coin.Hash, error) {
	if len(data) < 10 || data[4] != 0x00 || data[5] != mwebFlag || data[len(data)-5] != 0x00 {
		return coin.Hash{}, fmt.Errorf("%d bytes without the MWEB flag layout", len(data))
	}
	plain := make([]byte, 0, len(data)-3)
	plain = append(plain, data[:4]...)
	plain = append(plain, data[6:len(data)-5]...)
	plain = append(plain, data[len(data)-4:]...)
	info, err := coin.ParseTx(plain)
	if err != nil {
		return coin.Hash{}, err
	}
	if info.Size != len(plain) || info.HasWitness {
		return coin.Hash{}, fmt.Errorf("trailing data or witness in a HogEx")
	}
	return info.TxID, nil
}

var _ coin.Coin = (*Coin)(nil)
