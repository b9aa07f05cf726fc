package coin

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

func TestOutputScripts(t *testing.T) {
	h20 := "62e907b15cbf27d5425399ebf6f0fb50ebb88f18"
	h32 := "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
	b20, _ := hex.DecodeString(h20)
	b32, _ := hex.DecodeString(h32)
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"P2PKH", P2PKHScript(b20), "76a914" + h20 + "88ac"},
		{"P2SH", P2SHScript(b20), "a914" + h20 + "87"},
		{"P2WPKH", WitnessScript(0, b20), "0014" + h20},
		{"P2WSH", WitnessScript(0, b32), "0020" + h32},
		{"P2TR", WitnessScript(1, b32), "5120" + h32},
		{"witness v16", WitnessScript(16, b20[:2]), "6002" + h20[:4]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(tc.got); got != tc.want {
				t.Fatalf("script %s, want %s", got, tc.want)
			}
		})
	}
}

// TestValidateAddressLength: Base rejects an empty or over-long address
// itself and hands every other one to the coin's decoder.
func TestValidateAddressLength(t *testing.T) {
	var decoded []string
	b, err := NewBase(BaseConfig{
		Symbol: "tst", Network: Regtest, CoinbaseMaturity: 1, InitialSubsidy: 1, HalvingInterval: 1, Hasher: pow.SHA256d,
		Diff1: target.SHA256dDiff1, HashrateMultiplier: 1,
		DecodeAddress: func(addr string) ([]byte, error) { decoded = append(decoded, addr); return []byte{0x51}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, addr string
		ok         bool
	}{
		{"empty", "", false},
		{"one byte", "a", true},
		{"MaxAddressLen bytes", strings.Repeat("a", MaxAddressLen), true},
		{"one byte too long", strings.Repeat("a", MaxAddressLen+1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			decoded = nil
			script, err := b.ValidateAddress(tc.addr)
			if !tc.ok {
				var ae *AddressError
				if !errors.As(err, &ae) || !errors.Is(err, ErrBadAddress) || ae.Kind != nil || len(decoded) != 0 {
					t.Fatalf("ValidateAddress = %x, %v (decoder saw %q)", script, err, decoded)
				}
				return
			}
			if err != nil || !bytes.Equal(script, []byte{0x51}) || len(decoded) != 1 || decoded[0] != tc.addr {
				t.Fatalf("ValidateAddress = %x, %v (decoder saw %d addresses)", script, err, len(decoded))
			}
		})
	}
}
