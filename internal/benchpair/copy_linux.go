package benchpair

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/splicekit/splice"
	"golang.org/x/sys/unix"
)

// Pairs are the pairs the harness builds, as BenchmarkCopy runs them.
var Pairs = []Pair{
	{"file", "file"}, {"file", "tcp"}, {"file", "unix"}, {"file", "pipe"},
	{"tcp", "file"}, {"unix", "file"},
	{"tcp", "tcp"}, {"tcp", "unix"}, {"unix", "tcp"}, {"unix", "unix"},
	{"pipe", "pipe"}, {"pipe", "file"}, {"pipe", "tcp"}, {"pipe", "unix"},
	{"tcp", "pipe"}, {"unix", "pipe"},
	{"limitedfile", "unix"}, {"limitedtcp", "unix"}, {"limitedtcp", "tcp"},
}

// HasRaw reports whether the harness has a raw copy ([Raw]): on Linux, yes.
func HasRaw() bool { return true }

// benchEnv is the set-up of one Copy, or of one endpoint of a Multi.
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

	verify bool   // check what the sink gets (Copy.Verify)
	buf    []byte // the verifying drainer's buffer
}

// Copy is one pair's benchmark for one implementation: endpoints of the
// pair's kinds, with their feeder and drainer, and the copy of exactly Size
// bytes that each iteration makes.
//
// Raw is what the pair gets from a plain blocking C loop of the same system
// calls, a reference and not an upper bound (splice.Copy, non-blocking, can
// beat it; see rawCopier): a bare loop of blocking system calls on the fds
// under the Copy's own endpoints, which it switches to blocking mode (clearing
// O_NONBLOCK) for its run, outside Go's poller, with neither poll(2) nor
// SPLICE_F_NONBLOCK. Between two regular
// files it is copy_file_range(2); where one side is a pipe, splice(2) from the
// source straight to the sink; otherwise (file to socket included) splice(2)
// from the source into one blocking pipe and from that pipe on to the sink, at
// most a pipe's worth at a time. Raw retries EINTR and fails if the source ends
// early. See rawCopier.
//
// Every iteration moves exactly Size bytes and ends only when the sink has
// them all. Endpoints are built once per Copy, and each implementation has its
// own. A regular file source holds the data in the page cache and is rewound
// each iteration (a file sink too). Every pipe the harness makes is grown to
// 1 MiB with F_SETPIPE_SZ (or left at what the kernel grants, past the user's
// pipe quota say): the pipe endpoints, the helpers' private pipes and raw's
// pipe.
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
// and splice. At the end (tb's cleanups, or a failure) the helpers are woken,
// by shutdown(2) of a socket peer, by closing the copy's end of a pipe (a
// blocked vmsplice(2) then fails with EPIPE, a blocked splice(2) sees end of
// file) and by a last token to the feeder, and are waited for before anything
// they use is closed.
//
// With Verify set, the drainer reads what arrives (read(2), a copy to user
// space) and compares it with what the source was given, and a file sink is
// read back after each iteration: slower, for tests of the harness and of the
// pair, not for measurements.
type Copy struct {
	Src, Dst string // kinds, as in Pair
	Size     int64  // bytes per iteration
	Impl     string // IOCopy, SpliceCopy or Raw
	Verify   bool

	tb  TB
	e   *benchEnv
	run func(*benchEnv) (int64, error)
}

// Start builds the endpoints and the helpers, starts the helpers' threads and
// gives the feeder the first iteration's token. It fails tb on an error; tb's
// cleanups stop the helpers and close everything.
func (c *Copy) Start(tb TB) {
	tb.Helper()
	if procs := runtime.GOMAXPROCS(0); procs < 4 {
		// The feeder and drainer must not starve the copy.
		runtime.GOMAXPROCS(4)
		tb.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	}
	e := &benchEnv{size: c.Size, quit: make(chan struct{}), raw: rawCopier{pr: -1, pw: -1}, verify: c.Verify}
	c.tb, c.e = tb, e
	// Registered before the endpoints are made, so that it runs after their
	// own cleanups if set-up fails: it closes what set-up made.
	tb.Cleanup(e.stop)
	e.setup(tb, c.Src, c.Dst)
	switch c.Impl {
	case IOCopy:
		c.run = func(e *benchEnv) (int64, error) {
			if e.stream {
				return io.CopyN(e.dst, e.src, e.size)
			}
			return io.Copy(e.dst, e.src)
		}
	case SpliceCopy:
		c.run = func(e *benchEnv) (int64, error) {
			if e.stream {
				return splice.CopyN(e.dst, e.src, e.size)
			}
			return splice.Copy(e.dst, e.src)
		}
	case Raw:
		e.setupRaw(tb)
		c.run = func(e *benchEnv) (int64, error) { return e.raw.copy(e.size) }
	default:
		tb.Fatalf("unknown impl %q", c.Impl)
	}
	// Registered again, after the socket pairs' own cleanups, so that it
	// runs before them: the peers must stay open until the helper threads
	// blocked on them have been woken and have returned.
	tb.Cleanup(e.stop)
	e.start()
	if e.feed != nil {
		if err := e.feed.give(); err != nil { // the first iteration's bytes
			e.fail(tb, "feed", err)
		}
	}
}

// Iterate copies Size bytes from the source to the sink, and returns once the
// sink has them all. It fails the TB given to Start on an error.
func (c *Copy) Iterate() {
	e, tb := c.e, c.tb
	if e.feed != nil {
		// The next iteration's bytes, so that the source is ready when
		// the copy starts.
		if err := e.feed.give(); err != nil {
			e.fail(tb, "feed", err)
		}
		select {
		case <-e.feedDead:
			e.fail(tb, "feeder", nil)
		default:
		}
	}
	if e.srcFile != nil {
		if _, err := e.srcFile.Seek(0, io.SeekStart); err != nil {
			e.fail(tb, "rewind source", err)
		}
	}
	if e.dstFile != nil {
		if _, err := e.dstFile.Seek(0, io.SeekStart); err != nil {
			e.fail(tb, "rewind sink", err)
		}
	}
	if e.lr != nil {
		e.lr.N = e.size
	}
	n, err := c.run(e)
	if err != nil || n != e.size {
		e.fail(tb, fmt.Sprintf("%s copied %d of %d bytes", c.Impl, n, e.size), err)
	}
	if e.done != nil {
		if err := e.done.take(); err != nil {
			e.fail(tb, "wait for the drainer", err)
		}
		select {
		case <-e.drainDead:
			e.fail(tb, "drainer", nil)
		default:
		}
	}
	if e.verify && e.dstFile != nil {
		if err := verifyFile(e.dstFile, e.size); err != nil {
			e.fail(tb, "file sink", err)
		}
	}
}

// setup builds the endpoints, the feeder and the drainer, without starting the
// helpers' threads.
func (e *benchEnv) setup(tb TB, srcKind, dstKind string) {
	switch srcKind {
	case "file", "limitedfile":
		n := e.size
		if srcKind == "limitedfile" {
			n += 4096 // bytes past the limit, which the copy must leave
		}
		f := tempFile(tb)
		e.closers = append(e.closers, f)
		data := Data()
		for left := n; left > 0; {
			m, err := f.Write(data[:min(left, int64(len(data)))])
			if err != nil {
				tb.Fatalf("fill source: %v", err)
			}
			left -= int64(m)
		}
		e.src, e.srcFile = f, f
		if srcKind == "limitedfile" {
			e.lr = &io.LimitedReader{R: f, N: e.size}
			e.src = e.lr
		}
	case "tcp", "limitedtcp":
		peer, c := tcpPair(tb)
		e.closers = append(e.closers, c)
		e.src, e.stream = c, true
		if srcKind == "limitedtcp" {
			e.lr = &io.LimitedReader{R: c, N: e.size}
			e.src, e.stream = e.lr, false
		}
		e.newFeeder(tb, socketPeer(tb, peer), false)
	case "unix":
		peer, c := unixPair(tb)
		e.closers = append(e.closers, c)
		e.src, e.stream = c, true
		e.newFeeder(tb, socketPeer(tb, peer), false)
	case "pipe":
		r, peer := e.pipeEndpoint(tb, true)
		e.src, e.stream = r, true
		e.newFeeder(tb, peer, true)
	default:
		tb.Fatalf("unknown source kind %q", srcKind)
	}

	e.setupSink(tb, dstKind)
}

// setupSink builds the sink, and its drainer, without starting the
// drainer's thread.
func (e *benchEnv) setupSink(tb TB, dstKind string) {
	switch dstKind {
	case "file":
		f := tempFile(tb)
		e.closers = append(e.closers, f)
		e.dst, e.dstFile = f, f
	case "tcp":
		c, peer := tcpPair(tb)
		e.closers = append(e.closers, c)
		e.dst = c
		e.newDrainer(tb, socketPeer(tb, peer))
	case "unix":
		c, peer := unixPair(tb)
		e.closers = append(e.closers, c)
		e.dst = c
		e.newDrainer(tb, socketPeer(tb, peer))
	case "pipe":
		w, peer := e.pipeEndpoint(tb, false)
		e.dst = w
		e.newDrainer(tb, peer)
	default:
		tb.Fatalf("unknown sink kind %q", dstKind)
	}
}

// pipeEndpoint makes the pipe of a "pipe" endpoint with benchPipe. The copy's
// end (the read end of a source, the write end of a sink) is made non-blocking
// and wrapped by os.NewFile, which puts it in Go's poller as os.Pipe would; e
// closes it. The other end stays a blocking fd, outside the poller, for the
// feeder or drainer, and is returned as a peer that the caller hands on to one
// at once.
func (e *benchEnv) pipeEndpoint(tb TB, source bool) (*os.File, *benchPeer) {
	r, w, _, err := benchPipe(0)
	if err != nil {
		tb.Fatalf("pipe endpoint: %v", err)
	}
	end, peer := w, r
	if source {
		end, peer = r, w
	}
	if err := unix.SetNonblock(end, true); err != nil {
		closePipe(r, w)
		tb.Fatalf("pipe endpoint: set O_NONBLOCK: %v", err)
	}
	name := "|1" // named as os.Pipe names its ends, on which Copy's hints rely
	if source {
		name = "|0"
	}
	f := os.NewFile(uintptr(end), name)
	e.closers = append(e.closers, f)
	return f, &benchPeer{fd: peer}
}
