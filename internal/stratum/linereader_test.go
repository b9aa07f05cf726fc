package stratum

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type readResult struct {
	line string
	err  error
}

func readAll(lr *LineReader) []readResult {
	var out []readResult
	for i := 0; i < 100; i++ {
		line, err := lr.ReadLine()
		out = append(out, readResult{string(line), err})
		if err != nil && !errors.Is(err, ErrLineTooLong) {
			return out
		}
	}
	return out
}

func TestLineReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []readResult
	}{
		{"lines", "a\nbb\n", 8, []readResult{{"a", nil}, {"bb", nil}, {"", io.EOF}}},
		{"crlf", "a\r\nbb\r\n", 8, []readResult{{"a", nil}, {"bb", nil}, {"", io.EOF}}},
		{"empty lines skipped", "\n\r\n\na\n\n", 8, []readResult{{"a", nil}, {"", io.EOF}}},
		{"exactly max", "12345678\n", 8, []readResult{{"12345678", nil}, {"", io.EOF}}},
		{"exactly max crlf", "12345678\r\n", 8, []readResult{{"12345678", nil}, {"", io.EOF}}},
		{"max plus one", "123456789\nok\n", 8, []readResult{{"", ErrLineTooLong}, {"ok", nil}, {"", io.EOF}}},
		{"long line resync", strings.Repeat("x", 100) + "\nok\n", 8,
			[]readResult{{"", ErrLineTooLong}, {"ok", nil}, {"", io.EOF}}},
		{"two long lines", strings.Repeat("x", 50) + "\n" + strings.Repeat("y", 50) + "\nz\n", 8,
			[]readResult{{"", ErrLineTooLong}, {"", ErrLineTooLong}, {"z", nil}, {"", io.EOF}}},
		{"long line at eof", "ok\n" + strings.Repeat("x", 50), 8,
			[]readResult{{"ok", nil}, {"", ErrLineTooLong}, {"", io.EOF}}},
		{"partial line at eof", "ok\nabc", 8, []readResult{{"ok", nil}, {"", io.ErrUnexpectedEOF}}},
		{"default max", strings.Repeat("x", DefaultMaxLineLength) + "\n", 0,
			[]readResult{{strings.Repeat("x", DefaultMaxLineLength), nil}, {"", io.EOF}}},
		{"default max exceeded", strings.Repeat("x", DefaultMaxLineLength+1) + "\nok\n", 0,
			[]readResult{{"", ErrLineTooLong}, {"ok", nil}, {"", io.EOF}}},
	}
	for _, tc := range tests {
		for _, slow := range []bool{false, true} {
			name := tc.name
			var r io.Reader = strings.NewReader(tc.in)
			if slow {
				name += "/one byte reads"
				r = iotest.OneByteReader(r)
			}
			t.Run(name, func(t *testing.T) {
				got := readAll(NewLineReader(r, tc.max))
				if len(got) != len(tc.want) {
					t.Fatalf("got %d results %v, want %d %v", len(got), got, len(tc.want), tc.want)
				}
				for i := range got {
					if got[i].line != tc.want[i].line || !errors.Is(got[i].err, tc.want[i].err) {
						t.Errorf("result %d = (%q, %v), want (%q, %v)", i, got[i].line, got[i].err, tc.want[i].line, tc.want[i].err)
					}
				}
			})
		}
	}
}

func TestLineReaderReaderError(t *testing.T) {
	boom := errors.New("boom")
	lr := NewLineReader(io.MultiReader(strings.NewReader("a\n"), iotest.ErrReader(boom)), 8)
	if line, err := lr.ReadLine(); err != nil || string(line) != "a" {
		t.Fatalf("first = %q, %v", line, err)
	}
	if _, err := lr.ReadLine(); !errors.Is(err, boom) {
		t.Fatalf("second err = %v, want boom", err)
	}
}

// A caller that hands in a larger *bufio.Reader (bufio returns it as is)
// must still get the limit enforced.
func TestLineReaderLargerBufio(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader(strings.Repeat("x", 20)+"\nok\n"), 4096)
	lr := NewLineReader(br, 8)
	if _, err := lr.ReadLine(); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
	if line, err := lr.ReadLine(); err != nil || string(line) != "ok" {
		t.Fatalf("next = %q, %v", line, err)
	}
	if lr.MaxLineLength() != 8 {
		t.Fatalf("MaxLineLength = %d", lr.MaxLineLength())
	}
}

// repeatReader yields the same content forever.
type repeatReader struct {
	data []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

func TestLineReaderNoAllocs(t *testing.T) {
	line := `{"id": 5, "method": "mining.submit", "params": ["w", "1", "c7080000", "64b3f3ec", "ed460d91"]}` + "\n"
	lr := NewLineReader(&repeatReader{data: []byte(line)}, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := lr.ReadLine(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadLine allocates %v per line, want 0", allocs)
	}
}

func BenchmarkReadLine(b *testing.B) {
	line := `{"id": 5, "method": "mining.submit", "params": ["tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4.bitaxe3", "1", "c7080000", "64b3f3ec", "ed460d91", "00002000"]}` + "\n"
	lr := NewLineReader(&repeatReader{data: []byte(line)}, 0)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lr.ReadLine(); err != nil {
			b.Fatal(err)
		}
	}
}
