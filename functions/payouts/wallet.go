package payouts

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/jetpool/jetpool/internal/node"
)

// Wallet is the part of a bitcoin-family wallet RPC the payouts use.
type Wallet struct {
	C          *node.Client
	Passphrase string
}

// FormatAmount writes base units as an exact decimal coin amount (8 places).
func FormatAmount(units int64) json.Number {
	neg := ""
	if units < 0 {
		neg, units = "-", -units
	}
	return json.Number(fmt.Sprintf("%s%d.%08d", neg, units/100_000_000, units%100_000_000))
}

// ParseAmount reads a decimal coin amount exactly into base units.
func ParseAmount(n json.Number) (int64, error) {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return 0, fmt.Errorf("payouts: bad amount %q", n)
	}
	r.Mul(r, big.NewRat(100_000_000, 1))
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, fmt.Errorf("payouts: amount %q is not a whole number of base units", n)
	}
	return r.Num().Int64(), nil
}

func (w Wallet) unlock(ctx context.Context) error {
	if w.Passphrase == "" {
		return nil
	}
	return w.C.Call(ctx, "walletpassphrase", []any{w.Passphrase, 60}, nil)
}

// SendMany pays address → base units in one transaction and returns its txid.
func (w Wallet) SendMany(ctx context.Context, amounts map[string]int64) (string, error) {
	if err := w.unlock(ctx); err != nil {
		return "", err
	}
	m := make(map[string]json.Number, len(amounts))
	for a, v := range amounts {
		m[a] = FormatAmount(v)
	}
	var txid string
	err := w.C.Call(ctx, "sendmany", []any{"default", m, 1}, &txid)
	if node.IsCode(err, rpcInvalidParameter) {
		// Bitcoin Core and its forks (litecoind) have no accounts: their
		// first parameter must be "" and anything else is refused with
		// -8 before the wallet sends anything. btcwallet wants an account.
		first := err
		if err = w.C.Call(ctx, "sendmany", []any{"", m, 1}, &txid); err != nil {
			err = fmt.Errorf("%w (from account \"default\": %v)", err, first)
		}
	}
	return txid, err
}

// rpcInvalidParameter is RPC_INVALID_PARAMETER of bitcoind and its forks.
const rpcInvalidParameter = -8

// SentTx is one wallet transaction that paid out, with its outputs.
type SentTx struct {
	TxID          string
	Confirmations int64
	Outputs       map[string]int64 // address → base units
}

type listEntry struct {
	Address       string      `json:"address"`
	Category      string      `json:"category"`
	Amount        json.Number `json:"amount"`
	TxID          string      `json:"txid"`
	Confirmations int64       `json:"confirmations"`
}

// SentTxs returns the wallet's latest send transactions (up to count
// entries), grouped by txid.
func (w Wallet) SentTxs(ctx context.Context, count int) (map[string]*SentTx, error) {
	var entries []listEntry
	if err := w.C.Call(ctx, "listtransactions", []any{"*", count, 0}, &entries); err != nil {
		return nil, err
	}
	out := map[string]*SentTx{}
	for _, e := range entries {
		if e.Category != "send" {
			continue
		}
		v, err := ParseAmount(e.Amount)
		if err != nil {
			return nil, err
		}
		tx := out[e.TxID]
		if tx == nil {
			tx = &SentTx{TxID: e.TxID, Confirmations: e.Confirmations, Outputs: map[string]int64{}}
			out[e.TxID] = tx
		}
		tx.Outputs[e.Address] += -v // sends are negative
	}
	return out, nil
}

// Confirmations of a wallet transaction (negative when conflicted).
func (w Wallet) Confirmations(ctx context.Context, txid string) (int64, error) {
	var tx struct {
		Confirmations int64 `json:"confirmations"`
	}
	err := w.C.Call(ctx, "gettransaction", []any{txid}, &tx)
	return tx.Confirmations, err
}

// Balance is the wallet's spendable balance in base units.
func (w Wallet) Balance(ctx context.Context) (int64, error) {
	var n json.Number
	if err := w.C.Call(ctx, "getbalance", nil, &n); err != nil {
		return 0, err
	}
	return ParseAmount(n)
}
