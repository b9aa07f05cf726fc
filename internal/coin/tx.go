package coin

import (
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrBadTx is returned for a transaction that cannot be parsed.
var ErrBadTx = errors.New("bad transaction")

// TxInfo describes one serialised bitcoin-family transaction.
type TxInfo struct {
	TxID       Hash // SHA256d of the serialisation without witness
	WTxID      Hash // SHA256d of the full serialisation (equals TxID without witness)
	HasWitness bool // BIP144 marker and flag present, with witness data
	Size       int  // bytes consumed from the input
}

// ParseTx reads one transaction, with or without BIP144 witness data, from
// the start of b and returns its ids. It validates the structure only, not
// scripts or amounts.
func ParseTx(b []byte) (TxInfo, error) {
	var info TxInfo
	fail := func(err error) (TxInfo, error) { return TxInfo{}, fmt.Errorf("%w: %w", ErrBadTx, err) }
	if len(b) < 10 {
		return fail(ErrTruncated)
	}
	off := 4
	segwit := false
	if b[4] == 0x00 {
		if b[5] != 0x01 {
			return fail(fmt.Errorf("unknown witness flag %#x", b[5]))
		}
		segwit = true
		off = 6
	}
	bodyStart := off
	nIn, off, err := readVarInt(b, off)
	if err != nil {
		return fail(err)
	}
	if nIn == 0 {
		return fail(errors.New("no inputs"))
	}
	for i := uint64(0); i < nIn; i++ {
		if off+36 > len(b) {
			return fail(ErrTruncated)
		}
		if off, err = skipBytes(b, off+36); err != nil {
			return fail(err)
		}
		if off+4 > len(b) {
			return fail(ErrTruncated)
		}
		off += 4
	}
	nOut, off, err := readVarInt(b, off)
	if err != nil {
		return fail(err)
	}
	for i := uint64(0); i < nOut; i++ {
		if off+8 > len(b) {
			return fail(ErrTruncated)
		}
		if off, err = skipBytes(b, off+8); err != nil {
			return fail(err)
		}
	}
	bodyEnd := off
	if segwit {
		nonEmpty := false
		for i := uint64(0); i < nIn; i++ {
			var items uint64
			if items, off, err = readVarInt(b, off); err != nil {
				return fail(err)
			}
			if items > 0 {
				nonEmpty = true
			}
			for j := uint64(0); j < items; j++ {
				if off, err = skipBytes(b, off); err != nil {
					return fail(err)
				}
			}
		}
		if !nonEmpty {
			return fail(errors.New("superfluous witness record"))
		}
	}
	if off+4 > len(b) {
		return fail(ErrTruncated)
	}
	lockTime := b[off : off+4]
	off += 4

	info.Size = off
	info.HasWitness = segwit
	info.WTxID = Hash(doubleSHA(b[:off]))
	if !segwit {
		info.TxID = info.WTxID
		return info, nil
	}
	h := sha256.New()
	h.Write(b[:4])
	h.Write(b[bodyStart:bodyEnd])
	h.Write(lockTime)
	var first [32]byte
	h.Sum(first[:0])
	info.TxID = Hash(sha256.Sum256(first[:]))
	return info, nil
}

// skipBytes skips a CompactSize-prefixed byte string at b[off:].
func skipBytes(b []byte, off int) (int, error) {
	n, off, err := readVarInt(b, off)
	if err != nil {
		return off, err
	}
	if n > uint64(len(b)-off) {
		return off, ErrTruncated
	}
	return off + int(n), nil
}

func doubleSHA(b []byte) [32]byte {
	first := sha256.Sum256(b)
	return sha256.Sum256(first[:])
}
