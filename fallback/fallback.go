// Package fallback is the portable read/write copy engine behind splice.Copy: what
// runs where the kernel cannot splice (another GOOS, a reader that is not an fd, a
// pair the kernel refuses). It keeps io.Copy's contract and order exactly: the
// source's io.WriterTo, then the destination's io.ReaderFrom, then a read/write
// loop. It differs from io.Copy in two ways: its buffers come from a pool instead
// of a fresh 32 KiB allocation per call, and a Copier can report progress and hand
// back the bytes a failing destination did not accept.
package fallback

import (
	"io"

	"github.com/splicekit/splice/internal/rw"
)

// BufferSize is the size of the pooled buffers, io.Copy's own. Every Read and Write
// the loop makes is at most this long, well below the 1 GiB that some systems
// (Darwin, FreeBSD) refuse in a single call.
const BufferSize = rw.BufferSize

// Copy is io.Copy with a pooled buffer: same order of fast paths, same count, same
// errors (nil at EOF).
func Copy(dst io.Writer, src io.Reader) (int64, error) {
	return (*Copier)(nil).Copy(dst, src)
}

// CopyN is io.CopyN with a pooled buffer: it copies exactly n bytes or returns an
// error, io.EOF if src ended early.
func CopyN(dst io.Writer, src io.Reader, n int64) (int64, error) {
	return (*Copier)(nil).CopyN(dst, src, n)
}

// ReadWrite copies from src to dst with Read and Write only: it never calls
// src.WriteTo nor dst.ReadFrom. It is for the implementations of those methods,
// which would otherwise be called again from inside themselves.
func ReadWrite(dst io.Writer, src io.Reader) (int64, error) {
	return (*Copier)(nil).ReadWrite(dst, src)
}

// Copier is Copy with hooks. A nil or zero Copier behaves exactly like Copy.
type Copier struct {
	// Progress, if set, is called with the running total after every chunk that
	// dst accepted (once, at the end, when src.WriteTo or dst.ReadFrom did the
	// copy).
	Progress func(written int64)
	// Unwritten, if set, is called when dst fails or writes short in the read/write
	// loop, with the bytes that were read from src but not accepted by dst. The
	// slice is only valid during the call. (When src.WriteTo or dst.ReadFrom does
	// the copy, those bytes stay theirs to account for.)
	Unwritten func(data []byte)
}

// zero stands in for a nil *Copier.
var zero Copier

// Copy copies from src to dst as io.Copy does.
func (c *Copier) Copy(dst io.Writer, src io.Reader) (int64, error) {
	if wt, ok := src.(io.WriterTo); ok {
		return c.done(wt.WriteTo(dst))
	}
	if rf, ok := dst.(io.ReaderFrom); ok {
		return c.done(rf.ReadFrom(src))
	}
	return c.ReadWrite(dst, src)
}

// CopyN copies exactly n bytes as io.CopyN does.
func (c *Copier) CopyN(dst io.Writer, src io.Reader, n int64) (int64, error) {
	written, err := c.Copy(dst, io.LimitReader(src, n))
	if written == n {
		return n, nil
	}
	if written < n && err == nil {
		err = io.EOF // src stopped early
	}
	return written, err
}

// done reports the outcome of a WriteTo or ReadFrom to Progress.
func (c *Copier) done(n int64, err error) (int64, error) {
	if c != nil && c.Progress != nil && n > 0 {
		c.Progress(n)
	}
	return n, err
}

// ReadWrite is the read/write loop alone; see the function ReadWrite.
func (c *Copier) ReadWrite(dst io.Writer, src io.Reader) (written int64, err error) {
	if c == nil {
		c = &zero
	}
	buf := rw.GetBuffer()
	defer rw.PutBuffer(buf)
	h := rw.Hooks{Progress: c.Progress, Unwritten: c.Unwritten}
	_, written, err = h.Loop(dst, src, buf[:], -1, 0)
	return written, err
}
