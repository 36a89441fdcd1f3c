//go:build !splice_portable

package splice_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

const spliceSupported = true

// checkSpliced fails the test unless p's ReadFrom/WriteTo spliced (want) or
// never did (!want), so that a silent fallback cannot pass for zero-copy.
func checkSpliced(t *testing.T, p *splice.Pipe, want bool) {
	t.Helper()
	spliced, refused := splice.SpliceOutcomes(p)
	if want && (spliced == 0 || refused != 0) {
		t.Errorf("splice path: %d calls spliced, %d refused; want splice to have run", spliced, refused)
	}
	if !want && spliced != 0 {
		t.Errorf("splice path ran %d times for an endpoint without an fd", spliced)
	}
}

func TestPipeSize(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	if got, page := p.Size(), os.Getpagesize(); got != 16*page && got != page && got != 2*page {
		// Kernels give new pipes 16 pages, or one or two pages (by version)
		// once the user's soft quota is spent.
		t.Errorf("Size of a new pipe = %d, want 16 pages", got)
	}
	page := os.Getpagesize()
	for _, req := range []int{1, page, page + 1, 100000, 1 << 20} {
		if req > splice.MaxPipeSize() {
			continue
		}
		got, err := p.SetSize(req)
		if err != nil {
			t.Fatalf("SetSize(%d): %v", req, err)
		}
		if want := splice.RoundPipeSize(req); got != want {
			t.Errorf("SetSize(%d) = %d, want %d", req, got, want)
		}
		if size := p.Size(); size != got {
			t.Errorf("Size after SetSize(%d) = %d, want %d", req, size, got)
		}
	}
	bads := []int{0, -1}
	if strconv.IntSize == 64 {
		var big int64 = math.MaxInt32 + 2
		bads = append(bads, int(big)) // would wrap to a valid size as fcntl's unsigned int
	}
	for _, bad := range bads {
		if _, err := p.SetSize(bad); !errors.Is(err, syscall.EINVAL) {
			t.Errorf("SetSize(%d) = %v, want EINVAL", bad, err)
		}
	}
}

func TestPipeSetSizeTooBig(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	before := p.Size()
	want := splice.MaxPipeSize() * 2
	got, err := p.SetSize(want)
	if err == nil {
		// CAP_SYS_RESOURCE lifts pipe-max-size.
		t.Skipf("SetSize(%d) granted %d: this process may exceed pipe-max-size", want, got)
	}
	if !errors.Is(err, syscall.EPERM) {
		t.Fatalf("SetSize(%d) = %v, want EPERM", want, err)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "fcntl" {
		t.Errorf("error %v does not wrap an *os.SyscallError for fcntl", err)
	}
	if got != before || p.Size() != before {
		t.Errorf("after a refused SetSize: returned %d, Size %d; want both %d", got, p.Size(), before)
	}
	t.Logf("refusal reads: %v", err)
}

func TestPipeShrinkBusy(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	if _, err := p.SetSize(1 << 18); err != nil {
		t.Skipf("pipe resize refused: %v", err)
	}
	data := testutil.Data(200000, 5)
	if _, err := p.Write(data); err != nil {
		t.Fatal(err)
	}
	if got := p.Buffered(); got != len(data) {
		t.Errorf("Buffered = %d, want %d", got, len(data))
	}
	got, err := p.SetSize(os.Getpagesize())
	if !errors.Is(err, syscall.EBUSY) {
		t.Fatalf("shrinking below the buffered bytes = %d, %v; want EBUSY", got, err)
	}
	if got != 1<<18 {
		t.Errorf("SetSize returned %d on EBUSY, want the unchanged %d", got, 1<<18)
	}
	t.Logf("refusal reads: %v", err)
	// Nothing was lost.
	p.CloseWrite()
	all, err := io.ReadAll(p)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Equal(t, data, all)
}

func TestPipeBuffered(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	for _, step := range []struct {
		write, read, want int
	}{
		{0, 0, 0}, {1, 0, 1}, {4096, 0, 4097}, {0, 97, 4000}, {0, 4000, 0},
	} {
		if step.write > 0 {
			if _, err := p.Write(make([]byte, step.write)); err != nil {
				t.Fatal(err)
			}
		}
		if step.read > 0 {
			if _, err := io.ReadFull(p, make([]byte, step.read)); err != nil {
				t.Fatal(err)
			}
		}
		if got := p.Buffered(); got != step.want {
			t.Errorf("after write %d, read %d: Buffered = %d, want %d", step.write, step.read, got, step.want)
		}
	}
}

func TestPipeTee(t *testing.T) {
	t.Parallel()
	for _, size := range testutil.Sizes(64 << 10) {
		if size == 0 || size > 64<<10 {
			continue // Tee duplicates what is buffered: one pipe's worth
		}
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			p, dst := newPipe(t), newPipe(t)
			data := testutil.Data(size, 9)
			if _, err := p.Write(data); err != nil {
				t.Fatal(err)
			}
			n, err := p.Tee(dst, size+10)
			if err != nil || n != int64(size) {
				t.Fatalf("Tee = %d, %v; want %d, nil", n, err, size)
			}
			if got := p.Buffered(); got != size {
				t.Errorf("source holds %d bytes after Tee, want %d (Tee must not consume)", got, size)
			}
			p.CloseWrite()
			dst.CloseWrite()
			orig, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			dup, err := io.ReadAll(dst)
			if err != nil {
				t.Fatal(err)
			}
			testutil.Equal(t, data, orig)
			testutil.Equal(t, data, dup)
		})
	}
}

func TestPipeTeePartial(t *testing.T) {
	t.Parallel()
	p, dst := newPipe(t), newPipe(t)
	data := testutil.Data(10000, 10)
	p.Write(data)
	// Tee duplicates at most n bytes.
	n, err := p.Tee(dst, 100)
	if err != nil || n != 100 {
		t.Fatalf("Tee(100) = %d, %v", n, err)
	}
	// Consume what was teed, then tee the rest: the stream a fan-out sees.
	if _, err := io.ReadFull(p, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	n, err = p.Tee(dst, 1<<20)
	if err != nil || n != int64(len(data)-100) {
		t.Fatalf("Tee = %d, %v; want %d", n, err, len(data)-100)
	}
	dst.CloseWrite()
	dup, _ := io.ReadAll(dst)
	testutil.Equal(t, data, dup)
}

func TestPipeTeeEOF(t *testing.T) {
	t.Parallel()
	p, dst := newPipe(t), newPipe(t)
	p.CloseWrite()
	if n, err := p.Tee(dst, 10); n != 0 || err != io.EOF {
		t.Errorf("Tee on an empty, closed pipe = %d, %v; want 0, io.EOF", n, err)
	}
	if n, err := p.Tee(dst, 0); n != 0 || err != nil {
		t.Errorf("Tee(0) = %d, %v; want 0, nil", n, err)
	}
	if _, err := p.Tee(p, 10); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("Tee into itself = %v, want EINVAL", err)
	}
}

// Tee waits for data, and for room in dst.
func TestPipeTeeWaits(t *testing.T) {
	t.Parallel()
	p, dst := newPipe(t), newPipe(t)
	res := make(chan error, 1)
	go func() {
		n, err := p.Tee(dst, 5)
		if err == nil && n != 5 {
			err = fmt.Errorf("Tee = %d, want 5", n)
		}
		res <- err
	}()
	time.Sleep(20 * time.Millisecond)
	p.Write([]byte("hello"))
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(dst, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("teed %q, %v; want hello", buf, err)
	}
	// Fill dst, then tee: it must wait until dst is drained.
	fill := make([]byte, dst.Size())
	dst.Write(fill)
	go func() {
		_, err := p.Tee(dst, 5)
		res <- err
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-res:
		t.Fatalf("Tee into a full pipe returned %v without waiting", err)
	default:
	}
	io.ReadFull(dst, fill)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	io.ReadFull(dst, buf)
	if string(buf) != "hello" {
		t.Errorf("teed %q, want hello", buf)
	}
}

// Deadlines on Reader() and Writer() apply to every method that waits.
func TestPipeDeadlines(t *testing.T) {
	t.Parallel()
	const d = 30 * time.Millisecond
	type setup struct {
		name string
		// run sets a deadline and starts an operation that must hit it; it
		// returns the operation's count, the count it expects (-1: any), and
		// the operation's error.
		run func(t *testing.T) (int64, int64, error)
	}
	fullPipe := func(t *testing.T) *splice.Pipe {
		p := newPipe(t)
		p.Write(make([]byte, p.Size()))
		return p
	}
	for _, s := range []setup{
		{"Read/empty", func(t *testing.T) (int64, int64, error) {
			p := newPipe(t)
			p.Reader().SetReadDeadline(time.Now().Add(d))
			n, err := p.Read(make([]byte, 10))
			return int64(n), 0, err
		}},
		{"Write/full", func(t *testing.T) (int64, int64, error) {
			p := newPipe(t)
			p.Writer().SetWriteDeadline(time.Now().Add(d))
			n, err := p.Write(make([]byte, p.Size()+100))
			return int64(n), int64(p.Size()), err
		}},
		{"WriteTo/empty-pipe", func(t *testing.T) (int64, int64, error) {
			p := newPipe(t)
			p.Write([]byte("abc"))
			_, w := testutil.OSPipePair(t)
			p.Reader().SetReadDeadline(time.Now().Add(d))
			n, err := p.WriteTo(w)
			return n, 3, err
		}},
		{"WriteTo/full-dst", func(t *testing.T) (int64, int64, error) {
			p := newPipe(t)
			dst := fullPipe(t)
			p.Write([]byte("abc"))
			dst.Writer().SetWriteDeadline(time.Now().Add(d))
			n, err := p.WriteTo(dst)
			return n, 0, err
		}},
		{"WriteTo/tcp-peer-not-reading", func(t *testing.T) (int64, int64, error) {
			p := newPipe(t)
			a, _ := testutil.TCPPair(t)
			a.SetWriteDeadline(time.Now().Add(d))
			go func() {
				// Keep the pipe full until the copy stops.
				p.Writer().SetWriteDeadline(time.Now().Add(2 * time.Second))
				p.Writer().ReadFrom(io.LimitReader(zeros{}, 64<<20))
			}()
			n, err := p.WriteTo(a)
			return n, -1, err // some bytes fit into the socket buffers
		}},
		{"ReadFrom/idle-tcp", func(t *testing.T) (int64, int64, error) {
			p := newPipe(t)
			a, b := testutil.TCPPair(t)
			b.Write([]byte("12345"))
			a.SetReadDeadline(time.Now().Add(d))
			n, err := p.ReadFrom(a)
			return n, 5, err
		}},
		{"ReadFrom/full-pipe", func(t *testing.T) (int64, int64, error) {
			p := fullPipe(t)
			src := newPipe(t)
			src.Write([]byte("abc"))
			p.Writer().SetWriteDeadline(time.Now().Add(d))
			n, err := p.ReadFrom(src)
			return n, 0, err
		}},
		{"ReadFrom/full-pipe-fallback", func(t *testing.T) (int64, int64, error) {
			p := fullPipe(t)
			p.Writer().SetWriteDeadline(time.Now().Add(d))
			n, err := p.ReadFrom(struct{ io.Reader }{bytes.NewReader([]byte("abc"))})
			return n, 0, err
		}},
		{"Tee/empty-src", func(t *testing.T) (int64, int64, error) {
			p, dst := newPipe(t), newPipe(t)
			p.Reader().SetReadDeadline(time.Now().Add(d))
			n, err := p.Tee(dst, 10)
			return n, 0, err
		}},
		{"Tee/full-dst", func(t *testing.T) (int64, int64, error) {
			p, dst := newPipe(t), fullPipe(t)
			p.Write([]byte("abc"))
			dst.Writer().SetWriteDeadline(time.Now().Add(d))
			n, err := p.Tee(dst, 10)
			return n, 0, err
		}},
	} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			n, want, err := s.run(t)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %d, %v; want an error matching os.ErrDeadlineExceeded", n, err)
			}
			if want >= 0 && n != want {
				t.Errorf("count = %d, want %d", n, want)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v to time out", el)
			}
		})
	}
}

// appendFile returns a file opened with O_APPEND that holds head.
func appendFile(t *testing.T, head string) *os.File {
	t.Helper()
	f, err := os.OpenFile(t.TempDir()+"/log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteString(head); err != nil {
		t.Fatal(err)
	}
	return f
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// A Pipe blocked in a splice parks a goroutine, not an OS thread.
func TestPipeParksGoroutines(t *testing.T) {
	const n = 200
	threads := pprof.Lookup("threadcreate")
	before := threads.Count()
	var wg sync.WaitGroup
	var closers []io.Closer
	for range n {
		p := newPipe(t)
		a, _ := testutil.UnixPair(t)
		q, dst := newPipe(t), newPipe(t)
		closers = append(closers, a, q, p)
		wg.Add(2)
		go func() { defer wg.Done(); p.ReadFrom(a) }()  // waits for the socket
		go func() { defer wg.Done(); q.Tee(dst, 10) }() // waits for data in q
	}
	time.Sleep(100 * time.Millisecond)
	created := threads.Count() - before
	for _, c := range closers {
		c.Close()
	}
	wg.Wait()
	if created > n/10 {
		t.Errorf("%d blocked operations created %d threads; want them parked in the poller", 2*n, created)
	}
	t.Logf("%d blocked operations, %d new threads (GOMAXPROCS %d)", 2*n, created, runtime.GOMAXPROCS(0))
}

// With a destination that is not in the poller (a blocking pipe, as a shell's
// stdout), a WriteTo waiting for room must not spin: it uses little CPU.
func TestPipeWriteToBlockingDstDoesNotSpin(t *testing.T) {
	r, w := testutil.BlockingPipePair(t)
	p := newPipe(t)
	data := testutil.Data(1<<20, 11)
	go func() {
		p.Write(data)
		p.CloseWrite()
	}()
	res := make(chan error, 1)
	var n int64
	cpuTime := onThread(t, func() {
		var err error
		n, err = p.WriteTo(w)
		w.Close()
		res <- err
	})
	// A slow consumer: 8 reads of 4 KiB a 25 ms, then the rest at once.
	var got []byte
	buf := make([]byte, 4096)
	cpu0 := cpuTime()
	wall0 := time.Now()
	for range 8 {
		time.Sleep(25 * time.Millisecond)
		m, err := r.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:m]...)
	}
	cpu := cpuTime() - cpu0
	wall := time.Since(wall0)
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, rest...)
	if err := <-res; err != nil || n != int64(len(data)) {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	testutil.Equal(t, data, got)
	if cpu > wall/4 {
		t.Errorf("used %v of CPU in %v while waiting for a slow consumer: spinning?", cpu, wall)
	}
	t.Logf("CPU %v over %v of waiting", cpu, wall)
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// When the destination fails, the bytes it did not take stay in the pipe.
func TestPipeWriteToFailingDstKeepsBytes(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	data := testutil.Data(50000, 12)
	p.Write(data)
	a, b := testutil.TCPPair(t)
	b.SetLinger(0)
	b.Close() // the peer resets: writes fail with ECONNRESET or EPIPE
	time.Sleep(10 * time.Millisecond)
	// Should the reset not have arrived, stop once the pipe is drained.
	p.Reader().SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := p.WriteTo(a)
	if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("WriteTo to a closed peer = %d, %v; want EPIPE or ECONNRESET", n, err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Errorf("error %v is not a *net.OpError", err)
	}
	if got := int64(p.Buffered()); got != int64(len(data))-n {
		t.Errorf("pipe holds %d bytes after writing %d of %d, want %d", got, n, len(data), int64(len(data))-n)
	}
	p.CloseWrite()
	rest, _ := io.ReadAll(p)
	testutil.Equal(t, data[n:], rest)
}

// When the pipe's reader is gone, ReadFrom fails with EPIPE and leaves the
// source's bytes unread.
func TestPipeReadFromNoReaderKeepsSource(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	p.Reader().Close()
	a, b := testutil.TCPPair(t)
	data := testutil.Data(1000, 13)
	b.Write(data)
	b.CloseWrite()
	n, err := p.ReadFrom(a)
	if n != 0 || !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("ReadFrom with no reader = %d, %v; want 0, EPIPE", n, err)
	}
	rest, err := io.ReadAll(a)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Equal(t, data, rest)
}

// The kernel refuses to splice into a file opened with O_APPEND; WriteTo must
// still deliver every byte.
func TestPipeWriteToAppendFile(t *testing.T) {
	t.Parallel()
	f := appendFile(t, "head:")
	p := newPipe(t)
	p.Write([]byte("tail"))
	p.CloseWrite()
	if n, err := p.WriteTo(f); n != 4 || err != nil {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	got, _ := os.ReadFile(f.Name())
	if diff := cmp.Diff("head:tail", string(got)); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
}

// Datagram sockets keep message boundaries that splice would not: never splice them.
func TestPipeUnixgramNotSpliced(t *testing.T) {
	t.Parallel()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	fa, fb := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer fa.Close()
	ca, err := net.FileConn(fa)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	fb.Write([]byte("one"))
	fb.Write([]byte("two"))
	fb.Close()
	p := newPipe(t)
	ca.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := p.ReadFrom(ca)
	if n != 6 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("ReadFrom(unixgram) = %d, %v; want 6 and a deadline error", n, err)
	}
	checkSpliced(t, p, false)
}

// An operation parked on one side holds nothing of the other: closing the other
// side from another goroutine returns at once, however long the wait lasts.
func TestCloseDoesNotWaitForOtherSide(t *testing.T) {
	t.Parallel()
	type scenario struct {
		name string
		// setup returns the operation, which must park waiting for one side;
		// the Close of the other side; and release, which makes the waited-for
		// side ready (or closes it) so that the operation ends.
		setup func(t *testing.T) (op func() error, closeOther func() error, release func())
	}
	fullPipe := func(t *testing.T) *splice.Pipe {
		p := newPipe(t)
		p.Write(make([]byte, p.Size()))
		return p
	}
	drainPipe := func(p *splice.Pipe) func() {
		return func() { p.Read(make([]byte, p.Size())) }
	}
	withData := func(t *testing.T, p *splice.Pipe) *splice.Pipe {
		if _, err := p.Write([]byte("abc")); err != nil {
			t.Fatal(err)
		}
		return p
	}
	closeTCP := func(c *net.TCPConn) func() { return func() { c.Close() } }
	err1 := func(_ int64, err error) error { return err }
	for _, s := range []scenario{
		{"Pipe.WriteTo/full-pipe/close-src", func(t *testing.T) (func() error, func() error, func()) {
			p, dst := withData(t, newPipe(t)), fullPipe(t)
			return func() error { return err1(p.WriteTo(dst.Writer())) }, p.Close, drainPipe(dst)
		}},
		{"Pipe.WriteTo/full-tcp/close-src", func(t *testing.T) (func() error, func() error, func()) {
			p := withData(t, newPipe(t))
			a, _ := testutil.TCPPair(t)
			fillConn(t, a)
			return func() error { return err1(p.WriteTo(a)) }, p.Close, closeTCP(a)
		}},
		{"Pipe.ReadFrom/full-pipe/close-src", func(t *testing.T) (func() error, func() error, func()) {
			p := fullPipe(t)
			r, w := testutil.OSPipePair(t)
			w.Write([]byte("abc"))
			return func() error { return err1(p.ReadFrom(r)) }, r.Close, drainPipe(p)
		}},
		{"Pipe.ReadFrom/full-pipe/close-tcp-src", func(t *testing.T) (func() error, func() error, func()) {
			p := fullPipe(t)
			a, b := testutil.TCPPair(t)
			b.Write([]byte("abc"))
			return func() error { return err1(p.ReadFrom(a)) }, a.Close, drainPipe(p)
		}},
		{"Pipe.Tee/full-dst/close-src", func(t *testing.T) (func() error, func() error, func()) {
			p, dst := withData(t, newPipe(t)), fullPipe(t)
			return func() error { return err1(p.Tee(dst, 3)) }, p.Close, drainPipe(dst)
		}},
		{"Pipe.Tee/empty-src/close-dst", func(t *testing.T) (func() error, func() error, func()) {
			p, dst := newPipe(t), newPipe(t)
			return func() error { return err1(p.Tee(dst, 3)) }, dst.Close, func() { p.Write([]byte("abc")) }
		}},
		{"Copy/pipe-to-full-tcp/close-src", func(t *testing.T) (func() error, func() error, func()) {
			r, w := testutil.OSPipePair(t)
			w.Write([]byte("abc"))
			a, _ := testutil.TCPPair(t)
			fillConn(t, a)
			return func() error { return err1(splice.Copy(a, r)) }, r.Close, closeTCP(a)
		}},
		{"Copy/tcp-to-full-pipe/close-src", func(t *testing.T) (func() error, func() error, func()) {
			a, b := testutil.TCPPair(t)
			b.Write([]byte("abc"))
			p := fullPipe(t)
			return func() error { return err1(splice.Copy(p, a)) }, a.Close, drainPipe(p)
		}},
		{"Copy/tcp-to-full-os-pipe/close-src", func(t *testing.T) (func() error, func() error, func()) {
			a, b := testutil.TCPPair(t)
			b.Write([]byte("abc"))
			p := fullPipe(t)
			return func() error { return err1(splice.Copy(p.Writer(), a)) }, a.Close, drainPipe(p)
		}},
	} {
		t.Run(s.name, func(t *testing.T) {
			op, closeOther, release := s.setup(t)
			opDone := make(chan error, 1)
			go func() { opDone <- op() }()
			waitParked(t, opDone)
			closed := make(chan error, 1)
			go func() { closed <- closeOther() }()
			var closeErr error
			select {
			case closeErr = <-closed:
			case <-time.After(10 * time.Second):
				t.Errorf("Close still waits 10s after it was called: it waits for the other side")
				release()
				closeErr = <-closed
			}
			if closeErr != nil {
				t.Errorf("Close: %v", closeErr)
			}
			release()
			select {
			case err := <-opDone:
				if !errors.Is(err, os.ErrClosed) && !errors.Is(err, net.ErrClosed) {
					t.Errorf("operation on a closed fd returned %v; want ErrClosed", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("operation did not end once the side it waited for was ready")
			}
		})
	}
}

// fillConn writes to c until its socket buffers (and the peer's, which does not
// read) are full.
func fillConn(t *testing.T, c *net.TCPConn) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for {
		c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Write(buf); err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal(err)
			}
			break
		}
	}
	c.SetWriteDeadline(time.Time{})
}

// waitParked waits until the operation's goroutine, started by this test, is
// parked in Go's poller inside this package, and fails the test if the
// operation returns first.
func waitParked(t *testing.T, done <-chan error) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for range 1000 {
		select {
		case err := <-done:
			t.Fatalf("operation returned %v; want it to wait", err)
		default:
		}
		n := runtime.Stack(buf, true)
		for n == len(buf) {
			buf = make([]byte, 2*len(buf))
			n = runtime.Stack(buf, true)
		}
		for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
			if bytes.Contains(g, []byte("[IO wait")) &&
				bytes.Contains(g, []byte("github.com/splicekit/splice.(")) &&
				bytes.Contains(g, []byte("created by github.com/splicekit/splice_test.TestCloseDoesNotWaitForOtherSide.")) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the operation never parked in the poller")
}

// TestPipeEndsToChild hands a Pipe's ends to child processes, as a user hands
// an os.Pipe's: the read end as a cat's stdin, the write end as another cat's
// stdout. The child must get a blocking pipe (exec.Cmd calls Fd): a
// non-blocking one makes cat fail with EAGAIN whenever the pipe is empty, which
// a feeder slower than cat makes happen at once.
func TestPipeEndsToChild(t *testing.T) {
	cat, err := exec.LookPath("cat")
	if err != nil {
		t.Skip("no cat:", err)
	}
	want := testutil.Data(300<<10, 7)
	for i := range 10 {
		in, err := splice.NewPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := splice.NewPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(cat)
		cmd.Stdin, cmd.Stdout = in.Reader(), out.Writer()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		in.Reader().Close() // the child's now
		out.Writer().Close()
		fed := make(chan error, 1)
		go func() {
			// Slowly, so that cat finds its stdin empty and waits.
			var err error
			for off := 0; off < len(want) && err == nil; off += 100 << 10 {
				time.Sleep(time.Millisecond)
				_, err = in.Write(want[off:min(off+100<<10, len(want))])
			}
			if cerr := in.CloseWrite(); err == nil {
				err = cerr
			}
			fed <- err
		}()
		got, rerr := io.ReadAll(out)
		if err := <-fed; err != nil {
			t.Errorf("run %d: feeding cat: %v", i, err)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("run %d: cat: %v", i, err)
		}
		out.Close()
		if rerr != nil || !bytes.Equal(got, want) {
			t.Fatalf("run %d: got %d bytes (%v), want %d, same: %v", i, len(got), rerr, len(want), bytes.Equal(got, want))
		}
	}
}
