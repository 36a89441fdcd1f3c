//go:build !splice_portable

package splice

import (
	"errors"
	"io"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// A pump moves bytes from src to dst with splice(2), tee(2), sendfile(2) or
// copy_file_range(2), inside the callback of dst's RawConn nested in the callback
// of src's, so that it holds src's read lock and dst's write lock while it moves
// bytes, as internal/poll does. Every pump takes them in that order, src first,
// so that pumps sharing fds cannot deadlock. The system calls run non-blocking.
// On EAGAIN the pump works out which side is not ready — from what it knows (a
// regular file is always ready; so is the engine's own pipe, which it only
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
	once     bool // stop after the first call that moves bytes
	try      bool // stop at the first EAGAIN instead of waiting
	// held: src holds every byte asked for, so it is never waited for and
	// is entered through Control, not its read callback: no read deadline
	// (which bounds waiting) can fail the call.
	held   bool
	remain int64 // bytes still wanted; negative: until EOF
	max    int   // the most bytes one system call is asked for; 0: maxChunk

	written int64
	eof     bool
	errno   error // from the system call, bare
	srcErr  error // from src's RawConn
	dstErr  error // from dst's RawConn

	sfd     int
	dfd     int
	srcWait bool // the system call found src not ready
	dstWait bool // the system call found dst not ready (and src is not an enginePipe)
	pfds    [2]unix.PollFd
	onSrc   func(uintptr) bool
	onDst   func(uintptr) bool
	onWait  func(uintptr) bool
	onHeld  func(uintptr)
}

type pumpOp uint8

const (
	opSplice pumpOp = iota
	opTee
	opSendfile      // src is a regular file, dst a socket
	opCopyFileRange // both regular files
)

// String names the system call.
func (op pumpOp) String() string {
	switch op {
	case opTee:
		return "tee"
	case opSendfile:
		return "sendfile"
	case opCopyFileRange:
		return "copy_file_range"
	}
	return "splice"
}

// maxChunk bounds one system call; it fits an int on every platform.
const maxChunk = 1 << 30

func newPump() *pump {
	p := new(pump)
	p.onSrc = p.srcReady
	p.onDst = p.dstReady
	p.onWait = p.dstWritable
	p.onHeld = func(sfd uintptr) { p.srcReady(sfd) }
	return p
}

var pumpPool = sync.Pool{New: func() any { return newPump() }}

// getPump returns a pooled pump set up to move remain bytes (negative: until
// EOF) from s to d, waiting whenever a side is not ready and with no stop
// after the first call; putPump returns it.
func getPump(s, d endpoint, op pumpOp, remain int64) *pump {
	pm := pumpPool.Get().(*pump)
	pm.src, pm.dst, pm.op, pm.remain = s, d, op, remain
	pm.once, pm.try, pm.held, pm.max = false, false, false, 0
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
	p.written, p.eof, p.errno, p.srcErr, p.dstErr, p.dfd = 0, false, nil, nil, nil, -1
	for p.remain != 0 {
		p.dstWait = false
		var err error
		switch {
		case p.src.engine:
			p.srcReady(uintptr(p.src.fd))
		case p.held:
			err = p.src.anyControl(p.onHeld)
		default:
			err = p.src.rawIO(false, p.onSrc)
		}
		if err != nil && p.srcErr == nil {
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
		if p.dst.engine {
			p.dstReady(uintptr(p.dst.fd))
		} else if err := p.dst.rawIO(true, p.onDst); err != nil {
			// dst past its deadline: io.Copy would read src first, and at
			// its end return without writing; it waits for src until
			// then. (A closed dst fails io.Copy at once: os.File's
			// ReadFrom checks.)
			switch st := p.srcState(); {
			case !errors.Is(err, os.ErrDeadlineExceeded) || st == srcBytes:
				p.dstErr = err
				return true
			case st == srcEnded:
				p.eof = true
				return true
			}
			p.srcWait = true
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
	p.dfd = int(dfd)
	spurious := 0
	for p.remain != 0 {
		n := maxChunk
		if p.max > 0 {
			n = p.max
		}
		if p.remain > 0 && p.remain < int64(n) {
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
			if p.try {
				return true
			}
		case unix.EPIPE:
			// dst has no reader. io.Copy would read src first: at its
			// end it returns without writing, and it waits for src
			// until then.
			switch p.srcState() {
			case srcEnded:
				p.eof = true
				return true
			case srcEmpty:
				p.srcWait = true
				return true
			}
			fallthrough
		default:
			p.errno = err
			return true
		}
		// EAGAIN: find out which side is not ready.
		srcOK, dstOK := p.src.alwaysReady() || p.held, p.dst.alwaysReady()
		if !dstOK && (!srcOK || p.held) {
			// A held src is ready by definition: if dst is too, the bytes
			// it held are gone (another reader took them), which the
			// spurious count below turns into a refusal, not a spin.
			p.pfds = [2]unix.PollFd{
				{Fd: int32(dfd), Events: unix.POLLOUT},
				{Fd: int32(p.sfd), Events: unix.POLLIN},
			}
			nfds := 2
			if p.held {
				nfds = 1
			}
			if _, err := unix.Poll(p.pfds[:nfds], 0); err != nil && err != unix.EINTR {
				p.errno = err
				return true
			}
			dstOK = p.pfds[0].Revents != 0
			srcOK = p.held || p.pfds[1].Revents != 0
		}
		// src first, as io.Copy's read comes before its write: a src
		// that ends while dst stays full (a pipe nothing reads yet) ends
		// the copy, where waiting for dst would wait for ever. (Only a
		// socket's readiness is known for sure: see srcState. Tee waits
		// for dst first, as its doc says.)
		switch {
		case !srcOK && p.src.isSocket():
			p.srcWait = true
			return true
		case !dstOK && p.srcState() == srcEnded:
			p.eof = true
			return true
		case !dstOK && !p.src.engine:
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

// What src has for io.Copy's next read, as srcState sees it.
type srcStateKind uint8

const (
	srcBytes srcStateKind = iota // bytes, or an error to report, or unknown
	srcEnded                     // its end: the read would return EOF
	srcEmpty                     // nothing yet: the read would wait
)

// srcState tells what src, in whose callback the pump is, would give io.Copy's
// next read (for a pump that stands for one: not tee's), as far as can be
// known without taking a byte (an fd of unknown kind is asked fstat(2)): a
// regular file is asked by pread(2) at its offset, since st_size and FIONREAD
// lie for procfs files; a stream socket is polled, then asked FIONREAD; a pipe has
// ended if it is hung up and empty. Only a socket is ever said to be empty: a
// FIFO opened before any writer came polls as not readable, yet read(2)
// returns its end. It costs a system call or two, made only where dst cannot
// take bytes.
func (p *pump) srcState() srcStateKind {
	if p.held || p.src.engine || p.op == opCopyFileRange || p.op == opTee {
		// Tee is not io.Copy: it waits for dst first, as its doc says.
		return srcBytes
	}
	kind := p.src.kind
	if kind == kindUnknown {
		var st unix.Stat_t
		if unix.Fstat(p.sfd, &st) != nil {
			return srcBytes
		}
		kind = kindOf(st.Mode)
	}
	switch kind {
	case kindRegular:
		off, err := unix.Seek(p.sfd, 0, io.SeekCurrent)
		var b [1]byte
		if err == nil {
			if n, err := unix.Pread(p.sfd, b[:], off); err == nil && n == 0 {
				return srcEnded
			}
		}
		return srcBytes
	case kindPipe, kindSocket:
	default:
		return srcBytes
	}
	p.pfds[1] = unix.PollFd{Fd: int32(p.sfd), Events: unix.POLLIN | unix.POLLRDHUP}
	n, err := unix.Poll(p.pfds[1:], 0)
	switch {
	case err != nil || p.pfds[1].Revents&(unix.POLLERR|unix.POLLNVAL) != 0:
		return srcBytes
	case n == 0 && kind == kindSocket:
		return srcEmpty
	case n == 0 || kind == kindPipe && p.pfds[1].Revents&unix.POLLHUP == 0:
		return srcBytes
	}
	if m, err := unix.IoctlGetInt(p.sfd, unix.TIOCINQ); err == nil && m == 0 {
		return srcEnded
	}
	return srcBytes
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

// pollWait blocks the thread until fd reports one of events, for fds that are not
// in Go's poller.
func pollWait(fd int, events int16) error {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
	_, err := ignoringEINTR(func() (int, error) { return unix.Poll(pfd, -1) })
	return err
}

// refused reports whether the errno that stopped the pump means that the kernel
// will not make this system call between these fds at all (as opposed to a
// failure of the I/O itself), or that the failure must be met by a write of the
// caller's own (EPIPE on stdout), so that a copy takes another path.
func (p *pump) refused() bool {
	switch p.errno {
	case nil:
		return false
	case unix.EINVAL, unix.ENOSYS, unix.EPERM, unix.EOPNOTSUPP, unix.EXDEV:
		return true
	case unix.EBADF:
		// copy_file_range's answer for a destination opened with O_APPEND.
		return p.op == opCopyFileRange
	case unix.EPIPE:
		// A broken stdout or stderr: the failing write must be os.File's
		// own, which raises SIGPIPE as Go documents for fds 1 and 2.
		return p.dst.conn == nil && !p.dst.engine && (p.dfd == 1 || p.dfd == 2)
	}
	return false
}

// pumped is how a pump's run ended.
type pumped struct {
	n       int64
	f       *fault
	refused bool
}

// run runs pm and returns how it ended; pooled pumps go back to the pool.
func run(pm *pump, pooled bool) pumped {
	pm.run()
	r := pumped{n: pm.written, f: pm.fault(), refused: pm.refused()}
	if pooled {
		putPump(pm)
	}
	return r
}
