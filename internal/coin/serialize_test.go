package coin

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestAppendScriptNum(t *testing.T) {
	tests := []struct {
		name string
		n    int64
		want string
	}{
		{"zero is OP_0", 0, "00"},
		{"1 is OP_1", 1, "51"},
		{"16 is OP_16", 16, "60"},
		{"17 is a one-byte push", 17, "0111"},
		{"127", 127, "017f"},
		{"128 needs a sign byte", 128, "028000"},
		{"255", 255, "02ff00"},
		{"256", 256, "020001"},
		{"32767", 32767, "02ff7f"},
		{"32768", 32768, "03008000"},
		{"block 227931 (BIP34 activation)", 227931, "035b7a03"},
		{"8388607", 8388607, "03ffff7f"},
		{"8388608", 8388608, "0400008000"},
		{"max int32", 1<<31 - 1, "04ffffff7f"},
		{"-1 is OP_1NEGATE", -1, "4f"},
		{"-128", -128, "028080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(AppendScriptNum(nil, tc.n)); got != tc.want {
				t.Fatalf("AppendScriptNum(%d) = %s, want %s", tc.n, got, tc.want)
			}
		})
	}
}

func TestAppendPushData(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		prefix string
	}{
		{"empty is OP_0", 0, "00"},
		{"1 byte", 1, "01"},
		{"75 bytes", 75, "4b"},
		{"76 bytes use PUSHDATA1", 76, "4c4c"},
		{"255 bytes", 255, "4cff"},
		{"256 bytes use PUSHDATA2", 256, "4d0001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(strings.Repeat("a", tc.n))
			got := AppendPushData([]byte{0xee}, data)
			want := "ee" + tc.prefix
			if tc.n > 0 {
				want += hex.EncodeToString(data)
			}
			if hex.EncodeToString(got) != want {
				t.Fatalf("got %x, want %s", got, want)
			}
		})
	}
}

func TestVarInt(t *testing.T) {
	tests := []struct {
		name string
		n    uint64
		want string
	}{
		{"0", 0, "00"},
		{"0xfc", 0xfc, "fc"},
		{"0xfd", 0xfd, "fdfd00"},
		{"0xffff", 0xffff, "fdffff"},
		{"0x10000", 0x10000, "fe00000100"},
		{"0x100000000", 0x100000000, "ff0000000001000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendVarInt(nil, tc.n)
			if hex.EncodeToString(b) != tc.want {
				t.Fatalf("AppendVarInt = %x, want %s", b, tc.want)
			}
			v, off, err := readVarInt(b, 0)
			if err != nil || v != tc.n || off != len(b) {
				t.Fatalf("readVarInt = %d, %d, %v", v, off, err)
			}
		})
	}
	for _, nonCanonical := range []string{"fd0100", "fe01000000", "ff0100000000000000"} {
		b, _ := hex.DecodeString(nonCanonical)
		if _, _, err := readVarInt(b, 0); err == nil {
			t.Errorf("readVarInt(%s) accepted a non-canonical encoding", nonCanonical)
		}
	}
}
