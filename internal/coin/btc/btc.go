package btc

import (
	"fmt"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/btcdaddr"
	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

// Symbol is Bitcoin's registry symbol.
const Symbol = "btc"

func init() {
	coin.Register(Symbol, func(network string) (coin.Coin, error) { return New(network) })
}

// Coin is Bitcoin on one network.
type Coin struct {
	*coin.Base
	params *chaincfg.Params
}

// networks maps accepted names to canonical networks and btcd parameters.
var networks = map[string]struct {
	net    coin.Network
	params *chaincfg.Params
}{
	"mainnet":  {coin.Mainnet, &chaincfg.MainNetParams},
	"main":     {coin.Mainnet, &chaincfg.MainNetParams},
	"testnet":  {coin.Testnet, &chaincfg.TestNet3Params},
	"testnet3": {coin.Testnet, &chaincfg.TestNet3Params},
	"test":     {coin.Testnet, &chaincfg.TestNet3Params},
	"testnet4": {coin.Testnet4, &chaincfg.TestNet4Params},
	"regtest":  {coin.Regtest, &chaincfg.RegressionNetParams},
	"simnet":   {coin.Simnet, &chaincfg.SimNetParams},
}

// otherNets are the parameter sets tried to tell a wrong-network address
// from a malformed one.
var otherNets = []*chaincfg.Params{
	&chaincfg.MainNetParams, &chaincfg.TestNet3Params, &chaincfg.RegressionNetParams, &chaincfg.SimNetParams,
}

// New returns Bitcoin on network: "mainnet" ("main"), "testnet"
// ("testnet3", "test"), "testnet4", "regtest" or "simnet".
func New(network string) (*Coin, error) {
	n, ok := networks[network]
	if !ok {
		return nil, fmt.Errorf("%w %q for btc (mainnet, testnet, testnet4, regtest, simnet)", coin.ErrUnknownNetwork, network)
	}
	c := &Coin{params: n.params}
	base, err := coin.NewBase(coin.BaseConfig{
		Symbol:             Symbol,
		Network:            n.net,
		CoinbaseMaturity:   int(n.params.CoinbaseMaturity),
		InitialSubsidy:     50 * 100_000_000,
		HalvingInterval:    int64(n.params.SubsidyReductionInterval),
		Hasher:             pow.SHA256d,
		Diff1:              target.SHA256dDiff1,
		HashrateMultiplier: target.SHA256dHashesPerDiff1,
		Segwit:             true,
		TemplateRules:      []string{"segwit"},
		DecodeAddress:      c.decodeAddress,
	})
	if err != nil {
		return nil, err
	}
	c.Base = base
	return c, nil
}

// Params returns the btcd chain parameters of the coin's network.
func (c *Coin) Params() *chaincfg.Params { return c.params }

// decodeAddress returns the output script paying addr on c's network.
func (c *Coin) decodeAddress(addr string) ([]byte, error) {
	a, err := address.DecodeAddress(addr, c.params)
	if err != nil {
		if ae := btcdaddr.DecodeError(addr, err); ae.Kind != nil || !c.forOtherNet(addr) {
			return nil, ae
		}
		return nil, &coin.AddressError{Addr: addr, Kind: coin.ErrWrongNetwork}
	}
	if !a.IsForNet(c.params) {
		return nil, &coin.AddressError{Addr: addr, Kind: coin.ErrWrongNetwork}
	}
	return btcdaddr.Script(addr, a)
}

// forOtherNet reports whether addr decodes as an address of another
// network.
func (c *Coin) forOtherNet(addr string) bool {
	for _, p := range otherNets {
		if p == c.params {
			continue
		}
		if a, err := address.DecodeAddress(addr, p); err == nil && a.IsForNet(p) {
			return true
		}
	}
	return false
}

var _ coin.Coin = (*Coin)(nil)
