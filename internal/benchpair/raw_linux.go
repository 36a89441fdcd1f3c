package benchpair

import (
	"errors"
	"io"
	"syscall"

	"golang.org/x/sys/unix"
)

// rawCopier is what a plain C program gets for a pair, a reference and not an
// upper bound: a bare loop of blocking system calls on the fds under the same
// endpoints, which setupRaw switches to blocking mode and close switches
// back. Nothing else uses those fds while raw runs: the feeder and drainer
// work the peers, and each implementation has endpoints of its own.
//
// A blocking splice(2) between a pipe and a socket holds the pipe's lock while
// it waits for the socket, so a feeder or drainer working that pipe waits for
// raw's call to return. That is why they are blocking helper threads, as in an
// independent C harness: such a thread sleeps on the lock, and the kernel wakes
// it as soon as raw lets go. A helper in Go's poller would instead find the
// pipe not ready, park, and be resumed only once the runtime polls again (at
// worst by its monitor, 10 ms on) and hands it from thread to thread: raw
// would be charged for the harness. The wait itself is the kernel's, and a C
// program pays it too: from a pipe to a socket the feeder refills the pipe
// only between raw's calls (a whole pipe at a time), where a non-blocking copy,
// which lets go of the pipe when the socket is full, lets it refill the pipe
// meanwhile; so raw is what blocking calls get, which a non-blocking copy
// can beat there. Raw does nothing about the one cost that blocking has in Go,
// as a C program would not: a call that blocks keeps the goroutine's P until
// the runtime's monitor retakes it (20 µs at the soonest), as any system call
// does; Start's GOMAXPROCS of at least 4 leaves the helpers theirs
// meanwhile.
type rawCopier struct {
	op       rawOp
	sfd, dfd int
	pr, pw   int // rawViaPipe's pipe (blocking), or -1
	pipeSize int
	blocking []int // the fds setupRaw made blocking, to make non-blocking again
}

type rawOp int

const (
	rawNone          rawOp = iota
	rawCopyFileRange       // copy_file_range(2), between regular files
	rawDirect              // splice(2), one side being a pipe
	rawViaPipe             // splice(2) into and out of one pipe
)

// setupRaw readies e.raw to copy between the fds under e.src and e.dst.
func (e *benchEnv) setupRaw(tb TB) {
	r := &e.raw
	// Registered after the endpoints' own cleanups, so that it runs before
	// them. (e.fail calls e.stop, which calls close first.)
	tb.Cleanup(r.close)
	r.sfd = rawFD(tb, e.src)
	r.dfd = rawFD(tb, e.dst)
	// Pipes and sockets are non-blocking, in Go's poller; regular files
	// never block, so they need nothing.
	for _, fd := range []int{r.sfd, r.dfd} {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			tb.Fatalf("F_GETFL: %v", err)
		}
		if fl&unix.O_NONBLOCK == 0 {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_NONBLOCK); err != nil {
			tb.Fatalf("clear O_NONBLOCK: %v", err)
		}
		r.blocking = append(r.blocking, fd)
	}
	switch {
	case e.srcFile != nil && e.dstFile != nil:
		r.op = rawCopyFileRange
	case !isPipe(tb, r.sfd) && !isPipe(tb, r.dfd):
		// Neither side is a pipe (from a file to a socket, too: splice
		// through a 1 MiB pipe beats sendfile(2) there at large sizes).
		var err error
		if r.pr, r.pw, r.pipeSize, err = benchPipe(0); err != nil {
			tb.Fatalf("raw: %v", err)
		}
		r.op = rawViaPipe
	default:
		r.op = rawDirect
	}
}

// isPipe reports whether fd is a pipe (a FIFO).
func isPipe(tb TB, fd int) bool {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		tb.Fatalf("fstat: %v", err)
	}
	return st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// rawConnOf returns v's syscall.RawConn.
func rawConnOf(tb TB, v syscall.Conn) syscall.RawConn {
	rc, err := v.SyscallConn()
	if err != nil {
		tb.Fatalf("SyscallConn: %v", err)
	}
	return rc
}

// rawFD returns the fd under v (unwrapping an *io.LimitedReader), learnt
// through its syscall.RawConn. It stays valid until the endpoint is closed,
// when the Copy's TB runs its cleanups.
func rawFD(tb TB, v any) int {
	if lr, ok := v.(*io.LimitedReader); ok {
		v = lr.R
	}
	sc, ok := v.(syscall.Conn)
	if !ok {
		tb.Fatalf("%T has no fd", v)
	}
	fd := -1
	if err := rawConnOf(tb, sc).Control(func(u uintptr) { fd = int(u) }); err != nil {
		tb.Fatalf("Control: %v", err)
	}
	return fd
}

// close makes the fds that setupRaw made blocking non-blocking again, for the
// poller that owns them, and closes the pipe. It must run before the endpoints
// are closed, while the fds are still theirs.
func (r *rawCopier) close() {
	for _, fd := range r.blocking {
		unix.SetNonblock(fd, true)
	}
	r.blocking = nil
	closePipe(r.pr, r.pw)
	r.pr, r.pw = -1, -1
	r.op = rawNone
}

// errRawEOF reports that a raw copy's source ended before size bytes.
var errRawEOF = errors.New("raw copy: source ended early")

// copy moves exactly size bytes from sfd to dfd.
func (r *rawCopier) copy(size int64) (int64, error) {
	var moved int64
	for moved < size {
		want := int(min(size-moved, 1<<30))
		var n int
		var err error
		switch r.op {
		case rawCopyFileRange:
			n, err = unix.CopyFileRange(r.sfd, nil, r.dfd, nil, want, 0)
		case rawDirect:
			n, err = spliceRetry(r.sfd, r.dfd, want, unix.SPLICE_F_MOVE)
		case rawViaPipe:
			n, err = r.viaPipe(min(want, r.pipeSize))
			moved += int64(n)
			if err != nil {
				return moved, err
			}
			continue
		default:
			return moved, errors.New("raw copy not set up")
		}
		switch {
		case err == nil && n > 0:
			moved += int64(n)
		case err == nil:
			return moved, errRawEOF
		case err == unix.EINTR:
		default:
			return moved, err
		}
	}
	return moved, nil
}

// viaPipe splices up to want bytes from sfd into the pipe, which is empty, and
// all of them on to dfd, and returns how many reached dfd.
func (r *rawCopier) viaPipe(want int) (int, error) {
	in, err := spliceRetry(r.sfd, r.pw, want, unix.SPLICE_F_MOVE)
	switch {
	case err != nil:
		return 0, err
	case in == 0:
		return 0, errRawEOF
	}
	var out int
	for out < in {
		m, err := spliceRetry(r.pr, r.dfd, in-out, unix.SPLICE_F_MOVE)
		if err == nil && m == 0 {
			err = io.ErrNoProgress // cannot be: the pipe holds in-out bytes
		}
		if err != nil {
			return out, err
		}
		out += m
	}
	return out, nil
}
