package pow

import (
	"encoding/hex"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func reversed(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

func TestSHA256d(t *testing.T) {
	tests := []struct {
		name string
		in   string // hex
		want string // hex, as produced (internal byte order)
	}{
		{name: "empty", in: "", want: "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"},
		{name: "abc", in: "616263", want: "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"},
		{
			// The 64 zero bytes: witness commitment of a block whose only
			// transaction is the coinbase (regtest block 1 carries it).
			name: "64 zero bytes",
			in:   "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
			want: "e2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SHA256d(mustHex(t, tc.in))
			if hex.EncodeToString(got[:]) != tc.want {
				t.Fatalf("SHA256d = %x, want %s", got, tc.want)
			}
		})
	}
}

// TestSHA256dMainnetHeaders hashes real mainnet headers; the block hash is the
// reversed hash, as block explorers and RPC print it.
func TestSHA256dMainnetHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header string
		hash   string // display order
	}{
		{
			name:   "genesis",
			header: "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
			hash:   "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
		},
		{
			name:   "block 100000",
			header: "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710",
			hash:   "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Hasher = SHA256d
			got := h(mustHex(t, tc.header))
			if hex.EncodeToString(reversed(got[:])) != tc.hash {
				t.Fatalf("hash = %x (reversed), want %s", reversed(got[:]), tc.hash)
			}
		})
	}
}

func TestSHA256dPair(t *testing.T) {
	var l, r [32]byte
	for i := range l {
		l[i] = byte(i)
		r[i] = byte(255 - i)
	}
	cat := append(append([]byte{}, l[:]...), r[:]...)
	if SHA256dPair(&l, &r) != SHA256d(cat) {
		t.Fatal("SHA256dPair differs from SHA256d of the concatenation")
	}
}

func TestSHA256dDoesNotAllocate(t *testing.T) {
	header := make([]byte, 80)
	var l, r [32]byte
	allocs := testing.AllocsPerRun(100, func() {
		_ = SHA256d(header)
		_ = SHA256dPair(&l, &r)
	})
	if allocs != 0 {
		t.Fatalf("allocs per run = %v, want 0", allocs)
	}
}

func BenchmarkSHA256dHeader(b *testing.B) {
	header := make([]byte, 80)
	b.ReportAllocs()
	b.SetBytes(80)
	for b.Loop() {
		_ = SHA256d(header)
	}
}

func BenchmarkSHA256dPair(b *testing.B) {
	var l, r [32]byte
	b.ReportAllocs()
	for b.Loop() {
		l = SHA256dPair(&l, &r)
	}
}
