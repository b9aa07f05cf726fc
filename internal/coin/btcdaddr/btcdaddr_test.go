package btcdaddr

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"

	"github.com/jetpool/jetpool/internal/coin"
)

// Bitcoin mainnet vectors of Bitcoin Core's key_io_valid.json and BIP350.
func TestScript(t *testing.T) {
	tests := []struct {
		name, addr string
		script     string // hex; empty: unsupported
	}{
		{"P2PKH", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac"},
		{"P2SH", "36j4NfKv6Akva9amjWrLG6MuSQym1GuEmm", "a914373b819a068f32b7a6b38b6b38729647cfde01c287"},
		{"P2WPKH", "bc1qvyq0cc6rahyvsazfdje0twl7ez82ndmuac2lhv", "00146100fc6343edc8c874496cb2f5bbfec88ea9b77c"},
		{"P2WSH", "bc1qyucykdlhp62tezs0hagqury402qwhk589q80tqs5myh3rxq34nwqhkdhv7", "002027304b37f70e94bc8a0fbf500e0c957a80ebda87280ef58214d92f119811acdc"},
		{"P2TR", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"},
		{"P2PK", "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := address.DecodeAddress(tc.addr, &chaincfg.MainNetParams)
			if err != nil {
				t.Fatal(err)
			}
			script, err := Script(tc.addr, a)
			if tc.script == "" {
				var ae *coin.AddressError
				if !errors.As(err, &ae) || ae.Addr != tc.addr || !errors.Is(err, coin.ErrUnsupportedAddress) || !errors.Is(err, coin.ErrBadAddress) {
					t.Fatalf("Script = %x, %v; want an unsupported-address error", script, err)
				}
				return
			}
			if err != nil || hex.EncodeToString(script) != tc.script {
				t.Fatalf("Script = %x, %v; want %s", script, err, tc.script)
			}
		})
	}
}

func TestDecodeError(t *testing.T) {
	tests := []struct {
		name, addr string
		kind       error // nil: malformed
	}{
		{"witness v2", "bc1z2rksukkjr8", coin.ErrUnsupportedAddress},
		{"bad checksum", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", nil},
		{"bech32m checksum on v0", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, derr := address.DecodeAddress(tc.addr, &chaincfg.MainNetParams)
			if derr == nil {
				t.Fatal("btcd decoded it")
			}
			ae := DecodeError(tc.addr, derr)
			if ae.Addr != tc.addr || ae.Kind != tc.kind || !errors.Is(ae, derr) || !errors.Is(ae, coin.ErrBadAddress) {
				t.Fatalf("DecodeError = %+v, want kind %v with detail %v", ae, tc.kind, derr)
			}
		})
	}
}
