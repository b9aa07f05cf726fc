package stratum

import (
	"bytes"
	"encoding/json"
)

// A small scanner over JSON that validJSON (which answers exactly as
// json.Valid does) has already accepted. It splits objects and arrays into
// raw members without reflection, so decoding a request costs one copy of
// the line instead of one allocation per member. Every function stays in
// bounds on any input, valid or not.

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

// maxNestingDepth is encoding/json's limit on nested objects and arrays.
const maxNestingDepth = 10000

// validJSON reports exactly what json.Valid reports (one JSON value, with
// optional surrounding whitespace; strings are not checked for valid UTF-8;
// at most maxNestingDepth nested containers), several times faster: it is
// one loop over the bytes instead of a state function per byte, and the
// gateway runs it twice on every request it reads.
func validJSON(b []byte) bool {
	var small [32]byte
	stack := small[:0] // the open containers, '{' or '['
	i := 0
	for {
		// A value starts at i.
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) == maxNestingDepth {
				return false
			}
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				i++
				break // an empty container is a complete value
			}
			stack = append(stack, c)
			if c == '{' {
				if i = objectKey(b, i); i < 0 {
					return false
				}
			}
			continue // the first member's value
		case '"':
			if i = endOfString(b, i); i < 0 {
				return false
			}
		case 't':
			if !bytes.HasPrefix(b[i:], []byte("true")) {
				return false
			}
			i += 4
		case 'f':
			if !bytes.HasPrefix(b[i:], []byte("false")) {
				return false
			}
			i += 5
		case 'n':
			if !bytes.HasPrefix(b[i:], []byte("null")) {
				return false
			}
			i += 4
		default:
			if i = endOfNumber(b, i); i < 0 {
				return false
			}
		}
		// A value ended at i: close containers, or go on to the next member.
		for {
			i = skipSpace(b, i)
			if len(stack) == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			top := stack[len(stack)-1]
			if b[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return false
			}
			i++
			if top == '{' {
				if i = objectKey(b, skipSpace(b, i)); i < 0 {
					return false
				}
			}
			break
		}
	}
}

// objectKey scans a member name and its colon at b[i:] and returns the
// index after the colon, or -1.
func objectKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = endOfString(b, i); i < 0 {
		return -1
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return i + 1
}

// endOfString returns the index after the string starting at b[i] ('"'),
// or -1 when it is not a valid JSON string.
func endOfString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if i++; i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return -1
				}
				for _, h := range b[i+1 : i+5] {
					if !isHexDigit(h) {
						return -1
					}
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// endOfNumber returns the index after the number starting at b[i], or -1.
func endOfNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = endOfDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = endOfDigits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = endOfDigits(b, i)
	}
	return i
}

func endOfDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
