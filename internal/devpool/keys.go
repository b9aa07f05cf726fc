package devpool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
)

// poolAddress returns the dev pool's coinbase address for a coin: a simnet
// P2WPKH address whose private key is kept (WIF) in DATA/keys/<coin>.wif, so
// the operator can spend what the dev pool mines. Made on the first run,
// reused afterwards.
func poolAddress(dir, coin string) (string, error) {
	h, err := poolKeyHash160(dir, coin)
	if err != nil {
		return "", err
	}
	addr, err := address.NewAddressWitnessPubKeyHash(h, &chaincfg.SimNetParams)
	if err != nil {
		return "", fmt.Errorf("devpool: address: %w", err)
	}
	return addr.EncodeAddress(), nil
}

// poolKeyHash160 returns the hash160 of the dev pool key for a coin, made on
// the first run and kept (WIF) in DATA/keys/<coin>.wif.
func poolKeyHash160(dir, coin string) ([]byte, error) {
	params := &chaincfg.SimNetParams
	path := filepath.Join(dir, "keys", coin+".wif")
	var priv *btcec.PrivateKey
	if b, err := os.ReadFile(path); err == nil {
		wif, err := btcutil.DecodeWIF(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("devpool: %s: %w", path, err)
		}
		priv = wif.PrivKey
	} else if errors.Is(err, os.ErrNotExist) {
		if priv, err = btcec.NewPrivateKey(); err != nil {
			return nil, fmt.Errorf("devpool: new key: %w", err)
		}
		wif, err := btcutil.NewWIF(priv, params, true)
		if err != nil {
			return nil, fmt.Errorf("devpool: wif: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("devpool: %w", err)
		}
		if err := os.WriteFile(path, []byte(wif.String()+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("devpool: %w", err)
		}
	} else {
		return nil, fmt.Errorf("devpool: %w", err)
	}
	return address.Hash160(priv.PubKey().SerializeCompressed()), nil
}
