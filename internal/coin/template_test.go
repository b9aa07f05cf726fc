package coin

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// setField returns the witness template with one field replaced (or
// removed when v is nil).
func setField(t testing.TB, key string, v any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(witnessTemplate(t), &m); err != nil {
		t.Fatal(err)
	}
	if v == nil {
		delete(m, key)
	} else {
		m[key] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseTemplateBtcd(t *testing.T) {
	raw := witnessTemplate(t)
	tpl, err := ParseTemplate(raw)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		PrevHash   string `json:"previousblockhash"`
		Commitment string `json:"default_witness_commitment"`
		CurTime    int64  `json:"curtime"`
		MinTime    int64  `json:"mintime"`
		MaxTime    int64  `json:"maxtime"`
		Value      int64  `json:"coinbasevalue"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatal(err)
	}
	switch {
	case tpl.Height != 118, tpl.Bits != 0x207fffff, tpl.Version != 0x20000000:
		t.Fatalf("height %d bits %08x version %08x", tpl.Height, tpl.Bits, tpl.Version)
	case tpl.PreviousBlockHash.String() != j.PrevHash:
		t.Fatalf("prev %s", tpl.PreviousBlockHash)
	case int64(tpl.CurTime) != j.CurTime || int64(tpl.MinTime) != j.MinTime || int64(tpl.MaxTime) != j.MaxTime:
		t.Fatalf("times %d %d %d", tpl.CurTime, tpl.MinTime, tpl.MaxTime)
	case tpl.CoinbaseValue != j.Value || tpl.CoinbaseValue != 5000000000+20000:
		t.Fatalf("coinbase value %d", tpl.CoinbaseValue)
	case len(tpl.Transactions) != 2 || !tpl.HasWitnessTx:
		t.Fatalf("%d txs witness %v", len(tpl.Transactions), tpl.HasWitnessTx)
	case tpl.Target.Compact() != 0x207fffff:
		t.Fatalf("target %s", tpl.Target)
	case len(tpl.ID) != 32 || string(tpl.Raw) != string(raw):
		t.Fatalf("id %q", tpl.ID)
	}
	if got := hex.EncodeToString(tpl.WitnessCommitment); got != "6a24aa21a9ed"+j.Commitment {
		t.Fatalf("commitment script %s, btcd commitment %s", got, j.Commitment)
	}
	// Our own commitment of the wtxids equals btcd's.
	wtxids := []Hash{tpl.Transactions[0].WTxID, tpl.Transactions[1].WTxID}
	if c := WitnessCommitment(wtxids); hex.EncodeToString(c[:]) != j.Commitment {
		t.Fatalf("computed commitment %x, btcd %s", c, j.Commitment)
	}
	if tpl.Transactions[0].Fee != 10000 || tpl.Transactions[1].Weight == 0 {
		t.Fatalf("fee/weight %+v", tpl.Transactions[1])
	}
}

func TestParseTemplateCommitmentForms(t *testing.T) {
	base, err := ParseTemplate(witnessTemplate(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		raw  []byte
	}{
		{"omitted: computed from wtxids", setField(t, "default_witness_commitment", nil)},
		{"core: full output script", setField(t, "default_witness_commitment", hex.EncodeToString(base.WitnessCommitment))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := ParseTemplate(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(tpl.WitnessCommitment) != hex.EncodeToString(base.WitnessCommitment) {
				t.Fatalf("commitment %x, want %x", tpl.WitnessCommitment, base.WitnessCommitment)
			}
		})
	}
	// No witness transactions: btcd sends no commitment and none is made.
	var m map[string]any
	if err := json.Unmarshal(witnessTemplate(t), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "default_witness_commitment")
	m["transactions"] = []any{}
	raw, _ := json.Marshal(m)
	tpl, err := ParseTemplate(raw)
	if err != nil || tpl.HasWitnessTx || tpl.WitnessCommitment != nil {
		t.Fatalf("empty template: commitment %x, %v", tpl.WitnessCommitment, err)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(witnessTemplate(t), &m); err != nil {
		t.Fatal(err)
	}
	txs := m["transactions"].([]any)
	tx0 := txs[0].(map[string]any)
	withTx := func(key string, v any) []any {
		c := map[string]any{}
		for k, x := range tx0 {
			c[k] = x
		}
		c[key] = v
		return []any{c, txs[1]}
	}
	tests := []struct {
		name string
		raw  []byte
	}{
		{"not json", []byte("{")},
		{"trailing garbage", append(witnessTemplate(t), []byte("x")...)},
		{"missing version", setField(t, "version", nil)},
		{"missing coinbasevalue", setField(t, "coinbasevalue", nil)},
		{"negative coinbasevalue", setField(t, "coinbasevalue", -1)},
		{"missing height", setField(t, "height", nil)},
		{"zero height", setField(t, "height", 0)},
		{"missing curtime", setField(t, "curtime", nil)},
		{"curtime out of range", setField(t, "curtime", int64(1)<<33)},
		{"bad previousblockhash", setField(t, "previousblockhash", "00")},
		{"bad bits", setField(t, "bits", "xyz")},
		{"bits too long", setField(t, "bits", "1207fffff")},
		{"negative bits", setField(t, "bits", "04923456")},
		{"target disagrees with bits", setField(t, "target", "00000000ffff0000000000000000000000000000000000000000000000000000")},
		{"bad commitment", setField(t, "default_witness_commitment", "abcd")},
		{"tx data not hex", setField(t, "transactions", withTx("data", "zz"))},
		{"tx data truncated", setField(t, "transactions", withTx("data", tx0["data"].(string)[:40]))},
		{"tx trailing bytes", setField(t, "transactions", withTx("data", tx0["data"].(string)+"00"))},
		{"txid does not match", setField(t, "transactions", withTx("txid", strings.Repeat("1", 64)))},
		{"wtxid does not match", setField(t, "transactions", withTx("hash", strings.Repeat("1", 64)))},
		{"negative fee", setField(t, "transactions", withTx("fee", -1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseTemplate(tc.raw); !errors.Is(err, ErrBadTemplate) {
				t.Fatalf("err = %v, want ErrBadTemplate", err)
			}
		})
	}
}

// FuzzParseTemplate: the template comes from the node over the network.
func FuzzParseTemplate(f *testing.F) {
	f.Add(witnessTemplate(f))
	f.Add(setField(f, "default_witness_commitment", nil))
	f.Add([]byte(`{"version":1,"previousblockhash":"0000000000000000000000000000000000000000000000000000000000000000","transactions":[],"coinbasevalue":1,"bits":"207fffff","height":1,"curtime":1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		tpl, err := ParseTemplate(raw)
		if err != nil {
			if !errors.Is(err, ErrBadTemplate) {
				t.Fatalf("error %v does not wrap ErrBadTemplate", err)
			}
			return
		}
		if tpl.Target.IsZero() || tpl.Height < 1 {
			t.Fatalf("accepted target %s height %d", tpl.Target, tpl.Height)
		}
		if tpl.HasWitnessTx && len(tpl.WitnessCommitment) != 38 {
			t.Fatalf("witness template without commitment")
		}
	})
}
