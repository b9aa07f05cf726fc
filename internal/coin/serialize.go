package coin

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrTruncated is returned when a serialised transaction ends early.
var ErrTruncated = errors.New("truncated data")

// AppendVarInt appends Bitcoin's CompactSize encoding of n.
func AppendVarInt(b []byte, n uint64) []byte {
	switch {
	case n < 0xfd:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.LittleEndian.AppendUint16(append(b, 0xfd), uint16(n))
	case n <= 0xffffffff:
		return binary.LittleEndian.AppendUint32(append(b, 0xfe), uint32(n))
	default:
		return binary.LittleEndian.AppendUint64(append(b, 0xff), n)
	}
}

// readVarInt decodes a canonical CompactSize at b[off:] and returns the
// value and the offset after it.
func readVarInt(b []byte, off int) (uint64, int, error) {
	if off >= len(b) {
		return 0, off, ErrTruncated
	}
	switch p := b[off]; p {
	case 0xfd:
		if off+3 > len(b) {
			return 0, off, ErrTruncated
		}
		v := uint64(binary.LittleEndian.Uint16(b[off+1:]))
		if v < 0xfd {
			return 0, off, fmt.Errorf("non-canonical varint %d", v)
		}
		return v, off + 3, nil
	case 0xfe:
		if off+5 > len(b) {
			return 0, off, ErrTruncated
		}
		v := uint64(binary.LittleEndian.Uint32(b[off+1:]))
		if v <= 0xffff {
			return 0, off, fmt.Errorf("non-canonical varint %d", v)
		}
		return v, off + 5, nil
	case 0xff:
		if off+9 > len(b) {
			return 0, off, ErrTruncated
		}
		v := binary.LittleEndian.Uint64(b[off+1:])
		if v <= 0xffffffff {
			return 0, off, fmt.Errorf("non-canonical varint %d", v)
		}
		return v, off + 9, nil
	default:
		return uint64(p), off + 1, nil
	}
}

// Script opcodes used by coinbase construction.
const (
	opFalse     = 0x00
	opPushData1 = 0x4c
	opPushData2 = 0x4d
	op1         = 0x51
	opReturn    = 0x6a
)

// AppendPushData appends a canonical (minimal) push of data to a script.
// Empty data is pushed as OP_0.
func AppendPushData(script, data []byte) []byte {
	switch n := len(data); {
	case n == 0:
		return append(script, opFalse)
	case n < opPushData1:
		script = append(script, byte(n))
	case n <= 0xff:
		script = append(script, opPushData1, byte(n))
	default:
		script = binary.LittleEndian.AppendUint16(append(script, opPushData2), uint16(n))
	}
	return append(script, data...)
}

// AppendScriptNum appends the push of n the way Bitcoin Core's
// `CScript() << n` and btcd's ScriptBuilder.AddInt64 encode it: OP_0 for 0,
// OP_1…OP_16 for 1…16, otherwise a minimal little-endian sign-magnitude
// number (CScriptNum). This is the BIP34 coinbase height encoding both
// nodes check byte for byte.
func AppendScriptNum(script []byte, n int64) []byte {
	switch {
	case n == 0:
		return append(script, opFalse)
	case n == -1:
		return append(script, 0x4f) // OP_1NEGATE
	case n >= 1 && n <= 16:
		return append(script, byte(op1-1+n))
	}
	neg := n < 0
	abs := uint64(n)
	if neg {
		abs = uint64(-n)
	}
	var num [9]byte
	l := 0
	for abs > 0 {
		num[l] = byte(abs)
		abs >>= 8
		l++
	}
	if num[l-1]&0x80 != 0 {
		if neg {
			num[l] = 0x80
		} else {
			num[l] = 0
		}
		l++
	} else if neg {
		num[l-1] |= 0x80
	}
	return AppendPushData(script, num[:l])
}
