package ingest

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/jetpool/jetpool/internal/payload"
)

// errSlowPath makes the fast decoder hand a message to encoding/json.
var errSlowPath = errors.New("ingest: not on the fast path")

// DecodeShareBatch decodes one shares.<coin>.<region> message into b,
// with exactly the result encoding/json gives (the fuzz test holds it to
// that). Gateways write a fixed shape: the fast path reads that shape with
// no reflection and hands anything else — escaped or non-UTF-8 strings,
// unknown or differently cased keys, numbers that do not fit, malformed
// JSON — to encoding/json, so every message gets the standard answer.
// b.Shares is reused.
func DecodeShareBatch(data []byte, b *payload.ShareBatch) error {
	var d Decoder
	return d.Decode(data, b)
}

// Decoder is DecodeShareBatch that keeps the strings it has seen
// (addresses, workers, gateways, job ids repeat from batch to batch), so a
// share costs no allocation for them. Not safe for concurrent use.
type Decoder struct {
	strs map[string]string
}

// maxInterned bounds the strings a Decoder keeps.
const maxInterned = 1 << 17

// Decode decodes one batch into b, reusing b.Shares.
func (dec *Decoder) Decode(data []byte, b *payload.ShareBatch) error {
	shares := b.Shares[:0]
	*b = payload.ShareBatch{}
	if dec.strs == nil || len(dec.strs) > maxInterned {
		dec.strs = make(map[string]string, 1024)
	}
	d := decoder{buf: data, strs: dec.strs}
	b.Shares = shares
	if err := d.batch(b); err == nil {
		return nil
	}
	// encoding/json would keep old elements where the input has null: the
	// slow path starts from a fresh slice.
	*b = payload.ShareBatch{}
	return json.Unmarshal(data, b)
}

type decoder struct {
	buf  []byte
	i    int
	strs map[string]string
}

func (d *decoder) ws() {
	for d.i < len(d.buf) {
		switch d.buf[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) byte(c byte) error {
	d.ws()
	if d.i >= len(d.buf) || d.buf[d.i] != c {
		return errSlowPath
	}
	d.i++
	return nil
}

// peek returns the next non-space byte (0 at the end).
func (d *decoder) peek() byte {
	d.ws()
	if d.i >= len(d.buf) {
		return 0
	}
	return d.buf[d.i]
}

// str reads a string without escapes, valid UTF-8, as a sub-slice.
func (d *decoder) str() ([]byte, error) {
	if err := d.byte('"'); err != nil {
		return nil, err
	}
	start := d.i
	for d.i < len(d.buf) {
		c := d.buf[d.i]
		switch {
		case c == '"':
			s := d.buf[start:d.i]
			d.i++
			if !utf8.Valid(s) {
				return nil, errSlowPath
			}
			return s, nil
		case c == '\\' || c < 0x20:
			return nil, errSlowPath
		}
		d.i++
	}
	return nil, errSlowPath
}

// num reads the bytes of a JSON number (validated by the caller's parse).
func (d *decoder) num() ([]byte, error) {
	d.ws()
	start := d.i
	for d.i < len(d.buf) {
		c := d.buf[d.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			d.i++
			continue
		}
		break
	}
	if d.i == start || !validNumber(d.buf[start:d.i]) {
		return nil, errSlowPath
	}
	return d.buf[start:d.i], nil
}

// validNumber checks the JSON number grammar (strconv accepts more).
func validNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

func (d *decoder) float() (float64, error) {
	s, err := d.num()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return 0, errSlowPath
	}
	return f, nil
}

func (d *decoder) int() (int64, error) {
	s, err := d.num()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return 0, errSlowPath
	}
	return v, nil
}

func (d *decoder) uint() (uint64, error) {
	s, err := d.num()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(s), 10, 64)
	if err != nil {
		return 0, errSlowPath
	}
	return v, nil
}

func (d *decoder) bool() (bool, error) {
	d.ws()
	switch {
	case hasPrefix(d.buf[d.i:], "true"):
		d.i += 4
		return true, nil
	case hasPrefix(d.buf[d.i:], "false"):
		d.i += 5
		return false, nil
	}
	return false, errSlowPath
}

// null consumes a null (which leaves a field as it is, as in
// encoding/json) and reports whether there was one.
func (d *decoder) null() bool {
	d.ws()
	if hasPrefix(d.buf[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

func hasPrefix(b []byte, s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }

// object calls field for every key of an object.
func (d *decoder) object(field func(key []byte) error) error {
	if err := d.byte('{'); err != nil {
		return err
	}
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		key, err := d.str()
		if err != nil {
			return err
		}
		if err := d.byte(':'); err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return errSlowPath
		}
	}
}

func (d *decoder) batch(b *payload.ShareBatch) error {
	err := d.object(func(key []byte) error {
		if d.null() {
			return nil
		}
		var err error
		switch string(key) {
		case "gw":
			b.Gateway, err = d.string()
		case "coin":
			b.Coin, err = d.string()
		case "region":
			b.Region, err = d.string()
		case "seq":
			b.Seq, err = d.uint()
		case "shares":
			b.Shares = b.Shares[:0]
			err = d.shares(b)
		default:
			return errSlowPath
		}
		return err
	})
	if err != nil {
		return err
	}
	if d.peek() != 0 {
		return errSlowPath // trailing data
	}
	return nil
}

func (d *decoder) string() (string, error) {
	s, err := d.str()
	if err != nil || d.strs == nil {
		return string(s), err
	}
	if v, ok := d.strs[string(s)]; ok { // no allocation for the lookup
		return v, nil
	}
	v := string(s)
	d.strs[v] = v
	return v, nil
}

func (d *decoder) shares(b *payload.ShareBatch) error {
	if err := d.byte('['); err != nil {
		return err
	}
	if d.peek() == ']' {
		d.i++
		if b.Shares == nil {
			b.Shares = []payload.Share{}
		}
		return nil
	}
	for {
		b.Shares = append(b.Shares, payload.Share{})
		sh := &b.Shares[len(b.Shares)-1]
		if d.null() {
			// A null element is a zero share, as in encoding/json.
		} else if err := d.share(sh); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return errSlowPath
		}
	}
}

func (d *decoder) share(sh *payload.Share) error {
	return d.object(func(key []byte) error {
		if d.null() {
			return nil
		}
		var err error
		switch string(key) {
		case "t":
			sh.TimeMs, err = d.int()
		case "addr":
			sh.Address, err = d.string()
		case "w":
			sh.Worker, err = d.string()
		case "d":
			sh.Difficulty, err = d.float()
		case "ad":
			sh.ActualDifficulty, err = d.float()
		case "h":
			sh.Height, err = d.int()
		case "nd":
			sh.NetworkDifficulty, err = d.float()
		case "j":
			sh.JobID, err = d.string()
		case "ok":
			sh.Accepted, err = d.bool()
		case "r":
			sh.Reason, err = d.string()
		case "b":
			sh.Block, err = d.bool()
		case "solo":
			sh.Solo, err = d.bool()
		default:
			return errSlowPath
		}
		return err
	})
}
