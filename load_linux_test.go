//go:build !splice_portable

package splice_test

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// The load tests: thousands of copies at once, of mixed pairs and sizes, where
// the engine's pipes are scarce (the user's pipe-page budget spent, no fd left
// for a pipe) or capped (SetMaxPipes). Every copy must deliver every byte, with
// the count io.Copy would return; none may fail for want of a pipe. After the
// burst the engine's idle pipes are closed (after SetPipeIdleTimeout) and the
// process holds exactly the fds it held before. They do not run in parallel:
// the pipe budget, the idle timeout, the pipe count and the fd table are the
// process's.

const (
	loadCopies      = 2000 // copies at once; -short: loadCopiesShort
	loadCopiesShort = 200
	loadMaxSize     = 1 << 20 // sizes are 1 B … loadMaxSize, about log-uniform

	// loadTimeout bounds a hang: every socket and pipe of a burst gets this
	// deadline (cut to the test's own). It never fires on a loaded machine.
	loadTimeout = 4 * time.Minute

	// loadIdleTimeout is the engine's pipe idle timeout during the tests.
	loadIdleTimeout = 50 * time.Millisecond

	// loadSettle bounds the waits after a burst, for idle pipes to be
	// closed and fds to go; it only bounds a hang.
	loadSettle = 30 * time.Second

	// loadMaxPipes is TestLoadMaxPipes's cap on the engine's pipes: far
	// fewer than the copies that want one.
	loadMaxPipes = 16

	// loadSpareFDs is how many fd numbers stay free under the lowered
	// RLIMIT_NOFILE of the emfile phase: one, so that every pipe2 (which
	// takes two) fails with EMFILE.
	loadSpareFDs = 1
)

// loadKinds are the pairs of a burst, in turn: copy i is of loadKinds[i%5].
// Their fds, both ends of each pipe and connection counted: 4, 3, 4, 3, 7.
var loadKinds = []string{"tcp-tcp", "file-tcp", "pipe-pipe", "tcp-file", "tcp-multi3"}

// loadFDsPer5 is the fds that one copy of each of loadKinds holds.
const loadFDsPer5 = 4 + 3 + 4 + 3 + 7

// TestLoadWithoutPipeBudget runs, in a child process as an unprivileged user
// whose pipe-page budget is spent (every new pipe of the user has 2 pages and
// cannot grow), a burst of copies at once of mixed pairs and sizes, each
// stream's bytes its own; then (emfile) the same with RLIMIT_NOFILE lowered,
// once every endpoint is open, to leave one fd number free, so that every
// pipe2 fails with EMFILE. Every copy delivers every byte; afterwards the
// engine's idle pipes are closed and the fds are those before the burst.
//
// A burst of 2,000 runs about 5,600 goroutines (a copy, its feeder and its
// drainers), under the race detector's limit of 8,128.
func TestLoadWithoutPipeBudget(t *testing.T) {
	if !testutil.InChild(t) {
		testutil.RunChildUnprivileged(t)
		return
	}
	release := testutil.SpendPipePages(t)
	defer release()
	defer splice.SetPipeIdleTimeout(loadIdleTimeout)()
	// Every copy that wants a pipe asks the kernel for one (no pause after
	// a refusal), so that the refusals are many.
	defer splice.SetPipeRetryAfter(0)()
	maxPipes := splice.SetMaxPipes(0) // in a fresh child the budget is the default, which 0 keeps
	n := loadCount(t, maxPipes)
	runLoad(t, loadConfig{copies: n, seed: 1, maxPipes: maxPipes, refusals: true})
	t.Run("emfile", func(t *testing.T) {
		runLoad(t, loadConfig{copies: n, seed: 2, maxPipes: maxPipes, spareFDs: loadSpareFDs, refusals: true})
	})
}

// TestLoadMaxPipes runs a burst of copies with the pipes to be had (as root;
// as another user within its budget) and the engine capped at loadMaxPipes
// pipes: the engine never holds more, while many copies want one (some at
// least take one), and every copy delivers every byte.
func TestLoadMaxPipes(t *testing.T) {
	prev := splice.SetMaxPipes(loadMaxPipes)
	defer splice.SetMaxPipes(prev)
	defer splice.SetPipeIdleTimeout(loadIdleTimeout)()
	st := runLoad(t, loadConfig{copies: loadCount(t, loadMaxPipes), seed: 3, maxPipes: loadMaxPipes})
	if st.peakOpen == 0 {
		t.Errorf("no engine pipe open in %d samples while the copies ran: the burst did not exercise the cap", st.samples)
	}
}

// loadConfig is one burst.
type loadConfig struct {
	copies   int
	seed     uint64 // seeds the sizes; stream i's bytes are Data(size, seed<<32|i)
	maxPipes int    // the engine's cap on its pipes, checked while the copies run
	spareFDs int    // > 0: RLIMIT_NOFILE lowered to leave this many fds free
	refusals bool   // the kernel is to refuse the engine pipes (too small, or none)
}

// loadStats is what a burst measured.
type loadStats struct {
	peakOpen, peakIdle int // splice.EnginePipes, at most, while the copies ran
	peakInFlight       int // copies running at once, at most
	samples            int
}

// loadCount returns how many copies a burst makes: loadCopies (-short:
// loadCopiesShort), or fewer if RLIMIT_NOFILE cannot hold their endpoints,
// the engine's pipes and a margin, which it logs.
func loadCount(t *testing.T, maxPipes int) int {
	t.Helper()
	n := loadCopies
	if testing.Short() {
		n = loadCopiesShort
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatalf("getrlimit(RLIMIT_NOFILE): %v", err)
	}
	open := len(loadFDs(t))
	room := int(min(rl.Cur, 1<<30)) - open - 2*maxPipes - 256
	if fit := room / loadFDsPer5 * len(loadKinds); fit < n {
		if fit < 5*len(loadKinds) {
			t.Skipf("RLIMIT_NOFILE %d (hard %d) leaves room for %d copies' fds beside %d open and %d engine pipes: too few for a load test", rl.Cur, rl.Max, max(fit, 0), open, maxPipes)
		}
		t.Logf("RLIMIT_NOFILE %d (hard %d) holds the fds of %d copies (%d fds for every %d), not %d: making %d", rl.Cur, rl.Max, fit, loadFDsPer5, len(loadKinds), n, fit)
		n = fit
	}
	return n
}

// runLoad runs one burst: it opens every copy's endpoints, starts all copies at
// once and waits for them, sampling the engine's pipes meanwhile; checks every
// copy's count, error and bytes; closes everything; and waits for the engine's
// pipes to be closed and the fds to be those before.
func runLoad(t *testing.T, cfg loadConfig) loadStats {
	splice.DrainPipePool() // those of earlier tests are not this burst's
	waitNoEnginePipes(t, "before the burst")
	before := loadFDs(t)

	deadline := time.Now().Add(loadTimeout)
	if d, ok := t.Deadline(); ok && d.Add(-30*time.Second).Before(deadline) {
		deadline = d.Add(-30 * time.Second)
	}
	setup := time.Now()
	rng := rand.New(rand.NewPCG(cfg.seed, 0x10ad))
	copies := make([]*loadCopy, cfg.copies)
	var total int64
	for i := range copies {
		e := rng.IntN(21)
		size := min(1<<e+rng.IntN(1<<e), loadMaxSize)
		c := newLoadCopy(t, loadKinds[i%len(loadKinds)], i, testutil.Data(size, cfg.seed<<32|uint64(i)), deadline)
		copies[i] = c
		total += int64(size * len(c.sinks))
	}
	withEndpoints := len(loadFDs(t))
	setupTime := time.Since(setup)

	var st loadStats
	var inFlight atomic.Int64
	taken, stopCounting := splice.CountEnginePipes()
	refused, stopRefusals := splice.CountPipeRefusals()
	var start time.Time
	func() {
		if cfg.spareFDs > 0 {
			defer lowerFDLimit(t, cfg.spareFDs)()
		}
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				open, idle := splice.EnginePipes()
				st.peakOpen, st.peakIdle = max(st.peakOpen, open), max(st.peakIdle, idle)
				st.peakInFlight = max(st.peakInFlight, int(inFlight.Load()))
				st.samples++
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Microsecond):
				}
			}
		}()
		var wg sync.WaitGroup
		begin := make(chan struct{})
		for _, c := range copies {
			wg.Go(func() {
				<-begin
				inFlight.Add(1)
				c.run()
				inFlight.Add(-1)
			})
		}
		start = time.Now()
		close(begin)
		wg.Wait()
		close(stop)
		<-sampled
	}()
	elapsed := time.Since(start)
	asked, refusals := taken(), refused()
	stopCounting()
	stopRefusals()

	var failed []string
	kinds := map[string]int{}
	for _, c := range copies {
		kinds[c.kind]++
		failed = append(failed, c.problems...)
	}
	for i, p := range failed {
		if i == 20 {
			t.Errorf("... and %d more", len(failed)-i)
			break
		}
		t.Error(p)
	}
	if asked == 0 {
		t.Errorf("no copy asked for an engine pipe: the burst did not exercise the engine's pipes")
	}
	if cfg.refusals && refusals == 0 {
		t.Errorf("the kernel refused no engine pipe: the burst did not run where pipes are scarce")
	}
	if st.peakOpen > cfg.maxPipes || st.peakIdle > st.peakOpen {
		t.Errorf("engine pipes while the copies ran: %d open, %d idle at most; want at most %d (SetMaxPipes), idle no more than open", st.peakOpen, st.peakIdle, cfg.maxPipes)
	}

	closing := time.Now()
	for _, c := range copies {
		c.close()
	}
	copies = nil
	closeTime := time.Since(closing)
	settled := waitNoEnginePipes(t, "after the burst")
	after := waitFDs(t, before)
	t.Logf("%d copies (%s), set up in %v, at most %d in flight; %d bytes delivered in %v (%.0f MB/s), closed in %v; engine pipes asked for %d times, refused %d times, at most %d open, %d idle (cap %d; %d samples), %v; fds: %d before, %d with the endpoints open (and 2 per engine pipe), %d after",
		cfg.copies, kindCounts(kinds), setupTime.Round(time.Millisecond), st.peakInFlight, total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds()/1e6, closeTime.Round(time.Millisecond),
		asked, refusals, st.peakOpen, st.peakIdle, cfg.maxPipes, st.samples, settled, len(before), withEndpoints, len(after))
	return st
}

func kindCounts(kinds map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		parts = append(parts, fmt.Sprintf("%d %s", kinds[k], k))
	}
	return strings.Join(parts, ", ")
}

// loadCopy is one copy of a burst: its endpoints, what feeds its source and
// drains its destinations, and, once run, what went wrong.
type loadCopy struct {
	kind string
	id   int
	data []byte // what the source yields, and each destination must get

	copy   func() (int64, error)
	src    io.Closer      // the copy's end of a pipe or socket source; nil for a file
	feed   func() error   // writes data into the source's peer and ends it; nil for a file
	sinks  []loadSink     // the destinations, in order
	checks []func() error // after the copy: a file source's offset
	conns  []*net.TCPConn // every connection's two ends, reset on close
	closer []io.Closer    // the pipes and files

	problems []string
}

// loadSink is one destination of a copy.
type loadSink struct {
	name string
	// drain reads the peer of a pipe or socket destination until end of
	// file and reports how its bytes differ from the copy's; nil for a file.
	drain func() error
	// end ends a pipe or socket destination after the copy, so that its
	// drain sees end of file; nil for a file.
	end func() error
	// check, after the drain, checks a file destination's bytes and offset;
	// nil for others.
	check func() error
}

func newLoadCopy(t *testing.T, kind string, id int, data []byte, deadline time.Time) *loadCopy {
	c := &loadCopy{kind: kind, id: id, data: data}
	switch kind {
	case "tcp-tcp":
		src, dst := c.tcpSource(t, deadline), c.tcpSink(t, deadline)
		c.copy = func() (int64, error) { return splice.Copy(dst, src) }
	case "file-tcp":
		src, dst := c.fileSource(t), c.tcpSink(t, deadline)
		c.copy = func() (int64, error) { return splice.Copy(dst, src) }
	case "pipe-pipe":
		src, dst := c.pipeSource(t, deadline), c.pipeSink(t, deadline)
		c.copy = func() (int64, error) { return splice.Copy(dst, src) }
	case "tcp-file":
		src, dst := c.tcpSource(t, deadline), c.fileSink(t)
		c.copy = func() (int64, error) { return splice.Copy(dst, src) }
	case "tcp-multi3":
		src := c.tcpSource(t, deadline)
		d0, d1, d2 := c.tcpSink(t, deadline), c.pipeSink(t, deadline), c.fileSink(t)
		c.copy = func() (int64, error) { return splice.CopyMulti(src, d0, d1, d2) }
	default:
		t.Fatalf("unknown load kind %q", kind)
	}
	return c
}

func (c *loadCopy) tcpSource(t *testing.T, deadline time.Time) io.Reader {
	src, peer := c.tcpPair(t, deadline)
	c.src = src
	c.feed = func() error {
		_, err := peer.Write(c.data)
		if cerr := peer.CloseWrite(); err == nil {
			err = cerr
		}
		return err
	}
	return src
}

func (c *loadCopy) tcpSink(t *testing.T, deadline time.Time) io.Writer {
	dst, peer := c.tcpPair(t, deadline)
	c.sinks = append(c.sinks, loadSink{
		name:  "tcp",
		drain: func() error { return drainCompare(peer, c.data) },
		end:   dst.CloseWrite,
	})
	return dst
}

func (c *loadCopy) tcpPair(t *testing.T, deadline time.Time) (a, b *net.TCPConn) {
	a, b = testutil.TCPPair(t)
	c.conns = append(c.conns, a, b)
	for _, conn := range []*net.TCPConn{a, b} {
		if err := conn.SetDeadline(deadline); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

func (c *loadCopy) pipeSource(t *testing.T, deadline time.Time) io.Reader {
	r, w := c.pipePair(t, deadline)
	c.src = r
	c.feed = func() error {
		_, err := w.Write(c.data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return err
	}
	return r
}

func (c *loadCopy) pipeSink(t *testing.T, deadline time.Time) io.Writer {
	r, w := c.pipePair(t, deadline)
	c.sinks = append(c.sinks, loadSink{
		name:  "pipe",
		drain: func() error { return drainCompare(r, c.data) },
		end:   w.Close,
	})
	return w
}

// pipePair returns an os.Pipe of 2 pages, as every new pipe is once the
// user's pipe-page budget is spent (F_SETPIPE_SZ may always shrink a pipe):
// as an ordinary user, a burst's 1,200 endpoint pipes of the default 16 pages
// would spend the budget themselves, leaving TestLoadMaxPipes's engine no
// pipe to be had.
func (c *loadCopy) pipePair(t *testing.T, deadline time.Time) (r, w *os.File) {
	r, w = testutil.OSPipePair(t)
	c.closer = append(c.closer, r, w)
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { _, ferr = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 2*os.Getpagesize()) }); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatalf("shrinking an endpoint pipe to 2 pages: %v", ferr)
	}
	for _, f := range []*os.File{r, w} {
		if err := f.SetDeadline(deadline); err != nil {
			t.Fatal(err)
		}
	}
	return r, w
}

func (c *loadCopy) fileSource(t *testing.T) io.Reader {
	f := testutil.TempFile(t, c.data)
	c.closer = append(c.closer, f)
	c.checks = append(c.checks, func() error { return wantOffset(f, "source", len(c.data)) })
	return f
}

func (c *loadCopy) fileSink(t *testing.T) io.Writer {
	f := testutil.TempFile(t, nil)
	c.closer = append(c.closer, f)
	c.sinks = append(c.sinks, loadSink{
		name: "file",
		check: func() error {
			if err := wantOffset(f, "destination", len(c.data)); err != nil {
				return err
			}
			return fileCompare(f, c.data)
		},
	})
	return f
}

// run runs the copy with its feeder and drainers, then checks it: the count,
// the error, every destination's bytes, the files' offsets.
func (c *loadCopy) run() {
	var wg sync.WaitGroup
	var feedErr error
	if c.feed != nil {
		wg.Go(func() { feedErr = c.feed() })
	}
	drainErrs := make([]error, len(c.sinks))
	for i, s := range c.sinks {
		if s.drain != nil {
			wg.Go(func() { drainErrs[i] = s.drain() })
		}
	}
	n, err := c.copy()
	if err != nil && c.src != nil {
		c.src.Close() // so that the feeder does not wait for the deadline
	}
	for _, s := range c.sinks {
		if s.end != nil {
			if err := s.end(); err != nil {
				c.problem("ending the %s destination: %v", s.name, err)
			}
		}
	}
	wg.Wait()

	if n != int64(len(c.data)) || err != nil {
		c.problem("copied %d bytes, %v; want %d, nil", n, err, len(c.data))
	}
	if feedErr != nil {
		c.problem("feeding the source: %v", feedErr)
	}
	for i, s := range c.sinks {
		if drainErrs[i] != nil {
			c.problem("destination %d (%s): %v", i, s.name, drainErrs[i])
		}
		if s.check != nil {
			if err := s.check(); err != nil {
				c.problem("destination %d (%s): %v", i, s.name, err)
			}
		}
	}
	for _, check := range c.checks {
		if err := check(); err != nil {
			c.problem("%v", err)
		}
	}
	c.data = nil // the burst's memory is the streams in flight
}

func (c *loadCopy) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("copy %d (%s): %s", c.id, c.kind, fmt.Sprintf(format, args...)))
}

// close closes the copy's endpoints now rather than in t's cleanups, so that
// runLoad can count fds: connections by reset (SO_LINGER 0), which leaves no
// TIME_WAIT behind to hold a loopback port (the bursts open thousands).
func (c *loadCopy) close() {
	for _, conn := range c.conns {
		conn.SetLinger(0)
		conn.Close()
	}
	for _, f := range c.closer {
		f.Close()
	}
}

// drainCompare reads r until end of file and reports how its bytes differ
// from want. On a difference it reads on to end of file all the same, so that
// the copy is not left waiting for the deadline.
func drainCompare(r io.Reader, want []byte) error {
	buf := make([]byte, 16<<10)
	off := 0
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if d := firstDiff(want[min(off, len(want)):], buf[:n]); d >= 0 {
				rest, _ := io.Copy(io.Discard, r)
				return fmt.Errorf("byte %d of %d differs, or is past the end (%d more bytes followed)", off+d, len(want), rest)
			}
			off += n
		}
		if err == io.EOF {
			if off != len(want) {
				return fmt.Errorf("got %d of %d bytes", off, len(want))
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", off, len(want), err)
		}
	}
}

// firstDiff returns the index of the first byte of got that differs from
// want's or lies past its end, or -1.
func firstDiff(want, got []byte) int {
	if len(got) <= len(want) && bytes.Equal(want[:len(got)], got) {
		return -1
	}
	for i := range got {
		if i >= len(want) || got[i] != want[i] {
			return i
		}
	}
	return -1
}

// fileCompare checks that f holds exactly want, reading it with pread (no new
// fd: the emfile phase has none to spare).
func fileCompare(f *os.File, want []byte) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() != int64(len(want)) {
		return fmt.Errorf("file holds %d bytes, want %d", st.Size(), len(want))
	}
	buf := make([]byte, 16<<10)
	for off := 0; off < len(want); {
		n, err := f.ReadAt(buf[:min(len(buf), len(want)-off)], int64(off))
		if d := firstDiff(want[off:], buf[:n]); d >= 0 {
			return fmt.Errorf("file byte %d of %d differs", off+d, len(want))
		}
		off += n
		if err != nil && off < len(want) {
			return fmt.Errorf("reading the file at %d of %d: %v", off, len(want), err)
		}
	}
	return nil
}

// wantOffset checks that a file's offset is where the copy must leave it.
func wantOffset(f *os.File, what string, want int) error {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if off != int64(want) {
		return fmt.Errorf("%s file offset %d, want %d", what, off, want)
	}
	return nil
}

// lowerFDLimit lowers the soft RLIMIT_NOFILE so that exactly spare fd numbers
// are free under it, and checks that a pipe then fails with EMFILE once they
// are taken; restore puts the limit back. Nothing may open fds in between but
// the code under test.
func lowerFDLimit(t *testing.T, spare int) (restore func()) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatalf("getrlimit(RLIMIT_NOFILE): %v", err)
	}
	open, err := testutil.OpenFDs() // all of them: the runtime's take numbers too
	if err != nil {
		t.Fatalf("listing fds: %v", err)
	}
	limit, free := 0, 0
	for ; free < spare; limit++ {
		if _, ok := open[limit]; !ok {
			free++
		}
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: uint64(limit), Max: old.Max}); err != nil {
		t.Fatalf("setrlimit(RLIMIT_NOFILE, %d): %v", limit, err)
	}
	restore = func() {
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
			panic(fmt.Sprintf("restoring RLIMIT_NOFILE: %v", err))
		}
	}
	// What the engine will meet: the spare fds are there, and then no more.
	var fds []int
	for range spare/2 + 1 {
		var p [2]int
		if err = unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			break
		}
		fds = append(fds, p[0], p[1])
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	if len(fds) != spare/2*2 || err != unix.EMFILE {
		restore()
		t.Fatalf("with RLIMIT_NOFILE %d (%d fds open): %d pipes, then %v; want %d pipes, then EMFILE", limit, len(open), len(fds)/2, err, spare/2)
	}
	return restore
}

// loadFDs returns the open fds, less those Go's runtime opens once and keeps
// (the netpoller's, pidfds), which may first appear during a burst.
func loadFDs(t *testing.T) map[int]string {
	t.Helper()
	fds, err := testutil.OpenFDs()
	if err != nil {
		t.Fatalf("listing fds: %v", err)
	}
	for fd, target := range fds {
		if strings.HasPrefix(target, "anon_inode:[event") || strings.Contains(target, "pidfd") {
			delete(fds, fd)
		}
	}
	return fds
}

// waitFDs waits until no fd is open that was not in before (with the same
// target), and returns the fds then. It fails t, listing them, if some are
// still open after loadSettle; an fd of before closed since is logged, not
// failed (an earlier test's, closed late).
func waitFDs(t *testing.T, before map[int]string) map[int]string {
	t.Helper()
	deadline := time.Now().Add(loadSettle)
	for {
		cur := loadFDs(t)
		var extra, gone []string
		for fd, target := range cur {
			if before[fd] != target {
				extra = append(extra, fmt.Sprintf("fd %d -> %s", fd, target))
			}
		}
		for fd, target := range before {
			if cur[fd] != target {
				gone = append(gone, fmt.Sprintf("fd %d -> %s", fd, target))
			}
		}
		if len(extra) == 0 {
			if len(gone) > 0 {
				t.Logf("%d fds open before the burst were closed during it: %s", len(gone), strings.Join(gone[:min(len(gone), 10)], ", "))
			}
			return cur
		}
		if time.Now().After(deadline) {
			slices.Sort(extra)
			t.Errorf("%d fds still open %v after the burst (%d before, %d now): %s", len(extra), loadSettle, len(before), len(cur), strings.Join(extra[:min(len(extra), 20)], ", "))
			return cur
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitNoEnginePipes waits until the engine holds no pipe, in use or idle, and
// says how long that took; it fails t if that takes longer than loadSettle.
func waitNoEnginePipes(t *testing.T, when string) string {
	t.Helper()
	start := time.Now()
	for {
		open, idle := splice.EnginePipes()
		if open == 0 && idle == 0 {
			return fmt.Sprintf("none left %v %s", time.Since(start).Round(time.Millisecond), when)
		}
		if time.Since(start) > loadSettle {
			t.Errorf("%s: the engine still holds %d pipes (%d idle) after %v, with an idle timeout of %v", when, open, idle, loadSettle, loadIdleTimeout)
			return fmt.Sprintf("%d still open (%d idle) %v %s", open, idle, loadSettle, when)
		}
		time.Sleep(time.Millisecond)
	}
}
