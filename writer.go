package splice

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// Writer is a buffered io.Writer, like bufio.Writer, that hands its buffered
// bytes to the kernel with vmsplice(2) instead of copying them into a pipe.
//
// On Linux, when dst is a pipe (an *os.File, a *Pipe) the Writer's buffer is
// memory mapped outside Go's heap, page-aligned, twice the pipe's size; its
// bytes are mapped into the pipe, not copied, and the memory is written again
// only once the kernel shows that the bytes it held have left the pipe (see
// the invariant in writer_linux.go). When dst is a regular file, the Writer
// vmsplices into a pipe of its own and splices that into the file, whose page
// cache copies the bytes. For every other destination (sockets, writers
// without an fd), on other systems, where a sandbox refuses vmsplice, and on a
// kernel whose vmsplice copies instead of mapping (probed once, at the first
// Writer that could use it), the Writer is an ordinary buffered writer that
// writes with dst.Write. Method tells which. The bytes dst receives are the
// same on every path, and the same as a bufio.Writer's.
//
// WARNING: on a pipe, the caller vouches for the pipe's consumer. A consumer
// that reads the pipe with read(2) (as io.Copy into a buffer, bufio.Reader,
// os.File.Read do), or splices it into a regular file, copies the bytes out and
// ends the sharing. A
// consumer that splices or tees the pipe on to another pipe or to a socket
// (splice.Copy or io.Copy to a socket, socat, a proxy, `pv`) takes the page
// references with it: the kernel then still refers to the Writer's memory after
// the pipe has been drained, and the Writer, which cannot see that, writes
// later bytes over bytes that have not reached their destination yet. That
// consumer receives corrupted data. Give such a pipe to bufio.Writer instead,
// or wrap dst so that it is no *os.File (struct{ io.Writer }{f}): the Writer
// then copies.
//
// Write, WriteString, WriteByte, Buffered, Available, Flush and Close behave
// as bufio.Writer's: a write error sticks, and every later call returns it;
// Flush writes everything buffered; Close flushes, releases the buffer and the
// Writer's own pipe, and never closes dst. A flush of at most PIPE_BUF (4096)
// bytes into a pipe is written with dst.Write, as bufio's is, so that it is
// atomic among the pipe's writers and shares the pipe's pages (after a Flush
// such a Write always fits whole); of a bigger one only whole pages are
// vmspliced, and the parts before and after them written. On the
// vmsplice path the buffer is handed over a part at a time (a quarter of the
// pipe's size into a pipe, the Writer's pipe into a file), which Available
// reports, and a Write bigger than that is buffered part by part, never sent
// from the caller's memory: when dst fails, its count includes the bytes it
// left buffered (Buffered says how many), where bufio's direct write of an
// empty buffer counts only those dst took. A deadline set on dst applies to the
// writes a Writer makes. A Writer dropped without Close releases its memory
// and pipe when it is collected, but its buffered bytes are lost, as a
// bufio.Writer's are. A Writer is not safe for concurrent use.
type Writer struct {
	dst io.Writer
	// buf[:n] are the buffered bytes; buf[n:] is where the next ones go. On
	// the vmsplice path buf is a window of the mapped ring (see vmWriter).
	buf []byte
	n   int
	err error
	vm  *vmWriter // nil: the copying path
	// size is the buffer size of the copying path.
	size    int
	cleanup runtime.Cleanup
}

// errWriterClosed is what a Writer returns once closed.
var errWriterClosed = fmt.Errorf("splice: Writer is closed: %w", os.ErrClosed)

// defaultWriterPipeSize is the pipe size NewWriter asks for.
const defaultWriterPipeSize = 1 << 20

// NewWriter returns a Writer for dst with the default pipe size: 1 MiB, limited
// to MaxPipeSize (a pipe dst already bigger is left as it is, and the buffer
// follows it). It fails only if dst is nil.
func NewWriter(dst io.Writer) (*Writer, error) {
	return newWriter(dst, 0)
}

// NewWriterSize is NewWriter with the given pipe size. When dst is a pipe, it
// is resized to pipeSize with F_SETPIPE_SZ (rounded up by the kernel to a
// power-of-two number of pages); when the kernel grants another size, or
// refuses, the buffer follows the pipe's size as the kernel reports it. The
// buffer is twice the pipe size on the vmsplice path, and pipeSize bytes
// otherwise. A pipeSize of zero or less means the default; one above 2 GiB,
// the most a pipe can hold, is refused.
func NewWriterSize(dst io.Writer, pipeSize int) (*Writer, error) {
	if uint64(max(pipeSize, 0)) > maxPipeRequest {
		return nil, fmt.Errorf("splice: NewWriterSize: pipe size %d is above 2 GiB", pipeSize)
	}
	return newWriter(dst, max(pipeSize, 0))
}

func newWriter(dst io.Writer, pipeSize int) (*Writer, error) {
	if dst == nil || isNilWriter(dst) {
		return nil, errors.New("splice: NewWriter: nil destination")
	}
	w := &Writer{dst: dst, size: pipeSize}
	if w.size == 0 {
		w.size = min(defaultWriterPipeSize, MaxPipeSize())
	}
	if vm := newVMWriter(dst, pipeSize); vm != nil {
		if w.buf = vm.window(); w.buf != nil {
			w.vm = vm
			w.cleanup = runtime.AddCleanup(w, (*vmWriter).release, vm)
		} else {
			vm.release()
		}
	}
	if w.vm == nil {
		w.buf = make([]byte, w.size)
	}
	return w, nil
}

// isNilWriter reports whether dst is a nil pointer of a type the package unwraps.
func isNilWriter(dst io.Writer) bool {
	switch d := dst.(type) {
	case *os.File:
		return d == nil
	case *Pipe:
		return d == nil
	}
	return false
}

// Method reports the path the Writer's buffered bytes take: MethodVmsplice, or
// MethodReadWrite where they are written with dst.Write. A Writer may move
// from the first to the second (a sandbox refusing vmsplice, a destination
// the kernel will not splice into), never back.
func (w *Writer) Method() Method {
	if w.vm != nil {
		return MethodVmsplice
	}
	return MethodReadWrite
}

// Buffered returns the number of bytes written to w but not yet handed to dst.
func (w *Writer) Buffered() int { return w.n }

// Available returns how many bytes can be written before the Writer next
// hands its buffer to dst.
func (w *Writer) Available() int { return len(w.buf) - w.n }

// Write writes p into the buffer, handing it to dst whenever it is full. It
// returns len(p), or, when dst failed, how many of p's bytes were taken and
// the error, which sticks.
func (w *Writer) Write(p []byte) (int, error) {
	if len(p) <= len(w.buf)-w.n && w.err == nil {
		w.n += copy(w.buf[w.n:], p) // the common case
		return len(p), nil
	}
	return write(w, p, (*Writer).writeBytes)
}

// WriteString is Write for a string.
func (w *Writer) WriteString(s string) (int, error) {
	if len(s) <= len(w.buf)-w.n && w.err == nil {
		w.n += copy(w.buf[w.n:], s)
		return len(s), nil
	}
	return write(w, s, (*Writer).writeString)
}

// write is Write and WriteString: bufio.Writer's loop. On the copying path a
// write bigger than the buffer, into an empty buffer, goes to dst directly
// when direct can take it there.
func write[T string | []byte](w *Writer, p T, direct func(*Writer, T) (int, bool)) (nn int, err error) {
	for len(p) > len(w.buf)-w.n && w.err == nil {
		m, ok := 0, false
		if w.n == 0 && w.vm == nil {
			m, ok = direct(w, p)
		}
		if !ok {
			m = copy(w.buf[w.n:], p)
			w.n += m
			w.flush()
		}
		nn += m
		p = p[m:]
	}
	if w.err != nil {
		return nn, w.err
	}
	m := copy(w.buf[w.n:], p)
	w.n += m
	return nn + m, nil
}

// writeBytes writes p to dst unbuffered, as bufio.Writer does for a big write.
func (w *Writer) writeBytes(p []byte) (n int, ok bool) {
	n, w.err = w.dst.Write(p)
	return n, true
}

// writeString is writeBytes for a string, when dst is an io.StringWriter; bufio
// copies it through the buffer otherwise.
func (w *Writer) writeString(s string) (n int, ok bool) {
	sw, ok := w.dst.(io.StringWriter)
	if ok {
		n, w.err = sw.WriteString(s)
	}
	return n, ok
}

// WriteByte writes one byte.
func (w *Writer) WriteByte(c byte) error {
	if w.err != nil {
		return w.err
	}
	if w.n >= len(w.buf) && w.flush() != nil {
		return w.err
	}
	w.buf[w.n] = c
	w.n++
	return nil
}

// Flush hands every buffered byte to dst: into the pipe on the vmsplice path
// (it returns once they are in the pipe, not once they are read), into the
// file, or through dst.Write.
func (w *Writer) Flush() error {
	return w.flush()
}

// flush hands the buffered bytes to dst and leaves w.buf with room for more.
func (w *Writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if w.vm != nil {
		if w.vm.flush(w) {
			return w.err
		}
		w.toCopying()
	}
	if w.n == 0 {
		return nil
	}
	n, err := w.dst.Write(w.buf[:w.n])
	if n < w.n && err == nil {
		err = io.ErrShortWrite
	}
	if err != nil {
		if n > 0 && n < w.n {
			copy(w.buf, w.buf[n:w.n])
		}
		w.n -= n
		w.err = err
		return err
	}
	w.n = 0
	return nil
}

// toCopying moves the Writer to the copying path for good (vmsplice was
// refused): the buffered bytes move into a heap buffer and the mapped memory
// is released, which is safe with pages of it still in a pipe.
func (w *Writer) toCopying() {
	buf := make([]byte, max(w.size, w.n))
	w.n = copy(buf, w.buf[:w.n])
	w.buf = buf
	w.release()
}

// release releases the mapped memory and the Writer's own pipe.
func (w *Writer) release() {
	if w.vm != nil {
		w.cleanup.Stop()
		w.vm.release()
		w.vm = nil
	}
}

// Close flushes w, releases its buffer and its own pipe, and returns the first
// error of the flush (or the error that stuck before). It never closes dst.
// Later calls, and every other method, return an error matching os.ErrClosed.
func (w *Writer) Close() error {
	if w.err == errWriterClosed {
		return w.err
	}
	err := w.flush()
	w.release()
	w.buf, w.n, w.err = nil, 0, errWriterClosed
	return err
}
