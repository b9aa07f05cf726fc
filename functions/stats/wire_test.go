package stats_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/jetpool/jetpool/functions/stats"
	"github.com/jetpool/jetpool/internal/chstore"
)

func units(s string) *chstore.Units {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return chstore.NewUnits(v)
}

func TestWindowMinersRoundTrip(t *testing.T) {
	cases := []struct {
		name   string
		miners []stats.MinerWork
	}{
		{"none", nil},
		{"one", []stats.MinerWork{{Address: "bc1qminer", Work: 1024.5, Units: units("2049")}}},
		{"zero units and empty address", []stats.MinerWork{{Address: "", Work: 0, Units: units("0")}}},
		{"large units", []stats.MinerWork{{Address: "a", Work: 3e20, Units: units("340282366920938463463374607431768211457")},
			{Address: "ltc1q…ü", Work: math.SmallestNonzeroFloat64, Units: units("1")}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := stats.EncodeWindowMiners(c.miners)
			got, err := stats.DecodeWindowMiners(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.miners) {
				t.Fatalf("%d miners, want %d", len(got), len(c.miners))
			}
			for i := range got {
				if got[i].Address != c.miners[i].Address || got[i].Work != c.miners[i].Work || got[i].Units.String() != c.miners[i].Units.String() {
					t.Fatalf("miner %d = %+v, want %+v", i, got[i], c.miners[i])
				}
			}
		})
	}
}

func TestDecodeWindowMinersRejects(t *testing.T) {
	good := stats.EncodeWindowMiners([]stats.MinerWork{{Address: "abc", Work: 2, Units: units("2")}})
	nan := bytes.Clone(good)
	copy(nan[4+1+1+3:], []byte{1, 0, 0, 0, 0, 0, 0xf8, 0x7f}) // a NaN
	neg := stats.EncodeWindowMiners([]stats.MinerWork{{Address: "abc", Work: -2, Units: units("2")}})
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"wrong magic", append([]byte("JPW2"), good[4:]...)},
		{"count beyond the input", []byte("JPW1\x05")},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"address longer than the input", []byte("JPW1\x01\x7f")},
		{"NaN work", nan},
		{"negative work", neg},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := stats.DecodeWindowMiners(c.data); !errors.Is(err, stats.ErrBadWindowObject) {
				t.Fatalf("err = %v, want ErrBadWindowObject", err)
			}
		})
	}
}

// FuzzDecodeWindowMiners: any input either fails cleanly or decodes to
// miners that encode and decode to the same miners again.
func FuzzDecodeWindowMiners(f *testing.F) {
	f.Add(stats.EncodeWindowMiners(nil))
	f.Add(stats.EncodeWindowMiners([]stats.MinerWork{{Address: "bc1q", Work: 1.5, Units: units("3")}, {Address: "x", Work: 0, Units: units("0")}}))
	f.Add([]byte("JPW1\x02\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Also split in two, as a reader that got a short object would see it.
		for _, d := range [][]byte{data, data[:len(data)/2]} {
			ms, err := stats.DecodeWindowMiners(d)
			if err != nil {
				if !errors.Is(err, stats.ErrBadWindowObject) {
					t.Fatalf("unexpected error %v", err)
				}
				continue
			}
			again, err := stats.DecodeWindowMiners(stats.EncodeWindowMiners(ms))
			if err != nil || fmt.Sprint(flat(again)) != fmt.Sprint(flat(ms)) {
				t.Fatalf("re-encoding changed %v into %v (%v)", flat(ms), flat(again), err)
			}
		}
	})
}

func flat(ms []stats.MinerWork) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%q %x %s", m.Address, math.Float64bits(m.Work), m.Units)
	}
	return out
}
