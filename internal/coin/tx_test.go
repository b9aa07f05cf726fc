package coin

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

func witnessTemplate(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/regtest-gbt-witness.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseTxWitness(t *testing.T) {
	var tpl struct {
		Transactions []struct{ Data, TxID, Hash string }
	}
	if err := json.Unmarshal(witnessTemplate(t), &tpl); err != nil {
		t.Fatal(err)
	}
	for i, tx := range tpl.Transactions {
		data, _ := hex.DecodeString(tx.Data)
		info, err := ParseTx(data)
		if err != nil {
			t.Fatal(err)
		}
		if !info.HasWitness || info.TxID.String() != tx.TxID || info.WTxID.String() != tx.Hash || info.Size != len(data) {
			t.Fatalf("tx %d: %+v, btcd says txid %s wtxid %s", i, info, tx.TxID, tx.Hash)
		}
	}
}

func TestParseTxErrors(t *testing.T) {
	var tpl struct{ Transactions []struct{ Data string } }
	if err := json.Unmarshal(witnessTemplate(t), &tpl); err != nil {
		t.Fatal(err)
	}
	good, _ := hex.DecodeString(tpl.Transactions[0].Data)
	mutate := func(f func([]byte) []byte) []byte { return f(append([]byte{}, good...)) }
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"truncated in input", good[:50]},
		{"unknown witness flag", mutate(func(b []byte) []byte { b[5] = 2; return b })},
		{"no inputs", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"huge script length", mutate(func(b []byte) []byte { b[6+1+36] = 0xfe; return b })},
		{"superfluous witness", func() []byte {
			// version, marker, flag, 1 input with empty script, 0 outputs, empty witness, locktime
			b, _ := hex.DecodeString("0200000000010100000000000000000000000000000000000000000000000000000000000000000000000000ffffffff000000000000")
			return b
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseTx(tc.data); !errors.Is(err, ErrBadTx) {
				t.Fatalf("ParseTx err = %v, want ErrBadTx", err)
			}
		})
	}
}

// FuzzParseTx feeds transaction bytes; template data comes from the node.
func FuzzParseTx(f *testing.F) {
	var tpl struct{ Transactions []struct{ Data string } }
	if err := json.Unmarshal(witnessTemplate(f), &tpl); err != nil {
		f.Fatal(err)
	}
	for _, tx := range tpl.Transactions {
		b, _ := hex.DecodeString(tx.Data)
		f.Add(b)
	}
	_, txs := parseBlock(f, readHexFile(f, "block-100000.hex"))
	raw := readHexFile(f, "block-100000.hex")
	f.Add(raw[81 : 81+txs[0].Size])
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseTx(b)
		if err != nil {
			return
		}
		if info.Size > len(b) || info.Size < 10 {
			t.Fatalf("size %d of %d", info.Size, len(b))
		}
		if !info.HasWitness && info.TxID != info.WTxID {
			t.Fatal("txid and wtxid differ without witness")
		}
		again, err := ParseTx(b[:info.Size])
		if err != nil || again != info {
			t.Fatalf("reparse of the consumed bytes: %+v, %v", again, err)
		}
	})
}
