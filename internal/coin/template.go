package coin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jetpool/jetpool/internal/target"
)

// ErrBadTemplate is returned for a getblocktemplate reply that cannot be
// used: missing or malformed fields, or transaction ids that do not match
// their data.
var ErrBadTemplate = errors.New("bad block template")

// Template is a parsed getblocktemplate (BIP22/23/141) reply of a
// bitcoin-family node. Raw keeps the reply byte for byte so that a coin can
// read fields this struct does not model (Litecoin's "mweb") and so that
// the jobmaker can store it in the templates object store under ID.
type Template struct {
	// ID identifies the template: hex of the first 16 bytes of
	// SHA-256(Raw). It is the key of the template in the object store.
	ID string

	Version           uint32
	PreviousBlockHash Hash
	Transactions      []TemplateTx
	CoinbaseValue     int64 // satoshis: subsidy plus fees
	Bits              uint32
	Target            target.Target // expanded Bits when the node omits "target"
	Height            int64
	CurTime           uint32
	MinTime           uint32 // 0 when absent
	MaxTime           uint32 // 0 when absent
	Mutable           []string
	Rules             []string
	LongPollID        string

	// WitnessCommitment is the full output script of the witness
	// commitment (0x6a24aa21a9ed ‖ 32 bytes) the block must carry, or nil
	// when it needs none. Bitcoin Core sends the full script in
	// "default_witness_commitment"; btcd sends the bare 32-byte
	// commitment and only when the template has witness transactions.
	// When the node sends nothing but a transaction has witness data,
	// ParseTemplate computes it (WitnessCommitment of the wtxids).
	WitnessCommitment []byte

	// HasWitnessTx reports whether any transaction carries witness data.
	HasWitnessTx bool

	Raw json.RawMessage
}

// TemplateTx is one non-coinbase transaction of a template.
type TemplateTx struct {
	Data    []byte // serialised transaction, with witness
	TxID    Hash
	WTxID   Hash
	Fee     int64
	Weight  int64
	SigOps  int64
	Depends []int64
}

// templateJSON mirrors the reply; pointer fields detect absence.
type templateJSON struct {
	Version                  *int64   `json:"version"`
	PreviousBlockHash        string   `json:"previousblockhash"`
	Transactions             []txJSON `json:"transactions"`
	CoinbaseValue            *int64   `json:"coinbasevalue"`
	Bits                     string   `json:"bits"`
	Target                   string   `json:"target"`
	Height                   *int64   `json:"height"`
	CurTime                  *int64   `json:"curtime"`
	MinTime                  int64    `json:"mintime"`
	MaxTime                  int64    `json:"maxtime"`
	Mutable                  []string `json:"mutable"`
	Rules                    []string `json:"rules"`
	LongPollID               string   `json:"longpollid"`
	DefaultWitnessCommitment string   `json:"default_witness_commitment"`
}

type txJSON struct {
	Data    string  `json:"data"`
	TxID    string  `json:"txid"`
	Hash    string  `json:"hash"`
	Fee     int64   `json:"fee"`
	Weight  int64   `json:"weight"`
	SigOps  int64   `json:"sigops"`
	Depends []int64 `json:"depends"`
}

// maxTemplateTxs bounds the transaction count of one template, far above
// what fits in a 4 MWU block (smallest transaction is 60 bytes).
const maxTemplateTxs = 100_000

// ParseTemplate parses a getblocktemplate result (the "result" object, not
// the JSON-RPC envelope). It checks every transaction: the data must be
// one well-formed transaction whose txid and wtxid, when the node supplies
// them ("txid", "hash"), match the data; ids the node omits are computed.
func ParseTemplate(raw []byte) (*Template, error) {
	bad := func(format string, args ...any) (*Template, error) {
		return nil, fmt.Errorf("%w: %s", ErrBadTemplate, fmt.Sprintf(format, args...))
	}
	var j templateJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return bad("json: %v", err)
	}
	switch {
	case j.Version == nil:
		return bad("missing version")
	case j.CoinbaseValue == nil:
		return bad("missing coinbasevalue (coinbasetxn templates are not supported)")
	case j.Height == nil:
		return bad("missing height")
	case j.CurTime == nil:
		return bad("missing curtime")
	}
	if *j.Version < -1<<31 || *j.Version > 1<<32-1 {
		return bad("version %d out of range", *j.Version)
	}
	if *j.CoinbaseValue < 0 {
		return bad("negative coinbasevalue %d", *j.CoinbaseValue)
	}
	if *j.Height < 1 || *j.Height > 1<<31-1 {
		return bad("height %d out of range", *j.Height)
	}
	for name, v := range map[string]int64{"curtime": *j.CurTime, "mintime": j.MinTime, "maxtime": j.MaxTime} {
		if v < 0 || v > 1<<32-1 {
			return bad("%s %d out of range", name, v)
		}
	}
	if len(j.Transactions) > maxTemplateTxs {
		return bad("%d transactions", len(j.Transactions))
	}
	sum := sha256.Sum256(raw)
	t := &Template{
		ID:            hex.EncodeToString(sum[:16]),
		Version:       uint32(*j.Version),
		CoinbaseValue: *j.CoinbaseValue,
		Height:        *j.Height,
		CurTime:       uint32(*j.CurTime),
		MinTime:       uint32(j.MinTime),
		MaxTime:       uint32(j.MaxTime),
		Mutable:       j.Mutable,
		Rules:         j.Rules,
		LongPollID:    j.LongPollID,
		Raw:           append(json.RawMessage(nil), raw...),
	}
	var err error
	if t.PreviousBlockHash, err = HashFromString(j.PreviousBlockHash); err != nil {
		return bad("previousblockhash: %v", err)
	}
	if len(j.Bits) == 0 || len(j.Bits) > 8 {
		return bad("bits %q", truncate(j.Bits))
	}
	bits, err := strconv.ParseUint(j.Bits, 16, 32)
	if err != nil {
		return bad("bits %q: %v", truncate(j.Bits), err)
	}
	t.Bits = uint32(bits)
	if t.Target, err = target.FromCompact(t.Bits); err != nil {
		return bad("bits %08x: %v", t.Bits, err)
	}
	if t.Target.IsZero() {
		return bad("bits %08x expand to a zero target", t.Bits)
	}
	if j.Target != "" {
		tgt, err := target.FromHex(j.Target)
		if err != nil {
			return bad("target: %v", err)
		}
		if tgt != t.Target {
			return bad("target %s does not match bits %08x", tgt, t.Bits)
		}
	}

	t.Transactions = make([]TemplateTx, len(j.Transactions))
	wtxids := make([]Hash, len(j.Transactions))
	for i, jt := range j.Transactions {
		tx := &t.Transactions[i]
		if tx.Data, err = hex.DecodeString(jt.Data); err != nil {
			return bad("transaction %d: data: %v", i, err)
		}
		info, err := ParseTx(tx.Data)
		if err != nil {
			return bad("transaction %d: %v", i, err)
		}
		if info.Size != len(tx.Data) {
			return bad("transaction %d: %d trailing bytes", i, len(tx.Data)-info.Size)
		}
		tx.TxID, tx.WTxID = info.TxID, info.WTxID
		if jt.TxID != "" {
			if h, err := HashFromString(jt.TxID); err != nil || h != info.TxID {
				return bad("transaction %d: txid %q does not match its data (%s)", i, truncate(jt.TxID), info.TxID)
			}
		}
		if jt.Hash != "" {
			h, err := HashFromString(jt.Hash)
			// Nodes without segwit ids (pre-0.13 style) put the txid in "hash".
			if err != nil || (h != info.WTxID && (jt.TxID != "" || h != info.TxID)) {
				return bad("transaction %d: hash %q does not match its data (%s)", i, truncate(jt.Hash), info.WTxID)
			}
		}
		if jt.Fee < 0 || jt.Weight < 0 || jt.SigOps < 0 {
			return bad("transaction %d: negative fee, weight or sigops", i)
		}
		tx.Fee, tx.Weight, tx.SigOps, tx.Depends = jt.Fee, jt.Weight, jt.SigOps, jt.Depends
		t.HasWitnessTx = t.HasWitnessTx || info.HasWitness
		wtxids[i] = info.WTxID
	}

	switch c := j.DefaultWitnessCommitment; {
	case c == "":
		if t.HasWitnessTx {
			t.WitnessCommitment = WitnessCommitmentScript(WitnessCommitment(wtxids))
		}
	default:
		b, err := hex.DecodeString(c)
		if err != nil {
			return bad("default_witness_commitment: %v", err)
		}
		switch {
		case len(b) == 32: // btcd: the bare commitment
			t.WitnessCommitment = WitnessCommitmentScript(Hash(b))
		case len(b) == 38 && bytes.Equal(b[:6], witnessMagic[:]): // Core: the output script
			t.WitnessCommitment = b
		default:
			return bad("default_witness_commitment %q is neither a commitment nor its script", truncate(c))
		}
	}
	return t, nil
}

// TxIDs returns the txids of the template's transactions in order.
func (t *Template) TxIDs() []Hash {
	ids := make([]Hash, len(t.Transactions))
	for i := range t.Transactions {
		ids[i] = t.Transactions[i].TxID
	}
	return ids
}
