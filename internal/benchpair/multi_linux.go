package benchpair

import (
	"fmt"
	"io"
	"runtime"

	"github.com/splicekit/splice"
	"golang.org/x/sys/unix"
)

// multiBench is the set-up of a Multi: a benchEnv per endpoint.
type multiBench struct {
	size int64
	src  *benchEnv   // the source pipe and its feeder; src.raw.sfd for raw
	dsts []*benchEnv // a sink each; raw's fd in raw.dfd, a private pipe in raw.pr, raw.pw
	ws   []io.Writer // the sinks, in order
	got  []int       // raw: what each destination but the last has of the chunk
}

// Multi is the benchmark of one list of destinations for one
// implementation: a source pipe, a 1 MiB pipe end like one from os.Pipe
// (non-blocking, in Go's poller), which has no EOF, and a sink per
// destination kind ("pipe", "file", "tcp" or "unix"). Each iteration moves
// exactly Size bytes to every destination.
//
// Impl IOMultiWriter is io.CopyN(io.MultiWriter(dsts...), src, size), and
// SpliceCopyMulti is splice.CopyMulti(&io.LimitedReader{R: src, N: size},
// dsts...), CopyMulti having no N variant (the same LimitedReader, its N reset
// each iteration).
//
// Raw is what a plain blocking C loop of the same system calls gets, a
// reference and not an upper bound (CopyMulti can beat it): a bare loop of
// blocking system calls on the fds under the Multi's own endpoints, which it switches
// to blocking mode (clearing O_NONBLOCK) for its run, outside Go's poller,
// with neither poll(2) nor SPLICE_F_NONBLOCK. It moves the bytes chunk by
// chunk: a tee(2) from the source pipe into the first destination sets the
// chunk (what it returns), every other destination but the last gets exactly
// that many by tee(2), and splice(2) then moves them from the source pipe
// into the last destination, which consumes them. A destination that is no
// pipe (the file, the socket) is teed into a private blocking 1 MiB pipe of
// its own, which is spliced on to it at once; the last destination is spliced
// into directly, whatever it is. A tee does not consume, so one that comes
// short (its pipe full) cannot be taken up where it stopped: the last
// destination is then spliced only the bytes that every destination has, and
// the destinations that are behind are teed the rest of the chunk from the
// front of the source pipe again. Raw retries EINTR and fails if the source
// ends early. See multiBench.rawCopy.
//
// The harness is Copy's, one benchEnv per endpoint, all of the same size: the
// source's, with a feeder only, and one per destination, with a drainer only
// (a pipe or socket) or a regular file sink, rewound each iteration. The
// feeder is given a token per iteration, one iteration ahead; an iteration
// moves exactly Size bytes and ends only when every drainer has had them all.
// Endpoints are built once per Multi, and each implementation has its own.
// See Copy for the helpers' threads and why they block. Verify is Copy's.
type Multi struct {
	Dsts   []string // sink kinds, in order
	Size   int64
	Impl   string // IOMultiWriter, SpliceCopyMulti or Raw
	Verify bool

	tb  TB
	m   *multiBench
	run func() (int64, error)
}

// Start builds the endpoints and the helpers, starts the helpers' threads and
// gives the feeder the first iteration's token. It fails tb on an error; tb's
// cleanups stop the helpers and close everything.
func (mb *Multi) Start(tb TB) {
	tb.Helper()
	kinds, size := mb.Dsts, mb.Size
	if len(kinds) == 0 {
		tb.Fatalf("no destinations")
	}
	if procs, want := runtime.GOMAXPROCS(0), max(4, len(kinds)+2); procs < want {
		// The feeder and drainers must not starve the copy.
		runtime.GOMAXPROCS(want)
		tb.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	}
	newEnv := func() *benchEnv {
		e := &benchEnv{size: size, quit: make(chan struct{}), raw: rawCopier{pr: -1, pw: -1}, verify: mb.Verify}
		// Registered before the endpoints are made, so that it runs after
		// their own cleanups if set-up fails: it closes what set-up made.
		tb.Cleanup(e.stop)
		return e
	}
	m := &multiBench{size: size, src: newEnv()}
	mb.tb, mb.m = tb, m
	r, peer := m.src.pipeEndpoint(tb, true)
	m.src.src, m.src.stream = r, true
	m.src.newFeeder(tb, peer, true)
	tb.Cleanup(m.src.stop)
	for _, kind := range kinds {
		e := newEnv()
		e.setupSink(tb, kind)
		// Registered again, after the socket pairs' own cleanups, so that
		// it runs before them: the peers must stay open until the helper
		// threads blocked on them have been woken and have returned.
		tb.Cleanup(e.stop)
		m.dsts = append(m.dsts, e)
		m.ws = append(m.ws, e.dst)
	}
	switch mb.Impl {
	case IOMultiWriter:
		mb.run = func() (int64, error) { return io.CopyN(io.MultiWriter(m.ws...), m.src.src, size) }
	case SpliceCopyMulti:
		m.src.lr = &io.LimitedReader{R: m.src.src, N: size} // reset each iteration
		mb.run = func() (int64, error) { return splice.CopyMulti(m.src.lr, m.ws...) }
	case Raw:
		if len(kinds) < 2 {
			tb.Fatalf("raw needs two destinations or more")
		}
		m.setupRaw(tb)
		mb.run = m.rawCopy
	default:
		tb.Fatalf("unknown impl %q", mb.Impl)
	}
	for _, e := range m.dsts {
		e.start()
	}
	m.src.start()
	if err := m.src.feed.give(); err != nil { // the first iteration's bytes
		m.fail(tb, "feed", err)
	}
}

// Iterate copies Size bytes from the source to every destination, and returns
// once every sink has them all. It fails the TB given to Start on an error.
func (mb *Multi) Iterate() {
	m, tb, src, size := mb.m, mb.tb, mb.m.src, mb.Size
	// The next iteration's bytes, so that the source is ready when the
	// copy starts.
	if err := src.feed.give(); err != nil {
		m.fail(tb, "feed", err)
	}
	select {
	case <-src.feedDead:
		m.fail(tb, "feeder", nil)
	default:
	}
	for _, e := range m.dsts {
		if e.dstFile != nil {
			if _, err := e.dstFile.Seek(0, io.SeekStart); err != nil {
				m.fail(tb, "rewind sink", err)
			}
		}
	}
	if src.lr != nil {
		src.lr.N = size
	}
	n, err := mb.run()
	if err != nil || n != size {
		m.fail(tb, fmt.Sprintf("%s copied %d of %d bytes", mb.Impl, n, size), err)
	}
	for _, e := range m.dsts {
		if e.done == nil {
			if e.verify && e.dstFile != nil {
				if err := verifyFile(e.dstFile, size); err != nil {
					m.fail(tb, "file sink", err)
				}
			}
			continue
		}
		if err := e.done.take(); err != nil {
			m.fail(tb, "wait for a drainer", err)
		}
		select {
		case <-e.drainDead:
			m.fail(tb, "drainer", nil)
		default:
		}
	}
}

// fail stops every endpoint's helpers, so that nothing is left waiting, and
// fails tb with err and whatever error the feeder or a drainer saw.
func (m *multiBench) fail(tb TB, what string, err error) {
	tb.Helper()
	for _, e := range m.dsts {
		e.stop()
	}
	m.src.stop()
	drainErrs := make([]error, len(m.dsts))
	for i, e := range m.dsts {
		drainErrs[i] = e.drainErr
	}
	tb.Fatalf("%s: %v (feeder: %v; drainers: %v)", what, err, m.src.feedErr, drainErrs)
}

// setupRaw readies raw: it switches the source's and the destinations' fds to
// blocking mode, recording them in their benchEnv's raw.blocking, so that
// stop (rawCopier.close) switches them back before closing them, and gives
// every destination but the last that is no pipe a private blocking pipe.
func (m *multiBench) setupRaw(tb TB) {
	m.src.raw.sfd = rawFD(tb, m.src.src)
	multiBenchBlock(tb, &m.src.raw, m.src.raw.sfd)
	for i, e := range m.dsts {
		e.raw.dfd = rawFD(tb, e.dst)
		multiBenchBlock(tb, &e.raw, e.raw.dfd)
		if i < len(m.dsts)-1 && !isPipe(tb, e.raw.dfd) {
			var err error
			if e.raw.pr, e.raw.pw, e.raw.pipeSize, err = benchPipe(0); err != nil {
				tb.Fatalf("raw: %v", err)
			}
		}
	}
	m.got = make([]int, len(m.dsts)-1)
}

// multiBenchBlock clears O_NONBLOCK on fd, if set, and records fd in r, as
// benchEnv.setupRaw does for a Copy.
func multiBenchBlock(tb TB, r *rawCopier, fd int) {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		tb.Fatalf("F_GETFL: %v", err)
	}
	if fl&unix.O_NONBLOCK == 0 {
		return // a regular file
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_NONBLOCK); err != nil {
		tb.Fatalf("clear O_NONBLOCK: %v", err)
	}
	r.blocking = append(r.blocking, fd)
}

// rawCopy moves exactly size bytes from the source pipe to every destination,
// chunk by chunk.
func (m *multiBench) rawCopy() (int64, error) {
	var moved int64
	for moved < m.size {
		k, err := m.rawChunk(int(min(m.size-moved, 1<<30)))
		moved += int64(k)
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// rawChunk moves one chunk of at most want bytes, set by the first
// destination's tee, to every destination, and returns its size (on an error,
// what the last destination has of it).
func (m *multiBench) rawChunk(want int) (int, error) {
	tees, last := m.dsts[:len(m.dsts)-1], m.dsts[len(m.dsts)-1]
	k, err := m.rawTee(tees[0], want)
	if err != nil {
		return 0, err
	}
	m.got[0] = k
	for i := 1; i < len(tees); i++ {
		m.got[i] = 0
	}
	// c bytes of the chunk have been spliced into the last destination,
	// and the source pipe's front is the chunk's byte c. A tee comes short
	// when the pipe it fills is full; the destinations that have no more
	// than c are teed the rest from there.
	for c := 0; c < k; {
		next := k
		for i, e := range tees {
			if m.got[i] == c {
				n, err := m.rawTee(e, k-c)
				if err != nil {
					return c, err
				}
				m.got[i] += n
			}
			next = min(next, m.got[i])
		}
		for c < next {
			n, err := spliceRetry(m.src.raw.sfd, last.raw.dfd, next-c, unix.SPLICE_F_MOVE)
			if err == nil && n == 0 {
				err = errRawEOF // cannot be: the pipe holds next-c bytes
			}
			if err != nil {
				return c, err
			}
			c += n
		}
	}
	return k, nil
}

// rawTee duplicates up to n bytes from the front of the source pipe into e's
// destination: a pipe directly, anything else through e's private pipe, which
// it then splices on to the destination. It returns how many the destination
// got, at least one.
func (m *multiBench) rawTee(e *benchEnv, n int) (int, error) {
	to := e.raw.dfd
	if e.raw.pw >= 0 {
		to = e.raw.pw
	}
	t, err := multiBenchTee(m.src.raw.sfd, to, n)
	if err == nil && t == 0 {
		err = errRawEOF
	}
	if err != nil || e.raw.pw < 0 {
		return t, err
	}
	for out := 0; out < t; {
		k, err := spliceRetry(e.raw.pr, e.raw.dfd, t-out, unix.SPLICE_F_MOVE)
		if err == nil && k == 0 {
			err = io.ErrNoProgress // cannot be: the pipe holds t-out bytes
		}
		if err != nil {
			return out, err
		}
		out += k
	}
	return t, nil
}

// multiBenchTee is tee(2) without flags, retried on EINTR. From and to a
// blocking pipe it waits for bytes and room, then duplicates what fits.
func multiBenchTee(rfd, wfd, n int) (int, error) {
	for {
		// An int: x/sys builds Tee's int64 from two registers on 32-bit
		// systems, the upper one garbage.
		m, err := unix.Tee(rfd, wfd, n, 0)
		if err != unix.EINTR {
			return int(m), err
		}
	}
}
