package splice_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
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
// byte, where a path's set-up costs most, to 64 MiB), the standard library's
// io.Copy, splice.Copy and "raw". Names are <src>-<dst>/size=<n>/impl=<impl>,
// so that
//
//	benchstat -col /impl results.txt
//
// puts the three implementations side by side.
//
// Raw is the kernel's ceiling for the pair as a C program gets it: a bare loop
// of blocking system calls on the fds under the sub-benchmark's own endpoints,
// which it switches to blocking mode (clearing O_NONBLOCK) for its run, outside
// Go's poller, with neither poll(2) nor SPLICE_F_NONBLOCK. Between two regular
// files it is copy_file_range(2); where one side is a pipe, splice(2) from the
// source straight to the sink; otherwise (file to socket included) splice(2)
// from the source into one blocking pipe and from that pipe on to the sink, at
// most a pipe's worth at a time. Raw retries EINTR and fails if the source ends
// early. See rawCopier.
//
// Every iteration moves exactly size bytes and ends only when the sink has them
// all. Endpoints are built once per sub-benchmark, and each implementation has
// its own. A regular file source holds the data in the page cache and is
// rewound each iteration (a file sink too). Every pipe the harness makes is
// grown to 1 MiB with F_SETPIPE_SZ (or left at what the kernel grants, past the
// user's pipe quota say): the pipe endpoints, the helpers' private pipes and
// raw's pipe.
//
// The harness is the same for all three implementations, and is built as an
// independent C harness would be, out of blocking helper threads. A pipe or
// socket source is fed, one iteration ahead, by a feeder, and a pipe or socket
// sink is emptied by a drainer: each is a goroutine locked to an OS thread of
// its own (runtime.LockOSThread) that loops over blocking system calls on the
// endpoint's peer (the pipe's other end, or the socket's), which is in blocking
// mode, outside Go's poller, and used by nothing else; there is no poll(2), no
// SPLICE_F_NONBLOCK and no EAGAIN. The feeder vmsplice(2)s a prefilled,
// never-modified buffer into the pipe itself, or into a private pipe from
// which it splices on to the socket; the drainer splices what arrives into a
// private pipe and from there into /dev/null. The benchmark's goroutine gives
// the feeder a token per iteration and takes one from the drainer per size
// bytes received, through eventfd(2)s that the waiting side blocks on, so that
// the kernel wakes it directly rather than through Go's scheduler. Only the
// copy's own end differs between the implementations: for io.Copy and
// splice.Copy it is an *os.File, *net.TCPConn or *net.UnixConn in Go's poller,
// non-blocking; raw makes it blocking.
//
// Helpers in Go's poller, non-blocking, would charge raw for the harness: a
// blocking splice(2) between a pipe and a socket holds the pipe's lock while it
// waits for the socket, so a helper working that pipe would find it not ready,
// park in the poller, and be resumed only when the runtime next polls (at
// worst by its monitor, 10 ms on), from another thread. A blocking helper
// thread sleeps on the pipe's lock, or on the pipe or socket itself, and the
// kernel wakes it as soon as it can go on.
//
// Copies from sources without EOF use CopyN, with the same call shape for io
// and splice. At the end of a sub-benchmark (or on a failure) the helpers are
// woken, by shutdown(2) of a socket peer, by closing the copy's end of a pipe
// (a blocked vmsplice(2) then fails with EPIPE, a blocked splice(2) sees end
// of file) and by a last token to the feeder, and are waited for before
// anything they use is closed.
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

// Endpoint kinds: "file" is a regular file in b.TempDir(), "pipe" a 1 MiB pipe
// end like one from os.Pipe (non-blocking, in Go's poller), "tcp" a connection
// over 127.0.0.1, "unix" a Unix stream socket; "limitedfile" and "limitedtcp"
// are an *io.LimitedReader around a file (which holds more than the limit) or a
// TCP connection.
var benchPairs = []struct{ src, dst string }{
	{"file", "file"}, {"file", "tcp"}, {"file", "unix"}, {"file", "pipe"},
	{"tcp", "file"}, {"unix", "file"},
	{"tcp", "tcp"}, {"tcp", "unix"}, {"unix", "tcp"}, {"unix", "unix"},
	{"pipe", "pipe"}, {"pipe", "file"}, {"pipe", "tcp"}, {"pipe", "unix"},
	{"tcp", "pipe"}, {"unix", "pipe"},
	{"limitedfile", "unix"}, {"limitedtcp", "unix"}, {"limitedtcp", "tcp"},
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

// benchBufSize is the size of benchData and of every pipe the harness makes:
// the pipe endpoints, raw's pipe and the feeders' and drainers' private ones.
const benchBufSize = 1 << 20

// benchData is what feeders vmsplice and source files hold. It is never
// modified, and the variable keeps it alive for the rest of the process, so
// pages of it may be mapped into pipes and sockets by vmsplice(2) and stay
// there for as long as the kernel likes.
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

	// The feeder of a pipe or socket source and the drainer of a pipe or
	// socket sink, or nil. The feeder puts size bytes into the source's
	// peer per token it takes from feed; the drainer gives done a token
	// each time the sink has received size more. If its I/O fails, either
	// sets its error, closes its peer (so that the copy fails rather than
	// waits) and closes its dead channel; the drainer then gives done a
	// token as well, so that a wait for one ends.
	feeder              *benchFeeder
	drainer             *benchDrainer
	feed, done          *benchTokens
	feedDead, drainDead chan struct{}
	feedErr, drainErr   error

	quit     chan struct{}
	closers  []io.Closer // files and the copy's ends of pipes and sockets
	wg       sync.WaitGroup
	stopOnce sync.Once
}

func benchCopy(b *testing.B, srcKind, dstKind string, size int64, impl string) {
	if procs := runtime.GOMAXPROCS(0); procs < 4 {
		// The feeder and drainer must not starve the copy.
		runtime.GOMAXPROCS(4)
		b.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	}
	e := &benchEnv{size: size, quit: make(chan struct{}), raw: rawCopier{pr: -1, pw: -1}}
	// Registered before the endpoints are made, so that it runs after their
	// own cleanups if set-up fails: it closes what set-up made.
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
		e.setupRaw(b)
		run = func(e *benchEnv) (int64, error) { return e.raw.copy(e.size) }
	default:
		b.Fatalf("unknown impl %q", impl)
	}
	// Registered again, after the socket pairs' own cleanups, so that it
	// runs before them: the peers must stay open until the helper threads
	// blocked on them have been woken and have returned.
	b.Cleanup(e.stop)
	e.start()
	b.SetBytes(size)
	b.ReportAllocs()
	if e.feed != nil {
		if err := e.feed.give(); err != nil { // the first iteration's bytes
			e.fail(b, "feed", err)
		}
	}
	for b.Loop() {
		if e.feed != nil {
			// The next iteration's bytes, so that the source is ready
			// when the copy starts.
			if err := e.feed.give(); err != nil {
				e.fail(b, "feed", err)
			}
			select {
			case <-e.feedDead:
				e.fail(b, "feeder", nil)
			default:
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
			if err := e.done.take(); err != nil {
				e.fail(b, "wait for the drainer", err)
			}
			select {
			case <-e.drainDead:
				e.fail(b, "drainer", nil)
			default:
			}
		}
	}
}

// setup builds the endpoints, the feeder and the drainer, without starting the
// helpers' threads.
func (e *benchEnv) setup(b *testing.B, srcKind, dstKind string) {
	switch srcKind {
	case "file", "limitedfile":
		n := e.size
		if srcKind == "limitedfile" {
			n += 4096 // bytes past the limit, which the copy must leave
		}
		f := testutil.TempFile(b, nil)
		e.closers = append(e.closers, f)
		data := benchData()
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
		e.closers = append(e.closers, c)
		e.src, e.stream = c, true
		if srcKind == "limitedtcp" {
			e.lr = &io.LimitedReader{R: c, N: e.size}
			e.src, e.stream = e.lr, false
		}
		e.newFeeder(b, socketPeer(b, peer), false)
	case "unix":
		peer, c := testutil.UnixPair(b)
		e.closers = append(e.closers, c)
		e.src, e.stream = c, true
		e.newFeeder(b, socketPeer(b, peer), false)
	case "pipe":
		r, peer := e.pipeEndpoint(b, true)
		e.src, e.stream = r, true
		e.newFeeder(b, peer, true)
	default:
		b.Fatalf("unknown source kind %q", srcKind)
	}

	e.setupSink(b, dstKind)
}

// setupSink builds the sink, and its drainer, without starting the
// drainer's thread.
func (e *benchEnv) setupSink(b *testing.B, dstKind string) {
	switch dstKind {
	case "file":
		f := testutil.TempFile(b, nil)
		e.closers = append(e.closers, f)
		e.dst, e.dstFile = f, f
	case "tcp":
		c, peer := testutil.TCPPair(b)
		e.closers = append(e.closers, c)
		e.dst = c
		e.newDrainer(b, socketPeer(b, peer))
	case "unix":
		c, peer := testutil.UnixPair(b)
		e.closers = append(e.closers, c)
		e.dst = c
		e.newDrainer(b, socketPeer(b, peer))
	case "pipe":
		w, peer := e.pipeEndpoint(b, false)
		e.dst = w
		e.newDrainer(b, peer)
	default:
		b.Fatalf("unknown sink kind %q", dstKind)
	}
}

// pipeEndpoint makes the pipe of a "pipe" endpoint with benchPipe. The copy's
// end (the read end of a source, the write end of a sink) is made non-blocking
// and wrapped by os.NewFile, which puts it in Go's poller as os.Pipe would; e
// closes it. The other end stays a blocking fd, outside the poller, for the
// feeder or drainer, and is returned as a peer that the caller hands on to one
// at once.
func (e *benchEnv) pipeEndpoint(b *testing.B, source bool) (*os.File, *benchPeer) {
	r, w, _, err := benchPipe(0)
	if err != nil {
		b.Fatalf("pipe endpoint: %v", err)
	}
	end, peer := w, r
	if source {
		end, peer = r, w
	}
	if err := unix.SetNonblock(end, true); err != nil {
		closePipe(r, w)
		b.Fatalf("pipe endpoint: set O_NONBLOCK: %v", err)
	}
	name := "|1" // named as os.Pipe names its ends, on which Copy's hints rely
	if source {
		name = "|0"
	}
	f := os.NewFile(uintptr(end), name)
	e.closers = append(e.closers, f)
	return f, &benchPeer{fd: peer}
}

// benchConn is a socket peer: an *net.TCPConn or *net.UnixConn.
type benchConn interface {
	syscall.Conn
	io.Closer
	CloseRead() error
	CloseWrite() error
}

var (
	_ benchConn = (*net.TCPConn)(nil)
	_ benchConn = (*net.UnixConn)(nil)
)

// benchPeer is the far end of a pipe or socket endpoint, in blocking mode,
// which only a feeder or drainer uses, through fd, outside Go's poller.
type benchPeer struct {
	fd int // blocking; -1 once closed
	// A socket peer's conn, which owns fd and is kept (open, and alive)
	// until the helper has returned; nil for a pipe end, whose fd the
	// peer owns itself.
	conn benchConn
}

// socketPeer returns c, a socket pair's far end, as a peer: it takes c's fd
// and clears O_NONBLOCK on it. That changes only c's own file description, not
// the copy's end (another socket), and nothing but the helper uses c.
func socketPeer(b *testing.B, c benchConn) *benchPeer {
	p := &benchPeer{fd: -1, conn: c}
	var err error
	if cerr := rawConnOf(b, c).Control(func(fd uintptr) {
		p.fd = int(fd)
		err = unix.SetNonblock(p.fd, false)
	}); cerr != nil {
		err = cerr
	}
	if err != nil {
		b.Fatalf("socket peer: clear O_NONBLOCK: %v", err)
	}
	return p
}

// wake makes a helper blocked on a socket peer return: shutdown(2) of both
// directions ends a blocked splice(2) from the socket with end of file and one
// to it with EPIPE. A pipe peer is woken by closing the copy's end instead.
// It is safe to call at any time, even with the peer closed.
func (p *benchPeer) wake() {
	if p.conn != nil {
		p.conn.CloseRead()
		p.conn.CloseWrite()
	}
}

// abort closes the peer from its helper's thread, when its I/O has failed, so
// that the copy fails (with end of file, EPIPE or ECONNRESET) instead of
// waiting for the helper. Nothing uses fd afterwards.
func (p *benchPeer) abort() {
	if p.conn != nil {
		p.conn.Close()
	} else if p.fd >= 0 {
		unix.Close(p.fd)
	}
	p.fd = -1
}

// close closes the peer once its helper has returned (or never started).
func (p *benchPeer) close() {
	if p == nil {
		return
	}
	p.abort()
}

// benchFeeder puts bytes into a source's peer without copying them from user
// space: it maps pages of benchData into a pipe with vmsplice(2). A pipe peer
// gets them directly; a socket peer through a private pipe, from which they are
// spliced on. Every call blocks.
type benchFeeder struct {
	peer *benchPeer
	pipe bool // peer is a pipe's write end

	// The private pipe of a socket peer, blocking, and its capacity; -1,
	// -1, 0 for a pipe peer.
	pr, pw   int
	pipeSize int

	iov [1]unix.Iovec // what to vmsplice
}

// newFeeder makes the feeder of peer, a pipe's write end if pipe is set and
// otherwise a socket. The feeder owns peer from here on.
func (e *benchEnv) newFeeder(b *testing.B, peer *benchPeer, pipe bool) {
	f := &benchFeeder{peer: peer, pipe: pipe, pr: -1, pw: -1}
	e.feeder = f // before anything can fail, so that e.stop closes peer
	if !pipe {
		var err error
		if f.pr, f.pw, f.pipeSize, err = benchPipe(0); err != nil {
			b.Fatalf("feeder: %v", err)
		}
	}
	e.feedDead = make(chan struct{})
	e.feed = newBenchTokens(b)
}

// feedLoop is the feeder's thread: it puts e.size bytes into the peer per
// token it takes from e.feed, until e.quit is closed or its I/O fails.
func (e *benchEnv) feedLoop(f *benchFeeder) {
	defer e.wg.Done()
	// The thread is the feeder's alone while it runs. Unlocked at the end,
	// as nothing of it was changed, so that the runtime keeps it for
	// later rather than end it and start another (allocating) in the next
	// sub-benchmark.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for {
		err := e.feed.take()
		if e.stopping() {
			return
		}
		if err == nil {
			err = f.put(e.size)
		}
		if err != nil {
			if !e.stopping() {
				e.feedErr = err
				f.peer.abort() // the copy sees end of file instead of waiting
				close(e.feedDead)
			}
			return
		}
	}
}

// put puts exactly n bytes into the peer.
func (f *benchFeeder) put(n int64) error {
	data := benchData()
	for n > 0 {
		if f.pipe {
			// Blocks until the pipe has room, then fills what it can.
			f.setIov(data[:min(n, int64(len(data)))])
			m, err := vmspliceRetry(f.peer.fd, f.iov[:])
			if err == nil && m == 0 {
				err = io.ErrNoProgress
			}
			if err != nil {
				return err
			}
			n -= int64(m)
			continue
		}
		// The private pipe is empty here, so a vmsplice of at most its
		// capacity does not wait. Then all of it goes on to the socket
		// before the next.
		f.setIov(data[:min(n, int64(len(data)), int64(f.pipeSize))])
		m, err := vmspliceRetry(f.pw, f.iov[:])
		if err == nil && m == 0 {
			err = io.ErrNoProgress
		}
		if err != nil {
			return err
		}
		for left := m; left > 0; {
			k, err := spliceRetry(f.pr, f.peer.fd, left, unix.SPLICE_F_MOVE)
			if err == nil && k == 0 {
				err = io.ErrNoProgress // cannot be: the pipe holds left bytes
			}
			if err != nil {
				return err
			}
			left -= k
			n -= int64(k)
		}
	}
	return nil
}

func (f *benchFeeder) setIov(p []byte) {
	f.iov[0].Base = &p[0]
	f.iov[0].SetLen(len(p))
}

// close closes the peer and the private pipe, once the feeder's thread has
// returned (or never started).
func (f *benchFeeder) close() {
	f.peer.close()
	closePipe(f.pr, f.pw)
	f.pr, f.pw = -1, -1
}

// benchDrainer discards what arrives at a sink's peer without copying it to
// user space: it splices it into a private pipe and from there into /dev/null.
// Every call blocks.
type benchDrainer struct {
	peer *benchPeer

	pr, pw   int // the private pipe, blocking
	pipeSize int
	null     int // /dev/null, or -1
}

// newDrainer makes the drainer of peer, a pipe's read end or a socket. The
// drainer owns peer from here on.
func (e *benchEnv) newDrainer(b *testing.B, peer *benchPeer) {
	d := &benchDrainer{peer: peer, pr: -1, pw: -1, null: -1}
	e.drainer = d // before anything can fail, so that e.stop closes peer
	var err error
	if d.pr, d.pw, d.pipeSize, err = benchPipe(0); err != nil {
		b.Fatalf("drainer: %v", err)
	}
	if d.null, err = unix.Open(os.DevNull, unix.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
		d.null = -1
		b.Fatalf("drainer: open %s: %v", os.DevNull, err)
	}
	e.drainDead = make(chan struct{})
	e.done = newBenchTokens(b)
}

// drainLoop is the drainer's thread: it discards what arrives at the peer,
// giving e.done a token after every e.size bytes, until e.quit is closed or
// its I/O fails (the copy's end being closed included).
func (e *benchEnv) drainLoop(d *benchDrainer) {
	defer e.wg.Done()
	runtime.LockOSThread() // as in feedLoop
	defer runtime.UnlockOSThread()
	var got int64
	for {
		n, err := d.take()
		for got += int64(n); got >= e.size && err == nil; got -= e.size {
			err = e.done.give()
		}
		if err != nil {
			if !e.stopping() {
				e.drainErr = err
				d.peer.abort() // the copy fails with EPIPE instead of waiting
				close(e.drainDead)
				e.done.give() // ends the wait for done, if any
			}
			return
		}
	}
}

// take discards whatever the peer has, waiting until it has some, and returns
// how many bytes that was.
func (d *benchDrainer) take() (int, error) {
	// The private pipe is empty, so this waits only for the peer.
	n, err := spliceRetry(d.peer.fd, d.pw, d.pipeSize, unix.SPLICE_F_MOVE)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF // the copy's end is closed or shut down
	}
	for left := n; left > 0; {
		m, err := spliceRetry(d.pr, d.null, left, unix.SPLICE_F_MOVE)
		if err == nil && m == 0 {
			err = io.ErrNoProgress
		}
		if err != nil {
			return n - left, err
		}
		left -= m
	}
	return n, nil
}

// close closes the peer, the private pipe and /dev/null, once the drainer's
// thread has returned (or never started).
func (d *benchDrainer) close() {
	d.peer.close()
	closePipe(d.pr, d.pw)
	d.pr, d.pw = -1, -1
	if d.null >= 0 {
		unix.Close(d.null)
		d.null = -1
	}
}

// start starts the threads of the feeder and drainer that setup made.
func (e *benchEnv) start() {
	if e.feeder != nil {
		e.wg.Add(1)
		go e.feedLoop(e.feeder)
	}
	if e.drainer != nil {
		e.wg.Add(1)
		go e.drainLoop(e.drainer)
	}
}

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
func newBenchTokens(b *testing.B) *benchTokens {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_SEMAPHORE)
	if err != nil {
		b.Fatalf("eventfd: %v", err)
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
// to benchBufSize by F_SETPIPE_SZ, or left as it is if that is refused (past
// the user's pipe quota, say), and its capacity. The caller closes both ends.
func benchPipe(flags int) (r, w, size int, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], flags|unix.O_CLOEXEC); err != nil {
		return -1, -1, 0, os.NewSyscallError("pipe2", err)
	}
	size, err = unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, benchBufSize)
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

func (e *benchEnv) stopping() bool {
	select {
	case <-e.quit:
		return true
	default:
		return false
	}
}

// stop wakes the feeder and drainer, waits for their threads to return, and
// closes every endpoint and everything the helpers used. It is idempotent, and
// b's cleanup.
func (e *benchEnv) stop() {
	e.stopOnce.Do(func() {
		close(e.quit)
		// Before the endpoints are closed, while raw's fds are still
		// theirs.
		e.raw.close()
		// A helper blocked on a socket peer is woken by its shutdown; one
		// blocked on a pipe by closing the copy's end, the pipe's other:
		// its vmsplice then fails with EPIPE, its splice returns 0. (Not
		// by closing the peer's fd: a close(2) wakes no system call
		// already blocked on that fd.) A feeder waiting for a token is
		// woken by one.
		if e.feeder != nil {
			e.feeder.peer.wake()
		}
		if e.feed != nil {
			e.feed.give()
		}
		if e.drainer != nil {
			e.drainer.peer.wake()
		}
		for _, c := range e.closers {
			c.Close()
		}
		e.wg.Wait()
		if e.feeder != nil {
			e.feeder.close()
		}
		if e.drainer != nil {
			e.drainer.close()
		}
		e.feed.close()
		e.done.close()
	})
}

// fail stops everything, so that nothing is left waiting, and fails b with err
// and whatever error the feeder or drainer saw.
func (e *benchEnv) fail(b *testing.B, what string, err error) {
	b.Helper()
	e.stop()
	b.Fatalf("%s: %v (feeder: %v; drainer: %v)", what, err, e.feedErr, e.drainErr)
}

// rawCopier is the kernel's ceiling for a pair as a C program gets it: a bare
// loop of blocking system calls on the fds under the same endpoints, which
// setupRaw switches to blocking mode and close switches back. Nothing else
// uses those fds while raw runs: the feeder and drainer work the peers, and
// each implementation has endpoints of its own.
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
// meanwhile; so raw is the ceiling of blocking calls, which a non-blocking copy
// can beat there. Raw does nothing about the one cost that blocking has in Go,
// as a C program would not: a call that blocks keeps the goroutine's P until
// the runtime's monitor retakes it (20 µs at the soonest), as any system call
// does; benchCopy's GOMAXPROCS of at least 4 leaves the helpers theirs
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
func (e *benchEnv) setupRaw(b *testing.B) {
	r := &e.raw
	// Registered after the endpoints' own cleanups, so that it runs before
	// them. (e.fail calls e.stop, which calls close first.)
	b.Cleanup(r.close)
	r.sfd = rawFD(b, e.src)
	r.dfd = rawFD(b, e.dst)
	// Pipes and sockets are non-blocking, in Go's poller; regular files
	// never block, so they need nothing.
	for _, fd := range []int{r.sfd, r.dfd} {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			b.Fatalf("F_GETFL: %v", err)
		}
		if fl&unix.O_NONBLOCK == 0 {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_NONBLOCK); err != nil {
			b.Fatalf("clear O_NONBLOCK: %v", err)
		}
		r.blocking = append(r.blocking, fd)
	}
	switch {
	case e.srcFile != nil && e.dstFile != nil:
		r.op = rawCopyFileRange
	case !isPipe(b, r.sfd) && !isPipe(b, r.dfd):
		// Neither side is a pipe (from a file to a socket, too: splice
		// through a 1 MiB pipe beats sendfile(2) there at large sizes).
		var err error
		if r.pr, r.pw, r.pipeSize, err = benchPipe(0); err != nil {
			b.Fatalf("raw: %v", err)
		}
		r.op = rawViaPipe
	default:
		r.op = rawDirect
	}
}

// isPipe reports whether fd is a pipe (a FIFO).
func isPipe(b *testing.B, fd int) bool {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		b.Fatalf("fstat: %v", err)
	}
	return st.Mode&unix.S_IFMT == unix.S_IFIFO
}

// rawConnOf returns v's syscall.RawConn.
func rawConnOf(b *testing.B, v syscall.Conn) syscall.RawConn {
	rc, err := v.SyscallConn()
	if err != nil {
		b.Fatalf("SyscallConn: %v", err)
	}
	return rc
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
	fd := -1
	if err := rawConnOf(b, sc).Control(func(u uintptr) { fd = int(u) }); err != nil {
		b.Fatalf("Control: %v", err)
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
