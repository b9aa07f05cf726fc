package stratum

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"

	"github.com/jetpool/jetpool/internal/jsonenc"
)

// Low-level JSON appenders. They never call fmt or reflect, so the frequent
// messages (submit responses, notify) encode without allocating beyond the
// growth of dst.

const hexDigits = "0123456789abcdef"

// appendHexString appends b as a quoted lower-case hex string.
func appendHexString(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendUint32Hex appends v as a quoted 8-character big-endian hex string.
func appendUint32Hex(dst []byte, v uint32) []byte {
	return append(dst, '"',
		hexDigits[v>>28], hexDigits[v>>24&0xf], hexDigits[v>>20&0xf], hexDigits[v>>16&0xf],
		hexDigits[v>>12&0xf], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf], '"')
}

// appendID appends a request id; an empty id is written as null.
func appendID(dst []byte, id json.RawMessage) []byte {
	if len(id) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, id...)
}

// appendFloat appends a finite difficulty as a JSON number: plain decimal
// for everyday magnitudes (every miner parses it), exponent form otherwise.
// Non-finite values, which JSON cannot carry, are written as 0.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, '0')
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-9 && a < 1e21) {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// appendError appends e as [code, "message", data]; nil as null.
func appendError(dst []byte, e *Error) []byte {
	if e == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	dst = strconv.AppendInt(dst, int64(e.Code), 10)
	dst = append(dst, ',')
	dst = jsonenc.AppendString(dst, e.Message)
	dst = append(dst, ',')
	if len(e.Data) == 0 || isNull(e.Data) || !json.Valid(e.Data) {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.Data...)
	}
	return append(dst, ']')
}

// appendNotificationHead appends `{"id":null,"method":"<method>","params":[`.
func appendNotificationHead(dst []byte, method string) []byte {
	dst = append(dst, `{"id":null,"method":`...)
	dst = jsonenc.AppendString(dst, method)
	return append(dst, `,"params":[`...)
}

// appendRequestHead appends `{"id":<id>,"method":"<method>","params":[`.
func appendRequestHead(dst []byte, id uint64, method string) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `,"method":`...)
	dst = jsonenc.AppendString(dst, method)
	return append(dst, `,"params":[`...)
}

// closeMessage closes a params array and its object and ends the line.
func closeMessage(dst []byte) []byte {
	return append(dst, "]}\n"...)
}
