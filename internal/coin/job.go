package coin

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

// Job errors.
var (
	ErrBadJobOptions    = errors.New("bad job options")
	ErrBadJob           = errors.New("bad job")
	ErrExtranonceSize   = errors.New("extranonce has the wrong size")
	ErrNTimeRange       = errors.New("ntime out of range")
	ErrTemplateMismatch = errors.New("template does not match job")
)

// Limits of job construction.
const (
	DefaultExtranonce1Size = 4
	DefaultExtranonce2Size = 4
	MaxExtranonceSize      = 16 // each of extranonce1 and extranonce2
	MaxCoinbaseScriptSig   = 100
	MaxPayoutScript        = 520
	// MaxTimeOffset is how far past curtime ntime may roll when the
	// template has no maxtime (consensus: 2 hours into the future).
	MaxTimeOffset = 7200
	// maxMerkleBranch bounds a branch read from the wire (2^32 txs).
	maxMerkleBranch = 32
	// stackCoinbase is the coinbase size hashed without allocation.
	stackCoinbase = 512
)

// JobOptions are the pool's choices for a job.
type JobOptions struct {
	JobID        string // Stratum job id; required
	PayoutScript []byte // output script paid the whole coinbase value; required
	// PoolTag is pushed in the coinbase scriptSig after the BIP34
	// height; the scriptSig (height, tag, extranonce) must fit in 100
	// bytes.
	PoolTag         string
	Extranonce1Size int // 0 means DefaultExtranonce1Size
	Extranonce2Size int // 0 means DefaultExtranonce2Size
	CleanJobs       bool
	CreatedAt       time.Time // zero means time.Now()
}

// Job is the compact, JSON-serialisable Stratum job published on
// jobs.<coin>. It carries no transaction list: the gateway checks shares
// from the Job alone; the full template (Template.Raw) stays in the object
// store under TemplateID, which is the template's ID.
//
// The coinbase is Coinb1 ‖ extranonce1 ‖ extranonce2 ‖ Coinb2 in its
// non-witness serialisation, so its SHA256d is the coinbase txid. Coinb1
// ends with the push opcode covering both extranonces.
//
// Hash fields (PrevHash, MerkleBranch) marshal in display (RPC) order; the
// Stratum forms come from Notify. Integers are plain values; Header writes
// them little-endian.
type Job struct {
	ID              string        `json:"id"`
	Coin            string        `json:"coin"`
	TemplateID      string        `json:"template_id"`
	Height          int64         `json:"height"`
	PrevHash        Hash          `json:"prev_hash"`
	PrevHashStratum string        `json:"prev_hash_stratum"`
	Coinb1          HexBytes      `json:"coinb1"`
	Coinb2          HexBytes      `json:"coinb2"`
	Extranonce1Size int           `json:"extranonce1_size"`
	Extranonce2Size int           `json:"extranonce2_size"`
	MerkleBranch    []Hash        `json:"merkle_branch"`
	Version         uint32        `json:"version"`
	NBits           uint32        `json:"nbits"`
	NTime           uint32        `json:"ntime"` // template curtime
	MinTime         uint32        `json:"mintime"`
	MaxTime         uint32        `json:"maxtime"`
	NetworkTarget   target.Target `json:"network_target"`
	CleanJobs       bool          `json:"clean_jobs"`
	CoinbaseValue   int64         `json:"coinbase_value"`
	// Witness is set when the coinbase carries a witness commitment; the
	// block then serialises the coinbase with its witness.
	Witness   bool      `json:"witness"`
	TxCount   int       `json:"tx_count"` // non-coinbase transactions
	CreatedAt time.Time `json:"created_at"`
}

// Submission is one mining.submit, decoded: extranonce1 of the session,
// extranonce2, ntime and nonce as sent, and the full header version (the
// job's version with the BIP310 rolled bits applied by the gateway).
type Submission struct {
	Extranonce1 []byte
	Extranonce2 []byte
	NTime       uint32
	Nonce       uint32
	Version     uint32
}

// ShareResult is the outcome of Job.Check. Reuse one per session or
// goroutine: Check writes into it and, used that way, does not allocate.
type ShareResult struct {
	Header       [80]byte
	Hash         [32]byte // PoW hash, little-endian as produced
	MeetsShare   bool     // Hash <= share target
	MeetsNetwork bool     // Hash <= NetworkTarget: a block
}

// Block is a serialised block ready for submitblock.
type Block struct {
	Hash        Hash // block id, SHA256d(header)
	PoWHash     Hash // the coin's proof-of-work hash of the header
	Height      int64
	Header      [80]byte
	Raw         []byte // full block; submitblock takes hex(Raw)
	MeetsTarget bool   // PoWHash <= the job's network target
}

// Hex returns the block as submitblock expects it.
func (b *Block) Hex() string { return hex.EncodeToString(b.Raw) }

// Header assembles the coinbase from en1 and en2, folds its txid through the
// merkle branch and writes the 80-byte header into dst. ntime, nonce and
// version are the values to put in the header. It does not allocate for
// coinbases up to 512 bytes.
func (j *Job) Header(dst *[80]byte, en1, en2 []byte, ntime, nonce, version uint32) error {
	if len(en1) != j.Extranonce1Size || len(en2) != j.Extranonce2Size {
		return ErrExtranonceSize
	}
	root := MerkleRootFromBranch(j.coinbaseTxID(en1, en2), j.MerkleBranch)
	binary.LittleEndian.PutUint32(dst[0:4], version)
	copy(dst[4:36], j.PrevHash[:])
	copy(dst[36:68], root[:])
	binary.LittleEndian.PutUint32(dst[68:72], ntime)
	binary.LittleEndian.PutUint32(dst[72:76], j.NBits)
	binary.LittleEndian.PutUint32(dst[76:80], nonce)
	return nil
}

func (j *Job) coinbaseTxID(en1, en2 []byte) Hash {
	n := len(j.Coinb1) + len(en1) + len(en2) + len(j.Coinb2)
	var stack [stackCoinbase]byte
	var buf []byte
	if n <= len(stack) {
		buf = stack[:0]
	} else {
		buf = make([]byte, 0, n)
	}
	buf = append(buf, j.Coinb1...)
	buf = append(buf, en1...)
	buf = append(buf, en2...)
	buf = append(buf, j.Coinb2...)
	return Hash(pow.SHA256d(buf))
}

// Check builds the header of a submission, hashes it with h (the coin's
// Hasher) and compares the hash with the share target and the network
// target. It returns ErrExtranonceSize for extranonces of the wrong size;
// ntime and version policy are the caller's (see CheckNTime).
func (j *Job) Check(h pow.Hasher, s *Submission, shareTarget *target.Target, res *ShareResult) error {
	if err := j.Header(&res.Header, s.Extranonce1, s.Extranonce2, s.NTime, s.Nonce, s.Version); err != nil {
		return err
	}
	res.Hash = h(res.Header[:])
	res.MeetsShare = shareTarget.HashMeets(&res.Hash)
	res.MeetsNetwork = j.NetworkTarget.HashMeets(&res.Hash)
	return nil
}

// CheckNTime returns ErrNTimeRange unless MinTime <= ntime <= MaxTime.
func (j *Job) CheckNTime(ntime uint32) error {
	if ntime < j.MinTime || ntime > j.MaxTime {
		return ErrNTimeRange
	}
	return nil
}

// CoinbaseTx returns the coinbase transaction for en1 and en2 in its
// non-witness serialisation; its SHA256d is the coinbase txid.
func (j *Job) CoinbaseTx(en1, en2 []byte) ([]byte, error) {
	if len(en1) != j.Extranonce1Size || len(en2) != j.Extranonce2Size {
		return nil, ErrExtranonceSize
	}
	tx := make([]byte, 0, len(j.Coinb1)+len(en1)+len(en2)+len(j.Coinb2))
	tx = append(tx, j.Coinb1...)
	tx = append(tx, en1...)
	tx = append(tx, en2...)
	return append(tx, j.Coinb2...), nil
}

// CoinbaseTxWitness returns the coinbase as it goes into the block: with
// the BIP144 marker and flag and a witness of one 32-byte zero item (the
// witness reserved value) when the job carries a witness commitment, the
// non-witness form otherwise.
func (j *Job) CoinbaseTxWitness(en1, en2 []byte) ([]byte, error) {
	if !j.Witness {
		return j.CoinbaseTx(en1, en2)
	}
	if len(en1) != j.Extranonce1Size || len(en2) != j.Extranonce2Size {
		return nil, ErrExtranonceSize
	}
	if len(j.Coinb1) < 4 || len(j.Coinb2) < 4 {
		return nil, fmt.Errorf("%w: coinbase too short", ErrBadJob)
	}
	tx := make([]byte, 0, len(j.Coinb1)+len(en1)+len(en2)+len(j.Coinb2)+2+34)
	tx = append(tx, j.Coinb1[:4]...) // version
	tx = append(tx, 0x00, 0x01)      // marker, flag
	tx = append(tx, j.Coinb1[4:]...)
	tx = append(tx, en1...)
	tx = append(tx, en2...)
	lock := len(j.Coinb2) - 4
	tx = append(tx, j.Coinb2[:lock]...)
	tx = append(tx, 0x01, 0x20) // one witness item of 32 bytes
	tx = append(tx, make([]byte, 32)...)
	return append(tx, j.Coinb2[lock:]...), nil
}

// Notify is a job in the string forms of Stratum mining.notify params:
// [JobID, PrevHash, Coinb1, Coinb2, MerkleBranch, Version, NBits, NTime,
// CleanJobs].
type Notify struct {
	JobID        string
	PrevHash     string   // word-swapped, see StratumPrevHash
	Coinb1       string   // hex
	Coinb2       string   // hex
	MerkleBranch []string // hex, internal byte order
	Version      string   // 8 hex digits, big-endian value
	NBits        string
	NTime        string
	CleanJobs    bool
}

// Notify returns the mining.notify params of the job.
func (j *Job) Notify() Notify {
	branch := make([]string, len(j.MerkleBranch))
	for i := range j.MerkleBranch {
		branch[i] = hex.EncodeToString(j.MerkleBranch[i][:])
	}
	return Notify{
		JobID:        j.ID,
		PrevHash:     StratumPrevHash(j.PrevHash),
		Coinb1:       hex.EncodeToString(j.Coinb1),
		Coinb2:       hex.EncodeToString(j.Coinb2),
		MerkleBranch: branch,
		Version:      fmt.Sprintf("%08x", j.Version),
		NBits:        fmt.Sprintf("%08x", j.NBits),
		NTime:        fmt.Sprintf("%08x", j.NTime),
		CleanJobs:    j.CleanJobs,
	}
}

// Validate checks the invariants of a job received from the wire, so that a
// malformed message is rejected before any share is checked against it.
func (j *Job) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %q: %s", ErrBadJob, truncate(j.ID), fmt.Sprintf(format, args...))
	}
	switch {
	case j.ID == "":
		return bad("empty id")
	case j.Coin == "":
		return bad("empty coin")
	case j.Extranonce1Size < 1 || j.Extranonce1Size > MaxExtranonceSize,
		j.Extranonce2Size < 1 || j.Extranonce2Size > MaxExtranonceSize:
		return bad("extranonce sizes %d+%d", j.Extranonce1Size, j.Extranonce2Size)
	case len(j.Coinb1) < 43 || int(j.Coinb1[len(j.Coinb1)-1]) != j.Extranonce1Size+j.Extranonce2Size:
		return bad("coinb1 does not end with the extranonce push")
	case len(j.Coinb2) < 4+1+9+4:
		return bad("coinb2 too short")
	case len(j.MerkleBranch) > maxMerkleBranch:
		return bad("merkle branch of %d", len(j.MerkleBranch))
	case j.NetworkTarget.IsZero():
		return bad("zero network target")
	case j.PrevHashStratum != StratumPrevHash(j.PrevHash):
		return bad("prev_hash_stratum does not match prev_hash")
	case j.MaxTime < j.MinTime:
		return bad("maxtime %d < mintime %d", j.MaxTime, j.MinTime)
	}
	if t, err := target.FromCompact(j.NBits); err != nil || t != j.NetworkTarget {
		return bad("network target does not match nbits %08x", j.NBits)
	}
	return nil
}
