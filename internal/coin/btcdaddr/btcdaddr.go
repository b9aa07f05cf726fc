package btcdaddr

import (
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/address/v2"

	"github.com/jetpool/jetpool/internal/coin"
)

// Script returns the output script that pays a, which was decoded from
// addr: P2PKH, P2SH, P2WPKH, P2WSH or P2TR. Any other address type (a bare
// public key) is a *coin.AddressError of kind coin.ErrUnsupportedAddress.
func Script(addr string, a address.Address) ([]byte, error) {
	prog := a.ScriptAddress()
	switch a.(type) {
	case *address.AddressPubKeyHash:
		return coin.P2PKHScript(prog), nil
	case *address.AddressScriptHash:
		return coin.P2SHScript(prog), nil
	case *address.AddressWitnessPubKeyHash, *address.AddressWitnessScriptHash:
		return coin.WitnessScript(0, prog), nil
	case *address.AddressTaproot:
		return coin.WitnessScript(1, prog), nil
	default:
		return nil, Unsupported(addr, a)
	}
}

// Unsupported returns the error for addr, which decodes as a, when the
// coin does not pay addresses of a's type.
func Unsupported(addr string, a address.Address) *coin.AddressError {
	return &coin.AddressError{Addr: addr, Kind: coin.ErrUnsupportedAddress, Detail: fmt.Errorf("%T", a)}
}

// DecodeError returns the *coin.AddressError for err, an error of
// address.DecodeAddress on addr: of kind coin.ErrUnsupportedAddress for a
// segwit address of a witness version btcd does not know, else without a
// kind (malformed), with err as its detail.
func DecodeError(addr string, err error) *coin.AddressError {
	var ver address.UnsupportedWitnessVerError
	if errors.As(err, &ver) {
		return &coin.AddressError{Addr: addr, Kind: coin.ErrUnsupportedAddress, Detail: err}
	}
	return &coin.AddressError{Addr: addr, Detail: err}
}
