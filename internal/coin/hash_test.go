package coin

import (
	"encoding/json"
	"testing"
)

func TestHashText(t *testing.T) {
	const display = "000000000002d01c1fccc21636b607dfd930d31d01c3a62104612a1719011250"
	h, err := HashFromString(display)
	if err != nil {
		t.Fatal(err)
	}
	if h[0] != 0x50 || h[31] != 0x00 {
		t.Fatalf("internal order wrong: %x", h)
	}
	if h.String() != display {
		t.Fatalf("String() = %s", h)
	}
	data, err := json.Marshal(h)
	if err != nil || string(data) != `"`+display+`"` {
		t.Fatalf("json %s, %v", data, err)
	}
	var back Hash
	if err := json.Unmarshal(data, &back); err != nil || back != h {
		t.Fatalf("json round trip %s, %v", back, err)
	}
	for _, bad := range []string{"", "00", display + "00", "zz" + display[2:]} {
		if _, err := HashFromString(bad); err == nil {
			t.Errorf("HashFromString(%q) accepted", bad)
		}
	}
}

func TestStratumPrevHash(t *testing.T) {
	tests := []struct {
		name    string
		display string
		stratum string
	}{
		{
			// Block 100000's previous block: the display words in reverse order.
			name:    "block 99999",
			display: "000000000002d01c1fccc21636b607dfd930d31d01c3a62104612a1719011250",
			stratum: "1901125004612a1701c3a621d930d31d36b607df1fccc2160002d01c00000000",
		},
		{
			name:    "byte ramp",
			display: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			stratum: "1c1d1e1f18191a1b14151617101112130c0d0e0f08090a0b0405060700010203",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := HashFromString(tc.display)
			if err != nil {
				t.Fatal(err)
			}
			if got := StratumPrevHash(h); got != tc.stratum {
				t.Fatalf("StratumPrevHash = %s, want %s", got, tc.stratum)
			}
		})
	}
}

func TestHexBytes(t *testing.T) {
	data, err := json.Marshal(HexBytes{0xde, 0xad})
	if err != nil || string(data) != `"dead"` {
		t.Fatalf("%s %v", data, err)
	}
	var b HexBytes
	if err := json.Unmarshal([]byte(`"beef"`), &b); err != nil || b.String() != "beef" {
		t.Fatalf("%v %v", b, err)
	}
	if err := json.Unmarshal([]byte(`"xyz"`), &b); err == nil {
		t.Fatal("bad hex accepted")
	}
}
