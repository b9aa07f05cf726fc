package stratum

import (
	"bytes"
	"encoding/json"
)

// A small scanner over JSON that json.Valid has already accepted. It splits
// objects and arrays into raw members without reflection, so decoding a
// request costs one copy of the line instead of one allocation per member.
// Every function stays in bounds on any input, valid or not.

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] ('"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		if c := b[i]; c == ',' || c == ']' || c == '}' || isSpace(c) {
			break
		}
		i++
	}
	return i
}

// splitArray appends the raw elements of the array b (valid JSON) to dst.
// ok is false when b is not an array.
func splitArray(b []byte, dst []json.RawMessage) (_ []json.RawMessage, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return dst, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return dst, true
	}
	for i < len(b) {
		end := skipValue(b, i)
		if end <= i {
			return dst, false
		}
		dst = append(dst, b[i:end:end])
		i = skipSpace(b, end)
		if i >= len(b) {
			return dst, false
		}
		switch b[i] {
		case ']':
			return dst, true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return dst, false
		}
	}
	return dst, false
}

// eachMember calls f with every key (raw, quotes included) and raw value of
// the object b (valid JSON). ok is false when b is not an object.
func eachMember(b []byte, f func(key, value []byte)) (ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) && b[i] == '"' {
		kEnd := skipString(b, i)
		key := b[i:kEnd]
		i = skipSpace(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		vEnd := skipValue(b, i)
		if vEnd <= i {
			return false
		}
		f(key, b[i:vEnd:vEnd])
		i = skipSpace(b, vEnd)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case '}':
			return true
		case ',':
			i = skipSpace(b, i+1)
		default:
			return false
		}
	}
	return false
}

// keyIs reports whether the raw JSON key matches name the way
// encoding/json matches struct fields: exactly or by bytes.EqualFold on the
// unquoted key.
func keyIs(rawKey []byte, name []byte) bool {
	if len(rawKey) < 2 {
		return false
	}
	body := rawKey[1 : len(rawKey)-1]
	if bytes.IndexByte(body, '\\') >= 0 {
		var s string
		if json.Unmarshal(rawKey, &s) != nil {
			return false
		}
		body = []byte(s)
	}
	return bytes.EqualFold(body, name)
}
