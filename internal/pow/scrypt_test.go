package pow

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/scrypt"
)

// reference is golang.org/x/crypto/scrypt with Litecoin's parameters.
func reference(t testing.TB, in []byte) []byte {
	t.Helper()
	k, err := scrypt.Key(in, in, ScryptN, 1, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestScrypt(t *testing.T) {
	tests := []struct {
		name   string
		header string // hex, 80 bytes
		want   string // display (reversed) hex of the PoW hash
	}{
		{
			// Litecoin mainnet genesis block (hash
			// 12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2).
			name: "litecoin genesis",
			header: "01000000" + // version
				"0000000000000000000000000000000000000000000000000000000000000000" + // prev block
				"d9ced4ed1130f7b7faad9be25323ffafa33232a17c3edf6cfd97bee6bafbdd97" + // merkle root
				"b9aa8e4e" + // time 1317972665
				"f0ff0f1e" + // bits 1e0ffff0
				"cd513f7c", // nonce 2084524493
			want: "0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustHex(t, tt.header)
			got := Scrypt(h)
			if !bytes.Equal(got[:], reference(t, h)) {
				t.Fatalf("Scrypt = %x, x/crypto/scrypt = %x", got, reference(t, h))
			}
			if g := reversed(got[:]); !bytes.Equal(g, mustHex(t, tt.want)) {
				t.Fatalf("Scrypt = %x, want %s", g, tt.want)
			}
		})
	}
}

func TestScryptAllocs(t *testing.T) {
	h := make([]byte, 80)
	Scrypt(h)
	if n := testing.AllocsPerRun(20, func() { Scrypt(h) }); n != 0 {
		t.Fatalf("Scrypt allocates %v times", n)
	}
}

// FuzzScrypt checks the pool's scrypt against x/crypto on any input.
func FuzzScrypt(f *testing.F) {
	f.Add(make([]byte, 80))
	f.Add([]byte("abc"))
	f.Add(bytes.Repeat([]byte{0xff}, 100))
	f.Fuzz(func(t *testing.T, in []byte) {
		got := Scrypt(in)
		if !bytes.Equal(got[:], reference(t, in)) {
			t.Fatalf("Scrypt(%x) = %x, x/crypto says %x", in, got, reference(t, in))
		}
	})
}

func BenchmarkScrypt(b *testing.B) {
	h := make([]byte, 80)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h[76] = byte(i)
		Scrypt(h)
	}
}
