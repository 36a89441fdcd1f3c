//go:build !splice_portable

package splice

import (
	"errors"
	"io"
	"net"
	"os"
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
	// Exactly one of these owns the fd, or engine is set.
	file *os.File
	tcp  *net.TCPConn
	uc   *net.UnixConn
	sc   syscall.Conn
	// engine: fd is one end of an enginePipe, outside the poller.
	engine bool
	fd     int

	// name and conn only shape errors: *os.PathError for named files,
	// *net.OpError for network connections, as the standard library reports them.
	name string
	conn net.Conn

	kind     fdKind
	blocking tristate
	append   bool // O_APPEND, learnt by Plan only: splice(2) refuses such a destination, and a copy learns that from the refusal
	stream   bool // a SOCK_STREAM socket (other socket types keep message boundaries)
}

// fdKind is what fstat(2) says an fd is, as far as the engine cares.
type fdKind uint8

const (
	kindUnknown fdKind = iota // not asked yet: an *os.File until probe
	kindPipe
	kindRegular
	kindSocket
	kindOther // devices, directories and the rest
)

func kindOf(mode uint32) fdKind {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return kindPipe
	case unix.S_IFREG:
		return kindRegular
	case unix.S_IFSOCK:
		return kindSocket
	}
	return kindOther
}

// tristate is a fact learnt lazily.
type tristate int8

const (
	unknown tristate = iota
	yes
	no
)

func (e *endpoint) isPipe() bool    { return e.kind == kindPipe }
func (e *endpoint) isRegular() bool { return e.kind == kindRegular }
func (e *endpoint) isSocket() bool  { return e.kind == kindSocket }

// alwaysReady reports whether EAGAIN can never be this side's doing: a regular
// file, or the engine's own pipe, which a pump only drains when it holds bytes
// and only fills when it is empty.
func (e *endpoint) alwaysReady() bool { return e.engine || e.isRegular() }

// likelyPipe reports whether the endpoint is a pipe, or an *os.File of unknown
// type named as os.Pipe names its ends (and Pipe its own): the hint lets a copy
// choose its first system call without fstat(2). A wrong hint costs a refused
// call, never a wrong result.
func (e *endpoint) likelyPipe() bool {
	if e.kind != kindUnknown || e.file == nil {
		return e.isPipe() && !e.engine
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
		// Its kind stays unknown until probe: a copy may guess.
		e.file, e.name = x, x.Name()
		return e, true
	case *net.TCPConn:
		if x == nil {
			return e, false
		}
		// Go's TCP sockets are stream sockets, always non-blocking.
		e.tcp, e.conn, e.kind, e.stream, e.blocking = x, x, kindSocket, true, no
		return e, true
	case *net.UnixConn:
		if x == nil {
			return e, false
		}
		e.uc, e.conn, e.kind, e.blocking = x, x, kindSocket, no
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

// probe learns the fd's kind, and what else the kind calls for, for endpoints
// of a concrete type. Their RawConn is devirtualized, so this closure, and e,
// stay on the stack.
func (e *endpoint) probe() error {
	if e.kind != kindUnknown || e.engine {
		return nil // learnt already, or needs no probe
	}
	var perr error
	if err := e.control(func(fd uintptr) { perr = e.probeFD(fd) }); err != nil {
		return err
	}
	return perr
}

func (e *endpoint) probeFD(fd uintptr) error {
	if e.kind == kindUnknown {
		var st unix.Stat_t
		if err := unix.Fstat(int(fd), &st); err != nil {
			return err
		}
		e.kind = kindOf(st.Mode)
	}
	if e.isSocket() {
		typ, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
		e.learnSocket(typ, err)
	}
	return nil
}

// learnSocket records what getsockopt(SO_TYPE) answered for the socket fd.
func (e *endpoint) learnSocket(typ int, err error) {
	e.kind, e.stream = kindSocket, err == nil && typ == unix.SOCK_STREAM
}

// isTCP reports whether the endpoint is a TCP socket: a *net.TCPConn, or a
// stream socket of another owner that getsockopt(SO_PROTOCOL) says is one. It
// asks the kernel each time: callers ask once per copy, where it matters.
func (e *endpoint) isTCP() bool {
	switch {
	case e.tcp != nil:
		return true
	case e.uc != nil || e.engine || !e.isSocket() || !e.stream:
		return false
	}
	var proto int
	var perr error
	if e.anyControl(func(fd uintptr) { proto, perr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PROTOCOL) }) != nil {
		return false
	}
	return perr == nil && proto == unix.IPPROTO_TCP
}

// recordSocket reports whether the fd, of unknown kind, is a socket that keeps
// message boundaries (datagram, seqpacket), or cannot be asked; it learns the
// kind only for sockets.
func (e *endpoint) recordSocket() bool {
	var serr error
	err := e.control(func(fd uintptr) {
		var typ int
		typ, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
		if serr == nil {
			e.learnSocket(typ, nil)
		}
	})
	if err != nil || (serr != nil && serr != unix.ENOTSOCK) {
		return true
	}
	return serr == nil && !e.stream
}

// remaining returns how many bytes a regular file holds past its offset, or -1
// if it is no regular file or that cannot be told.
func (e *endpoint) remaining() int64 {
	if e.probe() != nil || !e.isRegular() {
		return -1
	}
	n := int64(-1)
	e.anyControl(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil {
			return
		}
		if off, err := unix.Seek(int(fd), 0, io.SeekCurrent); err == nil {
			n = max(st.Size-off, 0)
		}
	})
	return n
}

// unread moves the offset of the endpoint's fd back by n bytes, to give back
// bytes a copy took from it but could not deliver; it reports whether it did.
// Only a regular file is asked (a device may seek without giving anything
// back), through its owner's RawConn: its offset is the one the owner reads.
func (e *endpoint) unread(n int64) bool {
	if n <= 0 || e.engine || e.likelyPipe() || e.probe() != nil || !e.isRegular() {
		return false
	}
	ok := false
	e.anyControl(func(fd uintptr) {
		_, err := unix.Seek(int(fd), -n, io.SeekCurrent)
		ok = err == nil
	})
	return ok
}

// learnAppend learns whether a regular file was opened with O_APPEND.
func (e *endpoint) learnAppend() {
	if e.isRegular() {
		e.learnAppendAny()
	}
}

// learnAppendAny learns whether the fd, of any kind, was opened with O_APPEND.
func (e *endpoint) learnAppendAny() {
	e.control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		e.append = err == nil && fl&unix.O_APPEND != 0
	})
}

// rawIO runs fn as a read (or, with write set, a write) on the endpoint's
// RawConn: fn returns false to wait, in Go's poller, until the fd is ready.
//
// The switch repeats itself on purpose: each branch calls SyscallConn on a
// concrete type, so that the compiler devirtualizes the RawConn and a copy
// allocates nothing (TestCopyAllocs).
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

// anyControl is control for an endpoint of any owner, for the paths that may
// allocate (a syscall.Conn's RawConn is an interface).
func (e *endpoint) anyControl(fn func(uintptr)) error {
	if e.sc != nil {
		return e.controlConn(fn)
	}
	return e.control(fn)
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
