//go:build !splice_portable

package splice_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
	"golang.org/x/sys/unix"
)

// expectedMethod is the path Copy must take from a source of kind sk to a sink
// of kind dk, for a copy of size bytes.
func expectedMethod(sk, dk testutil.Kind, size int) splice.Method {
	if !sk.HasFD() || !dk.HasFD() {
		return splice.MethodReadWrite
	}
	srcFile := sk == testutil.File || sk == testutil.LimitedFile
	switch {
	case srcFile && dk == testutil.File:
		return splice.MethodCopyFileRange
	case srcFile && (dk == testutil.TCP || dk == testutil.Unix) && int64(size) > splice.SendfileMax():
		return splice.MethodSplice // through the engine's pipe
	case srcFile && (dk == testutil.TCP || dk == testutil.Unix):
		return splice.MethodSendfile
	}
	return splice.MethodSplice
}

func watchMethods(dst io.Writer) { splice.WatchMethods(dst) }

// checkMethod requires Plan to name the expected path and that path to have
// handled the copy of size bytes, so that a silent fallback cannot pass as
// zero-copy. The kernel must have moved every byte, but from a pipe, where
// chunks under 8 KiB go by read and write.
func checkMethod(t *testing.T, dst io.Writer, src io.Reader, planned splice.Method, sk, dk testutil.Kind, size int) {
	t.Helper()
	want := expectedMethod(sk, dk, size)
	if planned != want {
		t.Errorf("Plan = %v, want %v", planned, want)
	}
	var runs []splice.MethodRun
	if want != splice.MethodReadWrite {
		runs = []splice.MethodRun{{Method: want, Handled: true}}
		if sk == testutil.File && (want == splice.MethodSendfile || want == splice.MethodCopyFileRange) && emptyFile(src) {
			// A first sendfile or copy_file_range that moves nothing may be
			// procfs's way of saying "use read": Copy reads to be sure.
			runs[0].Handled = false
		}
	}
	got := splice.MethodsRun(dst)
	if diff := cmp.Diff(runs, got, cmpopts.IgnoreFields(splice.MethodRun{}, "Kernel")); diff != "" {
		t.Errorf("kernel paths run (-want +got):\n%s", diff)
		return
	}
	if len(got) == 0 {
		return
	}
	switch kernel := got[0].Kernel; sk {
	case testutil.OSPipe, testutil.Pipe, testutil.BlockingPipe, testutil.LimitedOSPipe:
		// A copy known to be under 8 KiB reads and writes; any other starts
		// by splicing (TestCopyFromPipeSmallChunks tests what follows).
		if sk == testutil.LimitedOSPipe && size < splice.SmallChunk {
			if kernel != 0 {
				t.Errorf("the kernel moved %d bytes of a %d-byte copy from a pipe; want 0", kernel, size)
			}
		} else if kernel > int64(size) || size > 0 && kernel == 0 {
			t.Errorf("the kernel moved %d of %d bytes from a pipe; want at least the first chunk", kernel, size)
		}
	default:
		wantKernel := int64(size)
		if sk.Limited() && size < splice.SmallChunk && want == splice.MethodSplice && throughEnginePipe(sk, dk) {
			wantKernel = 0 // a copy known to be small reads and writes
		}
		if kernel != wantKernel {
			t.Errorf("the kernel moved %d of %d bytes; want %d", kernel, size, wantKernel)
		}
	}
}

// throughEnginePipe reports whether Copy splices the pair through a pipe of its
// own: between two kinds of which neither is a pipe, and from a Unix socket
// into an os.Pipe (measured faster than one splice per chunk). From TCP into a
// pipe, one splice per chunk is the rule.
func throughEnginePipe(sk, dk testutil.Kind) bool {
	pipe := func(k testutil.Kind) bool {
		switch k {
		case testutil.OSPipe, testutil.Pipe, testutil.BlockingPipe, testutil.LimitedOSPipe:
			return true
		}
		return false
	}
	if (sk == testutil.Unix || sk == testutil.LimitedUnix) && (dk == testutil.OSPipe || dk == testutil.BlockingPipe) {
		return true
	}
	return !pipe(sk) && !pipe(dk)
}

// emptyFile reports whether src is a file of size 0.
func emptyFile(src io.Reader) bool {
	f, ok := src.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Size() == 0
}

// checkNoKernelPath requires that no kernel path ran.
func checkNoKernelPath(t *testing.T, dst io.Writer) {
	t.Helper()
	if runs := splice.MethodsRun(dst); len(runs) != 0 {
		t.Errorf("with splice disabled, kernel paths ran: %v", runs)
	}
}

// Copy on the splice path allocates nothing in steady state (io.Copy allocates a
// 32 KiB buffer per call). Not parallel: AllocsPerRun counts the whole process.
func TestCopyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops items at random: allocations are expected")
	}
	// 4 KiB: the read/write paths of small copies (out of a pipe, between
	// sockets); 64 KiB: splice.
	for _, size := range []int{4096, 65536} {
		testCopyAllocs(t, size)
	}
}

func testCopyAllocs(t *testing.T, size int) {
	data := testutil.Data(size, 50)
	buf := make([]byte, size)
	tcpA, tcpB := testutil.TCPPair(t)
	tcpC, tcpD := testutil.TCPPair(t)
	r1, w1 := testutil.OSPipePair(t)
	r2, w2 := testutil.OSPipePair(t)
	// Each feed writes size bytes before anything reads them: the pipes
	// must hold them (they may not, where the user's pipe pages are spent).
	growPipe(t, w1, size)
	growPipe(t, w2, size)
	file := testutil.TempFile(t, data)
	p := newPipe(t)
	growPipe(t, p, size)
	for _, tc := range []struct {
		name     string
		feed     func()
		dst      io.Writer
		src      io.Reader
		collect  io.Reader
		wantPlan splice.Method
	}{
		{"pipe-pipe", func() { w1.Write(data) }, w2, r1, r2, splice.MethodSplice},
		{"tcp-tcp", func() { tcpB.Write(data) }, tcpC, tcpA, tcpD, splice.MethodSplice},
		{"tcp-splicepipe", func() { tcpB.Write(data) }, p, tcpA, p, splice.MethodSplice},
		{"file-tcp", func() { file.Seek(0, io.SeekStart) }, tcpC, file, tcpD, splice.MethodSendfile},
	} {
		if got := splice.Plan(tc.dst, tc.src); got != tc.wantPlan {
			t.Errorf("%s/%d: Plan = %v, want %v", tc.name, size, got, tc.wantPlan)
		}
		var failed error
		run := func() {
			tc.feed()
			if _, err := splice.CopyN(tc.dst, tc.src, int64(size)); err != nil {
				failed = err
				return
			}
			if _, err := io.ReadFull(tc.collect, buf); err != nil {
				failed = err
			}
		}
		run() // warm the pools
		allocs := testing.AllocsPerRun(100, run)
		if failed != nil {
			t.Fatalf("%s/%d: %v", tc.name, size, failed)
		}
		if allocs != 0 {
			t.Errorf("%s/%d: CopyN allocates %v times per call, want 0", tc.name, size, allocs)
		}
		testutil.Equal(t, data, buf)
	}
}

// A destination opened with O_APPEND: splice and copy_file_range refuse it, so
// Copy must take the read/write path and append exactly as io.Copy does.
func TestCopyToAppendFile(t *testing.T) {
	t.Parallel()
	data := testutil.Data(300001, 51)
	for _, sk := range []testutil.Kind{testutil.File, testutil.OSPipe, testutil.TCP, testutil.Pipe} {
		t.Run(sk.String(), func(t *testing.T) {
			t.Parallel()
			f := appendFile(t, "head:")
			src := testutil.OpenSource(t, sk, data)
			if got := splice.Plan(f, src.R); got != splice.MethodReadWrite {
				t.Errorf("Plan = %v, want read/write", got)
			}
			n, err := splice.Copy(f, src.R)
			if err != nil || n != int64(len(data)) {
				t.Fatalf("Copy = %d, %v", n, err)
			}
			got, _ := os.ReadFile(f.Name())
			testutil.Equal(t, append([]byte("head:"), data...), got)
		})
	}
}

// Copies that share fds take their locks in one order, so they cannot deadlock
// however their waits interleave: several goroutines copy from one pipe to one
// socket whose peer reads slowly, and between them deliver every byte once.
func TestConcurrentCopiesShareFDs(t *testing.T) {
	t.Parallel()
	const total, copiers = 8 << 20, 4
	r, w := testutil.OSPipePair(t)
	a, b := testutil.TCPPair(t)
	go func() {
		chunk := bytes.Repeat([]byte{'x'}, 1<<16)
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				t.Error(err)
				break
			}
		}
		w.Close()
	}()
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		n := 0
		for n < total {
			m, err := b.Read(buf)
			if bytes.Count(buf[:m], []byte{'x'}) != m {
				got <- fmt.Errorf("received bytes other than those sent")
				return
			}
			n += m
			if err != nil {
				got <- fmt.Errorf("received %d of %d bytes: %v", n, total, err)
				return
			}
			if n%(1<<16) < 4096 {
				time.Sleep(time.Millisecond) // a slow reader: the copies wait on the socket
			}
		}
		got <- nil
	}()
	results := make(chan int64, copiers)
	for range copiers {
		go func() {
			n, err := splice.Copy(a, r)
			if err != nil {
				t.Errorf("Copy: %v", err)
			}
			results <- n
		}()
	}
	var sum int64
	deadline := time.After(60 * time.Second)
	for range copiers {
		select {
		case n := <-results:
			sum += n
		case <-deadline:
			a.Close()
			r.Close()
			t.Fatal("concurrent copies did not finish in 60s: deadlocked")
		}
	}
	if sum != total {
		t.Errorf("copies moved %d bytes in all, want %d", sum, total)
	}
	if err := <-got; err != nil {
		t.Error(err)
	}
}

// From a pipe, chunks under 8 KiB go by read and write, bigger ones by splice.
func TestCopyFromPipeSmallChunks(t *testing.T) {
	t.Parallel()
	kernelBytes := func(t *testing.T, dst io.Writer) int64 {
		t.Helper()
		runs := splice.MethodsRun(dst)
		if len(runs) != 1 || runs[0].Method != splice.MethodSplice || !runs[0].Handled {
			t.Fatalf("kernel paths run = %v, want one splice that handled the copy", runs)
		}
		return runs[0].Kernel
	}
	t.Run("known-small", func(t *testing.T) {
		t.Parallel()
		p := newPipe(t)
		data := testutil.Data(100, 1)
		p.Write(data)
		var out bytes.Buffer
		dst := struct{ io.Writer }{&out}
		a, b := testutil.UnixPair(t)
		splice.WatchMethods(a)
		if n, err := splice.CopyN(a, p, 100); n != 100 || err != nil {
			t.Fatalf("CopyN = %d, %v; want 100, nil", n, err)
		}
		if k := kernelBytes(t, a); k != 0 {
			t.Errorf("the kernel moved %d bytes of a 100-byte CopyN; want 0 (read and write)", k)
		}
		io.CopyN(dst, b, 100)
		testutil.Equal(t, data, out.Bytes())
	})
	t.Run("big-backlog", func(t *testing.T) {
		t.Parallel()
		p := newPipe(t)
		data := testutil.Data(p.Size(), 2)
		p.Write(data)
		p.CloseWrite()
		f := testutil.TempFile(t, nil)
		splice.WatchMethods(f)
		if n, err := splice.Copy(f, p); n != int64(len(data)) || err != nil {
			t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data))
		}
		if k := kernelBytes(t, f); k != int64(len(data)) {
			t.Errorf("the kernel moved %d of %d bytes that were waiting in the pipe; want all", k, len(data))
		}
		f.Seek(0, io.SeekStart)
		got, _ := io.ReadAll(f)
		testutil.Equal(t, data, got)
	})
	t.Run("trickle", func(t *testing.T) {
		t.Parallel()
		p := newPipe(t)
		f := testutil.TempFile(t, nil)
		splice.WatchMethods(f)
		done := make(chan error, 1)
		go func() { _, err := splice.Copy(f, p); done <- err }()
		data := testutil.Data(100+20+30, 3)
		// The first chunk is spliced; being short, the next ones are read.
		for _, part := range [][]byte{data[:100], data[100:120], data[120:]} {
			p.Write(part)
			for p.Buffered() != 0 {
				time.Sleep(time.Millisecond)
			}
		}
		p.CloseWrite()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if k := kernelBytes(t, f); k != 100 {
			t.Errorf("the kernel moved %d bytes; want 100 (the first chunk), then read and write", k)
		}
		f.Seek(0, io.SeekStart)
		got, _ := io.ReadAll(f)
		testutil.Equal(t, data, got)
	})
	// To TCP, a copy splices 64 KiB and reads and writes the rest, also out of
	// a pipe that holds more (where one splice could take it all).
	// To TCP, a copy splices 64 KiB and reads and writes the rest, also out of
	// a pipe that holds more (where one splice could take it all); also to a
	// TCP socket passed as an *os.File, and from an *os.File pipe.
	for _, variant := range []string{"tcp-stream", "tcp-stream-as-file", "tcp-stream-unnamed-pipe"} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			const budget = splice.TCPSpliceBudget
			p := newPipe(t)
			if _, err := p.SetSize(4 * budget); err != nil {
				t.Logf("cannot grow the pipe (%v): its %d bytes are filled", err, p.Size())
			}
			data := testutil.Data(1<<20+7, 4)
			full := p.Size()
			p.Write(data[:full]) // fills the pipe: the first splice could take it all
			go func() {
				p.Write(data[full:])
				p.CloseWrite()
			}()
			a, b := testutil.TCPPair(t)
			var dst io.Writer = a
			var src io.Reader = p
			var r, w *os.File
			switch variant {
			case "tcp-stream-as-file":
				// A TCP socket as an *os.File, from an os.Pipe.
				f, err := a.File()
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				dst = f
				if r, w, err = os.Pipe(); err != nil {
					t.Fatal(err)
				}
			case "tcp-stream-unnamed-pipe":
				// A pipe *os.File named as os.Pipe does not name it.
				var fds [2]int
				if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
					t.Fatal(err)
				}
				r, w = os.NewFile(uintptr(fds[0]), "input"), os.NewFile(uintptr(fds[1]), "output")
			}
			if r != nil {
				defer r.Close()
				go func() { p.WriteTo(w); w.Close() }()
				src = r
			}
			splice.WatchMethods(dst)
			got := make(chan []byte, 1)
			go func() {
				all, _ := io.ReadAll(b)
				got <- all
			}()
			run := splice.Copy
			if variant == "tcp-stream-unnamed-pipe" {
				// Known to be big: a file would go through the engine's
				// pipe, and this pipe, tried as a file, must not.
				run = func(dst io.Writer, src io.Reader) (int64, error) { return splice.CopyN(dst, src, int64(len(data))) }
			}
			if n, err := run(dst, src); n != int64(len(data)) || err != nil {
				t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data))
			}
			a.CloseWrite()
			testutil.Equal(t, data, <-got)
			if k := kernelBytes(t, dst); k != budget {
				t.Errorf("the kernel moved %d of %d bytes; want 64 KiB, then read and write", k, len(data))
			}
		})
	}
}

// TestCopyFileToSocketBySize: a copy from a regular file to a stream socket
// goes by sendfile up to splice.SendfileMax bytes and through the engine's
// pipe beyond (a copy of unknown size sends its first SendfileMax bytes by
// sendfile, then splices); Plan says which, and the kernel moves every byte.
func TestCopyFileToSocketBySize(t *testing.T) {
	t.Parallel()
	max := splice.SendfileMax()
	for _, dk := range []string{"tcp", "unix"} {
		for _, size := range []int64{1, max, max + 1, 4<<20 + 3} {
			for _, how := range []string{"Copy", "CopyN", "LimitedReader"} {
				t.Run(fmt.Sprintf("%s/%d/%s", dk, size, how), func(t *testing.T) {
					t.Parallel()
					data := testutil.Data(int(size)+100, uint64(size))
					f := testutil.TempFile(t, data)
					var a, b net.Conn
					if dk == "tcp" {
						a, b = testutil.TCPPair(t)
					} else {
						a, b = testutil.UnixPair(t)
					}
					var src io.Reader = f
					offset := int64(100) // Copy sends what is past the offset
					if how != "Copy" {
						// CopyN(a, f, size) plans as Copy(a, LimitReader(f, size)).
						offset = 0
						src = &io.LimitedReader{R: f, N: size}
					}
					if _, err := f.Seek(offset, io.SeekStart); err != nil {
						t.Fatal(err)
					}
					want := splice.MethodSendfile
					if size > max {
						want = splice.MethodSplice
					}
					if got := splice.Plan(a, src); got != want {
						t.Errorf("Plan = %v, want %v", got, want)
					}
					splice.WatchMethods(a)
					got := make(chan []byte, 1)
					go func() {
						all, _ := io.ReadAll(b)
						got <- all
					}()
					var n int64
					var err error
					if how == "CopyN" {
						n, err = splice.CopyN(a, f, size)
					} else {
						n, err = splice.Copy(a, src)
					}
					if n != size || err != nil {
						t.Fatalf("%s = %d, %v; want %d, nil", how, n, err, size)
					}
					if lr, ok := src.(*io.LimitedReader); ok && how == "LimitedReader" && lr.N != 0 {
						t.Errorf("LimitedReader.N = %d, want 0", lr.N)
					}
					if off, _ := f.Seek(0, io.SeekCurrent); off != offset+size {
						t.Errorf("file offset %d, want %d", off, offset+size)
					}
					a.(interface{ CloseWrite() error }).CloseWrite()
					testutil.Equal(t, data[offset:offset+size], <-got)
					runs := splice.MethodsRun(a)
					if len(runs) != 1 || runs[0].Method != want || !runs[0].Handled || runs[0].Kernel != size {
						t.Errorf("kernel paths run: %+v; want one %v that moved all %d bytes", runs, want, size)
					}
				})
			}
		}
	}
}

// TestCopyFileToSocketPlanTruth: Plan names the path a file → socket copy
// takes, by what the file holds past its offset and any limit; a Copier whose
// pipe is small keeps to sendfile.
func TestCopyFileToSocketPlanTruth(t *testing.T) {
	t.Parallel()
	max := int(splice.SendfileMax())
	for _, c := range []struct {
		name      string
		size, off int
		n         int64 // the LimitedReader's N, or 0 for none
		copier    *splice.Copier
		want      splice.Method
	}{
		{"limit past a small file", 10, 0, 1 << 20, nil, splice.MethodSendfile},
		{"limit past what is left", 3 * max, 3*max - 1000, 1 << 20, nil, splice.MethodSendfile},
		{"file of exactly SendfileMax", max, 0, 1 << 20, nil, splice.MethodSendfile},
		{"big file at an offset", 4 * max, max, 0, nil, splice.MethodSplice},
		{"big file, small limit", 4 * max, 0, int64(max), nil, splice.MethodSendfile},
		{"big file, small pipe", 4 * max, 0, 0, &splice.Copier{PipeSize: 4096}, splice.MethodSendfile},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data := testutil.Data(c.size, 5)
			f := testutil.TempFile(t, data)
			if _, err := f.Seek(int64(c.off), io.SeekStart); err != nil {
				t.Fatal(err)
			}
			a, b := testutil.UnixPair(t)
			got := make(chan []byte, 1)
			go func() {
				all, _ := io.ReadAll(b)
				got <- all
			}()
			var src io.Reader = f
			want := data[c.off:]
			if c.n > 0 {
				src = &io.LimitedReader{R: f, N: c.n}
				want = want[:min(len(want), int(c.n))]
			}
			plan := splice.Plan(a, src) // of the default Copier
			splice.WatchMethods(a)
			n, err := c.copier.Copy(a, src)
			if n != int64(len(want)) || err != nil {
				t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(want))
			}
			a.CloseWrite()
			testutil.Equal(t, want, <-got)
			if c.copier == nil && plan != c.want {
				t.Errorf("Plan = %v, want %v", plan, c.want)
			}
			if runs := splice.MethodsRun(a); len(runs) != 1 || runs[0].Method != c.want || runs[0].Kernel != n {
				t.Errorf("ran %+v; want %v for all %d bytes", runs, c.want, n)
			}
		})
	}
}

// fileConn is a regular file known only as a syscall.Conn and an io.Reader.
type fileConn struct{ f *os.File }

func (c fileConn) Read(p []byte) (int, error)            { return c.f.Read(p) }
func (c fileConn) SyscallConn() (syscall.RawConn, error) { return c.f.SyscallConn() }

// TestCopyFileConnToResetPeer: the bytes of a regular file known only as a
// syscall.Conn that a failing socket did not take are given back to the file,
// as with an *os.File: its offset is the count written. The error is shaped as
// io.Copy's, which sends such a file with net's sendfile.
func TestCopyFileConnToResetPeer(t *testing.T) {
	t.Parallel()
	run := func(copy func(io.Writer, io.Reader) (int64, error)) (error, bool) {
		f := testutil.TempFile(t, testutil.Data(8<<20, 6))
		a, b := testutil.TCPPair(t)
		go func() {
			io.ReadFull(b, make([]byte, 200<<10))
			b.SetLinger(0)
			b.Close() // RST
		}()
		n, err := copy(a, fileConn{f})
		if err == nil {
			return nil, false
		}
		if off, _ := f.Seek(0, io.SeekCurrent); off != n {
			t.Errorf("Copy = %d, %v; the file's offset is %d: %d bytes lost", n, err, off, off-n)
		}
		return err, true
	}
	want, ok1 := run(io.Copy)
	got, ok2 := run(splice.Copy)
	if !ok1 || !ok2 {
		t.Skip("the socket buffers absorbed everything before the reset")
	}
	// After a reset, a send fails with ECONNRESET or, later, EPIPE.
	norm := func(err error) string { return strings.ReplaceAll(errShapeOf(err).summary(), "EPIPE", "ECONNRESET") }
	if w, g := norm(want), norm(got); w != g {
		t.Errorf("error differs from io.Copy's:\nio.Copy:     %v\n             %s\nsplice.Copy: %v\n             %s", want, w, got, g)
	}
}
