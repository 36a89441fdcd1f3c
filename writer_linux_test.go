//go:build !splice_portable

package splice_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// TestWriterProbe checks the probe against one made here: on this kernel
// vmsplice either maps the page (a change after the call shows through) or
// copies it, and the Writer's probe must say which.
func TestWriterProbe(t *testing.T) {
	r, w := testutil.OSPipePair(t)
	page, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(page)
	copy(page, "old")
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var verr error
	rc.Control(func(fd uintptr) { _, verr = splice.Vmsplice(int(fd), [][]byte{page[:3]}, splice.NonBlock) })
	if verr != nil {
		if sb, ok := testutil.Sandboxed(); ok && sb.Refuses("vmsplice") {
			if splice.VmspliceMaps() {
				t.Errorf("VmspliceMaps() = true in a sandbox that refuses vmsplice")
			}
			return
		}
		t.Fatal(verr)
	}
	copy(page, "new")
	got := make([]byte, 3)
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatal(err)
	}
	maps := string(got) == "new"
	t.Logf("this kernel's vmsplice maps pages: %v", maps)
	if splice.VmspliceMaps() != maps {
		t.Errorf("VmspliceMaps() = %v, want %v", !maps, maps)
	}
}

// TestWriterCopyingKernel fakes a kernel whose vmsplice copies, and one whose
// probe is not conclusive: the Writer copies, with the same output, and only a
// conclusive answer is kept.
func TestWriterCopyingKernel(t *testing.T) {
	data := testutil.Data(3<<20+1, 5)
	for _, tc := range []struct {
		name     string
		ok       bool
		askedFor int
	}{{"copies", true, 1}, {"inconclusive", false, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			asked, restore := splice.FakeVmspliceProbe(false, tc.ok)
			defer restore()
			for range 2 {
				sink := testutil.OpenSink(t, testutil.OSPipe)
				w, err := splice.NewWriter(sink.W)
				if err != nil {
					t.Fatal(err)
				}
				if m := w.Method(); m != splice.MethodReadWrite {
					t.Errorf("Method() = %v, want read/write", m)
				}
				writeStream(t, w, data, 5, 300<<10)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				testutil.Equal(t, data, sink.Bytes())
			}
			if n := asked(); n != tc.askedFor {
				t.Errorf("probe asked %d times for two Writers, want %d", n, tc.askedFor)
			}
		})
	}
}

// TestWriterRefused makes the first or a later vmsplice fail, as a sandbox
// would refuse it (EPERM, ENOSYS, EOPNOTSUPP, EINVAL) or as an I/O error
// would: the Writer goes on with write(2), no byte lost or doubled.
func TestWriterRefused(t *testing.T) {
	data := testutil.Data(4<<20+7, 6)
	for _, k := range []testutil.Kind{testutil.OSPipe, testutil.BlockingPipe, testutil.File} {
		for _, errno := range []syscall.Errno{unix.EPERM, unix.ENOSYS, unix.EOPNOTSUPP, unix.EINVAL, unix.EIO} {
			for _, nth := range []int{1, 7} {
				t.Run(fmt.Sprintf("%v/%s/call=%d", k, unix.ErrnoName(errno), nth), func(t *testing.T) {
					sink := testutil.OpenSink(t, k)
					w, err := splice.NewWriterSize(sink.W, 64<<10)
					if err != nil {
						t.Fatal(err)
					}
					if m := w.Method(); m != splice.MethodVmsplice {
						t.Fatalf("Method() = %v before the refusal", m)
					}
					defer splice.InjectVmsplice(nth, errno)()
					writeStream(t, w, data, 6, 300<<10)
					if m := w.Method(); m != splice.MethodReadWrite {
						t.Errorf("Method() = %v after the refusal, want read/write", m)
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					testutil.Equal(t, data, sink.Bytes())
				})
			}
		}
	}
}

// TestWriterBrokenPipe checks that a Writer into a pipe whose reader is gone
// fails as a bufio.Writer does: the error of the pipe's own Write (EPIPE).
func TestWriterBrokenPipe(t *testing.T) {
	errOf := func(newW func(io.Writer) bufferedWriter) error {
		r, w := testutil.OSPipePair(t)
		r.Close()
		bw := newW(w)
		bw.Write(make([]byte, 100))
		return bw.Flush()
	}
	got := errOf(func(w io.Writer) bufferedWriter {
		sw, err := splice.NewWriter(w)
		if err != nil {
			t.Fatal(err)
		}
		return sw
	})
	want := errOf(func(w io.Writer) bufferedWriter { return bufio.NewWriter(w) })
	if !errors.Is(got, syscall.EPIPE) || got.Error() != want.Error() {
		t.Errorf("Flush into a broken pipe = %v, want %v (as bufio.Writer's)", got, want)
	}
	var pe *os.PathError
	if !errors.As(got, &pe) || pe.Op != "write" {
		t.Errorf("Flush into a broken pipe = %#v, want an *os.PathError for write", got)
	}
}

// TestWriterDeadline checks that a write deadline on the pipe fires during a
// Flush that waits for room, with the error a bufio.Writer's Flush returns.
func TestWriterDeadline(t *testing.T) {
	errOf := func(newW func(io.Writer) bufferedWriter) (time.Duration, error) {
		_, w := testutil.OSPipePair(t) // nobody reads
		bw := newW(w)
		w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		start := time.Now()
		for range 64 {
			if _, err := bw.Write(make([]byte, 64<<10)); err != nil {
				return time.Since(start), err
			}
		}
		err := bw.Flush()
		return time.Since(start), err
	}
	took, got := errOf(func(w io.Writer) bufferedWriter {
		sw, err := splice.NewWriterSize(w, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		if sw.Method() != splice.MethodVmsplice && !sandboxRefusesVmsplice() {
			t.Fatalf("Method() = %v", sw.Method())
		}
		return sw
	})
	_, want := errOf(func(w io.Writer) bufferedWriter { return bufio.NewWriterSize(w, 128<<10) })
	if !errors.Is(got, os.ErrDeadlineExceeded) || got.Error() != want.Error() {
		t.Errorf("Writer into a full pipe past its deadline = %v, want %v (as bufio.Writer's)", got, want)
	}
	if took > 5*time.Second {
		t.Errorf("the deadline fired after %v", took)
	}
}

func sandboxRefusesVmsplice() bool {
	sb, ok := testutil.Sandboxed()
	return ok && sb.Refuses("vmsplice")
}

// TestWriterSlowConsumer writes through a small pipe to a consumer that reads
// in small pieces, pauses, and resizes the pipe under the Writer (grown past
// the Writer's buffer, then shrunk): whatever the consumer does, a byte of the
// Writer's memory is written again only once the pipe has let it go, so the
// bytes arrive exactly.
func TestWriterSlowConsumer(t *testing.T) {
	t.Parallel()
	data := testutil.Data(6<<20+5, 8)
	r, pw := testutil.OSPipePair(t)
	w, err := splice.NewWriterSize(pw, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() {
		var out bytes.Buffer
		buf := make([]byte, 64<<10)
		sizes := []int{1 << 20, 4 << 20, 4096, 64 << 10, 16 << 10}
		for i := 0; ; i++ {
			n, err := r.Read(buf[:1+i*7919%len(buf)])
			out.Write(buf[:n])
			if err != nil {
				break
			}
			if i%20 == 0 {
				time.Sleep(100 * time.Microsecond)
				if rc, err := r.SyscallConn(); err == nil {
					rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, sizes[i/20%len(sizes)]) })
				}
			}
		}
		got <- out.Bytes()
	}()
	writeStream(t, w, data, 8, 100<<10)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	testutil.Equal(t, data, <-got)
}

// TestWriterOnwardSplice shows the hazard the Writer's doc comment warns of: a
// consumer that splices the pipe on to another pipe takes references to the
// Writer's memory with it, and sees bytes written after its own. It logs what
// it finds rather than failing: the Writer cannot see the consumer.
func TestWriterOnwardSplice(t *testing.T) {
	const pipeSize = 64 << 10
	r, pw := testutil.OSPipePair(t)
	r2, w2 := testutil.OSPipePair(t)
	if _, err := unix.FcntlInt(w2.Fd(), unix.F_SETPIPE_SZ, 1<<20); err != nil {
		t.Skipf("F_SETPIPE_SZ: %v", err)
	}
	w, err := splice.NewWriterSize(pw, pipeSize)
	if err != nil {
		t.Fatal(err)
	}
	if w.Method() != splice.MethodVmsplice {
		t.Skipf("Method() = %v: nothing to show", w.Method())
	}
	data := testutil.Data(8*pipeSize, 10)
	var moved int64
	for off := 0; off < len(data); off += pipeSize / 2 {
		if _, err := w.Write(data[off : off+pipeSize/2]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		// Splice the pipe on without reading it: its pages move to r2's pipe.
		for moved < int64(off+pipeSize/2) {
			n, err := splice.Splice(int(r.Fd()), nil, int(w2.Fd()), nil, pipeSize, 0)
			if err != nil {
				t.Fatal(err)
			}
			moved += n
		}
	}
	w.Close()
	w2.Close()
	got, err := io.ReadAll(r2)
	if err != nil {
		t.Fatal(err)
	}
	differ := 0
	for i := range min(len(got), len(data)) {
		if got[i] != data[i] {
			differ++
		}
	}
	t.Logf("onward splice: %d of %d bytes arrived changed by later writes (the documented hazard)", differ, len(data))
	if len(got) != len(data) {
		t.Errorf("%d bytes arrived, want %d", len(got), len(data))
	}
}

// TestWriterFile checks the file path against bufio: the bytes land at the
// file's offset and leave it where a bufio.Writer leaves it; a file opened
// with O_APPEND (splice refuses it) is copied to.
func TestWriterFile(t *testing.T) {
	data := testutil.Data(2<<20+3, 11)
	for _, flag := range []int{0, os.O_APPEND} {
		t.Run(fmt.Sprintf("append=%v", flag != 0), func(t *testing.T) {
			result := func(newW func(io.Writer) bufferedWriter) ([]byte, int64) {
				name := filepath.Join(t.TempDir(), "f")
				if err := os.WriteFile(name, []byte("0123456789"), 0o600); err != nil {
					t.Fatal(err)
				}
				f, err := os.OpenFile(name, os.O_WRONLY|flag, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := f.Seek(4, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				bw := newW(f)
				writeStream(t, bw, data, 11, 300<<10)
				if err := bw.Flush(); err != nil {
					t.Fatal(err)
				}
				if c, ok := bw.(io.Closer); ok {
					c.Close()
				}
				off, _ := f.Seek(0, io.SeekCurrent)
				b, err := os.ReadFile(name)
				if err != nil {
					t.Fatal(err)
				}
				return b, off
			}
			got, gotOff := result(func(w io.Writer) bufferedWriter {
				sw, err := splice.NewWriter(w)
				if err != nil {
					t.Fatal(err)
				}
				want := splice.MethodVmsplice
				if flag != 0 || sandboxRefusesVmsplice() {
					want = splice.MethodReadWrite
				}
				if sw.Method() != want {
					t.Errorf("Method() = %v, want %v", sw.Method(), want)
				}
				return sw
			})
			want, wantOff := result(func(w io.Writer) bufferedWriter { return bufio.NewWriter(w) })
			testutil.Equal(t, want, got)
			if gotOff != wantOff {
				t.Errorf("offset after = %d, want %d", gotOff, wantOff)
			}
		})
	}
}

// TestWriterReleases checks that Close unmaps the Writer's memory and closes
// its pipe, and that a Writer dropped without Close does the same once
// collected.
func TestWriterReleases(t *testing.T) {
	_, pw := testutil.OSPipePair(t)
	f := testutil.TempFile(t, nil)
	check := testutil.CheckFDs(t)
	var rings []uintptr
	for _, dst := range []io.Writer{pw, f} {
		w, err := splice.NewWriterSize(dst, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		addr, _ := splice.WriterRing(w)
		if addr == 0 {
			t.Skipf("Method() = %v: nothing mapped", w.Method())
		}
		if !mapped(t, addr) {
			t.Fatalf("ring at %#x is not in /proc/self/maps", addr)
		}
		w.WriteString("x")
		w.Close()
		if mapped(t, addr) {
			t.Errorf("ring at %#x still mapped after Close", addr)
		}
		rings = append(rings, addr)
	}
	// Dropped without Close.
	func() {
		w, _ := splice.NewWriterSize(f, 64<<10)
		addr, _ := splice.WriterRing(w)
		rings = append(rings[:0], addr)
		w.WriteString("y")
	}()
	deadline := time.Now().Add(10 * time.Second)
	for mapped(t, rings[0]) && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if mapped(t, rings[0]) {
		t.Errorf("the ring of a dropped Writer is still mapped")
	}
	check()
}

// mapped reports whether addr is in a mapping of the process's.
func mapped(t *testing.T, addr uintptr) bool {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		span, _, _ := strings.Cut(line, " ")
		from, to, _ := strings.Cut(span, "-")
		start, err1 := strconv.ParseUint(from, 16, 64)
		end, err2 := strconv.ParseUint(to, 16, 64)
		if err1 == nil && err2 == nil && uint64(addr) >= start && uint64(addr) < end {
			return true
		}
	}
	return false
}

// TestWriterReadEnd checks that a Writer handed a pipe's read end fails as
// bufio.Writer does (EBADF), rather than vmsplicing, which on a read end would
// take bytes out of the pipe.
func TestWriterReadEnd(t *testing.T) {
	errOf := func(newW func(io.Writer) bufferedWriter) error {
		r, w := testutil.OSPipePair(t)
		if _, err := w.Write([]byte("theirs")); err != nil {
			t.Fatal(err)
		}
		r.SetDeadline(time.Now().Add(2 * time.Second)) // no wait for ever, whatever goes wrong
		bw := newW(r)
		bw.WriteString("mine")
		err := bw.Flush()
		got := make([]byte, 6)
		if _, rerr := io.ReadFull(r, got); rerr != nil || string(got) != "theirs" {
			t.Errorf("the pipe holds %q (%v) after the Flush, want %q", got, rerr, "theirs")
		}
		return err
	}
	got := errOf(func(w io.Writer) bufferedWriter {
		sw, err := splice.NewWriter(w)
		if err != nil {
			t.Fatal(err)
		}
		if m := sw.Method(); m != splice.MethodReadWrite {
			t.Errorf("Method() = %v on a read end, want read/write", m)
		}
		return sw
	})
	want := errOf(func(w io.Writer) bufferedWriter { return bufio.NewWriter(w) })
	if !errors.Is(got, syscall.EBADF) || got.Error() != want.Error() {
		t.Errorf("Flush to a read end = %v, want %v", got, want)
	}
}

// TestWriterSmallFlushes flushes a few bytes at a time into a pipe nobody
// reads yet: like bufio's, the flushes are written into the pipe's pages, so a
// 64 KiB pipe takes thousands of them (a vmsplice would take a slot each and
// fill it after 16).
func TestWriterSmallFlushes(t *testing.T) {
	r, pw := testutil.OSPipePair(t)
	w, err := splice.NewWriterSize(pw, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	pw.SetWriteDeadline(time.Now().Add(5 * time.Second))
	var want bytes.Buffer
	for i := range 1000 {
		line := fmt.Sprintf("line %03d\n", i)
		want.WriteString(line)
		w.WriteString(line)
		if err := w.Flush(); err != nil {
			t.Fatalf("Flush %d: %v", i, err)
		}
	}
	if m := w.Method(); m != splice.MethodVmsplice && !sandboxRefusesVmsplice() {
		t.Errorf("Method() = %v", m)
	}
	w.Close()
	pw.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Equal(t, want.Bytes(), got)
}

// TestWriterRecordsWhole writes records of up to PIPE_BUF bytes, each followed
// by a Flush, through many laps of the Writer's buffer: as into bufio's, each
// goes into the pipe by one write, whole (the Writer never leaves less room
// than that after a Flush), so that writers sharing the pipe never split one.
func TestWriterRecordsWhole(t *testing.T) {
	r, pw := testutil.OSPipePair(t)
	w, err := splice.NewWriterSize(pw, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	var want bytes.Buffer
	for i := range 20000 {
		rec := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i*37%pipeBufSize)
		want.Write(rec)
		if _, err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if w.Buffered() != len(rec) {
			t.Fatalf("record %d (%d bytes) split: %d buffered", i, len(rec), w.Buffered())
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if a := w.Available(); a < pipeBufSize {
			t.Fatalf("after record %d, Available() = %d, want PIPE_BUF at least", i, a)
		}
	}
	w.Close()
	pw.Close()
	testutil.Equal(t, want.Bytes(), <-done)
}

const pipeBufSize = 4096

// TestWriterPipeSlots fills a pipe nobody reads with flushes of a few pages
// and odd sizes: the Writer gets about as many bytes into it as bufio.Writer
// (vmsplicing only whole pages, it takes no more of the pipe's slots than
// its bytes fill).
func TestWriterPipeSlots(t *testing.T) {
	for _, size := range []int{4097, 5000, 10000, 16385} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			fill := func(newW func(io.Writer) bufferedWriter) int {
				_, pw := testutil.OSPipePair(t)
				bw := newW(pw)
				pw.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
				msg := bytes.Repeat([]byte("x"), size)
				n := 0
				for {
					if _, err := bw.Write(msg); err != nil {
						break
					}
					if err := bw.Flush(); err != nil {
						break
					}
					n += size
				}
				return n
			}
			got := fill(func(w io.Writer) bufferedWriter {
				sw, err := splice.NewWriterSize(w, 64<<10)
				if err != nil {
					t.Fatal(err)
				}
				return sw
			})
			want := fill(func(w io.Writer) bufferedWriter { return bufio.NewWriterSize(w, 64<<10) })
			t.Logf("a 64 KiB pipe took %d bytes from the Writer, %d from bufio", got, want)
			if got < want*8/10 {
				t.Errorf("the Writer got %d bytes into the pipe, bufio %d", got, want)
			}
		})
	}
}

// TestWriterPacketPipe checks that a pipe in packet mode (O_DIRECT), whose
// every write is a packet, is written to by write(2), as bufio does.
func TestWriterPacketPipe(t *testing.T) {
	reads := func(newW func(io.Writer) bufferedWriter) []int {
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_DIRECT|unix.O_NONBLOCK); err != nil {
			t.Skipf("pipe2(O_DIRECT): %v", err)
		}
		r, pw := os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1")
		defer r.Close()
		bw := newW(pw)
		bw.Write(bytes.Repeat([]byte("p"), 16<<10))
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		if c, ok := bw.(io.Closer); ok {
			c.Close()
		}
		pw.Close()
		var got []int
		buf := make([]byte, 1000)
		for {
			n, err := r.Read(buf)
			if err != nil {
				return got
			}
			got = append(got, n)
		}
	}
	got := reads(func(w io.Writer) bufferedWriter {
		sw, err := splice.NewWriterSize(w, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		if m := sw.Method(); m != splice.MethodReadWrite {
			t.Errorf("Method() = %v on a packet pipe, want read/write", m)
		}
		return sw
	})
	want := reads(func(w io.Writer) bufferedWriter { return bufio.NewWriterSize(w, 64<<10) })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reads of a packet pipe: %v, want %v (as from bufio)", got, want)
	}
}

// TestWriterSizeAboveMax asks for a pipe above pipe-max-size: the pipe gets
// that size where the kernel allows it (CAP_SYS_RESOURCE), else the most it
// allows, never less than NewWriter would give it.
func TestWriterSizeAboveMax(t *testing.T) {
	p, err := splice.NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	w, err := splice.NewWriterSize(p, 4*splice.MaxPipeSize())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Method() != splice.MethodVmsplice {
		t.Skipf("Method() = %v", w.Method())
	}
	if got := p.Size(); got < splice.MaxPipeSize() {
		t.Errorf("pipe size %d after NewWriterSize(4×MaxPipeSize), want MaxPipeSize (%d) at least", got, splice.MaxPipeSize())
	}
}

// TestWriterUnreadLaps writes many laps of the Writer's buffer into a pipe
// that its consumer has grown past the buffer and does not read yet, in
// flushes of odd sizes (whole pages vmspliced, a short tail of the buffer
// skipped now and then): the Writer must never write over a byte still in the
// pipe, and takes fresh memory instead; the bytes then read are the bytes
// written.
func TestWriterUnreadLaps(t *testing.T) {
	r, pw := testutil.OSPipePair(t)
	w, err := splice.NewWriterSize(pw, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	rc.Control(func(fd uintptr) { _, serr = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) })
	if serr != nil {
		t.Skipf("F_SETPIPE_SZ 1 MiB: %v", serr)
	}
	data := testutil.Data(900<<10, 16)
	for off, i := 0, 0; off < len(data); i++ {
		n := min(len(data)-off, 4097+i*1237%9000)
		if _, err := w.Write(data[off : off+n]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		off += n
	}
	w.Close()
	pw.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Equal(t, data, got)
}
