package ingest_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/jetpool/jetpool/functions/ingest"
	"github.com/jetpool/jetpool/internal/payload"
)

func sampleBatch(n int) payload.ShareBatch {
	b := payload.ShareBatch{Gateway: "btc-eu-a1b2c3", Coin: "btc", Region: "eu", Seq: 123456}
	for i := range n {
		b.Shares = append(b.Shares, payload.Share{TimeMs: 1700000000000 + int64(i), Address: fmt.Sprintf("bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0w%03d", i),
			Worker: "rig01", Difficulty: 65536.5 + float64(i)/3, ActualDifficulty: 123456.7, Height: 800000, NetworkDifficulty: 6.2e13,
			JobID: "1a2b", Accepted: i%7 != 0, Reason: map[bool]string{true: "", false: "stale"}[i%7 != 0], Block: i == 5, Solo: i%11 == 0})
	}
	return b
}

func TestDecodeShareBatchMatchesEncodingJSON(t *testing.T) {
	full := sampleBatch(64)
	fullJSON, _ := json.Marshal(&full)
	tests := []struct {
		name string
		in   string
	}{
		{"gateway output", string(fullJSON)},
		{"empty shares", `{"gw":"g","coin":"btc","region":"eu","seq":1,"shares":[]}`},
		{"spaces and other order", " {\n \"seq\" : 7 , \"shares\" : [ { \"ok\" : true , \"d\" : 1e3 , \"t\" : -5 } ] , \"gw\" : \"x\" } "},
		{"nulls", `{"gw":null,"seq":null,"shares":[null,{"t":null,"addr":"a"}]}`},
		{"escaped string", `{"gw":"a\"b\u00e9","shares":[]}`},
		{"unknown key", `{"gw":"g","extra":[1,{"x":2}],"shares":[]}`},
		{"upper-case key", `{"GW":"g","Seq":3}`},
		{"float in an int field", `{"seq":1.5}`},
		{"negative seq", `{"seq":-1}`},
		{"huge int", `{"shares":[{"t":99999999999999999999}]}`},
		{"bool as number", `{"shares":[{"ok":1}]}`},
		{"trailing garbage", `{"gw":"g"} x`},
		{"truncated", string(fullJSON[:len(fullJSON)/2])},
		{"leading zero", `{"seq":01}`},
		{"invalid utf-8", "{\"gw\":\"\xff\"}"},
		{"not an object", `[1,2]`},
		{"non-finite literal", `{"shares":[{"d":NaN}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSame(t, []byte(tt.in)) })
	}
}

func checkSame(t *testing.T, in []byte) {
	t.Helper()
	var want payload.ShareBatch
	werr := json.Unmarshal(in, &want)
	got := payload.ShareBatch{Shares: make([]payload.Share, 3, 8)} // reused buffer with junk
	got.Shares[0].Address = "junk"
	gerr := ingest.DecodeShareBatch(in, &got)
	var dec ingest.Decoder
	again := payload.ShareBatch{}
	if err := dec.Decode(in, &again); (err == nil) != (gerr == nil) {
		t.Fatalf("Decoder.Decode err %v, DecodeShareBatch err %v", err, gerr)
	}
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("encoding/json err %v, DecodeShareBatch err %v for %q", werr, gerr, in)
	}
	if werr != nil {
		return
	}
	for _, g := range []payload.ShareBatch{got, again} {
		if len(want.Shares) == 0 && len(g.Shares) == 0 {
			want.Shares, g.Shares = nil, nil
		}
		if !reflect.DeepEqual(want, g) {
			t.Fatalf("decoded differently:\njson: %+v\nfast: %+v\ninput %q", want, g, in)
		}
	}
}

func FuzzDecodeShareBatch(f *testing.F) {
	full := sampleBatch(3)
	fullJSON, _ := json.Marshal(&full)
	f.Add(fullJSON)
	f.Add([]byte(`{"gw":"g","seq":1,"shares":[{"t":1,"d":0.5,"ok":true}]}`))
	f.Add([]byte(`{"gw":"a\"b","shares":[null]}`))
	f.Fuzz(func(t *testing.T, in []byte) { checkSame(t, in) })
}

func BenchmarkDecodeShareBatch(b *testing.B) {
	batch := sampleBatch(64)
	data, _ := json.Marshal(&batch)
	b.Run("fast", func(b *testing.B) {
		var (
			out payload.ShareBatch
			dec ingest.Decoder
		)
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := dec.Decode(data, &out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "shares/s")
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var out payload.ShareBatch
			if err := json.Unmarshal(data, &out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "shares/s")
	})
}
