package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"testing"
)

func sampleBatch() ShareBatch {
	return ShareBatch{Gateway: "btc-eu-0a1b2c3d4e5f", Coin: "btc", Region: "eu", Seq: 18446744073709551615,
		Shares: []Share{
			{TimeMs: 1_764_000_000_123, Address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", Worker: "rig1",
				Difficulty: 65536, ActualDifficulty: 1.2345678901234567e6, Height: 925_000,
				NetworkDifficulty: 1.4937e14, JobID: "6b2", Accepted: true},
			{TimeMs: 1, Address: "bcrt1qk2a2m9ns605re5mxlsvdx6y4y3qt2gshxwqwjy", Worker: "",
				Difficulty: 1.0 / (1 << 31), Height: 1, NetworkDifficulty: 4.656542373906925e-10, Reason: "low-difficulty"},
			{TimeMs: -5, Address: "a\"b\\c<d>e&f\u2028g\u2029h\x00\x1f\b\f\n\r\t", Worker: "\xff\xfe ok é 😀",
				Difficulty: 1e21, ActualDifficulty: 1e-7, Height: -1, NetworkDifficulty: 0, JobID: "x",
				Accepted: true, Block: true, Solo: true},
		}}
}

// TestAppendJSONMatchesEncodingJSON: the hand-written encoder is the wire
// format encoding/json defines for these types, byte for byte.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	full := sampleBatch()
	for _, tc := range []struct {
		name  string
		batch ShareBatch
	}{
		{"full", full},
		{"nil shares", ShareBatch{Gateway: "g", Coin: "ltc", Region: "us", Seq: 1}},
		{"empty shares", ShareBatch{Shares: []Share{}}},
		{"one share", ShareBatch{Gateway: "g", Seq: 7, Shares: full.Shares[:1]}},
		{"float edges", ShareBatch{Shares: []Share{
			{Difficulty: 1e-6, ActualDifficulty: 9.999999999999999e-7, NetworkDifficulty: 1e20},
			{Difficulty: 999999999999999999999, ActualDifficulty: -1e-300, NetworkDifficulty: math.MaxFloat64},
			{Difficulty: math.SmallestNonzeroFloat64, ActualDifficulty: 0.1, NetworkDifficulty: -0.0},
			{Difficulty: 123456789.125, ActualDifficulty: 1e-10, NetworkDifficulty: 2e-100},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(&tc.batch)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.batch.AppendJSON([]byte("prefix"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[len("prefix"):], want) || string(got[:len("prefix")]) != "prefix" {
				t.Fatalf("AppendJSON:\n got %s\nwant prefix%s", got, want)
			}
			var back ShareBatch
			if err := json.Unmarshal(got[len("prefix"):], &back); err != nil {
				t.Fatalf("decode: %v", err)
			}
		})
	}
}

func TestAppendJSONRefusesNaNAndInf(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for field := range 3 {
			b := sampleBatch()
			switch field {
			case 0:
				b.Shares[1].Difficulty = f
			case 1:
				b.Shares[1].ActualDifficulty = f
			case 2:
				b.Shares[1].NetworkDifficulty = f
			}
			if _, err := json.Marshal(&b); err == nil {
				t.Fatalf("json.Marshal took %v", f)
			}
			if _, err := b.AppendJSON(nil); !errors.Is(err, ErrUnsupportedFloat) {
				t.Fatalf("field %d = %v: err %v, want ErrUnsupportedFloat", field, f, err)
			}
		}
	}
}

// FuzzAppendJSON compares the encoder with encoding/json on arbitrary
// strings (miner-chosen worker names reach it) and numbers.
func FuzzAppendJSON(f *testing.F) {
	s := sampleBatch().Shares[2]
	f.Add(s.Address, s.Worker, "job", "reason", int64(7), 1e-7, 1e21, 3.5, uint64(1), true)
	f.Add("", "", "", "", int64(0), 0.0, 0.0, 0.0, uint64(0), false)
	f.Fuzz(func(t *testing.T, addr, worker, job, reason string, n int64, d, ad, nd float64, seq uint64, flag bool) {
		b := ShareBatch{Gateway: worker, Coin: job, Region: reason, Seq: seq, Shares: []Share{
			{TimeMs: n, Address: addr, Worker: worker, Difficulty: d, ActualDifficulty: ad, Height: -n,
				NetworkDifficulty: nd, JobID: job, Accepted: flag, Reason: reason, Block: !flag, Solo: flag},
			{Address: reason, Worker: addr, Difficulty: nd, NetworkDifficulty: d},
		}}
		want, werr := json.Marshal(&b)
		got, gerr := b.AppendJSON(nil)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("json.Marshal err %v, AppendJSON err %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkAppendJSON64(b *testing.B) {
	batch := ShareBatch{Gateway: "btc-eu-0a1b2c3d4e5f", Coin: "btc", Region: "eu", Seq: 99}
	for i := range 64 {
		sh := sampleBatch().Shares[0]
		sh.TimeMs += int64(i)
		batch.Shares = append(batch.Shares, sh)
	}
	b.Run("AppendJSON", func(b *testing.B) {
		buf := make([]byte, 0, 16<<10)
		for b.Loop() {
			buf, _ = batch.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(&batch)
		}
	})
}
