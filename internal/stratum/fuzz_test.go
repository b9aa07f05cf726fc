package stratum

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"reflect"
	"testing"
)

// chunkReader delivers its chunks in separate Read calls, so a line can be
// split across reads at an arbitrary point.
type chunkReader struct{ chunks [][]byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.chunks) > 0 && len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	return n, nil
}

const fuzzMaxLine = 1024

func seedLines(f *testing.F) [][]byte {
	fh, err := os.Open("testdata/miner-lines.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	var lines [][]byte
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if b := sc.Bytes(); len(b) > 0 && b[0] != '#' {
			lines = append(lines, append([]byte(nil), b...))
		}
	}
	return lines
}

// FuzzDecode feeds arbitrary bytes, split in two reads, through the line
// reader, both message decoders and every params/result parser. Nothing may
// panic, every failure must be a typed *Error with the right code, and every
// value a parser accepts must survive encode → decode → parse unchanged.
func FuzzDecode(f *testing.F) {
	lines := seedLines(f)
	for _, l := range lines {
		f.Add(append(l, '\n'), uint16(len(l)/2))
	}
	f.Add(append(bytes.Join(lines, []byte("\r\n")), '\n'), uint16(100))
	f.Add(append(bytes.Repeat([]byte("x"), 3000), "\n{\"id\":1,\"method\":\"mining.subscribe\"}\n"...), uint16(2000))
	f.Add([]byte(`{"id":1,"method":"mining.submit","params":["w","j","00","0000000","00000000"]}`), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		k := int(split) % (len(data) + 1)
		lr := NewLineReader(&chunkReader{chunks: [][]byte{data[:k], data[k:]}}, fuzzMaxLine)
		for {
			line, err := lr.ReadLine()
			if errors.Is(err, ErrLineTooLong) {
				continue
			}
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("ReadLine: %v", err)
				}
				return
			}
			if len(line) == 0 || len(line) > fuzzMaxLine || bytes.IndexByte(line, '\n') >= 0 {
				t.Fatalf("bad line %q", line)
			}
			checkLine(t, line)
		}
	})
}

func wantCode(t *testing.T, what string, err error, codes ...Code) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v (%T) is not an *Error", what, err, err)
	}
	for _, c := range codes {
		if e.Code == c {
			var v any
			if out := AppendError(nil, json.RawMessage("1"), e); json.Unmarshal(out, &v) != nil {
				t.Fatalf("%s: error response is not JSON: %s", what, out)
			}
			return
		}
	}
	t.Fatalf("%s: error %v has code %d, want one of %v", what, err, e.Code, codes)
}

// checkAgainstEncodingJSON compares the hand-written scanner with
// encoding/json on the same line: same members, same params elements.
func checkAgainstEncodingJSON(t *testing.T, line []byte) {
	got, e := decodeWire(line)
	var want wireMessage
	err := json.Unmarshal(line, &want)
	if e != nil {
		if err == nil && firstByte(line) == '{' {
			t.Fatalf("scanner rejected %q (%v), encoding/json accepted it", line, e)
		}
		return
	}
	if err != nil {
		t.Fatalf("scanner accepted %q, encoding/json: %v", line, err)
	}
	for _, f := range []struct {
		name      string
		got, want []byte
	}{{"id", got.ID, want.ID}, {"method", got.Method, want.Method}, {"params", got.Params, want.Params},
		{"result", got.Result, want.Result}, {"error", got.Error, want.Error}} {
		if !bytes.Equal(f.got, f.want) {
			t.Fatalf("%s: scanner %q, encoding/json %q (line %q)", f.name, f.got, f.want, line)
		}
	}
	for _, raw := range [][]byte{got.Params, got.Result} {
		var ref []json.RawMessage
		if isNull(raw) || json.Unmarshal(raw, &ref) != nil {
			continue // null params are handled before splitting
		}
		a, ok := splitArray(raw, nil)
		if !ok || len(a) != len(ref) {
			t.Fatalf("splitArray(%q) = %q, %v; encoding/json %q", raw, a, ok, ref)
		}
		for i := range a {
			if !bytes.Equal(a[i], ref[i]) {
				t.Fatalf("splitArray(%q)[%d] = %q, encoding/json %q", raw, i, a[i], ref[i])
			}
		}
	}
}

func checkLine(t *testing.T, line []byte) {
	checkAgainstEncodingJSON(t, line)
	req, err := DecodeRequest(line)
	wantCode(t, "DecodeRequest", err, CodeParseError, CodeInvalidRequest)
	if err == nil {
		v, err := ParseClientParams(req.Method, req.Params)
		wantCode(t, "ParseClientParams", err, CodeInvalidParams, CodeMethodNotFound)
		if err == nil {
			roundTripClient(t, v)
		}
		checkAllParsers(t, req.Params)
	}
	msg, err := DecodeMessage(line)
	wantCode(t, "DecodeMessage", err, CodeParseError, CodeInvalidRequest)
	if err == nil {
		checkAllParsers(t, msg.Params)
		_, err := ParseSubscribeResult(msg.Result)
		wantCode(t, "ParseSubscribeResult", err, CodeInvalidParams)
		if r, err := ParseConfigureResult(msg.Result); err == nil {
			out := AppendConfigureResult(nil, json.RawMessage("1"), &r)
			m, err := DecodeMessage(out)
			if err != nil {
				t.Fatalf("configure result %s: %v", out, err)
			}
			back, err := ParseConfigureResult(m.Result)
			if err != nil || !reflect.DeepEqual(back, r) {
				t.Fatalf("configure result round trip %+v → %s → %+v, %v", r, out, back, err)
			}
		} else {
			wantCode(t, "ParseConfigureResult", err, CodeInvalidParams)
		}
		_, err = ParseBoolResult(msg.Result)
		wantCode(t, "ParseBoolResult", err, CodeInvalidRequest)
	}
}

// checkAllParsers runs every params parser on params whatever the method.
func checkAllParsers(t *testing.T, params json.RawMessage) {
	ip := CodeInvalidParams
	_, err := ParseSubscribe(params)
	wantCode(t, "ParseSubscribe", err, ip)
	_, err = ParseAuthorize(params)
	wantCode(t, "ParseAuthorize", err, ip)
	_, err = ParseSubmit(params)
	wantCode(t, "ParseSubmit", err, ip)
	_, err = ParseConfigure(params)
	wantCode(t, "ParseConfigure", err, ip)
	_, err = ParseSuggestDifficulty(params)
	wantCode(t, "ParseSuggestDifficulty", err, ip)
	wantCode(t, "ParseExtranonceSubscribe", ParseExtranonceSubscribe(params), ip)
	_, err = ParseGetTransactions(params)
	wantCode(t, "ParseGetTransactions", err, ip)
	_, _, err = ParseSetExtranonce(params)
	wantCode(t, "ParseSetExtranonce", err, ip)
	_, err = ParseSetVersionMask(params)
	wantCode(t, "ParseSetVersionMask", err, ip)
	_, err = ParseReconnect(params)
	wantCode(t, "ParseReconnect", err, ip)

	if n, err := ParseNotify(params); err == nil {
		out := AppendNotify(nil, &n)
		m, err := DecodeMessage(out)
		if err != nil {
			t.Fatalf("notify %s: %v", out, err)
		}
		back, err := ParseNotify(m.Params)
		if err != nil || !reflect.DeepEqual(back, n) {
			t.Fatalf("notify round trip %+v → %s → %+v, %v", n, out, back, err)
		}
	} else {
		wantCode(t, "ParseNotify", err, ip)
	}
	if d, err := ParseSetDifficulty(params); err == nil {
		if d <= 0 || math.IsInf(d, 0) || math.IsNaN(d) {
			t.Fatalf("set_difficulty accepted %v", d)
		}
		m, err := DecodeMessage(AppendSetDifficulty(nil, d))
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParseSetDifficulty(m.Params); err != nil || back != d {
			t.Fatalf("set_difficulty round trip %v → %v, %v", d, back, err)
		}
	} else {
		wantCode(t, "ParseSetDifficulty", err, ip)
	}
	if r, err := ParseReconnect(params); err == nil && r != (Reconnect{}) {
		m, err := DecodeMessage(AppendReconnect(nil, r))
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParseReconnect(m.Params); err != nil || back != r {
			t.Fatalf("reconnect round trip %+v → %+v, %v", r, back, err)
		}
	}
}

// roundTripClient re-encodes a parsed client request and parses it again.
func roundTripClient(t *testing.T, v any) {
	var line []byte
	switch p := v.(type) {
	case SubscribeParams:
		line = AppendSubscribe(nil, 1, p)
	case AuthorizeParams:
		line = AppendAuthorize(nil, 1, p)
	case SubmitParams:
		line = AppendSubmit(nil, 1, &p)
	case ConfigureParams:
		line = AppendConfigure(nil, 1, p)
	case float64:
		line = AppendSuggestDifficulty(nil, 1, p)
	default:
		return
	}
	req, err := DecodeRequest(line)
	if err != nil {
		t.Fatalf("own request %s: %v", line, err)
	}
	back, err := ParseClientParams(req.Method, req.Params)
	if err != nil {
		t.Fatalf("own request %s: %v", line, err)
	}
	if c, ok := v.(ConfigureParams); ok {
		b := back.(ConfigureParams)
		vr1, ok1 := c.VersionRolling()
		vr2, ok2 := b.VersionRolling()
		md1, mok1 := c.MinimumDifficulty()
		md2, mok2 := b.MinimumDifficulty()
		if !reflect.DeepEqual(c.Extensions, b.Extensions) || vr1 != vr2 || ok1 != ok2 || md1 != md2 || mok1 != mok2 {
			t.Fatalf("configure round trip %+v → %s → %+v", c, line, b)
		}
		return
	}
	if !reflect.DeepEqual(back, v) {
		t.Fatalf("round trip %+v → %s → %+v", v, line, back)
	}
}
