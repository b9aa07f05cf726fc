package coin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jetpool/jetpool/internal/pow"
	"github.com/jetpool/jetpool/internal/target"
)

// BaseConfig describes a bitcoin-family coin on one network.
type BaseConfig struct {
	Symbol           string
	Network          Network
	CoinbaseMaturity int
	// InitialSubsidy (base units) halves every HalvingInterval blocks.
	InitialSubsidy     int64
	HalvingInterval    int64
	Hasher             pow.Hasher
	Diff1              target.Target
	HashrateMultiplier float64
	// Segwit enables witness commitments (BIP141). A coin without segwit
	// (Bitcoin Cash) rejects templates with witness transactions.
	Segwit        bool
	TemplateRules []string
	// DecodeAddress returns the output script paying addr on this network;
	// its errors should be *AddressError. Base.ValidateAddress calls it only
	// for addresses of 1 to MaxAddressLen bytes.
	DecodeAddress func(addr string) ([]byte, error)
}

// Base implements Coin for the bitcoin family: 80-byte headers, a coinbase
// with a BIP34 height, a SHA256d merkle tree, optional segwit. Coin packages
// configure one with NewBase and may embed it to override methods
// (Litecoin's BuildBlock appends MWEB data).
type Base struct {
	cfg BaseConfig
}

// CoinbaseTxVersion is the version of the coinbase transactions Base builds.
const CoinbaseTxVersion = 2

// NewBase checks cfg and returns the coin.
func NewBase(cfg BaseConfig) (*Base, error) {
	switch {
	case cfg.Symbol == "":
		return nil, errors.New("coin: empty symbol")
	case cfg.Network == "":
		return nil, errors.New("coin: empty network")
	case cfg.CoinbaseMaturity < 1:
		return nil, errors.New("coin: coinbase maturity must be positive")
	case cfg.InitialSubsidy <= 0 || cfg.HalvingInterval <= 0:
		return nil, errors.New("coin: initial subsidy and halving interval must be positive")
	case cfg.Hasher == nil:
		return nil, errors.New("coin: nil hasher")
	case cfg.Diff1.IsZero():
		return nil, errors.New("coin: zero diff1")
	case cfg.HashrateMultiplier <= 0:
		return nil, errors.New("coin: hashrate multiplier must be positive")
	case cfg.DecodeAddress == nil:
		return nil, errors.New("coin: nil address decoder")
	}
	cfg.TemplateRules = slices.Clone(cfg.TemplateRules)
	return &Base{cfg: cfg}, nil
}

// Symbol implements Coin.
func (b *Base) Symbol() string { return b.cfg.Symbol }

// Network implements Coin.
func (b *Base) Network() Network { return b.cfg.Network }

// CoinbaseMaturity implements Coin.
func (b *Base) CoinbaseMaturity() int { return b.cfg.CoinbaseMaturity }

// BlockSubsidy implements Coin: the initial subsidy shifted right once per
// halving interval (0 after 64 halvings), as the bitcoin family computes it.
func (b *Base) BlockSubsidy(height int64) int64 {
	if height < 0 {
		return 0
	}
	halvings := height / b.cfg.HalvingInterval
	if halvings >= 64 {
		return 0
	}
	return b.cfg.InitialSubsidy >> halvings
}

// Hasher implements Coin.
func (b *Base) Hasher() pow.Hasher { return b.cfg.Hasher }

// Diff1 implements Coin.
func (b *Base) Diff1() target.Target { return b.cfg.Diff1 }

// HashrateMultiplier implements Coin.
func (b *Base) HashrateMultiplier() float64 { return b.cfg.HashrateMultiplier }

// TemplateRules implements Coin.
func (b *Base) TemplateRules() []string { return slices.Clone(b.cfg.TemplateRules) }

// Segwit reports whether the coin uses witness commitments.
func (b *Base) Segwit() bool { return b.cfg.Segwit }

// MaxAddressLen bounds a payout address before any decoding: a bech32
// address is at most 90 characters, a prefixed 160-bit CashAddr 54 and a
// base58 address about 35.
const MaxAddressLen = 100

// ValidateAddress implements Coin: an empty address or one longer than
// MaxAddressLen is an *AddressError, any other goes to the coin's decoder.
func (b *Base) ValidateAddress(addr string) ([]byte, error) {
	if addr == "" || len(addr) > MaxAddressLen {
		return nil, &AddressError{Addr: addr, Detail: fmt.Errorf("length %d", len(addr))}
	}
	return b.cfg.DecodeAddress(addr)
}

// ParseTemplate implements Coin with the package-level ParseTemplate; a
// coin without segwit rejects witness transactions and drops any witness
// commitment.
func (b *Base) ParseTemplate(raw []byte) (*Template, error) {
	t, err := ParseTemplate(raw)
	if err != nil {
		return nil, err
	}
	if !b.cfg.Segwit {
		if t.HasWitnessTx {
			return nil, fmt.Errorf("%w: witness transaction in a %s template", ErrBadTemplate, b.cfg.Symbol)
		}
		t.WitnessCommitment = nil
	}
	return t, nil
}

// NewJob implements Coin. The coinbase is
//
//	version 2 | 1 input: null prevout, scriptSig, sequence 0xffffffff |
//	outputs: payout (coinbase value) [, witness commitment] | locktime 0
//
// with scriptSig = BIP34 height ‖ push(pool tag) ‖ push(extranonce1 ‖
// extranonce2). Coinb1 ends with the extranonce push opcode, Coinb2 starts
// with the sequence.
func (b *Base) NewJob(tpl *Template, opts JobOptions) (*Job, error) {
	bad := func(format string, args ...any) (*Job, error) {
		return nil, fmt.Errorf("%w: %s", ErrBadJobOptions, fmt.Sprintf(format, args...))
	}
	if tpl == nil {
		return bad("nil template")
	}
	if opts.JobID == "" {
		return bad("empty job id")
	}
	if len(opts.PayoutScript) == 0 || len(opts.PayoutScript) > MaxPayoutScript {
		return bad("payout script of %d bytes", len(opts.PayoutScript))
	}
	en1, en2 := opts.Extranonce1Size, opts.Extranonce2Size
	if en1 == 0 {
		en1 = DefaultExtranonce1Size
	}
	if en2 == 0 {
		en2 = DefaultExtranonce2Size
	}
	if en1 < 1 || en1 > MaxExtranonceSize || en2 < 1 || en2 > MaxExtranonceSize {
		return bad("extranonce sizes %d+%d (each 1..%d)", en1, en2, MaxExtranonceSize)
	}
	witness := b.cfg.Segwit && tpl.WitnessCommitment != nil
	if !b.cfg.Segwit && tpl.HasWitnessTx {
		return nil, fmt.Errorf("%w: witness transaction in a %s template", ErrBadTemplate, b.cfg.Symbol)
	}

	script := AppendScriptNum(make([]byte, 0, MaxCoinbaseScriptSig), tpl.Height)
	if opts.PoolTag != "" {
		script = AppendPushData(script, []byte(opts.PoolTag))
	}
	scriptLen := len(script) + 1 + en1 + en2
	if scriptLen > MaxCoinbaseScriptSig {
		return bad("coinbase scriptSig would be %d bytes (max %d): shorten the pool tag", scriptLen, MaxCoinbaseScriptSig)
	}

	coinb1 := make([]byte, 0, 4+1+36+1+scriptLen)
	coinb1 = binary.LittleEndian.AppendUint32(coinb1, CoinbaseTxVersion)
	coinb1 = append(coinb1, 1)                   // input count
	coinb1 = append(coinb1, make([]byte, 32)...) // null prevout hash
	coinb1 = binary.LittleEndian.AppendUint32(coinb1, 0xffffffff)
	coinb1 = AppendVarInt(coinb1, uint64(scriptLen))
	coinb1 = append(coinb1, script...)
	coinb1 = append(coinb1, byte(en1+en2)) // push of extranonce1 ‖ extranonce2

	nOut := uint64(1)
	if witness {
		nOut++
	}
	coinb2 := make([]byte, 0, 4+1+9+len(opts.PayoutScript)+9+len(tpl.WitnessCommitment)+4+4)
	coinb2 = binary.LittleEndian.AppendUint32(coinb2, 0xffffffff) // sequence
	coinb2 = AppendVarInt(coinb2, nOut)
	coinb2 = binary.LittleEndian.AppendUint64(coinb2, uint64(tpl.CoinbaseValue))
	coinb2 = AppendVarInt(coinb2, uint64(len(opts.PayoutScript)))
	coinb2 = append(coinb2, opts.PayoutScript...)
	if witness {
		coinb2 = binary.LittleEndian.AppendUint64(coinb2, 0)
		coinb2 = AppendVarInt(coinb2, uint64(len(tpl.WitnessCommitment)))
		coinb2 = append(coinb2, tpl.WitnessCommitment...)
	}
	coinb2 = binary.LittleEndian.AppendUint32(coinb2, 0) // locktime

	minTime, maxTime := tpl.MinTime, tpl.MaxTime
	if minTime == 0 {
		minTime = tpl.CurTime
	}
	if maxTime == 0 {
		maxTime = tpl.CurTime + MaxTimeOffset
	}
	created := opts.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	return &Job{
		ID:              opts.JobID,
		Coin:            b.cfg.Symbol,
		TemplateID:      tpl.ID,
		Height:          tpl.Height,
		PrevHash:        tpl.PreviousBlockHash,
		PrevHashStratum: StratumPrevHash(tpl.PreviousBlockHash),
		Coinb1:          coinb1,
		Coinb2:          coinb2,
		Extranonce1Size: en1,
		Extranonce2Size: en2,
		MerkleBranch:    MerkleBranch(tpl.TxIDs()),
		Version:         tpl.Version,
		NBits:           tpl.Bits,
		NTime:           tpl.CurTime,
		MinTime:         minTime,
		MaxTime:         maxTime,
		NetworkTarget:   tpl.Target,
		CleanJobs:       opts.CleanJobs,
		CoinbaseValue:   tpl.CoinbaseValue,
		Witness:         witness,
		TxCount:         len(tpl.Transactions),
		CreatedAt:       created.UTC(),
	}, nil
}

// BuildBlock implements Coin: header ‖ varint(tx count) ‖ coinbase (with
// witness when the job has a witness commitment) ‖ template transactions.
// It returns ErrTemplateMismatch when tpl is not the job's template.
func (b *Base) BuildBlock(job *Job, tpl *Template, sub Submission) (*Block, error) {
	if err := b.matchTemplate(job, tpl); err != nil {
		return nil, err
	}
	blk := &Block{Height: job.Height}
	if err := job.Header(&blk.Header, sub.Extranonce1, sub.Extranonce2, sub.NTime, sub.Nonce, sub.Version); err != nil {
		return nil, err
	}
	coinbase, err := job.CoinbaseTxWitness(sub.Extranonce1, sub.Extranonce2)
	if err != nil {
		return nil, err
	}
	size := 80 + 9 + len(coinbase)
	for i := range tpl.Transactions {
		size += len(tpl.Transactions[i].Data)
	}
	raw := make([]byte, 0, size)
	raw = append(raw, blk.Header[:]...)
	raw = AppendVarInt(raw, uint64(len(tpl.Transactions)+1))
	raw = append(raw, coinbase...)
	for i := range tpl.Transactions {
		raw = append(raw, tpl.Transactions[i].Data...)
	}
	blk.Raw = raw
	blk.Hash = Hash(pow.SHA256d(blk.Header[:]))
	blk.PoWHash = Hash(b.cfg.Hasher(blk.Header[:]))
	blk.MeetsTarget = job.NetworkTarget.HashMeets((*[32]byte)(&blk.PoWHash))
	return blk, nil
}

func (b *Base) matchTemplate(job *Job, tpl *Template) error {
	mismatch := func(format string, args ...any) error {
		return fmt.Errorf("%w: job %q: %s", ErrTemplateMismatch, truncate(job.ID), fmt.Sprintf(format, args...))
	}
	switch {
	case tpl == nil:
		return mismatch("nil template")
	case job.Coin != b.cfg.Symbol:
		return mismatch("job is for coin %q, not %q", job.Coin, b.cfg.Symbol)
	case job.TemplateID != tpl.ID:
		return mismatch("template id %q, job wants %q", tpl.ID, job.TemplateID)
	case tpl.PreviousBlockHash != job.PrevHash:
		return mismatch("previous block %s, job has %s", tpl.PreviousBlockHash, job.PrevHash)
	case len(tpl.Transactions) != job.TxCount:
		return mismatch("%d transactions, job has %d", len(tpl.Transactions), job.TxCount)
	case tpl.Height != job.Height:
		return mismatch("height %d, job has %d", tpl.Height, job.Height)
	}
	if !slices.Equal(MerkleBranch(tpl.TxIDs()), job.MerkleBranch) {
		return mismatch("merkle branch differs")
	}
	return nil
}

var _ Coin = (*Base)(nil)
