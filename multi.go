package splice

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"

	"github.com/splicekit/splice/internal/rw"
)

// CopyMulti copies src to every dst until EOF or an error: a zero-copy
// io.MultiWriter. It is (*Copier)(nil).CopyMulti; see Copier.CopyMulti.
func CopyMulti(src io.Reader, dsts ...io.Writer) (int64, error) {
	return (*Copier)(nil).CopyMulti(src, dsts...)
}

// DestError is the failure of one destination of a CopyMulti.
type DestError struct {
	Index   int   // the destination's position in the list given to CopyMulti
	Written int64 // the bytes it accepted: the first Written bytes of the copy
	Err     error // its error, as its own Write reports it
}

func (e *DestError) Error() string {
	return fmt.Sprintf("splice: destination %d failed after %d bytes: %v", e.Index, e.Written, e.Err)
}

// Unwrap returns Err, so that errors.Is and errors.As see through a DestError.
func (e *DestError) Unwrap() error { return e.Err }

// CopyMulti copies src to every dst until EOF or an error, as
// io.Copy(io.MultiWriter(dsts...), src) does, and returns the number of bytes
// taken from src. On Linux, where src and at least one destination are file
// descriptors, the bytes do not pass through user space: they are spliced
// from src into a pipe (or, if src is a pipe, left in it), duplicated with
// tee(2) into each destination that is a pipe, and into an engine pipe of its
// own for each other destination, which splice(2) empties into it; the last
// destination takes the source pipe's own pages. A destination that is no
// file descriptor (or refuses splice) gets its copy read out of such a pipe
// and written to it. Everything else (src no file descriptor, no destination
// one, an *io.LimitedReader with less than 8 KiB to give, DisableSplice, other
// systems) runs a loop over a pooled buffer, as
// io.Copy does over an io.MultiWriter, with src's WriterTo where it has one of
// another package's.
//
// The destinations move in lockstep: a chunk of at most a pipe's worth is
// handed to every destination before the next is taken from src, so a slow
// destination slows the copy, and the memory in use is the pipes' (one per
// destination, of c's PipeSize), whatever the speeds. Deadlines set on src or
// on a destination fire as they do for Copy; a destination whose deadline
// fires fails like any other.
//
// When a destination fails, the bytes already taken from src are still handed
// to every other destination, so that they all end at the same byte: each
// destination that is not named in the error has received exactly the
// returned count of bytes, and a destination named in a *DestError exactly
// its first Written bytes. Without DropFailed, CopyMulti then returns that
// *DestError (errors.Join of one for each destination that failed with the
// same chunk). With DropFailed, the destination is cut out and the copy goes
// on to EOF with the others; the error joins, with errors.Join and in Index
// order, one *DestError for each destination that failed, and then src's
// error if it failed too; with every destination failed, the copy stops.
// An error of src alone is returned as io.Copy over an io.MultiWriter would
// return it. Unwritten is not used: a failed destination's bytes are the
// returned count past its Written. Progress is called after each chunk with
// the returned count so far. An *io.LimitedReader around src is honoured and
// its N updated, as by Copy.
//
// src must not be read or closed by anyone else during the copy: if it is,
// CopyMulti fails with src's error, and the destinations may differ by the
// chunk in hand (at most a pipe's worth).
//
// The same destination given twice gets the bytes twice, chunk after chunk,
// as from io.MultiWriter; with no destination CopyMulti is
// Copy(io.Discard, src). A nil destination fails as its index, before any
// byte is taken.
func (c *Copier) CopyMulti(src io.Reader, dsts ...io.Writer) (int64, error) {
	if c == nil {
		c = &defaultCopier
	}
	if len(dsts) == 0 {
		return c.Copy(io.Discard, src)
	}
	f := &fanout{c: c, dsts: dsts, written: make([]int64, len(dsts)), dead: make([]bool, len(dsts)), alive: len(dsts)}
	for i, d := range dsts {
		if d == nil {
			return 0, &DestError{Index: i, Err: errNilDest}
		}
	}
	if c.NoCache {
		if cc, nc := c.withNoCache(src, dsts...); nc != nil {
			nc.written = func(i int) int64 { return f.written[i] }
			defer func() { nc.finish(f.total) }()
			c, f.c = cc, cc
		}
	}
	if !c.DisableSplice {
		if n, handled, err := c.kernelMulti(f, src); handled {
			return n, err
		}
	}
	return f.loop(src, 0)
}

var errNilDest = errors.New("splice: nil destination")

// A fanout is the state of one CopyMulti that is the same on every path: the
// destinations, what each accepted, and which failed.
type fanout struct {
	c       *Copier
	dsts    []io.Writer
	written []int64 // what each destination accepted
	dead    []bool
	alive   int
	total   int64   // bytes taken from src, all delivered to every live destination
	failed  []error // one *DestError per failed destination, in the order they failed
	srcErr  error   // how src failed
	stop    bool    // a destination failed and DropFailed is off
}

// fail records the failure of destination i, which accepted n bytes of the
// chunk in hand.
func (f *fanout) fail(i int, n int64, err error) {
	f.written[i] += n
	f.dead[i] = true
	f.alive--
	f.failed = append(f.failed, &DestError{Index: i, Written: f.written[i], Err: err})
	if !f.c.DropFailed {
		f.stop = true
	}
}

// done reports whether the copy must stop after the chunk in hand.
func (f *fanout) done() bool { return f.stop || f.alive == 0 }

// advance counts a chunk of n bytes that every live destination has.
func (f *fanout) advance(n int64) {
	f.total += n
	for i := range f.written {
		if !f.dead[i] {
			f.written[i] += n
		}
	}
	if n > 0 && f.c.Progress != nil {
		f.c.Progress(f.total)
	}
}

// err is the copy's error: the destinations' failures and src's, joined when
// there is more than one.
func (f *fanout) err() error {
	errs := f.failed
	slices.SortStableFunc(errs, func(a, b error) int { return a.(*DestError).Index - b.(*DestError).Index })
	if f.srcErr != nil {
		errs = append(errs[:len(errs):len(errs)], f.srcErr)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// srcFailed records how src failed, shaped as io.Copy over an io.MultiWriter
// reports it: a *net.TCPConn's WriteTo wraps its Read's error.
func (f *fanout) srcFailed(src io.Reader, err error) {
	switch c := src.(type) {
	case *net.TCPConn:
		err = tcpOpErr("writeto", c, err)
	case *Pipe:
		err = c.closing("read", c.r, err) // as c.Read reports it
	}
	f.srcErr = err
}

// loop copies the rest of src through user space, base bytes after the start,
// in io.Copy's order: src's WriterTo (unless it is one the read/write path
// replaces, see loopsHere), else a loop over a pooled buffer.
func (f *fanout) loop(src io.Reader, base int64) (int64, error) {
	mw := multiWriter{f}
	var err error
	if wt, ok := src.(io.WriterTo); ok && !loopsHere(src) {
		_, err = wt.WriteTo(mw)
	} else {
		buf := rw.GetBuffer()
		defer rw.PutBuffer(buf)
		_, _, err = rw.Hooks{}.Loop(mw, src, buf[:], -1, base)
	}
	if err != nil && !errors.Is(err, errMultiStop) {
		f.srcFailed(src, err)
	}
	return f.total, f.err()
}

// errMultiStop ends the loop once the destinations say so; the fanout holds
// the errors.
var errMultiStop = errors.New("splice: CopyMulti stopped")

// multiWriter is the fanout as an io.Writer: each Write hands p to every live
// destination, whatever fails.
type multiWriter struct{ f *fanout }

func (mw multiWriter) Write(p []byte) (int, error) {
	f := mw.f
	for i, d := range f.dsts {
		if f.dead[i] {
			continue
		}
		if n, err := rw.Write(d, p); err != nil {
			f.fail(i, int64(n), err)
		}
	}
	f.advance(int64(len(p)))
	if f.done() {
		return len(p), errMultiStop
	}
	return len(p), nil
}
