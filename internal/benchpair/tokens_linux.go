package benchpair

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// Tokens, pipes and the retrying system calls the helpers make.

// benchTokens passes tokens from one thread to another: an eventfd(2) in
// semaphore mode, blocking and outside Go's poller, as a C harness would use.
// A Go channel would not do: the helpers' goroutines are locked to their
// threads, so every hand-off through Go's scheduler between them and the
// benchmark's goroutine would move a P from thread to thread and wake threads
// through the scheduler, which costs several times a small copy (tens of
// microseconds a token on a small virtual machine). The kernel instead wakes
// the thread blocked in take directly.
type benchTokens struct{ fd int }

// newBenchTokens returns an empty benchTokens, which e.stop closes.
func newBenchTokens(tb TB) *benchTokens {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_SEMAPHORE)
	if err != nil {
		tb.Fatalf("eventfd: %v", err)
	}
	return &benchTokens{fd: fd}
}

// give adds a token; it never blocks.
func (t *benchTokens) give() error {
	var buf [8]byte
	binary.NativeEndian.PutUint64(buf[:], 1)
	for {
		_, err := unix.Write(t.fd, buf[:])
		if err != unix.EINTR {
			return err
		}
	}
}

// take takes a token, waiting until there is one.
func (t *benchTokens) take() error {
	var buf [8]byte
	for {
		_, err := unix.Read(t.fd, buf[:])
		if err != unix.EINTR {
			return err
		}
	}
}

// close closes t; it ignores a nil t.
func (t *benchTokens) close() {
	if t != nil && t.fd >= 0 {
		unix.Close(t.fd)
		t.fd = -1
	}
}

// benchPipe returns a new pipe made by pipe2(2) with flags|O_CLOEXEC and grown
// to BufSize by F_SETPIPE_SZ, or left as it is if that is refused (past
// the user's pipe quota, say), and its capacity. The caller closes both ends.
func benchPipe(flags int) (r, w, size int, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], flags|unix.O_CLOEXEC); err != nil {
		return -1, -1, 0, os.NewSyscallError("pipe2", err)
	}
	size, err = unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, BufSize)
	if err != nil {
		if size, err = unix.FcntlInt(uintptr(fds[1]), unix.F_GETPIPE_SZ, 0); err != nil {
			closePipe(fds[0], fds[1])
			return -1, -1, 0, os.NewSyscallError("fcntl F_GETPIPE_SZ", err)
		}
	}
	return fds[0], fds[1], size, nil
}

// closePipe closes the ends of a pipe from benchPipe, ignoring -1.
func closePipe(r, w int) {
	if r >= 0 {
		unix.Close(r)
	}
	if w >= 0 {
		unix.Close(w)
	}
}

// spliceRetry is splice(2) with no offsets, retried on EINTR.
func spliceRetry(rfd, wfd, n, flags int) (int, error) {
	for {
		m, err := unix.Splice(rfd, nil, wfd, nil, n, flags)
		if err != unix.EINTR {
			return int(m), err // m is an int64 on some architectures
		}
	}
}

// vmspliceRetry is vmsplice(2) of iov into the pipe fd, without flags, retried
// on EINTR. On a blocking pipe it waits for room, then fills what it can.
func vmspliceRetry(fd int, iov []unix.Iovec) (int, error) {
	for {
		n, err := unix.Vmsplice(fd, iov, 0)
		if err != unix.EINTR {
			return n, err
		}
	}
}
