package splice

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
)

// Pipe is a kernel pipe buffer: a ring of page references that splice(2) fills
// from and drains to other fds, that tee(2) duplicates, and that vmsplice(2) maps
// user memory into. On systems other than Linux it is a pipe made by os.Pipe
// that moves bytes by read and write, and Tee and SetSize report
// errors.ErrUnsupported. On Linux both ends are created non-blocking and close-on-exec and are
// registered with Go's poller, so reads, writes and splices on a Pipe park the
// goroutine rather than a thread, and deadlines set on Reader() and Writer() apply
// to them.
//
// One goroutine may read (Read, WriteTo, Tee) while another writes (Write,
// ReadFrom). Close may be called from any goroutine and returns at once: it wakes
// operations waiting on p's own ends, which then fail with an error matching
// os.ErrClosed. A ReadFrom, WriteTo or Tee waiting on its other side (an idle
// socket, a full destination) holds nothing of p while it waits: it goes on
// waiting after Close, and fails with os.ErrClosed when that side becomes ready,
// or when that side's deadline passes. Likewise, closing the other side never waits
// for p. (The exception is another side that is a blocking socket or file
// outside Go's poller: the system call itself blocks on such an fd.)
//
// When dst fails, WriteTo leaves the bytes it did not deliver in the pipe (on
// Linux; elsewhere it reads a chunk of up to 32 KiB before writing it, and
// what dst refused of that chunk is lost, as with io.Copy). Copy
// with a Pipe as source may instead take bytes out by read(2) (small chunks, and
// to a *net.TCPConn all after the first 64 KiB) and hand what dst refused to
// Copier.Unwritten. WriteTo always splices, to TCP too, which is slower there
// for long streams (see README).
type Pipe struct {
	r, w   *os.File
	closed atomic.Bool
}

// The Pipe methods that are the same on every system.

// Reader returns the read end, for handing to code that wants an *os.File (an
// exec.Cmd's Stdin, say). It stays owned by p: closing it closes p's read end.
// Its Fd method, which exec.Cmd calls, switches the fd to blocking mode, as for
// an os.Pipe end, so that a child process gets the blocking pipe it expects;
// from then on the parent's reads from that end block a thread and its
// deadlines no longer apply. Hand an end to a child and then leave it to the
// child (close it in the parent once the child has started); never call Fd
// while p is in use.
func (p *Pipe) Reader() *os.File { return p.r }

// Writer returns the write end; see Reader. Closing it has the effect of CloseWrite.
func (p *Pipe) Writer() *os.File { return p.w }

// Read reads buffered bytes, waiting for some when the pipe is empty. It returns
// io.EOF once the pipe is empty and its write end is closed.
func (p *Pipe) Read(b []byte) (int, error) { return p.r.Read(b) }

// Write writes b, waiting for room as needed; the write is atomic when len(b) is
// at most PIPE_BUF (4096 bytes on Linux, 512 on Darwin and the BSDs). Writing to a pipe whose read end is closed fails
// with an error matching syscall.EPIPE (on Linux and the BSDs).
func (p *Pipe) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	return n, p.closing("write", p.w, err)
}

// closing replaces err by os.ErrClosed, as end's own methods report it, when p
// was closed under the operation: Close closes the read end first, and a
// writer woken by that sees EPIPE before it sees its own end closed.
func (p *Pipe) closing(op string, end *os.File, err error) error {
	if err != nil && err != io.EOF && p.closed.Load() && !errors.Is(err, os.ErrClosed) {
		return &os.PathError{Op: op, Path: end.Name(), Err: os.ErrClosed}
	}
	return err
}

// CloseWrite closes the write end: once the buffered bytes are read, readers see
// EOF. Calling it again returns an error matching os.ErrClosed.
func (p *Pipe) CloseWrite() error { return p.w.Close() }

// Close closes both ends, waking any goroutine blocked on either with an error
// matching os.ErrClosed; bytes still buffered are discarded. It is safe to call
// more than once: later calls return an error matching os.ErrClosed. Every other
// method fails once p is closed.
func (p *Pipe) Close() error {
	if p.closed.Swap(true) {
		return &os.PathError{Op: "close", Path: "pipe", Err: os.ErrClosed}
	}
	err := p.r.Close()
	if werr := p.w.Close(); werr != nil && !isClosed(werr) && err == nil {
		err = werr
	}
	return err
}

func isClosed(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err == os.ErrClosed
}

// owns reports whether v is p or one of its ends: a copy between a pipe and
// itself would cycle its own bytes forever.
func (p *Pipe) owns(v any) bool {
	switch x := v.(type) {
	case *Pipe:
		return x == p
	case *os.File:
		return x == p.r || x == p.w
	}
	return false
}
