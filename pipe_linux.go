//go:build !splice_portable

package splice

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice/fallback"
	"github.com/splicekit/splice/internal/rw"
)

// Pipe's Linux methods: a pipe2(2) pipe whose ends are in Go's poller.

// NewPipe returns a new pipe of the system's default capacity (64 KiB on most
// Linux systems); SetSize changes it.
//
// The pipe is made by os.Pipe: pipe2(2) with O_CLOEXEC, the ends switched to
// non-blocking mode and registered with the poller by package os, which then
// knows that it set O_NONBLOCK itself. So an end's Fd method, which exec.Cmd
// calls on a Stdin or Stdout it is given, hands out a blocking fd, as for
// os.Pipe. (A pipe made non-blocking by pipe2 and given to os.NewFile would
// stay non-blocking in the child, which few programs expect: a cat would fail
// with EAGAIN as soon as the pipe was empty.)
func NewPipe() (*Pipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err // an *os.SyscallError naming pipe2, as os.Pipe makes it
	}
	return &Pipe{r: r, w: w}, nil
}

// end returns the read (or, with w set, the write) end as a splice endpoint.
func (p *Pipe) end(w bool) endpoint {
	if w {
		return endpoint{file: p.w, name: p.w.Name(), kind: kindPipe, blocking: no}
	}
	return endpoint{file: p.r, name: p.r.Name(), kind: kindPipe, blocking: no}
}

// ReadFrom implements io.ReaderFrom: it moves everything src yields into the pipe
// until src reports EOF, waiting for room as readers drain the pipe.
//
// When src is an fd (a *Pipe, an *os.File, a stream *net.TCPConn or
// *net.UnixConn, any syscall.Conn) it splices, and the bytes never enter user
// space; an *io.LimitedReader around one is honoured exactly and its N updated.
// Otherwise, or when the kernel refuses to splice src, it reads and writes through
// a pooled buffer.
func (p *Pipe) ReadFrom(src io.Reader) (int64, error) {
	inner, lr := unwrapLimited(src)
	if lr != nil && lr.N <= 0 {
		return 0, nil // as io.Copy from an exhausted LimitedReader
	}
	if p.owns(inner) {
		return 0, errSelf("readfrom")
	}
	var n int64
	e, ok := endpointOf(inner, false)
	if ok && e.kind == kindUnknown && !e.likelyPipe() && e.recordSocket() {
		ok = false // a splice would keep of a record only what fits in p
	}
	if ok && e.spliceable(false) {
		limit := int64(-1)
		if lr != nil {
			limit = lr.N
		}
		w := p.end(true)
		r := defaultCopier.direct(e, w, opSplice, limit)
		n = r.written
		if lr != nil {
			lr.N -= r.taken
		}
		if testHookPath != nil {
			testHookPath(pipeMethods{p}, MethodSplice, r.handled, r.kernel)
		}
		if r.handled && !r.refused {
			return n, p.closing("write", p.w, ioCopyErr(p, src, &e, &w, r.fault, r.kernel, r.err))
		}
		// Refused, at first or part way: read and write from here on.
	}
	// Fail before taking bytes from src that could not be written.
	w := p.end(true)
	if err := w.checkOpen("write"); err != nil {
		return n, err
	}
	m, err := fallback.ReadWrite(p.w, src)
	return n + m, p.closing("write", p.w, asStdLoop(p, src, true, closedAsCopyFileRange(p, src, err)))
}

// WriteTo implements io.WriterTo: it moves the pipe's contents to dst until the
// write end is closed and the pipe is empty. What dst does not accept stays in
// p, for a later read.
//
// When dst is an fd it splices; otherwise, or when the kernel refuses to splice to
// dst (a file opened with O_APPEND, a datagram socket, a broken stdout, whose
// own Write raises SIGPIPE), it tees each chunk into a pooled pipe, writes that
// copy to dst through a pooled buffer, and only then takes from p what dst
// accepted. (Where the kernel refuses tee(2) too, as a sandbox may, it reads and
// writes, and the bytes of the last chunk that dst refused are lost.)
func (p *Pipe) WriteTo(dst io.Writer) (int64, error) {
	if p.owns(dst) {
		return 0, errSelf("writeto")
	}
	var n int64
	e, ok := endpointOf(dst, true)
	if ok && e.kind == kindUnknown && e.probe() != nil {
		ok = false
	}
	if ok && e.spliceable(true) {
		s := p.end(false)
		r := defaultCopier.direct(s, e, opSplice, -1)
		n = r.written
		if testHookPath != nil {
			testHookPath(pipeMethods{p}, MethodSplice, r.handled, r.kernel)
		}
		if r.handled && !r.refused {
			return n, p.closing("read", p.r, ioCopyErr(dst, p, &s, &e, r.fault, r.kernel, r.err))
		}
	}
	m, err := p.writeOut(dst)
	return n + m, p.closing("read", p.r, asStdLoop(dst, p, true, closedAsCopyFileRange(dst, p, err)))
}

// writeOut copies p's bytes to dst through user space without taking from p a
// byte that dst does not accept: each round tees what p holds into an engine
// pipe, reads that copy, writes it to dst, and only then consumes from p what
// dst accepted. Where no engine pipe can be had, or the kernel refuses tee(2)
// (a sandbox), it reads and writes, and a failing dst loses what it refused of
// the last 32 KiB read.
//
// Invariant: the engine pipe is empty whenever dst.Write runs.
func (p *Pipe) writeOut(dst io.Writer) (int64, error) {
	cp := defaultCopier.getPipe()
	if cp == nil {
		return fallback.ReadWrite(dst, p.r)
	}
	held := 0
	defer func() { defaultCopier.putPipe(cp, held == 0) }()
	buf := rw.GetBuffer()
	defer rw.PutBuffer(buf)
	pm := getPump(p.end(false), cp.in.dst, opTee, 0)
	defer putPump(pm)
	pm.once = true
	var written int64
	for {
		pm.remain = int64(len(buf))
		pm.run()
		if pm.refused() {
			m, err := fallback.ReadWrite(dst, p.r)
			return written + m, err
		}
		if err := pm.err(); err != nil || pm.eof {
			return written, err
		}
		held = int(pm.written)
		data, err := cp.readFull(buf[:held])
		held -= len(data)
		if err != nil {
			return written, err
		}
		nw, werr := rw.Write(dst, data)
		written += int64(nw)
		// Consume what dst accepted: p holds it, and nobody else reads p.
		if err := p.consume(buf[:nw]); err != nil {
			return written, err
		}
		if werr != nil {
			return written, werr
		}
	}
}

// consume takes len(buf) bytes out of p, which holds at least that many, into
// buf: through the fd, so that no read deadline, which applies to waiting and
// there is nothing to wait for, can fail it.
func (p *Pipe) consume(buf []byte) error {
	r := p.end(false)
	for len(buf) > 0 {
		var n int
		var rerr error
		err := r.control(func(fd uintptr) {
			n, rerr = ignoringEINTR(func() (int, error) { return unix.Read(int(fd), buf) })
		})
		switch {
		case err != nil:
			return r.pollErr("read", err)
		case rerr != nil:
			return r.syscallErr("read", "read", rerr)
		case n == 0:
			return &os.PathError{Op: "read", Path: p.r.Name(), Err: io.ErrUnexpectedEOF}
		}
		buf = buf[n:]
	}
	return nil
}

// pipeMethods is the key under which testHookPath learns the paths of p's own
// ReadFrom and WriteTo, apart from Copies to p.
type pipeMethods struct{ p *Pipe }

// Size returns the pipe's capacity in bytes (F_GETPIPE_SZ), or 0 once p is closed.
func (p *Pipe) Size() int {
	n, err := p.fcntl(unix.F_GETPIPE_SZ, 0)
	if err != nil {
		return 0
	}
	return n
}

// SetSize asks the kernel to resize the pipe to hold at least n bytes
// (F_SETPIPE_SZ) and returns the capacity it granted: n rounded up to a power of
// two pages. The kernel refuses, with errors matching syscall.EPERM, sizes above
// MaxPipeSize for unprivileged processes and any growth once the user's pipe
// quota (/proc/sys/fs/pipe-user-pages-hard) is spent; it refuses with
// syscall.EBUSY to shrink the pipe below what it holds, counted in page slots, not
// bytes: a few spliced or vmspliced bytes can take a slot each. On error the size
// is unchanged.
func (p *Pipe) SetSize(n int) (int, error) {
	if n <= 0 || roundPipeSize(n) == 0 {
		return p.Size(), fmt.Errorf("splice: invalid pipe size %d: %w", n, os.NewSyscallError("fcntl", unix.EINVAL))
	}
	got, err := p.fcntl(unix.F_SETPIPE_SZ, n)
	if err == nil {
		return got, nil
	}
	old := p.Size()
	switch {
	case isErrno(err, unix.EPERM):
		err = &sizeError{want: n, have: old, limit: MaxPipeSize(), err: err}
	case isErrno(err, unix.EBUSY):
		err = &sizeError{want: n, have: old, buffered: p.Buffered(), err: err}
	}
	return old, err
}

// sizeError explains why the kernel refused F_SETPIPE_SZ; it unwraps to the
// *os.SyscallError, so errors.Is(err, syscall.EPERM) holds.
type sizeError struct {
	want, have int
	limit      int // for EPERM
	buffered   int // for EBUSY
	err        error
}

func (e *sizeError) Error() string {
	if e.limit > 0 {
		return fmt.Sprintf("splice: pipe size %d refused (capacity stays %d): above pipe-max-size (%d), or the user's pipe quota is spent: %v",
			e.want, e.have, e.limit, e.err)
	}
	return fmt.Sprintf("splice: cannot shrink pipe to %d bytes: its %d buffered bytes take more slots (capacity stays %d): %v",
		e.want, e.buffered, e.have, e.err)
}

func (e *sizeError) Unwrap() error { return e.err }

// Buffered returns the number of bytes in the pipe now (FIONREAD), or 0 once p is
// closed.
func (p *Pipe) Buffered() int {
	var n int
	var ierr error
	e := p.end(false)
	if err := e.control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCINQ) }); err != nil || ierr != nil {
		return 0
	}
	return n
}

// fcntl runs fcntl(2) on the read end (both ends share the pipe).
func (p *Pipe) fcntl(cmd, arg int) (int, error) {
	var n int
	var ferr error
	e := p.end(false)
	err := e.control(func(fd uintptr) {
		n, ferr = ignoringEINTR(func() (int, error) { return unix.FcntlInt(fd, cmd, arg) })
	})
	if err != nil {
		return 0, e.pollErr("fcntl", err)
	}
	if ferr != nil {
		return 0, os.NewSyscallError("fcntl", ferr)
	}
	return n, nil
}

func isErrno(err error, errno syscall.Errno) bool {
	se, ok := err.(*os.SyscallError)
	return ok && se.Err == errno
}
