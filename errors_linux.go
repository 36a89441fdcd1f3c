//go:build !splice_portable

package splice

import (
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"

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
		case e.tcp != nil:
			oe.Net = tcpNetwork(e.tcp)
		case !isNil(oe.Source):
			oe.Net = oe.Source.Network()
		case !isNil(oe.Addr):
			oe.Net = oe.Addr.Network()
		}
		return oe
	case e.name != "":
		return &os.PathError{Op: op, Path: e.name, Err: err}
	}
	return err
}

// isNil reports whether a is nil, or a nil pointer in an interface, as a
// net.Conn of another package may return for an address it lacks.
func isNil(a net.Addr) bool {
	if a == nil {
		return true
	}
	v := reflect.ValueOf(a)
	return v.Kind() == reflect.Pointer && v.IsNil()
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

// A fault is how a kernel path failed, before the error is shaped: the side
// to blame, the system call, and its errno or the error of the side's RawConn
// (a deadline, the fd closing).
type fault struct {
	dst   bool // the destination is to blame, else the source
	call  string
	errno error // bare, from the system call
	poll  error // from the blamed side's RawConn
}

// fault reports how the pump's transfer failed, or nil. The destination is to
// blame for sendfile and copy_file_range (they read regular files) and for
// EPIPE; for EBADF the side not open for its direction; else the side that is
// not a pipe, else the source.
func (p *pump) fault() *fault {
	call := p.op.String()
	switch {
	case p.srcErr != nil:
		return &fault{call: call, poll: p.srcErr}
	case p.dstErr != nil:
		return &fault{dst: true, call: call, poll: p.dstErr}
	case p.errno == nil:
		return nil
	case p.errno == unix.EBADF:
		return &fault{dst: !p.src.openFor(unix.O_WRONLY), call: call, errno: p.errno}
	case p.op == opSendfile || p.op == opCopyFileRange || p.errno == unix.EPIPE:
		return &fault{dst: true, call: call, errno: p.errno}
	}
	// Learn the kinds if still unknown.
	p.src.probe()
	p.dst.probe()
	return &fault{dst: p.src.isPipe() && !p.dst.isPipe(), call: call, errno: p.errno}
}

// err reports how the pump's transfer ended, shaped by the side to blame as that
// side's own methods report errors: a RawConn's error as the fd's Read or Write
// would, an errno as an *os.SyscallError named after the call inside the side's
// *os.PathError or *net.OpError. (Copy reshapes it as io.Copy would: ioCopyErr.)
func (p *pump) err() error {
	if f := p.fault(); f != nil {
		return f.bySide(&p.src, &p.dst)
	}
	return nil
}

func (f *fault) bySide(s, d *endpoint) error {
	e, op := s, "read"
	if f.dst {
		e, op = d, "write"
	}
	if f.poll != nil {
		return e.pollErr(op, f.poll)
	}
	return e.syscallErr(op, f.call, f.errno)
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

// How io.Copy would have failed.
//
// io.Copy(dst, src) on Linux calls src's WriteTo, else dst's ReadFrom, else
// loops; the standard library's WriteTo and ReadFrom make their own system
// calls and wrap what fails in layers of their own. Copy takes its own paths
// for the same pair, and reshapes the error of a failed kernel call as io.Copy
// would have reported the same failure there, so that errors.Is and errors.As
// answer alike: ioCopyPath works out io.Copy's path from the types and the fds'
// kinds.

// stdPath is where io.Copy's error would come from.
type stdPath uint8

const (
	stdLoop         stdPath = iota // the loop: the failing side's own Read or Write
	stdSendfileFrom                // os.File.WriteTo's sendfile: *os.PathError "read" naming src
	stdReadFrom                    // os.File.ReadFrom's copy_file_range or splice: *os.PathError "write" naming dst
	stdNet                         // net's splice or sendfile: the *os.SyscallError under net's layers
)

// ioCopyPath tells how io.Copy(dst, src) would copy the pair s, d (their kinds
// learnt): the path its error would come from, and the TCP connections whose
// ReadFrom ("readfrom", inner) and WriteTo ("writeto", outer) would wrap it in
// a *net.OpError.
func ioCopyPath(dst io.Writer, src io.Reader, s, d *endpoint) (path stdPath, readfrom, writeto *net.TCPConn) {
	src, dst = pipeEnds(dst, src)
	// The standard library looks under one *io.LimitedReader, no deeper.
	inner, _ := unwrapLimited(src)
	_, file := inner.(*os.File)
	_, fdConn := inner.(syscall.Conn) // net's sendfile takes any
	fromStream := false
	switch inner.(type) {
	case *net.TCPConn, *net.UnixConn:
		fromStream = s.stream
	}
	switch x := src.(type) {
	case *os.File:
		if (d.tcp != nil || d.uc != nil) && d.stream && s.isRegular() {
			return stdSendfileFrom, nil, nil
		}
		// Else File.WriteTo hands the pair to dst's ReadFrom.
	case *net.TCPConn:
		writeto = x
		if d.uc != nil && d.stream {
			return stdNet, nil, writeto
		}
	}
	switch y := dst.(type) {
	case *os.File:
		switch {
		case d.append:
		case file && s.isRegular() && d.isRegular(), fromStream:
			return stdReadFrom, nil, writeto
		}
	case *net.TCPConn:
		readfrom = y
		if fromStream || fdConn && s.isRegular() {
			return stdNet, readfrom, writeto
		}
	}
	return stdLoop, readfrom, writeto
}

// ioCopyErr shapes the failure of a copy from src to dst (endpoints s and d)
// as io.Copy would report it: f, if not nil, is the kernel call's failure, after
// the kernel moved kernel bytes; err is what the path returned (a Read or Write
// error of a side, shaped by it).
func ioCopyErr(dst io.Writer, src io.Reader, s, d *endpoint, f *fault, kernel int64, err error) error {
	if err == nil {
		return nil
	}
	s.probe()
	d.probe()
	d.learnAppend() // os.File.ReadFrom declines an O_APPEND file: io.Copy loops
	if f != nil && f.poll != nil && closedOnLock(dst, src, f.poll) {
		return closedDst(dst, src)
	}
	path, readfrom, writeto := ioCopyPath(dst, src, s, d)
	sentFile := s.isRegular() && d.isSocket() && (path == stdSendfileFrom || path == stdNet)
	if f != nil && sentFile && f.poll != nil && f.dst && kernel == 0 {
		// poll.SendFile leaves the copy unhandled when it cannot lock or
		// wait for the destination before any byte moved: io.Copy goes on
		// to the loop, where dst's Write fails, inside dst's ReadFrom if
		// it has one. (Copy may have spliced through its pipe instead.)
		path = stdLoop
		readfrom, _ = dst.(*net.TCPConn)
	}
	if f != nil && f.poll == nil && path != stdLoop {
		// Name the call io.Copy would have failed in, which may not be
		// Copy's: Copy splices through its pipe what io.Copy sends with
		// sendfile, and splices where io.Copy's copy_file_range refused.
		g := *f
		switch {
		case s.isRegular() && d.isSocket():
			g.call = "sendfile"
		case s.isRegular() && d.isRegular() && path == stdReadFrom:
			g.call = "copy_file_range"
		default:
			g.call = "splice"
		}
		f = &g
	}
	if f != nil {
		switch path {
		case stdSendfileFrom:
			err = &os.PathError{Op: "read", Path: s.name, Err: f.bare()}
		case stdReadFrom:
			err = &os.PathError{Op: "write", Path: d.name, Err: f.bare()}
		case stdNet:
			err = f.bare()
		case stdLoop:
			err = f.asLoop(s, d)
		}
	}
	if readfrom != nil {
		err = tcpOpErr("readfrom", readfrom, err)
	}
	if writeto != nil {
		err = tcpOpErr("writeto", writeto, err)
	}
	return err
}

// pipeEnds stands a Pipe's ends in for the Pipe: its errors are shaped as
// io.Copy shapes those of the *os.File ends.
func pipeEnds(dst io.Writer, src io.Reader) (io.Reader, io.Writer) {
	switch x := src.(type) {
	case *Pipe:
		src = x.r
	case *io.LimitedReader:
		if p, ok := x.R.(*Pipe); ok {
			src = &io.LimitedReader{R: p.r, N: x.N}
		}
	}
	if p, ok := dst.(*Pipe); ok {
		dst = p.w
	}
	return src, dst
}

// closedOnLock reports whether io.Copy would meet err, an fd closing, where
// os.File.ReadFrom takes its locks for copy_file_range: between two *os.Files,
// of any kind, into a destination not opened with O_APPEND.
func closedOnLock(dst io.Writer, src io.Reader, err error) bool {
	src, dst = pipeEnds(dst, src)
	inner, _ := unwrapLimited(src)
	d, ok := dst.(*os.File)
	if _, file := inner.(*os.File); !ok || !file {
		return false
	}
	if !errors.Is(err, os.ErrClosed) && !isFileClosing(err) {
		return false
	}
	e := endpoint{file: d}
	e.learnAppendAny()
	return !e.append
}

// closedAsCopyFileRange reshapes err, a closed *os.File met by a copy between
// two *os.Files, as os.File.ReadFrom reports it: whichever side was closed, the
// copy_file_range lock of the destination names it ("write dst: file already
// closed").
func closedAsCopyFileRange(dst io.Writer, src io.Reader, err error) error {
	var pe *os.PathError
	if err == nil || !errors.As(err, &pe) || err != error(pe) || !closedOnLock(dst, src, pe.Err) {
		return err
	}
	return closedDst(dst, src)
}

// closedDst is the error of os.File.ReadFrom's copy_file_range lock when either
// *os.File is closed; dst is an *os.File or a Pipe.
func closedDst(dst io.Writer, src io.Reader) error {
	_, dst = pipeEnds(dst, src)
	return &os.PathError{Op: "write", Path: dst.(*os.File).Name(), Err: os.ErrClosed}
}

// bare is the fault as the standard library's kernel paths return it: an errno
// as an *os.SyscallError, the poller's own error (a deadline, the fd closing)
// unwrapped.
func (f *fault) bare() error {
	if f.poll == nil {
		return os.NewSyscallError(f.call, f.errno)
	}
	if oe, ok := f.poll.(*net.OpError); ok {
		return oe.Err
	}
	if isFileClosing(f.poll) {
		return os.ErrClosed
	}
	return f.poll
}

// asLoop is the fault as the failing side's own Read or Write would report it:
// an *os.File's as *os.PathError around the bare errno, a connection's as
// *net.OpError around an *os.SyscallError.
func (f *fault) asLoop(s, d *endpoint) error {
	e, op := s, "read"
	if f.dst {
		e, op = d, "write"
	}
	switch {
	case f.poll == nil && e.conn == nil && e.name != "":
		return e.wrap(op, f.errno)
	case f.poll == nil && e.conn != nil:
		// A connection's Read and Write name themselves in the
		// *os.SyscallError, whatever call Copy made.
		return e.syscallErr(op, op, f.errno)
	}
	return f.bySide(s, d)
}
