package bch

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/address/v2/base58"
	"github.com/btcsuite/btcd/address/v2/bech32"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

// Symbol is Bitcoin Cash's registry symbol.
const Symbol = "bch"

// Consensus figures the package documents and checks against.
const (
	// MaxBlockSize is the block size limit of mainnet since May 2018
	// (32 MB); since May 2024 (ABLA) it only grows from there. The node's
	// template carries the limit in force as "sizelimit".
	MaxBlockSize = 32_000_000
	// BytesPerSigCheck is the block sigchecks limit divisor: a block may
	// carry sizelimit/141 signature checks (bchd's "sigchecklimit").
	BytesPerSigCheck = 141
	// MinCoinbaseSize is the size NewJob pads the coinbase to: Bitcoin
	// Cash rejects transactions under 100 bytes (Nov 2018) and, since May
	// 2023, under 65 bytes; bchd's regtest applies the 100-byte rule from
	// height 1000.
	MinCoinbaseSize = 100
	// CoinbaseMaturity is the confirmations before a coinbase is spendable.
	CoinbaseMaturity = 100
)

func init() {
	coin.Register(Symbol, func(network string) (coin.Coin, error) { return New(network) })
}

// Params are the address parameters of one network.
type Params struct {
	Network    coin.Network
	Prefix     string // CashAddr prefix, without ":"
	LegacyP2PK byte   // base58 version byte of P2PKH addresses
	LegacyP2SH byte   // base58 version byte of P2SH addresses
	// HalvingInterval is the subsidy halving period in blocks.
	HalvingInterval int64
}

// Network parameters (bchd's chaincfg: CashAddressPrefix, the legacy
// version bytes, which are Bitcoin's, and SubsidyReductionInterval).
var (
	MainNetParams  = Params{coin.Mainnet, "bitcoincash", 0x00, 0x05, 210_000}
	TestNetParams  = Params{coin.Testnet, "bchtest", 0x6f, 0xc4, 210_000}
	TestNet4Params = Params{coin.Testnet4, "bchtest", 0x6f, 0xc4, 210_000}
	RegTestParams  = Params{coin.Regtest, "bchreg", 0x6f, 0xc4, 150}
	SimNetParams   = Params{coin.Simnet, "bchsim", 0x3f, 0x7b, 210_000}
)

var networks = map[string]*Params{
	"mainnet":  &MainNetParams,
	"main":     &MainNetParams,
	"testnet":  &TestNetParams,
	"testnet3": &TestNetParams,
	"test":     &TestNetParams,
	"testnet4": &TestNet4Params,
	"regtest":  &RegTestParams,
	"simnet":   &SimNetParams,
}

var allParams = []*Params{&MainNetParams, &TestNetParams, &RegTestParams, &SimNetParams}

// Coin is Bitcoin Cash on one network.
type Coin struct {
	*coin.Base
	params *Params
}

// New returns Bitcoin Cash on network: "mainnet" ("main"), "testnet"
// ("testnet3", "test"), "testnet4", "regtest" or "simnet" (bchd's).
func New(network string) (*Coin, error) {
	p, ok := networks[network]
	if !ok {
		return nil, fmt.Errorf("%w %q for bch (mainnet, testnet, testnet4, regtest, simnet)", coin.ErrUnknownNetwork, network)
	}
	c := &Coin{params: p}
	base, err := coin.NewBase(coin.BaseConfig{
		Symbol:             Symbol,
		Network:            p.Network,
		CoinbaseMaturity:   CoinbaseMaturity,
		InitialSubsidy:     50 * 100_000_000,
		HalvingInterval:    p.HalvingInterval,
		Hasher:             pow.SHA256d,
		Diff1:              target.SHA256dDiff1,
		HashrateMultiplier: target.SHA256dHashesPerDiff1,
		Segwit:             false,
		TemplateRules:      nil,
		DecodeAddress:      c.decodeAddress,
	})
	if err != nil {
		return nil, err
	}
	c.Base = base
	return c, nil
}

// Params returns the address parameters of the coin's network.
func (c *Coin) Params() Params { return *c.params }

// decodeAddress returns the output script paying addr: a CashAddr (with or
// without prefix, one case) or a legacy base58 address of c's network.
func (c *Coin) decodeAddress(addr string) ([]byte, error) {
	if !strings.Contains(addr, ":") {
		if hrp, _, err := bech32.Decode(addr); err == nil {
			return nil, &coin.AddressError{Addr: addr, Kind: coin.ErrUnsupportedAddress,
				Detail: fmt.Errorf("bech32 (segwit, hrp %q): Bitcoin Cash has no segwit", hrp)}
		}
		if payload, ver, err := base58.CheckDecode(addr); err == nil {
			return c.legacy(addr, payload, ver)
		}
	}
	return c.cash(addr)
}

func (c *Coin) legacy(addr string, payload []byte, ver byte) ([]byte, error) {
	if len(payload) != 20 {
		return nil, &coin.AddressError{Addr: addr, Detail: fmt.Errorf("base58 payload of %d bytes", len(payload))}
	}
	switch ver {
	case c.params.LegacyP2PK:
		return coin.P2PKHScript(payload), nil
	case c.params.LegacyP2SH:
		return coin.P2SHScript(payload), nil
	}
	for _, p := range allParams {
		if ver == p.LegacyP2PK || ver == p.LegacyP2SH {
			return nil, &coin.AddressError{Addr: addr, Kind: coin.ErrWrongNetwork}
		}
	}
	return nil, &coin.AddressError{Addr: addr, Detail: fmt.Errorf("base58 version byte %#02x", ver)}
}

func (c *Coin) cash(addr string) ([]byte, error) {
	a, err := decodeCashAddr(addr, c.params.Prefix)
	if err != nil {
		if !strings.Contains(addr, ":") && errors.Is(err, errCashChecksum) {
			// Without a prefix the checksum only holds for the
			// address's own network.
			for _, p := range allParams {
				if p.Prefix == c.params.Prefix {
					continue
				}
				if _, e := decodeCashAddr(addr, p.Prefix); e == nil {
					return nil, &coin.AddressError{Addr: addr, Kind: coin.ErrWrongNetwork}
				}
			}
		}
		return nil, &coin.AddressError{Addr: addr, Detail: err}
	}
	if a.Prefix != c.params.Prefix {
		for _, p := range allParams {
			if a.Prefix == p.Prefix {
				return nil, &coin.AddressError{Addr: addr, Kind: coin.ErrWrongNetwork}
			}
		}
		return nil, &coin.AddressError{Addr: addr, Detail: fmt.Errorf("cashaddr prefix %q", a.Prefix)}
	}
	if len(a.Hash) != 20 {
		return nil, &coin.AddressError{Addr: addr, Kind: coin.ErrUnsupportedAddress,
			Detail: fmt.Errorf("cashaddr with a %d-byte hash", len(a.Hash))}
	}
	switch a.Type {
	case CashP2PKH, CashTokenP2PKH:
		return coin.P2PKHScript(a.Hash), nil
	case CashP2SH, CashTokenP2SH:
		return coin.P2SHScript(a.Hash), nil
	default:
		return nil, &coin.AddressError{Addr: addr, Kind: coin.ErrUnsupportedAddress,
			Detail: fmt.Errorf("cashaddr type %d", a.Type)}
	}
}

// maxCoinbaseSize is the largest coinbase Base.NewJob builds: version,
// one input with a null prevout and a 100-byte scriptSig, sequence, one
// output with a MaxPayoutScript script, locktime.
const maxCoinbaseSize = 4 + 1 + 36 + 1 + coin.MaxCoinbaseScriptSig + 4 + 1 + 8 + 3 + coin.MaxPayoutScript + 4

// limitsJSON are the Bitcoin Cash fields of a bchd/BCHN template.
type limitsJSON struct {
	SizeLimit     *int64 `json:"sizelimit"`
	SigCheckLimit *int64 `json:"sigchecklimit"`
	Transactions  []struct {
		SigChecks int64 `json:"sigchecks"`
	} `json:"transactions"`
}

// ErrTemplateLimit is wrapped (with coin.ErrBadTemplate) by ParseTemplate
// when the template's transactions exceed its own sizelimit or
// sigchecklimit.
var ErrTemplateLimit = errors.New("template exceeds its block limits")

// ParseTemplate implements coin.Coin: the bitcoin-family template without
// segwit (a witness transaction is an error, a default_witness_commitment
// is ignored), checked against the template's own "sizelimit" (header,
// the largest coinbase the pool builds and the transactions must fit) and
// "sigchecklimit" (the sum of the transactions' "sigchecks"; the coinbase
// has none), when the node sends them.
func (c *Coin) ParseTemplate(raw []byte) (*coin.Template, error) {
	t, err := c.Base.ParseTemplate(raw)
	if err != nil {
		return nil, err
	}
	var l limitsJSON
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("%w: json: %v", coin.ErrBadTemplate, err)
	}
	bad := func(format string, args ...any) (*coin.Template, error) {
		return nil, fmt.Errorf("%w: %w: %s", coin.ErrBadTemplate, ErrTemplateLimit, fmt.Sprintf(format, args...))
	}
	if l.SizeLimit != nil {
		size := int64(80 + 9 + maxCoinbaseSize)
		for i := range t.Transactions {
			size += int64(len(t.Transactions[i].Data))
		}
		if size > *l.SizeLimit {
			return bad("block of up to %d bytes, sizelimit %d", size, *l.SizeLimit)
		}
	}
	var checks int64
	for i, tx := range l.Transactions {
		if tx.SigChecks < 0 || tx.SigChecks > 1<<40 {
			return nil, fmt.Errorf("%w: transaction %d: sigchecks %d", coin.ErrBadTemplate, i, tx.SigChecks)
		}
		checks += tx.SigChecks
	}
	if l.SigCheckLimit != nil && checks > *l.SigCheckLimit {
		return bad("%d sigchecks, sigchecklimit %d", checks, *l.SigCheckLimit)
	}
	return t, nil
}

// NewJob implements coin.Coin: Base's job, with the pool tag padded with
// spaces when the coinbase would be under MinCoinbaseSize bytes.
func (c *Coin) NewJob(tpl *coin.Template, opts coin.JobOptions) (*coin.Job, error) {
	job, err := c.Base.NewJob(tpl, opts)
	if err != nil {
		return nil, err
	}
	size := len(job.Coinb1) + job.Extranonce1Size + job.Extranonce2Size + len(job.Coinb2)
	if size >= MinCoinbaseSize {
		return job, nil
	}
	short := MinCoinbaseSize - size
	if opts.PoolTag == "" {
		short-- // the tag's push opcode counts too
		if short < 1 {
			short = 1
		}
	}
	opts.PoolTag += strings.Repeat(" ", short)
	return c.Base.NewJob(tpl, opts)
}

var _ coin.Coin = (*Coin)(nil)
