package stratum

import (
	"bytes"
	"errors"
	"io"
)

// DefaultMaxLineLength is the longest line, without its terminator, that a
// LineReader accepts when NewLineReader is given a non-positive limit. Real
// miner requests are a few hundred bytes; 16 KiB leaves room for long worker
// names and mining.configure maps while bounding what one peer can pin.
const DefaultMaxLineLength = 16 << 10

// initialLineBuffer is the buffer a LineReader starts with: every ordinary
// Stratum line fits, so an idle connection pins this much, not its limit.
const initialLineBuffer = 512

// ErrLineTooLong is returned by LineReader.ReadLine when a line exceeds the
// reader's limit. The reader never buffers more than the limit (plus two
// bytes) of it; the next ReadLine call first discards the rest of that line
// (up to and including its newline) and then returns the following line, so
// a caller may answer with an error and keep the connection (resynchronise),
// or close it. The gateway's policy decides which.
var ErrLineTooLong = errors.New("stratum: line too long")

// LineReader reads newline-terminated lines from a stream with a hard bound
// on line length. Its buffer starts small and grows (doubling) only while a
// longer line is being read, up to the limit plus two bytes; it goes back to
// the small size once that line has been consumed. It is not safe for
// concurrent use.
type LineReader struct {
	r          io.Reader
	buf        []byte
	start, end int // unread input is buf[start:end]
	scanned    int // bytes of buf[start:end] known to hold no '\n'
	max        int
	err        error // read error to report once the buffer is drained
	discarding bool
}

// NewLineReader returns a LineReader on r that accepts lines of at most
// maxLen bytes (excluding the terminating "\n" or "\r\n"); maxLen <= 0 means
// DefaultMaxLineLength.
func NewLineReader(r io.Reader, maxLen int) *LineReader {
	if maxLen <= 0 {
		maxLen = DefaultMaxLineLength
	}
	return &LineReader{r: r, max: maxLen}
}

// MaxLineLength reports the reader's limit.
func (lr *LineReader) MaxLineLength() int { return lr.max }

// ReadLine returns the next non-empty line without its terminator ("\n" or
// "\r\n"). The returned slice aliases the reader's buffer and is valid only
// until the next call; steady-state reads allocate nothing.
//
// Errors: ErrLineTooLong (see its doc for resynchronisation), io.EOF at a
// clean end of stream, io.ErrUnexpectedEOF when the stream ends inside a line
// (the partial line is dropped: an unterminated request is never acted on),
// or the underlying reader's error.
func (lr *LineReader) ReadLine() ([]byte, error) {
	if lr.start == lr.end && len(lr.buf) > initialLineBuffer {
		lr.buf, lr.start, lr.end, lr.scanned = nil, 0, 0, 0 // a long line is over: shrink back
	}
	empty := 0
	for {
		if data := lr.buf[lr.start:lr.end]; len(data) > lr.scanned {
			if i := bytes.IndexByte(data[lr.scanned:], '\n'); i >= 0 {
				line := data[:lr.scanned+i]
				lr.start += len(line) + 1
				lr.scanned = 0
				if lr.discarding {
					lr.discarding = false
					continue
				}
				if n := len(line); n > 0 && line[n-1] == '\r' {
					line = line[:n-1]
				}
				if len(line) > lr.max {
					return nil, ErrLineTooLong
				}
				if len(line) == 0 {
					continue
				}
				return line, nil
			}
			lr.scanned = len(data)
		}
		// No complete line buffered.
		pending := lr.end - lr.start
		if lr.discarding && pending > 0 {
			lr.start, lr.end, lr.scanned, pending = 0, 0, 0, 0
		}
		if pending >= lr.max+2 {
			lr.discarding = true
			lr.start, lr.end, lr.scanned = 0, 0, 0
			return nil, ErrLineTooLong
		}
		if lr.err != nil {
			err := lr.err
			lr.err = nil
			lr.start, lr.end, lr.scanned = 0, 0, 0
			switch {
			case lr.discarding:
				lr.discarding = false
			case pending > 0 && errors.Is(err, io.EOF):
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if lr.start > 0 {
			copy(lr.buf, lr.buf[lr.start:lr.end])
			lr.end -= lr.start
			lr.start = 0
		}
		if lr.end == len(lr.buf) {
			size := min(max(initialLineBuffer, 2*len(lr.buf)), lr.max+2)
			grown := make([]byte, size)
			copy(grown, lr.buf[:lr.end])
			lr.buf = grown
		}
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += n
		lr.err = err
		if n == 0 && err == nil {
			if empty++; empty >= 100 {
				lr.err = io.ErrNoProgress
			}
		}
	}
}
