package splice

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// An endpoint is one side of a splice, tee or sendfile: an fd reached only
// through its syscall.RawConn, so that Go's poller keeps ownership of it
// (deadlines, Close from another goroutine) and its blocking mode is never
// changed.
//
// The endpoint keeps the concrete type that owns the fd and asks it for its
// RawConn at each use: for *os.File, *net.TCPConn and *net.UnixConn the compiler
// then devirtualizes the RawConn and keeps it, and the callbacks given to it, off
// the heap, so that a copy does not allocate.
type endpoint struct {
	// Exactly one of these owns the fd, or raw is set.
	file *os.File
	tcp  *net.TCPConn
	uc   *net.UnixConn
	sc   syscall.Conn
	raw  bool // fd is the copy engine's own pipe, outside the poller
	fd   int

	// name and conn only shape errors: *os.PathError for named files,
	// *net.OpError for network connections, as the standard library reports them.
	name string
	conn net.Conn

	mode     uint32 // S_IFMT bits from fstat(2)
	blocking tristate
	append   bool // O_APPEND, learnt by Plan only: splice(2) refuses such a destination, and a copy learns that from the refusal
	stream   bool // a SOCK_STREAM socket (other socket types keep message boundaries)
}

// tristate is a fact learnt lazily.
type tristate int8

const (
	unknown tristate = iota
	yes
	no
)

func (e *endpoint) isPipe() bool    { return e.mode == unix.S_IFIFO }
func (e *endpoint) isRegular() bool { return e.mode == unix.S_IFREG }
func (e *endpoint) isSocket() bool  { return e.mode == unix.S_IFSOCK }

// alwaysReady reports whether EAGAIN can never be this side's doing: a regular
// file, or the copy engine's own pipe, which a pump only drains when it holds
// bytes and only fills when it is empty.
func (e *endpoint) alwaysReady() bool { return e.raw || e.isRegular() }

// likelyPipe reports whether the endpoint is a pipe, or an *os.File of unknown
// type named as os.Pipe names its ends (and Pipe its own): the hint lets a copy
// choose its first system call without fstat(2). A wrong hint costs a refused
// call, never a wrong result.
func (e *endpoint) likelyPipe() bool {
	if e.mode != 0 || e.file == nil {
		return e.isPipe() && !e.raw
	}
	return e.name == "|0" || e.name == "|1"
}

// isBlocking reports whether fd, this endpoint's, lacks O_NONBLOCK, which means
// that it is not in Go's poller (os.NewFile registers only non-blocking fds).
// It is learnt at the first EAGAIN, the only time it matters.
func (e *endpoint) isBlocking(fd int) bool {
	if e.blocking == unknown {
		e.blocking = no
		if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil && fl&unix.O_NONBLOCK == 0 {
			e.blocking = yes
		}
	}
	return e.blocking == yes
}

// spliceable reports whether splice(2) may be used on the endpoint: everything but
// non-stream sockets and, as a destination, files opened with O_APPEND.
func (e *endpoint) spliceable(asDst bool) bool {
	if e.isSocket() && !e.stream {
		return false
	}
	if asDst && e.append {
		return false
	}
	return true
}

// endpointOf returns the endpoint behind v, which is a *Pipe or a syscall.Conn.
// asDst chooses the write end of a *Pipe. ok is false when v has no usable fd.
func endpointOf(v any, asDst bool) (e endpoint, ok bool) {
	switch x := v.(type) {
	case *Pipe:
		return x.end(asDst), true
	case *os.File:
		if x == nil {
			return e, false
		}
		// Its type stays unknown (mode 0) until probe: a copy may guess.
		e.file, e.name = x, x.Name()
		return e, true
	case *net.TCPConn:
		if x == nil {
			return e, false
		}
		// Go's TCP sockets are stream sockets, always non-blocking.
		e.tcp, e.conn, e.mode, e.stream, e.blocking = x, x, unix.S_IFSOCK, true, no
		return e, true
	case *net.UnixConn:
		if x == nil {
			return e, false
		}
		e.uc, e.conn, e.mode, e.blocking = x, x, unix.S_IFSOCK, no
		if a := x.LocalAddr(); a != nil {
			e.stream = a.Network() == "unix" // not "unixgram" or "unixpacket"
			return e, true
		}
	case syscall.Conn:
		return connEndpoint(x)
	default:
		return e, false
	}
	if e.probe() != nil {
		return endpoint{}, false
	}
	return e, true
}

// connEndpoint is endpointOf for a type known only as a syscall.Conn. Its
// RawConn is an interface the compiler cannot see through, so this endpoint
// costs allocations; the common types do not.
func connEndpoint(sc syscall.Conn) (endpoint, bool) {
	e := endpoint{sc: sc}
	switch c := sc.(type) {
	case net.Conn:
		e.conn = c
	case interface{ Name() string }:
		e.name = c.Name()
	}
	var perr error
	err := e.controlConn(func(fd uintptr) { perr = e.probeFD(fd) })
	if err != nil || perr != nil {
		return endpoint{}, false
	}
	return e, true
}

// probe learns the fd's type, and what else the type calls for, for endpoints
// of a concrete type. Their RawConn is devirtualized, so this closure, and e,
// stay on the stack.
func (e *endpoint) probe() error {
	if e.mode != 0 || e.raw {
		return nil // learnt already, or needs no probe
	}
	var perr error
	if err := e.control(func(fd uintptr) { perr = e.probeFD(fd) }); err != nil {
		return err
	}
	return perr
}

func (e *endpoint) probeFD(fd uintptr) error {
	if e.mode == 0 {
		var st unix.Stat_t
		if err := unix.Fstat(int(fd), &st); err != nil {
			return err
		}
		e.mode = st.Mode & unix.S_IFMT
	}
	switch {
	case e.isSocket():
		typ, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
		e.stream = err == nil && typ == unix.SOCK_STREAM
	}
	return nil
}

// learnAppend learns whether a regular file was opened with O_APPEND.
func (e *endpoint) learnAppend() {
	if !e.isRegular() {
		return
	}
	e.control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		e.append = err == nil && fl&unix.O_APPEND != 0
	})
}

// rawIO runs fn as a read (or, with write set, a write) on the endpoint's
// RawConn: fn returns false to wait, in Go's poller, until the fd is ready.
func (e *endpoint) rawIO(write bool, fn func(uintptr) bool) error {
	switch {
	case e.file != nil:
		rc, err := e.file.SyscallConn()
		if err != nil {
			return err
		}
		if write {
			return rc.Write(fn)
		}
		return rc.Read(fn)
	case e.tcp != nil:
		rc, err := e.tcp.SyscallConn()
		if err != nil {
			return err
		}
		if write {
			return rc.Write(fn)
		}
		return rc.Read(fn)
	case e.uc != nil:
		rc, err := e.uc.SyscallConn()
		if err != nil {
			return err
		}
		if write {
			return rc.Write(fn)
		}
		return rc.Read(fn)
	}
	rc, err := e.sc.SyscallConn()
	if err != nil {
		return err
	}
	if write {
		return rc.Write(fn)
	}
	return rc.Read(fn)
}

// control runs fn with the endpoint's fd, held open, as RawConn.Control does,
// for the endpoints of a concrete type (not sc; see controlConn).
func (e *endpoint) control(fn func(uintptr)) error {
	switch {
	case e.file != nil:
		rc, err := e.file.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Control(fn)
	case e.tcp != nil:
		rc, err := e.tcp.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Control(fn)
	case e.uc != nil:
		rc, err := e.uc.SyscallConn()
		if err != nil {
			return err
		}
		return rc.Control(fn)
	}
	return errors.ErrUnsupported
}

// controlConn is control for an endpoint known only as a syscall.Conn.
func (e *endpoint) controlConn(fn func(uintptr)) error {
	rc, err := e.sc.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(fn)
}

// checkOpen returns nil while the fd is open, and once it is closed the error
// that op on it reports: *net.OpError around net.ErrClosed for connections, as
// their own methods report it, else os.ErrClosed wrapped as pollErr wraps it.
func (e *endpoint) checkOpen(op string) error {
	noop := func(uintptr) {}
	var err error
	if e.sc != nil {
		err = e.controlConn(noop)
	} else {
		err = e.control(noop)
	}
	switch {
	case err == nil:
		return nil
	case e.conn != nil:
		return e.wrap(op, net.ErrClosed)
	}
	return e.pollErr(op, err)
}

// syscallErr wraps an errno from a system call the endpoint took part in, the way
// the standard library reports it for this kind of fd: *net.OpError around an
// *os.SyscallError for connections, *os.PathError around one for named files.
func (e *endpoint) syscallErr(op, call string, errno error) error {
	if errno == nil {
		return nil
	}
	err := os.NewSyscallError(call, errno)
	return e.wrap(op, err)
}

// pollErr wraps an error returned by the endpoint's RawConn (a deadline, or the fd
// closing). Network connections already wrap these in *net.OpError; os.File
// returns them bare, and os itself maps "use of closed file" to os.ErrClosed.
func (e *endpoint) pollErr(op string, err error) error {
	if err == nil {
		return err
	}
	if e.conn != nil {
		// The net RawConn says "raw-read" or "raw-write"; the conn's own
		// methods say "read" or "write".
		if oe, ok := err.(*net.OpError); ok && strings.HasPrefix(oe.Op, "raw-") {
			c := *oe
			c.Op = op
			return &c
		}
		return err
	}
	if fc := errFileClosing(); fc != nil && err == fc {
		err = os.ErrClosed
	}
	return e.wrap(op, err)
}

func (e *endpoint) wrap(op string, err error) error {
	switch {
	case e.conn != nil:
		oe := &net.OpError{Op: op, Source: e.conn.LocalAddr(), Addr: e.conn.RemoteAddr(), Err: err}
		switch {
		case oe.Source != nil:
			oe.Net = oe.Source.Network()
		case oe.Addr != nil:
			oe.Net = oe.Addr.Network()
		}
		return oe
	case e.name != "":
		return &os.PathError{Op: op, Path: e.name, Err: err}
	}
	return err
}

// errFileClosing returns the unexported sentinel (internal/poll.ErrFileClosing)
// that an os.File's RawConn returns once the file is closed, learnt from a real
// file the first time it is needed. A failure to learn it (no fds left) is not
// cached.
func errFileClosing() error {
	if err := fileClosing.Load(); err != nil {
		return *err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	w.Close()
	rc, _ := r.SyscallConn()
	r.Close()
	err = rc.Control(func(uintptr) {})
	if err != nil {
		fileClosing.Store(&err)
	}
	return err
}

var fileClosing atomic.Pointer[error]

// A pump moves bytes from src to dst with splice(2), tee(2), sendfile(2) or
// copy_file_range(2), inside the callback of dst's RawConn nested in the callback
// of src's, so that it holds src's read lock and dst's write lock while it moves
// bytes, as internal/poll does. Every pump takes them in that order, src first,
// so that pumps sharing fds cannot deadlock. The system calls run non-blocking.
// On EAGAIN the pump works out which side is not ready — from what it knows (a
// regular file is always ready; so is the copy engine's own pipe, which it only
// reads when full and fills when empty), else by a zero-timeout poll(2) — and
// waits for that side alone, holding nothing of the other: for src, in src's
// callback; for dst, having left both callbacks, in a callback of dst's own. So a
// Close of either fd from another goroutine never waits for the other fd, and
// each side's deadline bounds the waits on that side. A pollable fd parks the
// goroutine in Go's poller; one outside the poller (a blocking fd, such as a
// shell's stdout) is waited for in poll(2), which blocks the thread, as a write
// to that fd would, but never spins. (A blocking socket or file is different: the
// system call itself may block on it, holding both fds.)
//
// Its callbacks are method values made once, so that a pump can be reused without
// allocating.
type pump struct {
	src, dst endpoint
	op       pumpOp
	once     bool  // stop after the first call that moves bytes
	remain   int64 // bytes still wanted; negative: until EOF

	written int64
	eof     bool
	errno   error // from the system call, bare
	srcErr  error // from src's RawConn
	dstErr  error // from dst's RawConn

	sfd     int
	srcWait bool // the system call found src not ready
	dstWait bool // the system call found dst not ready (and src is not raw)
	pfds    [2]unix.PollFd
	onSrc   func(uintptr) bool
	onDst   func(uintptr) bool
	onWait  func(uintptr) bool
}

type pumpOp uint8

const (
	opSplice pumpOp = iota
	opTee
	opSendfile      // src is a regular file, dst a socket
	opCopyFileRange // both regular files
)

// maxChunk bounds one system call; it fits an int on every platform.
const maxChunk = 1 << 30

func newPump() *pump {
	p := new(pump)
	p.onSrc = p.srcReady
	p.onDst = p.dstReady
	p.onWait = p.dstWritable
	return p
}

var pumpPool = sync.Pool{New: func() any { return newPump() }}

// getPump returns a pooled pump set up to move remain bytes (negative: until
// EOF) from s to d, with no stop after the first call; putPump returns it.
func getPump(s, d endpoint, op pumpOp, remain int64) *pump {
	pm := pumpPool.Get().(*pump)
	pm.src, pm.dst, pm.op, pm.remain, pm.once = s, d, op, remain, false
	return pm
}

func putPump(pm *pump) {
	pm.src, pm.dst = endpoint{}, endpoint{} // drop the references to fd owners
	pumpPool.Put(pm)
}

// run performs the transfer set up in p. It returns when remain reaches 0, at EOF
// (the system call returned 0), on the first error, or after one successful call
// when once is set.
func (p *pump) run() {
	p.written, p.eof, p.errno, p.srcErr, p.dstErr = 0, false, nil, nil, nil
	for p.remain != 0 {
		p.dstWait = false
		if p.src.raw {
			p.srcReady(uintptr(p.src.fd))
		} else if err := p.src.rawIO(false, p.onSrc); err != nil && p.srcErr == nil {
			p.srcErr = err
		}
		if !p.dstWait || p.srcErr != nil {
			return
		}
		// dst was not ready: wait for it, holding nothing of src.
		if err := p.dst.rawIO(true, p.onWait); err != nil {
			p.dstErr = err
			return
		}
		if p.errno != nil {
			return
		}
	}
}

// srcReady is src's callback: it enters dst's, and waits for src when the system
// call found it not ready.
func (p *pump) srcReady(sfd uintptr) bool {
	p.sfd = int(sfd)
	for {
		p.srcWait = false
		if p.dst.raw {
			p.dstReady(uintptr(p.dst.fd))
		} else if err := p.dst.rawIO(true, p.onDst); err != nil {
			p.dstErr = err
			return true
		}
		if !p.srcWait {
			return true
		}
		if !p.src.isBlocking(p.sfd) {
			return false // park in the poller until src is readable
		}
		if err := pollWait(p.sfd, unix.POLLIN); err != nil {
			p.errno = err
			return true
		}
	}
}

// dstWritable is the callback of the wait for dst, outside src's: it returns
// once dst is writable. It checks by poll(2) before it parks, since entering the
// callback forgot any readiness that came before.
func (p *pump) dstWritable(dfd uintptr) bool {
	if p.dst.isBlocking(int(dfd)) {
		if err := pollWait(int(dfd), unix.POLLOUT); err != nil {
			p.errno = err
		}
		return true
	}
	p.pfds[0] = unix.PollFd{Fd: int32(dfd), Events: unix.POLLOUT}
	n, err := unix.Poll(p.pfds[:1], 0)
	if err != nil && err != unix.EINTR {
		p.errno = err
		return true
	}
	return n > 0 // else park in the poller until dst is writable
}

// dstReady is dst's callback: it makes the system calls.
func (p *pump) dstReady(dfd uintptr) bool {
	spurious := 0
	for p.remain != 0 {
		n := maxChunk
		if p.remain > 0 && p.remain < maxChunk {
			n = int(p.remain)
		}
		m, err := p.call(p.sfd, int(dfd), n)
		switch err {
		case nil:
			if m == 0 {
				p.eof = true
				return true
			}
			p.written += int64(m)
			if p.remain > 0 {
				p.remain -= int64(m)
			}
			if p.once {
				return true
			}
			spurious = 0
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
		default:
			p.errno = err
			return true
		}
		// EAGAIN: find out which side is not ready.
		srcOK, dstOK := p.src.alwaysReady(), p.dst.alwaysReady()
		if !srcOK && !dstOK {
			p.pfds = [2]unix.PollFd{
				{Fd: int32(p.sfd), Events: unix.POLLIN},
				{Fd: int32(dfd), Events: unix.POLLOUT},
			}
			if _, err := unix.Poll(p.pfds[:], 0); err != nil && err != unix.EINTR {
				p.errno = err
				return true
			}
			srcOK, dstOK = p.pfds[0].Revents != 0, p.pfds[1].Revents != 0
		}
		switch {
		case !dstOK && !p.src.raw:
			p.dstWait = true // leave src's callback, then wait for dst
			return true
		case !dstOK:
			// src is the engine's pipe, outside the poller: nothing of it is
			// held, so wait here.
			if !p.dst.isBlocking(int(dfd)) {
				return false // park in the poller until dst is writable
			}
			if err := pollWait(int(dfd), unix.POLLOUT); err != nil {
				p.errno = err
				return true
			}
		case !srcOK:
			p.srcWait = true
			return true
		default:
			// Both sides ready, yet EAGAIN. Once may be a race; again and again
			// means the kernel will not splice what is there (urgent data on a
			// TCP socket stops splice at its mark): report a refusal, so that
			// read and write take over from exactly here.
			if spurious++; spurious > 3 {
				p.errno = unix.EOPNOTSUPP
				return true
			}
			runtime.Gosched()
		}
	}
	return true
}

// testHookCall, set by tests, may fail a pump's system call with an errno
// before it is made.
var testHookCall func(p *pump) error

// call makes the pump's system call once.
func (p *pump) call(sfd, dfd, n int) (int, error) {
	if testHookCall != nil {
		if err := testHookCall(p); err != nil {
			return 0, err
		}
	}
	switch p.op {
	case opTee:
		m, err := unix.Tee(sfd, dfd, n, unix.SPLICE_F_NONBLOCK)
		return int(m), err
	case opSendfile:
		return unix.Sendfile(dfd, sfd, nil, n)
	case opCopyFileRange:
		return unix.CopyFileRange(sfd, nil, dfd, nil, n, 0)
	}
	return rawSplice(sfd, nil, dfd, nil, n, unix.SPLICE_F_NONBLOCK)
}

// err reports how the transfer ended, shaped as the standard library would report
// it: errors from a RawConn as that fd's own methods would, and an errno wrapped
// as an *os.SyscallError named after call inside the error type of the endpoint
// it is blamed on: the destination for sendfile (it reads a regular file) and
// for EPIPE, else the side that is not a pipe, else the source.
func (p *pump) err(call string) error {
	switch {
	case p.srcErr != nil:
		return p.src.pollErr("read", p.srcErr)
	case p.dstErr != nil:
		return p.dst.pollErr("write", p.dstErr)
	case p.errno == nil:
		return nil
	case p.op == opSendfile || p.op == opCopyFileRange || p.errno == unix.EPIPE:
		return p.dst.syscallErr("write", call, p.errno)
	}
	// Blame the side that is not a pipe; learn their types if still unknown.
	p.src.probe()
	p.dst.probe()
	if p.src.isPipe() && !p.dst.isPipe() {
		return p.dst.syscallErr("write", call, p.errno)
	}
	return p.src.syscallErr("read", call, p.errno)
}

// pollWait blocks the thread until fd reports one of events, for fds that are not
// in Go's poller.
func pollWait(fd int, events int16) error {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
	for {
		_, err := unix.Poll(pfd, -1)
		if err != unix.EINTR {
			return err
		}
	}
}

// rawSplice is unix.Splice with the count as an int on every architecture
// (it is int64 on some and int on others).
func rawSplice(rfd int, roff *int64, wfd int, woff *int64, n int, flags int) (int, error) {
	m, err := unix.Splice(rfd, roff, wfd, woff, n, flags)
	return int(m), err
}

// refused reports whether the errno that stopped the pump means that the kernel
// will not make this system call between these fds at all (as opposed to a
// failure of the I/O itself), so that a copy may take another path.
func (p *pump) refused() bool {
	switch p.errno {
	case nil:
		return false
	case unix.EINVAL, unix.ENOSYS, unix.EPERM, unix.EOPNOTSUPP, unix.EXDEV:
		return true
	case unix.EBADF:
		// copy_file_range's answer for a destination opened with O_APPEND.
		return p.op == opCopyFileRange
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
