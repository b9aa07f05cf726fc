package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/payload"
	"github.com/jetpool/jetpool/internal/testenv"
)

// witnessCommitmentPrefix starts a BIP141 commitment output script.
var witnessCommitmentPrefix = []byte{0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed}

// TestBlockWithSegwitTransactionCarriesWitnessCommitment mines, through the
// pool, a block while a segwit spend waits in the mempool: the block must
// include it, carry a valid witness commitment, and be accepted by btcd.
func TestBlockWithSegwitTransactionCarriesWitnessCommitment(t *testing.T) {
	priv, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{9}, 32))
	params := &chaincfg.RegressionNetParams
	spender, err := address.NewAddressWitnessPubKeyHash(address.Hash160(priv.PubKey().SerializeCompressed()), params)
	if err != nil {
		t.Fatal(err)
	}
	btcd := testenv.BtcdWith(t, localsvc.BtcdOptions{Network: "regtest", MiningAddr: spender.EncodeAddress()})
	ctx := context.Background()
	client := btcd.Client()
	// Mature a coinbase that pays our key.
	if _, err := client.Generate(ctx, 101); err != nil {
		t.Fatal(err)
	}
	hash1, err := client.GetBlockHash(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	cb := fetchBlock(t, btcd, hash1).Transactions[0]
	pkScript, err := txscript.PayToAddrScript(spender)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cb.TxOut[0].PkScript, pkScript) {
		t.Fatalf("block 2 coinbase pays %x, want our key %x", cb.TxOut[0].PkScript, pkScript)
	}
	amount := cb.TxOut[0].Value

	// A P2WPKH → P2WPKH spend, signed with a witness.
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(ptr(cb.TxHash()), 0), nil, nil))
	tx.AddTxOut(wire.NewTxOut(amount-10_000, pkScript))
	fetcher := txscript.NewCannedPrevOutputFetcher(pkScript, amount)
	witness, err := txscript.WitnessSignature(tx, txscript.NewTxSigHashes(tx, fetcher), 0, amount, pkScript, txscript.SigHashAll, priv, true)
	if err != nil {
		t.Fatal(err)
	}
	tx.TxIn[0].Witness = witness
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	var txid string
	if err := client.Call(ctx, "sendrawtransaction", []any{hex.EncodeToString(buf.Bytes())}, &txid); err != nil {
		t.Fatalf("sendrawtransaction: %v", err)
	}
	startHeight, err := client.GetBlockCount(ctx)
	if err != nil {
		t.Fatal(err)
	}

	pl := startPool(t, poolSpec{btcd: btcd, address: regtestAddress(t, 7)})
	outs := pl.followOutcomes(t)
	stop, _ := pl.startMiner(t, pl.address+".segwit", "x")
	natstest.WaitFor(t, 2*time.Minute, "a block accepted", func() bool { return countAccepted(outs.poll()) >= 1 })
	stop()

	var accepted []payload.BlockSubmitted
	for _, o := range outs.poll() {
		if o.Outcome == payload.SubmitAccepted && o.Height == startHeight+1 {
			accepted = append(accepted, o)
		}
	}
	if len(accepted) != 1 {
		t.Fatalf("want one accepted pool block at height %d, got %+v", startHeight+1, outs.poll())
	}
	onChain, err := client.GetBlockHash(ctx, startHeight+1)
	if err != nil || onChain != accepted[0].Hash {
		t.Fatalf("chain has %s at %d (%v), pool submitted %s", onChain, startHeight+1, err, accepted[0].Hash)
	}
	blk := fetchBlock(t, btcd, onChain)
	found := false
	for _, btx := range blk.Transactions[1:] {
		if btx.TxHash().String() == txid {
			found = btx.HasWitness()
		}
	}
	if !found {
		t.Fatalf("block %s does not carry the segwit transaction %s with its witness", onChain, txid)
	}
	coinbase := blk.Transactions[0]
	commitments := 0
	for _, out := range coinbase.TxOut {
		if bytes.HasPrefix(out.PkScript, witnessCommitmentPrefix) {
			commitments++
		}
	}
	if commitments != 1 {
		t.Fatalf("coinbase has %d witness commitment outputs, want 1", commitments)
	}
	if len(coinbase.TxIn[0].Witness) != 1 || len(coinbase.TxIn[0].Witness[0]) != 32 {
		t.Fatalf("coinbase witness %x, want the 32-byte reserved value", coinbase.TxIn[0].Witness)
	}
}

func ptr[T any](v T) *T { return &v }
