package splice

import (
	"net"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Errors, shaped as the standard library shapes them for the same failure.

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
	if isFileClosing(err) {
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

// isFileClosing reports whether err is the sentinel errFileClosing returns; where
// the sentinel cannot be learnt (no fd left to learn it with, as at the
// RLIMIT_NOFILE limit), by its message, which the standard library keeps.
func isFileClosing(err error) bool {
	if fc := errFileClosing(); fc != nil {
		return err == fc
	}
	return err != nil && err.Error() == "use of closed file"
}

// err reports how the pump's transfer ended, shaped as the standard library would
// report it: errors from a RawConn as that fd's own methods would, and an errno
// wrapped as an *os.SyscallError named after the call inside the error type of the
// endpoint it is blamed on: the destination for sendfile (it reads a regular
// file) and for EPIPE, else the side that is not a pipe, else the source.
func (p *pump) err() error {
	call := p.op.String()
	switch {
	case p.srcErr != nil:
		return p.src.pollErr("read", p.srcErr)
	case p.dstErr != nil:
		return p.dst.pollErr("write", p.dstErr)
	case p.errno == nil:
		return nil
	case p.op == opSendfile || p.op == opCopyFileRange || p.errno == unix.EPIPE:
		return p.dst.syscallErr("write", call, p.errno)
	case p.errno == unix.EBADF:
		// One side is not open for its direction: blame that one.
		if p.src.openFor(unix.O_WRONLY) {
			return p.src.syscallErr("read", call, p.errno)
		}
		return p.dst.syscallErr("write", call, p.errno)
	}
	// Blame the side that is not a pipe; learn their kinds if still unknown.
	p.src.probe()
	p.dst.probe()
	if p.src.isPipe() && !p.dst.isPipe() {
		return p.dst.syscallErr("write", call, p.errno)
	}
	return p.src.syscallErr("read", call, p.errno)
}

// openFor reports whether the endpoint's fd was opened with access mode mode
// (O_RDONLY or O_WRONLY), as far as fcntl(2) can tell.
func (e *endpoint) openFor(mode int) bool {
	if e.engine {
		return false
	}
	var fl int
	var ferr error
	if err := e.control(func(fd uintptr) { fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil {
		return false
	}
	return fl&unix.O_ACCMODE == mode
}

// errSelf is the error of a copy between a Pipe and itself.
func errSelf(op string) error {
	return &os.PathError{Op: op, Path: "pipe", Err: os.NewSyscallError("splice", unix.EINVAL)}
}
