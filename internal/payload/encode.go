package payload

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// ErrUnsupportedFloat is returned by ShareBatch.AppendJSON for a NaN or an
// infinite number, which JSON cannot represent (json.Marshal refuses them
// too).
var ErrUnsupportedFloat = errors.New("payload: NaN or infinite number in a share")

// AppendJSON appends the batch as JSON, byte for byte what
// json.Marshal(b) produces, without reflection: the gateway encodes one
// batch per few dozen shares on its hot path.
func (b *ShareBatch) AppendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"gw":`...)
	dst = appendJSONString(dst, b.Gateway)
	dst = append(dst, `,"coin":`...)
	dst = appendJSONString(dst, b.Coin)
	dst = append(dst, `,"region":`...)
	dst = appendJSONString(dst, b.Region)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, b.Seq, 10)
	dst = append(dst, `,"shares":`...)
	if b.Shares == nil {
		dst = append(dst, "null}"...)
		return dst, nil
	}
	dst = append(dst, '[')
	for i := range b.Shares {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = b.Shares[i].appendJSON(dst); err != nil {
			return dst, err
		}
	}
	dst = append(dst, "]}"...)
	return dst, nil
}

// appendJSON appends the share as json.Marshal does (field order, omitempty).
func (s *Share) appendJSON(dst []byte) ([]byte, error) {
	var ok bool
	dst = append(dst, `{"t":`...)
	dst = strconv.AppendInt(dst, s.TimeMs, 10)
	dst = append(dst, `,"addr":`...)
	dst = appendJSONString(dst, s.Address)
	dst = append(dst, `,"w":`...)
	dst = appendJSONString(dst, s.Worker)
	dst = append(dst, `,"d":`...)
	if dst, ok = appendJSONFloat(dst, s.Difficulty); !ok {
		return dst, ErrUnsupportedFloat
	}
	if s.ActualDifficulty != 0 {
		dst = append(dst, `,"ad":`...)
		if dst, ok = appendJSONFloat(dst, s.ActualDifficulty); !ok {
			return dst, ErrUnsupportedFloat
		}
	}
	dst = append(dst, `,"h":`...)
	dst = strconv.AppendInt(dst, s.Height, 10)
	dst = append(dst, `,"nd":`...)
	if dst, ok = appendJSONFloat(dst, s.NetworkDifficulty); !ok {
		return dst, ErrUnsupportedFloat
	}
	if s.JobID != "" {
		dst = append(dst, `,"j":`...)
		dst = appendJSONString(dst, s.JobID)
	}
	if s.Accepted {
		dst = append(dst, `,"ok":true`...)
	} else {
		dst = append(dst, `,"ok":false`...)
	}
	if s.Reason != "" {
		dst = append(dst, `,"r":`...)
		dst = appendJSONString(dst, s.Reason)
	}
	if s.Block {
		dst = append(dst, `,"b":true`...)
	}
	if s.Solo {
		dst = append(dst, `,"solo":true`...)
	}
	return append(dst, '}'), nil
}

// appendJSONFloat formats f as encoding/json does for a float64: the
// shortest representation, in exponent form below 1e-6 and from 1e21 on
// (with a two-digit exponent's leading zero dropped: 1e-07 → 1e-7).
func appendJSONFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does by default: '"' and '\\'
// escaped, control characters as \b \f \n \r \t or \u00XX, the HTML
// characters < > & as \u003c \u003e \u0026, U+2028 and U+2029 as \u2028
// and \u2029, and each byte of invalid UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
