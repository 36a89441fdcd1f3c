package splice_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
	"golang.org/x/sys/unix"
)

// BenchmarkCopy compares, for each pair of endpoint kinds and each size (from one
// byte, where a path's set-up costs most, to 64 MiB), the
// standard library's io.Copy, splice.Copy and "raw": a bare loop of the system
// call that is the kernel's ceiling for the pair (splice(2) through one 1 MiB
// pipe, or directly where one side is a pipe; copy_file_range(2) between
// files; sendfile(2) from a file to a socket). Names are
// <src>-<dst>/size=<n>/impl=<impl>, so that
//
//	benchstat -col /impl results.txt
//
// puts the three implementations side by side.
//
// Every iteration moves exactly size bytes and ends only when the sink has them
// all. Endpoints are built once per sub-benchmark: a regular file source holds
// the data in the page cache and is rewound each iteration (a file sink too);
// a pipe or socket source is fed, one iteration ahead, by a goroutine writing a
// prefilled buffer with plain writes; a pipe or socket sink is drained by a
// goroutine that reads and discards. Copies from sources without EOF use CopyN,
// with the same call shape for io and splice.
func BenchmarkCopy(b *testing.B) {
	for _, p := range benchPairs {
		b.Run(p.src+"-"+p.dst, func(b *testing.B) {
			for _, size := range benchSizes {
				b.Run("size="+sizeName(size), func(b *testing.B) {
					for _, impl := range []string{"io.Copy", "splice.Copy", "raw"} {
						b.Run("impl="+impl, func(b *testing.B) {
							benchCopy(b, p.src, p.dst, size, impl)
						})
					}
				})
			}
		})
	}
}

// Endpoint kinds: "file" is a regular file in b.TempDir(), "pipe" an os.Pipe
// end (non-blocking, in Go's poller), "tcp" a connection over 127.0.0.1, "unix"
// a Unix stream socket; "limitedfile" and "limitedtcp" are an *io.LimitedReader
// around a file (which holds more than the limit) or a TCP connection.
var benchPairs = []struct{ src, dst string }{
	{"file", "file"}, {"file", "tcp"}, {"file", "unix"}, {"file", "pipe"},
	{"tcp", "file"}, {"unix", "file"},
	{"tcp", "tcp"}, {"tcp", "unix"}, {"unix", "tcp"}, {"unix", "unix"},
	{"pipe", "pipe"}, {"pipe", "file"}, {"pipe", "tcp"}, {"pipe", "unix"},
	{"tcp", "pipe"}, {"unix", "pipe"},
	{"limitedfile", "unix"}, {"limitedtcp", "unix"},
}

var benchSizes = []int64{1, 512, 4 << 10, 64 << 10, 1 << 20, 64 << 20}

func sizeName(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// benchBufSize is the size of the feeders' prefilled buffer, of the drainers'
// buffer, and of the raw copy's pipe.
const benchBufSize = 1 << 20

// benchData is what feeders write and source files hold.
var benchData = sync.OnceValue(func() []byte { return testutil.Data(benchBufSize, 0xbe4c) })

// benchEnv is the set-up of one sub-benchmark.
type benchEnv struct {
	size int64
	src  io.Reader // what the copy reads
	dst  io.Writer // what the copy writes
	// Regular files to rewind each iteration, or nil.
	srcFile, dstFile *os.File
	lr               *io.LimitedReader // the limited source, to reset, or nil
	stream           bool              // src has no EOF: copy with CopyN
	raw              rawCopier

	// The feeder writes size bytes to the source's peer per token on feed;
	// the drainer sends on done each time the sink has received size more.
	// Either closes its dead channel, having set its error and closed its own
	// end (so the copy fails rather than waits), if its I/O fails.
	feed, done          chan struct{}
	feedDead, drainDead chan struct{}
	feedErr, drainErr   error

	quit     chan struct{}
	closers  []io.Closer
	wg       sync.WaitGroup
	stopOnce sync.Once
}

func benchCopy(b *testing.B, srcKind, dstKind string, size int64, impl string) {
	if procs := runtime.GOMAXPROCS(0); procs < 4 {
		// The feeder and drainer must not starve the copy.
		runtime.GOMAXPROCS(4)
		b.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	}
	e := &benchEnv{size: size, quit: make(chan struct{})}
	// Registered before the endpoints are made, so that it runs last: it
	// closes them again (harmlessly) and waits for the feeder and drainer.
	b.Cleanup(e.stop)
	e.setup(b, srcKind, dstKind)
	var run func(*benchEnv) (int64, error)
	switch impl {
	case "io.Copy":
		run = func(e *benchEnv) (int64, error) {
			if e.stream {
				return io.CopyN(e.dst, e.src, e.size)
			}
			return io.Copy(e.dst, e.src)
		}
	case "splice.Copy":
		run = func(e *benchEnv) (int64, error) {
			if e.stream {
				return splice.CopyN(e.dst, e.src, e.size)
			}
			return splice.Copy(e.dst, e.src)
		}
	case "raw":
		e.setupRaw(b, srcKind, dstKind)
		run = func(e *benchEnv) (int64, error) { return e.raw.copy(e.size) }
	default:
		b.Fatalf("unknown impl %q", impl)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	if e.feed != nil {
		e.feed <- struct{}{} // the first iteration's bytes
	}
	for b.Loop() {
		if e.feed != nil {
			// The next iteration's bytes, so that the source is ready
			// when the copy starts.
			select {
			case e.feed <- struct{}{}:
			case <-e.feedDead:
				e.fail(b, "feeder", nil)
			}
		}
		if e.srcFile != nil {
			if _, err := e.srcFile.Seek(0, io.SeekStart); err != nil {
				e.fail(b, "rewind source", err)
			}
		}
		if e.dstFile != nil {
			if _, err := e.dstFile.Seek(0, io.SeekStart); err != nil {
				e.fail(b, "rewind sink", err)
			}
		}
		if e.lr != nil {
			e.lr.N = size
		}
		n, err := run(e)
		if err != nil || n != size {
			e.fail(b, fmt.Sprintf("%s copied %d of %d bytes", impl, n, size), err)
		}
		if e.done != nil {
			select {
			case <-e.done:
			case <-e.drainDead:
				e.fail(b, "drainer", nil)
			}
		}
	}
}

// setup builds the endpoints, the feeder and the drainer.
func (e *benchEnv) setup(b *testing.B, srcKind, dstKind string) {
	data := benchData()
	switch srcKind {
	case "file", "limitedfile":
		n := e.size
		if srcKind == "limitedfile" {
			n += 4096 // bytes past the limit, which the copy must leave
		}
		f := testutil.TempFile(b, nil)
		e.closers = append(e.closers, f)
		for left := n; left > 0; {
			m, err := f.Write(data[:min(left, int64(len(data)))])
			if err != nil {
				b.Fatalf("fill source: %v", err)
			}
			left -= int64(m)
		}
		e.src, e.srcFile = f, f
		if srcKind == "limitedfile" {
			e.lr = &io.LimitedReader{R: f, N: e.size}
			e.src = e.lr
		}
	case "tcp", "limitedtcp":
		peer, c := testutil.TCPPair(b)
		e.closers = append(e.closers, c, peer)
		e.src, e.stream = c, true
		if srcKind == "limitedtcp" {
			e.lr = &io.LimitedReader{R: c, N: e.size}
			e.src, e.stream = e.lr, false
		}
		e.startFeeder(peer)
	case "unix":
		peer, c := testutil.UnixPair(b)
		e.closers = append(e.closers, c, peer)
		e.src, e.stream = c, true
		e.startFeeder(peer)
	case "pipe":
		r, w := testutil.OSPipePair(b)
		e.closers = append(e.closers, r, w)
		e.src, e.stream = r, true
		e.startFeeder(w)
	default:
		b.Fatalf("unknown source kind %q", srcKind)
	}

	switch dstKind {
	case "file":
		f := testutil.TempFile(b, nil)
		e.closers = append(e.closers, f)
		e.dst, e.dstFile = f, f
	case "tcp":
		c, peer := testutil.TCPPair(b)
		e.closers = append(e.closers, c, peer)
		e.dst = c
		e.startDrainer(peer)
	case "unix":
		c, peer := testutil.UnixPair(b)
		e.closers = append(e.closers, c, peer)
		e.dst = c
		e.startDrainer(peer)
	case "pipe":
		r, w := testutil.OSPipePair(b)
		e.closers = append(e.closers, w, r)
		e.dst = w
		e.startDrainer(r)
	default:
		b.Fatalf("unknown sink kind %q", dstKind)
	}
}

// startFeeder starts the goroutine that writes size bytes to w per token on
// e.feed, with plain writes from the prefilled buffer.
func (e *benchEnv) startFeeder(w io.WriteCloser) {
	e.feed = make(chan struct{}, 2)
	e.feedDead = make(chan struct{})
	buf := benchData()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			select {
			case <-e.feed:
			case <-e.quit:
				return
			}
			for left := e.size; left > 0; {
				n, err := w.Write(buf[:min(left, int64(len(buf)))])
				left -= int64(n)
				if err != nil {
					if !e.stopping() {
						e.feedErr = err
						w.Close() // the copy sees EOF instead of waiting
						close(e.feedDead)
					}
					return
				}
			}
		}
	}()
}

// startDrainer starts the goroutine that reads r into a 1 MiB buffer and
// discards the bytes, signalling e.done after every size bytes.
func (e *benchEnv) startDrainer(r io.ReadCloser) {
	e.done = make(chan struct{}, 1)
	e.drainDead = make(chan struct{})
	buf := make([]byte, benchBufSize) // here, not in the goroutine: outside the timed region
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		var got int64
		for {
			n, err := r.Read(buf)
			for got += int64(n); got >= e.size; got -= e.size {
				select {
				case e.done <- struct{}{}:
				case <-e.quit:
					return
				}
			}
			if err != nil {
				if !e.stopping() {
					e.drainErr = err
					r.Close() // the copy fails with EPIPE instead of waiting
					close(e.drainDead)
				}
				return
			}
		}
	}()
}

func (e *benchEnv) stopping() bool {
	select {
	case <-e.quit:
		return true
	default:
		return false
	}
}

// stop closes every endpoint and waits for the feeder and drainer to return.
// It is idempotent, and b's cleanup.
func (e *benchEnv) stop() {
	e.stopOnce.Do(func() {
		close(e.quit)
		for _, c := range e.closers {
			c.Close()
		}
		e.wg.Wait()
		e.raw.close()
	})
}

// fail stops everything, so that nothing is left waiting, and fails b with err
// and whatever error the feeder or drainer saw.
func (e *benchEnv) fail(b *testing.B, what string, err error) {
	b.Helper()
	e.stop()
	b.Fatalf("%s: %v (feeder: %v; drainer: %v)", what, err, e.feedErr, e.drainErr)
}

// rawCopier is the kernel's ceiling for a pair: a bare system-call loop on the
// fds of the same endpoints.
type rawCopier struct {
	op                 rawOp
	sfd, dfd           int
	srcReady, dstReady bool // regular files: never EAGAIN
	pr, pw             int  // the intermediate pipe of rawViaPipe
	pipeSize           int
	pfds               [2]unix.PollFd
}

type rawOp int

const (
	rawNone rawOp = iota
	rawCopyFileRange
	rawSendfile
	rawDirect  // splice, one side being a pipe
	rawViaPipe // splice into and out of one pipe
)

func (e *benchEnv) setupRaw(b *testing.B, srcKind, dstKind string) {
	r := &e.raw
	r.sfd = rawFD(b, e.src)
	r.dfd = rawFD(b, e.dst)
	r.srcReady = e.srcFile != nil
	r.dstReady = e.dstFile != nil
	switch {
	case r.srcReady && r.dstReady:
		r.op = rawCopyFileRange
	case r.srcReady && (dstKind == "tcp" || dstKind == "unix"):
		r.op = rawSendfile
	case srcKind == "pipe" || dstKind == "pipe":
		r.op = rawDirect
	default:
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			b.Fatalf("pipe2: %v", err)
		}
		r.op, r.pr, r.pw = rawViaPipe, fds[0], fds[1] // close closes them from here on
		size, err := unix.FcntlInt(uintptr(r.pw), unix.F_SETPIPE_SZ, benchBufSize)
		if err != nil {
			// Refused (past the user's pipe quota, say): use what we have.
			if size, err = unix.FcntlInt(uintptr(r.pw), unix.F_GETPIPE_SZ, 0); err != nil {
				b.Fatalf("F_GETPIPE_SZ: %v", err)
			}
		}
		r.pipeSize = size
	}
}

// rawFD returns the fd under v (unwrapping an *io.LimitedReader), learnt
// through its syscall.RawConn. It stays valid until the endpoint is closed,
// when the sub-benchmark ends.
func rawFD(b *testing.B, v any) int {
	if lr, ok := v.(*io.LimitedReader); ok {
		v = lr.R
	}
	sc, ok := v.(syscall.Conn)
	if !ok {
		b.Fatalf("%T has no fd", v)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		b.Fatalf("SyscallConn: %v", err)
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		b.Fatalf("Control: %v", err)
	}
	return fd
}

func (r *rawCopier) close() {
	if r.op == rawViaPipe {
		unix.Close(r.pr)
		unix.Close(r.pw)
		r.op = rawNone
	}
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
		case rawSendfile:
			n, err = unix.Sendfile(r.dfd, r.sfd, nil, want)
		case rawDirect:
			m, serr := unix.Splice(r.sfd, nil, r.dfd, nil, want, unix.SPLICE_F_NONBLOCK)
			n, err = int(m), serr // m is an int64 on some architectures
		case rawViaPipe:
			var m int
			m, err = r.viaPipe(min(want, r.pipeSize))
			moved += int64(m)
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
		case err == unix.EAGAIN:
			if err := r.wait(); err != nil {
				return moved, err
			}
		default:
			return moved, err
		}
	}
	return moved, nil
}

// viaPipe splices up to want bytes from sfd into the pipe and all of them on to
// dfd, and returns how many reached dfd.
func (r *rawCopier) viaPipe(want int) (int, error) {
	var in int
	for {
		m, err := unix.Splice(r.sfd, nil, r.pw, nil, want, unix.SPLICE_F_NONBLOCK)
		if err == nil {
			if m == 0 {
				return 0, errRawEOF
			}
			in = int(m)
			break
		}
		switch err {
		case unix.EINTR:
		case unix.EAGAIN: // the pipe is empty: src has nothing ready
			if err := r.pollOne(r.sfd, unix.POLLIN); err != nil {
				return 0, err
			}
		default:
			return 0, err
		}
	}
	var out int
	for out < in {
		m, err := unix.Splice(r.pr, nil, r.dfd, nil, in-out, unix.SPLICE_F_NONBLOCK)
		switch err {
		case nil:
			out += int(m)
		case unix.EINTR:
		case unix.EAGAIN: // the pipe holds bytes: dst is full
			if err := r.pollOne(r.dfd, unix.POLLOUT); err != nil {
				return out, err
			}
		default:
			return out, err
		}
	}
	return out, nil
}

// wait blocks, after EAGAIN, until the side that was not ready is: known where
// the other side is a regular file, else found by a zero-timeout poll.
func (r *rawCopier) wait() error {
	srcOK, dstOK := r.srcReady, r.dstReady
	if !srcOK && !dstOK {
		r.pfds = [2]unix.PollFd{
			{Fd: int32(r.sfd), Events: unix.POLLIN},
			{Fd: int32(r.dfd), Events: unix.POLLOUT},
		}
		if _, err := unix.Poll(r.pfds[:], 0); err != nil && err != unix.EINTR {
			return err
		}
		srcOK, dstOK = r.pfds[0].Revents != 0, r.pfds[1].Revents != 0
	}
	switch {
	case !dstOK:
		return r.pollOne(r.dfd, unix.POLLOUT)
	case !srcOK:
		return r.pollOne(r.sfd, unix.POLLIN)
	}
	return nil // both became ready: retry
}

// rawPollTimeout bounds a raw copy's wait, so that a broken peer fails the
// benchmark rather than hangs it.
const rawPollTimeout = 60_000 // ms

// pollOne blocks the thread in poll(2) until fd reports events.
//
// It yields once first: a blocking poll keeps this goroutine's P until sysmon
// takes it back (20 µs or more), and the feeder or drainer that would make fd
// ready is often queued on that very P, having just been woken by this
// goroutine. Without the yield, raw pays that scheduler latency, which is no
// part of the kernel's ceiling (it tripled raw's time for small tcp-file).
func (r *rawCopier) pollOne(fd int, events int16) error {
	runtime.Gosched()
	for {
		r.pfds[0] = unix.PollFd{Fd: int32(fd), Events: events}
		n, err := unix.Poll(r.pfds[:1], rawPollTimeout)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return fmt.Errorf("raw copy: fd %d not ready after %d ms", fd, rawPollTimeout)
		}
		return nil
	}
}
