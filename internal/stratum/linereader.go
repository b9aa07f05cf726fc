package stratum

import (
	"bufio"
	"errors"
	"io"
)

// DefaultMaxLineLength is the longest line, without its terminator, that a
// LineReader accepts when NewLineReader is given a non-positive limit. Real
// miner requests are a few hundred bytes; 16 KiB leaves room for long worker
// names and mining.configure maps while bounding what one peer can pin.
const DefaultMaxLineLength = 16 << 10

// ErrLineTooLong is returned by LineReader.ReadLine when a line exceeds the
// reader's limit. The reader never buffers more than the limit (plus two
// bytes) of it; the next ReadLine call first discards the rest of that line
// (up to and including its newline) and then returns the following line, so
// a caller
// may answer with an error and keep the connection (resynchronise), or close
// it. The gateway's policy decides which.
var ErrLineTooLong = errors.New("stratum: line too long")

// LineReader reads newline-terminated lines from a stream with a hard bound
// on line length. It is not safe for concurrent use.
type LineReader struct {
	br         *bufio.Reader
	max        int
	discarding bool
}

// NewLineReader returns a LineReader on r that accepts lines of at most
// maxLen bytes (excluding the terminating "\n" or "\r\n"); maxLen <= 0 means
// DefaultMaxLineLength. Its buffer is allocated once, here.
func NewLineReader(r io.Reader, maxLen int) *LineReader {
	if maxLen <= 0 {
		maxLen = DefaultMaxLineLength
	}
	// One extra byte for the '\n', one for a '\r' before it.
	return &LineReader{br: bufio.NewReaderSize(r, maxLen+2), max: maxLen}
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
	for {
		if lr.discarding {
			if err := lr.discard(); err != nil {
				return nil, err
			}
		}
		line, err := lr.br.ReadSlice('\n')
		switch {
		case err == nil:
			line = line[:len(line)-1]
		case errors.Is(err, bufio.ErrBufferFull):
			lr.discarding = true
			return nil, ErrLineTooLong
		case errors.Is(err, io.EOF) && len(line) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > lr.max {
			// Only reachable when the wrapped reader was already a larger
			// *bufio.Reader; the whole line has been consumed.
			return nil, ErrLineTooLong
		}
		if len(line) == 0 {
			continue
		}
		return line, nil
	}
}

// discard drops input up to and including the next newline.
func (lr *LineReader) discard() error {
	for {
		_, err := lr.br.ReadSlice('\n')
		if err == nil {
			lr.discarding = false
			return nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				lr.discarding = false
			}
			return err
		}
	}
}
