// Package rw is one round of io.Copy's read/write loop, shared by the fallback
// engine and the splice engine's small-chunk path so that both count bytes,
// report errors and call a Copier's hooks exactly as io.Copy's loop would.
package rw

import (
	"errors"
	"io"
	"strings"
	"sync"
)

// BufferSize is the size of the pooled buffers, io.Copy's own.
const BufferSize = 32 << 10

var bufPool = sync.Pool{New: func() any { return new([BufferSize]byte) }}

// GetBuffer takes a BufferSize buffer from a pool shared by the fallback
// engine and the splice engine; PutBuffer gives it back.
func GetBuffer() *[BufferSize]byte { return bufPool.Get().(*[BufferSize]byte) }

// PutBuffer returns a buffer taken with GetBuffer.
func PutBuffer(b *[BufferSize]byte) { bufPool.Put(b) }

// ErrInvalidWrite is io's own unexported errInvalidWrite, which io.Copy returns
// when a Writer reports more bytes written than it was given, or fewer than
// none: learnt from io.Copy itself, so that errors.Is matches what io.Copy
// returns.
var ErrInvalidWrite = func() error {
	_, err := io.Copy(invalidWriter{}, struct{ io.Reader }{strings.NewReader("x")})
	if err == nil {
		return errors.New("invalid write result")
	}
	return err
}()

// invalidWriter claims to have written more than it was given.
type invalidWriter struct{}

func (invalidWriter) Write(p []byte) (int, error) { return len(p) + 1, nil }

// Hooks are a copy's reports: Progress gets the running total after each chunk
// dst accepted (a partial one too, before dst's error); Unwritten gets the bytes
// read from src but not accepted when dst fails. Either may be nil.
type Hooks struct {
	Progress  func(written int64)
	Unwritten func(data []byte)
}

// Step reads once from src into buf and writes what it read to dst, as one
// round of io.Copy, and reports to h; written is the copy's total before this
// round. nr is what src gave, nw what dst accepted; werr is dst's error (see
// Write); rerr is src's error, io.EOF included. A copy ends on werr first, then
// on rerr.
func (h Hooks) Step(dst io.Writer, src io.Reader, buf []byte, written int64) (nr, nw int, rerr, werr error) {
	nr, rerr = src.Read(buf)
	if nr <= 0 {
		return 0, 0, rerr, nil
	}
	nw, werr = Write(dst, buf[:nr])
	if nw > 0 && h.Progress != nil {
		h.Progress(written + int64(nw))
	}
	if werr != nil && nw < nr && h.Unwritten != nil {
		h.Unwritten(buf[nw:nr])
	}
	return nr, nw, rerr, werr
}

// Loop runs Step through buf until src ends, a side fails, or, if limit is not
// negative, limit bytes were read: io.Copy's loop (io.CopyN's with a limit).
// base is the copy's total before the loop, for Progress. It returns what src
// gave and what dst accepted in the loop, and the first error, nil at EOF.
func (h Hooks) Loop(dst io.Writer, src io.Reader, buf []byte, limit, base int64) (read, written int64, err error) {
	for limit < 0 || read < limit {
		b := buf
		if limit >= 0 && limit-read < int64(len(b)) {
			b = b[:limit-read]
		}
		nr, nw, rerr, werr := h.Step(dst, src, b, base+written)
		read += int64(nr)
		written += int64(nw)
		switch {
		case werr != nil:
			return read, written, werr
		case rerr == io.EOF:
			return read, written, nil
		case rerr != nil:
			return read, written, rerr
		}
	}
	return read, written, nil
}

// Write writes p to dst once, as io.Copy's loop does: the count is what dst
// accepted, 0 with ErrInvalidWrite if dst reported an impossible count, and a
// short write without an error is io.ErrShortWrite.
func Write(dst io.Writer, p []byte) (int, error) {
	n, err := dst.Write(p)
	if n < 0 || n > len(p) {
		n = 0
		if err == nil {
			err = ErrInvalidWrite
		}
	}
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	return n, err
}
