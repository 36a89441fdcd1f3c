//go:build !splice_portable

package splice_test

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// rawPipe returns a raw pipe's fds, closed when the test ends.
func rawPipe(t testing.TB, flags int) (r, w int) {
	t.Helper()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|flags); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// fileFD returns f's fd through its RawConn, which leaves f's mode alone.
func fileFD(t *testing.T, f *os.File) int {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	rc.Control(func(u uintptr) { fd = int(u) })
	return fd
}

func readN(t *testing.T, fd, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	got := 0
	for got < n {
		m, err := unix.Read(fd, b[got:])
		if err != nil || m == 0 {
			t.Fatalf("read %d of %d bytes: %v", got, n, err)
		}
		got += m
	}
	return b
}

func wantSyscallErr(t *testing.T, err error, call string, errno syscall.Errno) {
	t.Helper()
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != call || !errors.Is(err, errno) {
		t.Errorf("error = %#v, want *os.SyscallError{%q, %v}", err, call, errno)
	}
}

func TestSpliceRaw(t *testing.T) {
	t.Parallel()
	data := testutil.Data(10000, 20)
	src := testutil.TempFile(t, data)
	r, w := rawPipe(t, 0)

	// With an explicit offset the file's own offset stays put.
	off := int64(100)
	n, err := splice.Splice(fileFD(t, src), &off, w, nil, 5000, splice.Move)
	if err != nil || n != 5000 {
		t.Fatalf("Splice(file at 100 -> pipe) = %d, %v; want 5000, nil", n, err)
	}
	if off != 5100 {
		t.Errorf("offset = %d after the splice, want 5100", off)
	}
	if cur, _ := src.Seek(0, 1); cur != 0 {
		t.Errorf("file offset moved to %d; an explicit offset must leave it", cur)
	}
	testutil.Equal(t, data[100:5100], readN(t, r, 5000))

	// Pipe -> file at an offset.
	dst := testutil.TempFile(t, nil)
	unix.Write(w, data[:3000])
	woff := int64(7)
	n, err = splice.Splice(r, nil, fileFD(t, dst), &woff, 3000, 0)
	if err != nil || n != 3000 || woff != 3007 {
		t.Fatalf("Splice(pipe -> file at 7) = %d, %v, offset %d; want 3000, nil, 3007", n, err, woff)
	}
	got, _ := os.ReadFile(dst.Name())
	if diff := cmp.Diff(append(make([]byte, 7), data[:3000]...), got); diff != "" {
		t.Errorf("file content (-want +got):\n%s", diff)
	}

	// n == 0 moves nothing.
	if n, err := splice.Splice(fileFD(t, src), nil, w, nil, 0, 0); n != 0 || err != nil {
		t.Errorf("Splice(n=0) = %d, %v; want 0, nil", n, err)
	}
	// End of input: 0.
	end := int64(len(data))
	if n, err := splice.Splice(fileFD(t, src), &end, w, nil, 100, 0); n != 0 || err != nil {
		t.Errorf("Splice at EOF = %d, %v; want 0, nil", n, err)
	}
}

func TestSpliceRawErrors(t *testing.T) {
	t.Parallel()
	r, w := rawPipe(t, unix.O_NONBLOCK)
	r2, w2 := rawPipe(t, unix.O_NONBLOCK)
	_ = w
	f := testutil.TempFile(t, []byte("x"))

	// Empty non-blocking pipe: EAGAIN.
	_, err := splice.Splice(r, nil, w2, nil, 10, splice.NonBlock)
	wantSyscallErr(t, err, "splice", syscall.EAGAIN)
	// Offsets are not allowed on pipes.
	off := int64(0)
	_, err = splice.Splice(r, &off, w2, nil, 10, splice.NonBlock)
	wantSyscallErr(t, err, "splice", syscall.ESPIPE)
	// Neither side a pipe.
	_, err = splice.Splice(fileFD(t, f), nil, fileFD(t, f), nil, 10, 0)
	wantSyscallErr(t, err, "splice", syscall.EINVAL)
	// A closed fd.
	_, err = splice.Splice(-1, nil, w2, nil, 10, 0)
	wantSyscallErr(t, err, "splice", syscall.EBADF)
	_ = r2
}

func TestTeeRaw(t *testing.T) {
	t.Parallel()
	var p1 [2]int
	if err := unix.Pipe2(p1[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r1, w1 := p1[0], p1[1]
	t.Cleanup(func() {
		unix.Close(r1)
		if w1 >= 0 {
			unix.Close(w1)
		}
	})
	r2, w2 := rawPipe(t, unix.O_NONBLOCK)
	data := testutil.Data(3000, 21)
	unix.Write(w1, data)

	n, err := splice.Tee(r1, w2, 1<<20, 0)
	if err != nil || n != 3000 {
		t.Fatalf("Tee = %d, %v; want 3000, nil", n, err)
	}
	testutil.Equal(t, data, readN(t, r2, 3000))
	testutil.Equal(t, data, readN(t, r1, 3000)) // not consumed by Tee

	// Empty source, non-blocking: EAGAIN; bad fds: EBADF; not pipes: EINVAL.
	_, err = splice.Tee(r2, w1, 10, splice.NonBlock)
	wantSyscallErr(t, err, "tee", syscall.EAGAIN)
	_, err = splice.Tee(-1, w2, 10, 0)
	wantSyscallErr(t, err, "tee", syscall.EBADF)
	f := testutil.TempFile(t, []byte("abc"))
	_, err = splice.Tee(fileFD(t, f), w2, 10, 0)
	wantSyscallErr(t, err, "tee", syscall.EINVAL)

	// No writers and empty: 0. (w1 is closed here; the cleanup's second close
	// must not hit an fd another parallel test has since been given.)
	unix.Close(w1)
	w1 = -1
	if n, err := splice.Tee(r1, w2, 10, 0); n != 0 || err != nil {
		t.Errorf("Tee from a drained pipe without writers = %d, %v; want 0, nil", n, err)
	}
}

func TestVmspliceRaw(t *testing.T) {
	t.Parallel()
	r, w := rawPipe(t, 0)
	a, b := testutil.Data(5000, 22), testutil.Data(3, 23)
	n, err := splice.Vmsplice(w, [][]byte{a, nil, b}, 0)
	if err != nil || n != len(a)+len(b) {
		t.Fatalf("Vmsplice = %d, %v; want %d, nil", n, err, len(a)+len(b))
	}
	testutil.Equal(t, append(append([]byte{}, a...), b...), readN(t, r, n))

	if n, err := splice.Vmsplice(w, nil, 0); n != 0 || err != nil {
		t.Errorf("Vmsplice(no buffers) = %d, %v; want 0, nil", n, err)
	}
	if _, err := splice.Vmsplice(-1, [][]byte{a}, 0); err == nil {
		t.Error("Vmsplice(-1) succeeded")
	} else {
		wantSyscallErr(t, err, "vmsplice", syscall.EBADF)
	}
}

// Vmsplice maps the caller's memory into the pipe instead of copying it: a change
// made to the buffer before the consumer reads shows up in what it reads. This is
// the hazard the doc comment warns of, and the reason Writer double-buffers.
func TestVmspliceSharesMemory(t *testing.T) {
	t.Parallel()
	r, w := rawPipe(t, 0)
	buf := make([]byte, os.Getpagesize()) // a whole page, so the kernel maps it
	copy(buf, "before")
	if _, err := splice.Vmsplice(w, [][]byte{buf}, 0); err != nil {
		t.Fatal(err)
	}
	copy(buf, "after!")
	got := readN(t, r, len(buf))
	if string(got[:6]) != "after!" {
		t.Errorf("consumer read %q: this kernel copied the pages rather than mapping them", got[:6])
	}
}

// Vmsplice passes at most IOV_MAX buffers per call (the kernel refuses more with
// EINVAL), and reports what it moved: each buffer takes a slot of the pipe's ring.
func TestVmspliceManyBuffers(t *testing.T) {
	t.Parallel()
	r, w := rawPipe(t, 0)
	size, err := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, 1<<20)
	if err != nil {
		t.Skipf("pipe resize refused: %v", err)
	}
	slots := size / os.Getpagesize()
	bufs := make([][]byte, 2000)
	var want []byte
	for i := range bufs {
		bufs[i] = []byte{byte(i), byte(i >> 8)}
		want = append(want, bufs[i]...)
	}
	n, err := splice.Vmsplice(w, bufs, 0)
	if want := 2 * min(1024, slots); err != nil || n != want {
		t.Fatalf("Vmsplice(2000 buffers) = %d, %v; want %d (one 2-byte buffer per slot, %d slots), nil", n, err, want, slots)
	}
	testutil.Equal(t, want[:n], readN(t, r, n))
}

// On the read end, vmsplice copies out of the pipe, like readv.
func TestVmspliceReadEnd(t *testing.T) {
	t.Parallel()
	r, w := rawPipe(t, 0)
	data := testutil.Data(100, 24)
	unix.Write(w, data)
	a, b := make([]byte, 60), make([]byte, 60)
	n, err := splice.Vmsplice(r, [][]byte{a, b}, 0)
	if err != nil || n != 100 {
		t.Fatalf("Vmsplice(read end) = %d, %v; want 100, nil", n, err)
	}
	testutil.Equal(t, data, append(a, b[:40]...))
}
