package payload

import (
	"errors"
	"math"
	"strconv"

	"github.com/jetpool/jetpool/internal/jsonenc"
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
	dst = jsonenc.AppendString(dst, b.Gateway)
	dst = append(dst, `,"coin":`...)
	dst = jsonenc.AppendString(dst, b.Coin)
	dst = append(dst, `,"region":`...)
	dst = jsonenc.AppendString(dst, b.Region)
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
	dst = jsonenc.AppendString(dst, s.Address)
	dst = append(dst, `,"w":`...)
	dst = jsonenc.AppendString(dst, s.Worker)
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
		dst = jsonenc.AppendString(dst, s.JobID)
	}
	if s.Accepted {
		dst = append(dst, `,"ok":true`...)
	} else {
		dst = append(dst, `,"ok":false`...)
	}
	if s.Reason != "" {
		dst = append(dst, `,"r":`...)
		dst = jsonenc.AppendString(dst, s.Reason)
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
