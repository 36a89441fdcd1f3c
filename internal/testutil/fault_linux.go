package testutil

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// faultTimeout bounds the waits of this file: for bytes to arrive, for a reset
// to land.
const faultTimeout = 10 * time.Second

// SmallFS mounts a tmpfs of size bytes on a fresh directory and returns the
// directory, so that writing more than size bytes into it fails with ENOSPC;
// t.Cleanup unmounts it (lazily, so files still open do not keep it). It skips
// t, with the reason, where the mount is refused (not root, no
// CAP_SYS_ADMIN, a sandbox).
func SmallFS(t testing.TB, size int) string {
	t.Helper()
	dir := t.TempDir()
	err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+strconv.Itoa(size))
	if err != nil {
		t.Skipf("testutil: cannot mount a %d-byte tmpfs (euid %d): %v", size, os.Geteuid(), err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("testutil: unmount %s: %v", dir, err)
		}
	})
	return dir
}

// FileSizeLimit sets the soft RLIMIT_FSIZE of the process to limit bytes, so
// that writing past it fails with EFBIG (Go ignores SIGXFSZ), and returns a
// function that restores the old limit. The limit is process-wide: use it
// only in a child ([RunChild]), around the one copy it is for. It skips t if
// the limit cannot be set.
func FileSizeLimit(t testing.TB, limit int64) (restore func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Skipf("testutil: getrlimit(RLIMIT_FSIZE): %v", err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: uint64(limit), Max: old.Max}); err != nil {
		t.Skipf("testutil: setrlimit(RLIMIT_FSIZE, %d): %v", limit, err)
	}
	return func() {
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
			panic(fmt.Sprintf("testutil: restoring RLIMIT_FSIZE: %v", err))
		}
	}
}

// ExhaustFDs leaves the process no free file descriptor: it lowers the soft
// RLIMIT_NOFILE to one above the highest open fd and fills the gaps below it
// with /dev/null, so that pipe2, open, socket and dup fail with EMFILE until
// restore, which closes the fillers and restores the limit. It is
// process-wide: use it only in a child ([RunChild]), around the one call it is
// for, and log nothing in between.
func ExhaustFDs(t testing.TB) (restore func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Skipf("testutil: getrlimit(RLIMIT_NOFILE): %v", err)
	}
	fds, err := OpenFDs()
	if err != nil {
		t.Skipf("testutil: %v", err)
	}
	highest := 0
	for fd := range fds {
		highest = max(highest, fd)
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: uint64(highest + 1), Max: old.Max}); err != nil {
		t.Skipf("testutil: setrlimit(RLIMIT_NOFILE, %d): %v", highest+1, err)
	}
	var fillers []int
	restore = func() {
		for _, fd := range fillers {
			unix.Close(fd)
		}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
			panic(fmt.Sprintf("testutil: restoring RLIMIT_NOFILE: %v", err))
		}
	}
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EMFILE) {
			return restore
		}
		if err != nil {
			restore()
			t.Fatalf("testutil: open /dev/null: %v", err)
		}
		fillers = append(fillers, fd)
	}
}

// Buffered returns how many bytes wait to be read in the pipe or stream
// socket under c (FIONREAD). It makes no other system call on c.
func Buffered(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCINQ) }); err != nil { // TIOCINQ is FIONREAD
		return 0, err
	}
	return n, ierr
}

// Preload writes a prefix of data to w, the far end of the pipe or stream
// socket whose near end is r, and waits until all of it waits to be read in r,
// so that r then yields exactly those bytes without any further write. It
// first grows the buffers involved (the pipe to 1 MiB, the socket buffers to
// 4 MiB, as far as the system allows) and writes as much of data as they are
// sure to hold; it returns how many bytes that was.
func Preload(t testing.TB, r syscall.Conn, w io.Writer, data []byte) int {
	t.Helper()
	room, err := preloadRoom(r, w)
	if err != nil {
		t.Fatalf("testutil: preload: %v", err)
	}
	n := min(room, len(data))
	if d, ok := w.(interface{ SetWriteDeadline(time.Time) error }); ok {
		d.SetWriteDeadline(time.Now().Add(faultTimeout))
		defer d.SetWriteDeadline(time.Time{})
	}
	if _, err := w.Write(data[:n]); err != nil {
		t.Fatalf("testutil: preload %d bytes: %v", n, err)
	}
	for deadline := time.Now().Add(faultTimeout); ; time.Sleep(time.Millisecond) {
		got, err := Buffered(r)
		if err != nil {
			t.Fatalf("testutil: preload: %v", err)
		}
		if got >= n {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("testutil: preload: %d of %d bytes arrived in %v", got, n, faultTimeout)
		}
	}
}

// preloadRoom grows the buffers between w and r and returns how many bytes w
// can write that r is sure to hold unread.
func preloadRoom(r syscall.Conn, w io.Writer) (int, error) {
	switch r := r.(type) {
	case *net.TCPConn:
		// The receiver's buffer bounds what it holds: the window is about
		// half of it, less the overhead of each segment.
		r.SetReadBuffer(4 << 20)
		n, err := sockopt(r, unix.SO_RCVBUF)
		return n / 4, err
	case *net.UnixConn:
		// A stream socket's queued bytes are charged to the sender.
		wc, ok := w.(*net.UnixConn)
		if !ok {
			return 0, fmt.Errorf("peer of a unix conn is %T", w)
		}
		wc.SetWriteBuffer(4 << 20)
		n, err := sockopt(wc, unix.SO_SNDBUF)
		return n / 4, err
	}
	f, ok := w.(*os.File)
	if !ok {
		return 0, fmt.Errorf("cannot preload %T through %T", r, w)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var size int
	var ferr error
	err = rc.Control(func(fd uintptr) {
		unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) // best effort
		size, ferr = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0)
	})
	if err == nil {
		err = ferr
	}
	return size, err
}

func sockopt(c syscall.Conn, opt int) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var serr error
	if err := rc.Control(func(fd uintptr) { n, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt) }); err != nil {
		return 0, err
	}
	return n, serr
}

// WaitHangup waits until the pipe or socket under c reports POLLHUP or
// POLLERR: its peer has gone (closed, or reset the connection). It polls
// without reading, so a pending error (ECONNRESET) stays for the next call.
func WaitHangup(t testing.TB, c syscall.Conn) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	for deadline := time.Now().Add(faultTimeout); ; {
		var revents int16
		var perr error
		if err := rc.Control(func(fd uintptr) {
			pfd := []unix.PollFd{{Fd: int32(fd)}}
			_, perr = unix.Poll(pfd, 10)
			revents = pfd[0].Revents
		}); err != nil {
			t.Fatalf("testutil: %v", err)
		}
		if perr != nil && !errors.Is(perr, unix.EINTR) {
			t.Fatalf("testutil: poll: %v", perr)
		}
		if revents&(unix.POLLHUP|unix.POLLERR) != 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testutil: no hangup on %T within %v", c, faultTimeout)
		}
	}
}

// ResetTCP resets the connection from peer's side (SO_LINGER 0, then Close,
// which sends RST) and waits until conn has received the reset: conn's next
// write fails with ECONNRESET, and its reads, once the bytes already
// received are read, too.
func ResetTCP(t testing.TB, conn, peer *net.TCPConn) {
	t.Helper()
	if err := peer.SetLinger(0); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	if err := peer.Close(); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	WaitHangup(t, conn)
}

// WhenDrained calls fn, from a goroutine of its own, once nothing waits to be
// read in the pipe or socket under c any more (the code under test read what
// [Preload] put there), or not at all if c fails first. t.Cleanup stops the
// goroutine and waits for it. fn must not call t.Fatal.
func WhenDrained(t testing.TB, c syscall.Conn, fn func()) {
	stop := make(chan struct{})
	g := goTask(func() error {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return nil
			case <-tick.C:
			}
			n, err := Buffered(c)
			if err != nil {
				return err
			}
			if n == 0 {
				fn()
				return nil
			}
		}
	})
	t.Cleanup(func() {
		close(stop)
		if !g.wait(cleanupTimeout) {
			t.Errorf("testutil: WhenDrained goroutine still running after %v", cleanupTimeout)
		}
	})
}
