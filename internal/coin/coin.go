package coin

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

// Coin is everything jetpool needs to know about one cryptocurrency on one
// network. Implementations are immutable and safe for concurrent use.
type Coin interface {
	// Symbol is the lower-case ticker used in subjects, KV keys and
	// configuration ("btc").
	Symbol() string
	// Network is the network this instance was created for.
	Network() Network
	// CoinbaseMaturity is the number of confirmations before a coinbase
	// output may be spent (100 for Bitcoin); rewards are final then.
	CoinbaseMaturity() int
	// BlockSubsidy is the newly minted amount of a block at height, in
	// base units, without transaction fees (PPS pays shares from it).
	BlockSubsidy(height int64) int64
	// Hasher returns the proof-of-work hash of an 80-byte header.
	Hasher() pow.Hasher
	// Diff1 is the target of a difficulty-1 share.
	Diff1() target.Target
	// HashrateMultiplier is the mean number of hashes per difficulty-1
	// share (2^32 for sha256d): hashrate = Σ share difficulty × this / s.
	HashrateMultiplier() float64
	// TemplateRules are the "rules" to send with getblocktemplate
	// (["segwit"] for Bitcoin).
	TemplateRules() []string

	// ValidateAddress checks a payout address for this coin's network and
	// returns the output script that pays it. Errors wrap ErrBadAddress
	// and, where it applies, ErrWrongNetwork or ErrUnsupportedAddress.
	ValidateAddress(addr string) (script []byte, err error)

	// ParseTemplate parses a getblocktemplate result.
	ParseTemplate(raw []byte) (*Template, error)
	// NewJob builds the compact Stratum job for a template.
	NewJob(tpl *Template, opts JobOptions) (*Job, error)
	// BuildBlock serialises the block a submission of job solves, for
	// submitblock. tpl must be the template the job was built from.
	BuildBlock(job *Job, tpl *Template, sub Submission) (*Block, error)
}

// Network names a chain of a coin. Coins accept the names below and may
// accept aliases (btc accepts "testnet3" for Testnet).
type Network string

// Networks.
const (
	Mainnet  Network = "mainnet"
	Testnet  Network = "testnet"
	Testnet4 Network = "testnet4"
	Regtest  Network = "regtest"
	Simnet   Network = "simnet"
)

// Registry errors.
var (
	ErrUnknownCoin    = errors.New("unknown coin")
	ErrUnknownNetwork = errors.New("unknown network")
)

// Factory creates a Coin for a network; it returns an error wrapping
// ErrUnknownNetwork for a network the coin does not have.
type Factory func(network string) (Coin, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a coin available under its symbol. Coin packages call it
// from init; it panics on an empty symbol, a nil factory or a duplicate,
// like database/sql.Register.
func Register(symbol string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if symbol == "" || f == nil {
		panic("coin: Register with empty symbol or nil factory")
	}
	if _, dup := registry[symbol]; dup {
		panic("coin: Register called twice for " + symbol)
	}
	registry[symbol] = f
}

// Get returns the coin registered under symbol, for network.
func Get(symbol, network string) (Coin, error) {
	registryMu.RLock()
	f, ok := registry[symbol]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (registered: %v)", ErrUnknownCoin, symbol, Symbols())
	}
	c, err := f(network)
	if err != nil {
		return nil, fmt.Errorf("coin %s: %w", symbol, err)
	}
	return c, nil
}

// Symbols returns the registered symbols, sorted.
func Symbols() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for s := range registry {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Address errors. A rejected address error wraps ErrBadAddress and, where
// it applies, one of the more specific errors.
var (
	ErrBadAddress         = errors.New("bad address")
	ErrWrongNetwork       = errors.New("address is for another network")
	ErrUnsupportedAddress = errors.New("unsupported address type")
)

// AddressError describes a rejected address.
type AddressError struct {
	Addr   string
	Kind   error // nil, ErrWrongNetwork or ErrUnsupportedAddress
	Detail error // the decoder's error, if any
}

func (e *AddressError) Error() string {
	msg := fmt.Sprintf("%v %q", ErrBadAddress, truncate(e.Addr))
	if e.Kind != nil {
		msg += ": " + e.Kind.Error()
	}
	if e.Detail != nil {
		msg += ": " + e.Detail.Error()
	}
	return msg
}

// Unwrap makes errors.Is match ErrBadAddress, Kind and Detail.
func (e *AddressError) Unwrap() []error {
	errs := []error{ErrBadAddress}
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Detail != nil {
		errs = append(errs, e.Detail)
	}
	return errs
}
