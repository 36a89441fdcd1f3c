package splice

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/splicekit/splice/internal/rw"
)

// Copy is a drop-in replacement for io.Copy: it copies from src to dst until EOF
// or an error, and returns the number of bytes dst accepted and the first error,
// nil at EOF. Errors are the ones io.Copy would report for the same failure on
// the same pair: the same chain of *os.PathError, *net.OpError and
// *os.SyscallError (naming io.Copy's call, not Copy's) around the same errno,
// blaming the same side, so errors.Is and errors.As answer as they do
// for io.Copy. A write to fd 1 or 2 that fails with EPIPE raises SIGPIPE, as
// os.File.Write does.
//
// Where both sides are file descriptors, the bytes do not pass through user
// space: splice(2) moves them when either side is a pipe, and through a pooled
// pipe between sockets, files and devices (and from a Unix socket into an
// *os.File pipe, which measured faster); regular files go to stream sockets
// by sendfile(2) for their first 128 KiB and through the pooled pipe beyond
// (which measured faster from there), and to other regular files by
// copy_file_range(2). The exceptions
// are where read(2) and write(2) measured faster: chunks under 8 KiB out of a
// pipe, copies known to be under 8 KiB that would take the pooled pipe, and all
// but the first 64 KiB of a copy from a pipe to a *net.TCPConn. An
// *io.LimitedReader around a file descriptor is honoured exactly, and its N
// updated. Sockets that keep message boundaries (datagram, seqpacket) are
// never spliced into nor from. Everything else takes the read/write path,
// which keeps io.Copy's order (src's WriterTo, then dst's ReaderFrom, then a
// loop over a pooled buffer), except that the WriteTo and ReadFrom of *Pipe
// and of every syscall.Conn (*os.File, *net.TCPConn, *net.UnixConn, types that
// embed one) are replaced by the package's own loop: for the pairs that reach
// it they would only loop out of Unwritten's reach, or re-enter the kernel
// paths that the kernel refused (a sandbox refusing splice or sendfile fails
// io.Copy between two TCP sockets; it does not fail Copy). Plan tells which
// path a pair takes. The pooled pipes are bounded (SetMaxPipes): a copy that
// finds none to be had, or only one too small to pay for itself (the user's
// pipe-page budget spent), goes without: by read and write, or by sendfile
// from a regular file.
//
// Blocking operations park the goroutine in Go's poller, so deadlines set on
// either side fire during Copy.
func Copy(dst io.Writer, src io.Reader) (int64, error) {
	return (*Copier)(nil).Copy(dst, src)
}

// CopyN is a drop-in replacement for io.CopyN: it copies exactly n bytes, or
// fewer and an error (io.EOF if src ended first). It takes the same paths as Copy.
func CopyN(dst io.Writer, src io.Reader, n int64) (int64, error) {
	return (*Copier)(nil).CopyN(dst, src, n)
}

// Copier is Copy with knobs. A nil or zero Copier behaves exactly like Copy.
// A Copier may be used by several goroutines at once.
type Copier struct {
	// PipeSize is the capacity, in bytes, to give the pipe that carries bytes
	// between two fds of which neither is a pipe. 0 means the default policy: a
	// pooled pipe of 1 MiB, or MaxPipeSize if that is smaller. Any other value is
	// clamped to MaxPipeSize and rounded as the kernel rounds it, and the pipe
	// is made for the call. Sizes the kernel refuses never fail a copy. With
	// a pipe under 256 KiB (asked for, or all the kernel grants), a regular
	// file goes to a socket by sendfile throughout.
	PipeSize int

	// DisableSplice forces the read/write path, as on systems without splice:
	// no splice, sendfile or copy_file_range, also not through the standard
	// library's WriteTo and ReadFrom. Errors are then those of that path, as
	// io.Copy reports them where it reads and writes.
	DisableSplice bool

	// Progress, if set, is called after each chunk that dst accepted, with the
	// running total, from the goroutine calling Copy. (When dst's ReadFrom or
	// src's WriteTo does the copy, or copy_file_range does, it is called once at
	// the end.)
	Progress func(written int64)

	// Unwritten, if set, is called when dst fails, with the bytes that were
	// taken from src but not accepted by dst, before Copy returns: on every
	// path, so that written + len(unwritten) + what src still holds is all
	// src had. Without it those bytes are discarded. (A regular file source
	// whose bytes were in the pooled pipe gets them back instead: its offset
	// moves back over them, so it holds them still, as after io.Copy's
	// sendfile.) The slice is valid only during the call. (Only a WriterTo or
	// ReaderFrom of another package that does the copy keeps such bytes out
	// of its reach.) Progress and Unwritten may panic or call runtime.Goexit:
	// no pipe holding bytes is pooled.
	Unwritten func(data []byte)

	// DropFailed lets CopyMulti go on with the other destinations when one
	// fails, instead of stopping; see Copier.CopyMulti. Copy and CopyN
	// ignore it.
	DropFailed bool

	// NoCache keeps the copy from filling the page cache, for copies of files
	// bigger than the cache is worth spending on (backups, log shipping, file
	// serving): where src or dst is a regular file, its pages leave the cache
	// behind the copy, 8 MiB at a time. On the source, those already copied
	// are dropped (posix_fadvise DONTNEED); on a destination, write-back of
	// each step is started at once (sync_file_range), and waited for and its
	// pages dropped a step later, so that dirty pages never pile up. Pages of
	// the range copied that were in the cache before the copy are dropped too.
	// Kernel calls are then cut to a step, and Progress (which still gets
	// every total) is called after each; a copy that another package's
	// ReadFrom or WriteTo does (a bufio.Writer's, an http.ResponseWriter's)
	// is handed the file through a wrapper that advises every step, which
	// hides the file from that method's own fast path. The advice never fails a copy: the
	// bytes, the count and the errors are those of a copy without NoCache.
	// It applies to Copy, CopyN and CopyMulti; on systems other than Linux it
	// does nothing.
	NoCache bool

	// callMax, when positive, is the most bytes one kernel call of a direct
	// path is asked for (NoCache's step); nc is the NoCache copy's advice.
	callMax int
	nc      *noCache
}

// defaultCopier stands in for a nil *Copier.
var defaultCopier Copier

// Copy copies from src to dst as the package-level Copy does, with c's settings.
func (c *Copier) Copy(dst io.Writer, src io.Reader) (int64, error) {
	return c.copy(dst, src, 0, false)
}

// CopyN copies n bytes as the package-level CopyN does, with c's settings.
func (c *Copier) CopyN(dst io.Writer, src io.Reader, n int64) (int64, error) {
	written, err := c.copy(dst, src, n, true)
	if written == n {
		return n, nil
	}
	if written < n && err == nil {
		err = io.EOF // src stopped early, as io.CopyN reports it
	}
	return written, err
}

// copy copies from src to dst, at most n bytes if limited.
func (c *Copier) copy(dst io.Writer, src io.Reader, n int64, limited bool) (int64, error) {
	if c == nil {
		c = &defaultCopier
	}
	if c.NoCache {
		if cc, nc := c.withNoCache(src, dst); nc != nil {
			var written int64
			defer func() { nc.finish(written) }()
			var err error
			written, err = cc.copy(dst, src, n, limited)
			return written, err
		}
	}
	if !c.DisableSplice {
		written, handled, err := c.kernelCopy(dst, src, n, limited)
		if handled {
			return written, err
		}
	}
	if limited {
		src = io.LimitReader(src, n)
	}
	return c.readWrite(dst, src, 0)
}

// readWrite copies src to dst through user space, in io.Copy's order: src's
// WriteTo, then dst's ReadFrom, then a loop over a pooled buffer; base is the
// count already written by an earlier path, which Progress totals include.
//
// The WriteTo and ReadFrom of the fd types the kernel paths serve (loopsHere)
// are not called: for the pairs that reach this point they would only loop over
// read and write out of Unwritten's reach, or re-enter a zero-copy path that the
// kernel has just refused or that DisableSplice rules out (a sandbox refusing
// splice fails io.Copy between two TCP sockets; it must not fail Copy). The
// package's own loop copies those.
func (c *Copier) readWrite(dst io.Writer, src io.Reader, base int64) (int64, error) {
	if wt, ok := src.(io.WriterTo); ok && !loopsHere(src) {
		var d io.Writer = dst
		if c.nc != nil && len(c.nc.dsts) > 0 {
			d = &stepWriter{w: dst, nc: c.nc, n: base} // NoCache's rounds during the call
		}
		n, err := wt.WriteTo(d)
		c.delegated(base, n)
		return n, err
	}
	if rf, ok := dst.(io.ReaderFrom); ok && !loopsHere(dst) {
		var s io.Reader = src
		if c.nc != nil && c.nc.hasSrc {
			s = &stepReader{r: src, nc: c.nc, n: base}
		}
		n, err := rf.ReadFrom(s)
		c.delegated(base, n)
		return n, asStdLoop(dst, src, false, err)
	}
	buf := rw.GetBuffer()
	defer rw.PutBuffer(buf)
	h := rw.Hooks{Progress: c.Progress, Unwritten: c.Unwritten}
	_, written, err := h.Loop(dst, src, buf[:], -1, base)
	return written, asStdLoop(dst, src, true, closedAsCopyFileRange(dst, src, err))
}

// asStdLoop wraps an error of the package's loop as the standard library's
// TCPConn.ReadFrom and TCPConn.WriteTo wrap the errors of theirs, which io.Copy
// would have called for the pair: in a *net.OpError "readfrom" for a TCP
// destination, and around it "writeto" for a TCP source. readFrom is false when
// the loop was dst's own ReadFrom.
func asStdLoop(dst io.Writer, src io.Reader, readFrom bool, err error) error {
	if err == nil {
		return nil
	}
	if c, ok := dst.(*net.TCPConn); ok && readFrom {
		err = tcpOpErr("readfrom", c, err)
	}
	if c, ok := src.(*net.TCPConn); ok {
		err = tcpOpErr("writeto", c, err)
	}
	return err
}

// tcpOpErr wraps err as c's own ReadFrom or WriteTo does.
func tcpOpErr(op string, c *net.TCPConn, err error) error {
	return &net.OpError{Op: op, Net: tcpNetwork(c), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// tcpNetwork returns the network c was dialed or accepted on ("tcp", "tcp4" or
// "tcp6"), which the standard library's errors name and c's addresses do not: c
// reports it in the error of a ReadFrom that fails at once, reading one byte
// from a reader that fails and writing nothing. For error paths only.
func tcpNetwork(c *net.TCPConn) string {
	_, err := c.ReadFrom(&io.LimitedReader{R: failingReader{}, N: 1})
	if oe, ok := err.(*net.OpError); ok && oe.Net != "" {
		return oe.Net
	}
	return "tcp"
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errFailingRead }

var errFailingRead = errors.New("splice: no read")

// delegated reports the n bytes that another type's WriteTo or ReadFrom
// copied, once, to Progress.
func (c *Copier) delegated(base, n int64) {
	if n > 0 && c.Progress != nil {
		c.Progress(base + n)
	}
}

// loopsHere reports whether v is one of the types whose WriteTo or ReadFrom the
// read/write path replaces by its own loop: Pipe and every syscall.Conn (the
// fd types of the standard library, and types that embed one, whose promoted
// WriteTo and ReadFrom are the standard library's).
func loopsHere(v any) bool {
	switch v.(type) {
	case *Pipe, syscall.Conn:
		return true
	}
	return false
}

// unwrapLimited returns the reader inside an *io.LimitedReader and the
// LimitedReader, or r and nil.
func unwrapLimited(r io.Reader) (io.Reader, *io.LimitedReader) {
	if lr, ok := r.(*io.LimitedReader); ok {
		return lr.R, lr
	}
	return r, nil
}

// Method is a path Copy can take; Plan reports it.
type Method int

const (
	// MethodReadWrite copies through user space: src's WriteTo, dst's
	// ReadFrom, or a read/write loop over a pooled buffer.
	MethodReadWrite Method = iota
	// MethodSplice moves the bytes with splice(2): directly where either side
	// is a pipe, through a pooled pipe otherwise.
	MethodSplice
	// MethodCopyFileRange copies between regular files inside the kernel with
	// copy_file_range(2), as os.File.ReadFrom does.
	MethodCopyFileRange
	// MethodSendfile sends a regular file to a stream socket with sendfile(2).
	MethodSendfile
	// MethodVmsplice maps user memory into a pipe with vmsplice(2): a Writer's
	// path (Copy never takes it).
	MethodVmsplice
)

// String returns the name of the method's system call: "read/write", "splice",
// "copy_file_range", "sendfile" or "vmsplice".
func (m Method) String() string {
	switch m {
	case MethodSplice:
		return "splice"
	case MethodCopyFileRange:
		return "copy_file_range"
	case MethodSendfile:
		return "sendfile"
	case MethodVmsplice:
		return "vmsplice"
	}
	return "read/write"
}

// Plan reports which path Copy(dst, src) would try, without moving any data.
// It may make system calls to learn what kind of fds dst and src are, and, on
// Linux, for a regular file to a stream socket, how much of the file is left:
// MethodSplice when more than 128 KiB are (the first 128 KiB go by sendfile,
// the rest through the pooled pipe), MethodSendfile when less. Where the kernel
// refuses a planned path on the first call (a device without splice support,
// say), Copy falls back to MethodReadWrite without losing a byte.
func Plan(dst io.Writer, src io.Reader) Method {
	return defaultCopier.plan(dst, src)
}
