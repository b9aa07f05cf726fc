package loadgen

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jetpool/jetpool/internal/coin"
)

// benchBits is the network target of the synthetic templates: a mainnet
// difficulty (about 1.1e11), so no bench share is ever a block and the
// gateway's per-share path is the ordinary one.
const benchBits = "17034219"

// jobMaker builds the synthetic jobs the self-contained bench publishes
// instead of running a node.
type jobMaker struct {
	coin   coin.Coin
	payout []byte
	txs    int
	en1    int
	en2    int
	height int64
	n      int
}

func newJobMaker(c coin.Coin, address string, txs, en1, en2 int) (*jobMaker, error) {
	payout, err := c.ValidateAddress(address)
	if err != nil {
		return nil, fmt.Errorf("loadgen: address %q: %w", address, err)
	}
	return &jobMaker{coin: c, payout: payout, txs: txs, en1: en1, en2: en2, height: 900_000}, nil
}

// next returns the job of a new block (new previous hash, next height, a
// fresh set of transactions) as published on jobs.<coin>, and its id.
func (m *jobMaker) next() (*coin.Job, []byte, error) {
	m.n++
	m.height++
	raw, err := syntheticTemplate(m.height, m.n, m.txs, uint32(time.Now().Unix()))
	if err != nil {
		return nil, nil, err
	}
	tpl, err := m.coin.ParseTemplate(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("loadgen: synthetic template: %w", err)
	}
	job, err := m.coin.NewJob(tpl, coin.JobOptions{JobID: "b" + strconv.Itoa(m.n), PayoutScript: m.payout,
		PoolTag: "/jetpool-bench/", Extranonce1Size: m.en1, Extranonce2Size: m.en2, CleanJobs: true})
	if err != nil {
		return nil, nil, fmt.Errorf("loadgen: synthetic job: %w", err)
	}
	data, err := json.Marshal(job)
	if err != nil {
		return nil, nil, err
	}
	return job, data, nil
}

// syntheticTemplate returns a getblocktemplate reply at height with ntxs
// made-up transactions (one input with a 107-byte signature script, two
// P2WPKH outputs: the size of a typical legacy spend). seed makes the
// previous block hash and every transaction distinct per block. The node
// supplies no txids: ParseTemplate computes and checks them.
func syntheticTemplate(height int64, seed, ntxs int, curtime uint32) ([]byte, error) {
	type txJSON struct {
		Data   string `json:"data"`
		Fee    int64  `json:"fee"`
		Weight int64  `json:"weight"`
	}
	txs := make([]txJSON, ntxs)
	var tx []byte
	for i := range txs {
		prev := sha256.Sum256(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, uint32(seed)), uint64(i)))
		tx = tx[:0]
		tx = binary.LittleEndian.AppendUint32(tx, 2) // version
		tx = append(tx, 1)                           // input count
		tx = append(tx, prev[:]...)                  // prevout hash
		tx = binary.LittleEndian.AppendUint32(tx, uint32(i%4))
		tx = coin.AppendVarInt(tx, 107) // scriptSig: signature and key pushes
		tx = append(tx, 0x48)           // 72-byte DER signature
		tx = append(tx, prev[:]...)
		tx = append(tx, prev[:]...)
		tx = append(tx, prev[:8]...)
		tx = append(tx, 0x21) // 33-byte compressed key
		tx = append(tx, prev[:]...)
		tx = append(tx, prev[:1]...)
		tx = binary.LittleEndian.AppendUint32(tx, 0xfffffffd) // sequence
		tx = append(tx, 2)                                    // output count
		for o := range 2 {
			tx = binary.LittleEndian.AppendUint64(tx, uint64(10_000+1000*o+i))
			tx = append(tx, 22, 0x00, 0x14) // P2WPKH
			tx = append(tx, prev[o*12:o*12+20]...)
		}
		tx = binary.LittleEndian.AppendUint32(tx, 0) // locktime
		txs[i] = txJSON{Data: hex.EncodeToString(tx), Fee: 1000, Weight: int64(4 * len(tx))}
	}
	prevHash := coin.Hash(sha256.Sum256([]byte("jetpool-bench-prev-" + strconv.Itoa(seed))))
	return json.Marshal(map[string]any{
		"version": 0x20000000, "previousblockhash": prevHash.String(), "transactions": txs,
		"coinbasevalue": 312_500_000 + 1000*int64(ntxs), "bits": benchBits, "height": height,
		"curtime": curtime, "mintime": curtime - 3600,
	})
}
