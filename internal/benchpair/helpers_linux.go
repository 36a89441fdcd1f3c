package benchpair

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// The harness's helpers: socket and pipe peers, the feeder and drainer threads,
// eventfd tokens.

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
func socketPeer(tb TB, c benchConn) *benchPeer {
	p := &benchPeer{fd: -1, conn: c}
	var err error
	if cerr := rawConnOf(tb, c).Control(func(fd uintptr) {
		p.fd = int(fd)
		err = unix.SetNonblock(p.fd, false)
	}); cerr != nil {
		err = cerr
	}
	if err != nil {
		tb.Fatalf("socket peer: clear O_NONBLOCK: %v", err)
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
// space: it maps pages of Data into a pipe with vmsplice(2). A pipe peer
// gets them directly; a socket peer through a private pipe, from which they are
// spliced on. Every call blocks.
type benchFeeder struct {
	peer   *benchPeer
	pipe   bool // peer is a pipe's write end
	verify bool // put Data in order (Copy.Verify)

	// The private pipe of a socket peer, blocking, and its capacity; -1,
	// -1, 0 for a pipe peer.
	pr, pw   int
	pipeSize int

	iov [1]unix.Iovec // what to vmsplice
}

// newFeeder makes the feeder of peer, a pipe's write end if pipe is set and
// otherwise a socket. The feeder owns peer from here on.
func (e *benchEnv) newFeeder(tb TB, peer *benchPeer, pipe bool) {
	f := &benchFeeder{peer: peer, pipe: pipe, verify: e.verify, pr: -1, pw: -1}
	e.feeder = f // before anything can fail, so that e.stop closes peer
	if !pipe {
		var err error
		if f.pr, f.pw, f.pipeSize, err = benchPipe(0); err != nil {
			tb.Fatalf("feeder: %v", err)
		}
	}
	e.feedDead = make(chan struct{})
	e.feed = newBenchTokens(tb)
}

// feedLoop is the feeder's thread: it puts e.size bytes into the peer per
// token it takes from e.feed, until e.quit is closed or its I/O fails.
func (e *benchEnv) feedLoop(f *benchFeeder) {
	defer e.wg.Done()
	// The thread is the feeder's alone while it runs. Unlocked at the end,
	// as nothing of it was changed, so that the runtime keeps it for
	// later rather than end it and start another (allocating) in the next
	// Copy.
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

// put puts exactly n bytes into the peer. A verifying feeder puts Data
// repeated, cut at n, in order; the others, so as to make the same calls as
// before there was a verifying mode, start every call at Data's start.
func (f *benchFeeder) put(n int64) error {
	data := Data()
	var off int64 // bytes of the iteration put so far
	for n > 0 {
		chunk := data
		if f.verify {
			chunk = data[off%int64(len(data)):]
		}
		if f.pipe {
			// Blocks until the pipe has room, then fills what it can.
			f.setIov(chunk[:min(n, int64(len(chunk)))])
			m, err := vmspliceRetry(f.peer.fd, f.iov[:])
			if err == nil && m == 0 {
				err = io.ErrNoProgress
			}
			if err != nil {
				return err
			}
			n -= int64(m)
			off += int64(m)
			continue
		}
		// The private pipe is empty here, so a vmsplice of at most its
		// capacity does not wait. Then all of it goes on to the socket
		// before the next.
		f.setIov(chunk[:min(n, int64(len(chunk)), int64(f.pipeSize))])
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
			off += int64(k)
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
func (e *benchEnv) newDrainer(tb TB, peer *benchPeer) {
	d := &benchDrainer{peer: peer, pr: -1, pw: -1, null: -1}
	e.drainer = d // before anything can fail, so that e.stop closes peer
	var err error
	if d.pr, d.pw, d.pipeSize, err = benchPipe(0); err != nil {
		tb.Fatalf("drainer: %v", err)
	}
	if d.null, err = unix.Open(os.DevNull, unix.O_WRONLY|unix.O_CLOEXEC, 0); err != nil {
		d.null = -1
		tb.Fatalf("drainer: open %s: %v", os.DevNull, err)
	}
	e.drainDead = make(chan struct{})
	e.done = newBenchTokens(tb)
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
		var n int
		var err error
		if e.verify {
			n, err = e.takeVerified(d, got)
		} else {
			n, err = d.take()
		}
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

// takeVerified reads whatever the peer has, waiting until it has some,
// checks it against what an iteration holds from offset got on (wrapping
// into the next iteration), and returns how many bytes it read.
func (e *benchEnv) takeVerified(d *benchDrainer, got int64) (int, error) {
	if e.buf == nil {
		e.buf = make([]byte, BufSize)
	}
	var n int
	var err error
	for {
		n, err = unix.Read(d.peer.fd, e.buf)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, io.EOF // the copy's end is closed or shut down
	}
	for p := e.buf[:n]; len(p) > 0; {
		want := expected(e.size, got, len(p))
		if i := mismatch(want, p[:len(want)]); i >= 0 {
			return 0, fmt.Errorf("sink: byte %d of an iteration differs", got+int64(i))
		}
		p = p[len(want):]
		if got += int64(len(want)); got == e.size {
			got = 0
		}
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
// a cleanup of the TB.
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

// fail stops everything, so that nothing is left waiting, and fails tb with err
// and whatever error the feeder or drainer saw.
func (e *benchEnv) fail(tb TB, what string, err error) {
	tb.Helper()
	e.stop()
	tb.Fatalf("%s: %v (feeder: %v; drainer: %v)", what, err, e.feedErr, e.drainErr)
}
