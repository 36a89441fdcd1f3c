//go:build !splice_portable

package splice_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// The chaos test: many concurrent copies of every kind (Copy, CopyN, a Copier
// with Progress and Unwritten, CopyMulti into two or three destinations) over
// mixed pairs of TCP and Unix sockets, regular files, os.Pipe pipes and
// splice.Pipes, with random faults (peer resets, deadlines that expire mid-copy,
// a concurrent Close of either side, Progress callbacks that panic) while the
// kernel refuses a random share of the splice, tee, sendfile and
// copy_file_range calls. Every copy's bytes are its own (a stream stamped with
// the copy's id, see chaosFill), so a destination that gets a byte of another
// copy, or of its own at the wrong offset, says whose byte it got. TestSoak
// (soak_linux_test.go, scripts/soak.sh) runs the same rounds for longer.

var chaosSeedFlag = flag.Uint64("chaos.seed", 0, "TestChaos, TestSoak: the seed of the copies' plan (0: a random seed, logged); also "+chaosSeedEnv)

// chaosSeedEnv passes the seed to TestChaos's child process.
const chaosSeedEnv = "SPLICE_CHAOS_SEED"

// chaosHang bounds how long a round's copies may take once started, and every
// read that waits for a copy: only a hang (an engine bug) reaches it.
const chaosHang = 3 * time.Minute

// TestChaos runs 1,000 concurrent copies with random faults and refusals (250
// under -short), checks each one's bytes, count, Unwritten, unread rest and
// error, then runs a round of copies without faults, whose bytes must be
// exactly right: an engine pipe left holding bytes by a copy that failed or
// panicked must never deliver them to a later copy. The refusals are a
// process-wide hook, so the test runs alone in a child process. Rerun a seed
// with -chaos.seed=N (or SPLICE_CHAOS_SEED=N).
func TestChaos(t *testing.T) {
	if !testutil.InChild(t) {
		if *chaosSeedFlag != 0 {
			t.Setenv(chaosSeedEnv, strconv.FormatUint(*chaosSeedFlag, 10))
		} else {
			t.Parallel()
		}
		testutil.RunChild(t)
		return
	}
	seed := chaosSeed(t, "go test -run '^TestChaos$' -chaos.seed=%d .")
	chaos, clean := chaosConfigs(testing.Short())
	if chaos.copies < 1000 && !testing.Short() {
		t.Logf("RLIMIT_NOFILE holds %d concurrent copies, not 1000", chaos.copies)
	}
	// Idle pipes stay until the clean round has had its chance to take
	// them. No collection until the copies are checked, unless the heap
	// grows past 2 GiB: an engine pipe that a copy did not give back is
	// closed by a cleanup when collected, which would hide the loss. (Not
	// under the race detector, whose memory is several times the heap.)
	defer splice.SetPipeIdleTimeout(10 * time.Minute)()
	if !raceEnabled {
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(2 << 30))
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gcs, allocs := ms.NumGC, ms.TotalAlloc
	checkFDs := testutil.CheckFDs(t)
	goroutines := runtime.NumGoroutine()
	start := time.Now()
	var st chaosStats
	t.Run("faults", func(t *testing.T) { st.add(chaosRound(t, seed, 0, chaos)) })
	// Twice as many clean copies as there are idle pipes.
	_, idle := splice.EnginePipes()
	clean.copies = max(clean.copies, min(2*idle, chaos.copies))
	t.Logf("%d engine pipes idle after the copies with faults", idle)
	t.Run("clean", func(t *testing.T) { st.add(chaosRound(t, seed, 1, clean)) })
	rss, peak := chaosRSS()
	t.Logf("%d copies (%d with faults, %d without) of %d bytes in all, in %v; RSS %d MiB, peak %d MiB:\n%s",
		st.copies, chaos.copies, clean.copies, st.bytes, time.Since(start).Round(time.Millisecond), rss>>20, peak>>20, st.table())
	runtime.ReadMemStats(&ms)
	t.Logf("%d MiB allocated during the copies", (ms.TotalAlloc-allocs)>>20)
	if ms.NumGC != gcs {
		t.Logf("%d collections ran during the copies: a lost engine pipe may have gone unnoticed", ms.NumGC-gcs)
	}
	// Leak check: the endpoints (closed by the rounds' cleanups), the engine's
	// pipes once the idle ones are closed, and the copies' goroutines.
	splice.DrainPipePool()
	checkFDs()
	chaosSettle(t, goroutines)
}

// chaosSeed returns the seed from -chaos.seed or SPLICE_CHAOS_SEED, or a
// random one, and logs it with the command that reruns it (a format for the
// seed).
func chaosSeed(t *testing.T, rerun string) uint64 {
	seed := *chaosSeedFlag
	if s := os.Getenv(chaosSeedEnv); seed == 0 && s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", chaosSeedEnv, s, err)
		}
	}
	if seed == 0 {
		seed = rand.Uint64() | 1
	}
	t.Logf("seed %d (rerun: %s)", seed, fmt.Sprintf(rerun, seed))
	return seed
}

// chaosSettle waits for the goroutines started since there were base of them
// to return, and fails t if they do not within a few seconds.
func chaosSettle(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines running, %d before the copies:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// chaosRSS returns the process's resident set size and its peak (VmRSS and
// VmHWM of /proc/self/status), in bytes; 0 where they cannot be read.
func chaosRSS() (rss, peak int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		name, v, ok := strings.Cut(line, ":")
		if !ok || name != "VmRSS" && name != "VmHWM" {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak
}

// chaosConfig is the shape of one round of concurrent copies.
type chaosConfig struct {
	copies  int
	maxSize int64   // the largest copy
	faults  bool    // random faults; false: every copy must succeed
	refuse  float64 // the share of kernel calls refused (faults only)
	// hold: the feeders pause after their first chunk until the copies
	// have taken every idle engine pipe (or stopped taking more), so that
	// a dirty one is sure to be used.
	hold  bool
	quiet bool // log problems only
}

// chaosConfigs returns the round with faults and the clean round that follows
// it, within what RLIMIT_NOFILE allows (a copy holds up to a dozen fds, with
// its engine pipes).
func chaosConfigs(short bool) (chaos, clean chaosConfig) {
	chaos = chaosConfig{copies: 1000, maxSize: 4 << 20, faults: true, refuse: 0.08}
	clean = chaosConfig{copies: 300, maxSize: 1 << 20, hold: true}
	if short {
		chaos.copies, chaos.maxSize, clean.copies = 250, 1<<20, 100
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		fit := max(int(rl.Cur)-256, 0) / 12
		chaos.copies, clean.copies = min(chaos.copies, fit), min(clean.copies, fit)
	}
	return chaos, clean
}

// The faults. "src-" faults strike the source when its feeder has written at
// bytes, "dst-" faults the destination when its reader has read at bytes (a
// regular file, which has neither, after a few milliseconds).
const (
	faultNone        = "none"
	faultSrcReset    = "src-reset"    // TCP: the feeder resets the connection (SO_LINGER 0, Close)
	faultSrcDeadline = "src-deadline" // the feeder stalls, the copy's read deadline expires
	faultSrcClose    = "src-close"    // the copy's source is closed under it
	faultDstGone     = "dst-gone"     // the reader resets (TCP) or closes its end
	faultDstDeadline = "dst-deadline" // the reader stalls, the copy's write deadline expires
	faultDstClose    = "dst-close"    // the copy's destination is closed under it
	faultPanic       = "panic"        // Progress panics at a running total
)

// chaosErrKinds are the error kinds a fault may end a copy with ("dst" faults
// of CopyMulti: those of the failed destination's *DestError).
var chaosErrKinds = map[string][]string{
	faultNone:        {"nil"},
	faultSrcReset:    {"nil", "ECONNRESET"},
	faultSrcDeadline: {"nil", "deadline"},
	faultSrcClose:    {"nil", "closed"},
	faultDstGone:     {"nil", "ECONNRESET", "EPIPE"},
	faultDstDeadline: {"nil", "deadline"},
	faultDstClose:    {"nil", "closed"},
	faultPanic:       {"nil", "panic"},
}

// The endpoint kinds a chaos copy reads from and writes to.
var chaosKinds = []string{"tcp", "unix", "file", "ospipe", "pipe"}

// chaosNextID numbers the copies of the process, so that every stream is new.
var chaosNextID atomic.Uint64

// A chaosCopy is one copy of a round: its plan, its endpoints, its outcome.
type chaosCopy struct {
	id         uint64
	api        string // "Copy", "CopyN", "Copier", "CopyMulti"
	size       int64  // the bytes the source holds
	limit      int64  // CopyN's n
	fault      string
	faultDst   int           // the destination a dst- fault strikes
	at         int64         // where the fault strikes
	delay      time.Duration // a deadline's distance, a file's Close's delay
	panicAt    int64         // Progress panics at a running total of at least this; -1: never
	panicFault bool          // Progress panics once the dst- fault struck
	unwritten  bool          // the Copier has Unwritten
	dropFailed bool
	pipeSize   int

	src      *chaosSrc
	dsts     []*chaosDst
	struck   atomic.Bool // the fault's trigger ran
	struckAt time.Time   // when, for a dst-deadline (written before struck is set)

	// The outcome.
	n         int64
	err       error
	panicked  bool
	progress  int64  // the last Progress total
	progBad   string // a Progress total out of order
	unw       []byte // what Unwritten was given
	restStart int64  // where the source's unread rest was read from
	rest      chaosCheck
	restErr   error
}

func (c *chaosCopy) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "copy %d: %s %v→", c.id, c.api, c.src.kind)
	for i, d := range c.dsts {
		if i > 0 {
			b.WriteByte('+')
		}
		b.WriteString(d.kind)
	}
	fmt.Fprintf(&b, ", %d bytes", c.size)
	if c.api == "CopyN" {
		fmt.Fprintf(&b, ", n %d", c.limit)
	}
	if c.fault != faultNone && c.fault != faultPanic {
		fmt.Fprintf(&b, ", %s at %d", c.fault, c.at)
		if strings.HasPrefix(c.fault, "dst-") && len(c.dsts) > 1 {
			fmt.Fprintf(&b, " of dst %d", c.faultDst)
		}
	}
	if c.panicAt >= 0 {
		fmt.Fprintf(&b, ", Progress panics at %d", c.panicAt)
	}
	if c.panicFault {
		b.WriteString(", Progress panics after the fault")
	}
	if c.pipeSize != 0 {
		fmt.Fprintf(&b, ", PipeSize %d", c.pipeSize)
	}
	if c.api == "Copier" && !c.unwritten {
		b.WriteString(", no Unwritten")
	}
	if c.dropFailed {
		b.WriteString(", DropFailed")
	}
	if c.panicked {
		fmt.Fprintf(&b, ": panicked after Progress(%d)", c.progress)
	} else {
		fmt.Fprintf(&b, ": n %d, err %v", c.n, c.err)
	}
	return b.String()
}

// srcFault and dstFault report whether the copy's fault strikes the source,
// or destination i.
func (c *chaosCopy) srcFault() bool { return strings.HasPrefix(c.fault, "src-") }
func (c *chaosCopy) dstFault(i int) bool {
	return strings.HasPrefix(c.fault, "dst-") && i == c.faultDst
}

// chaosPlan draws a copy's shape; clean rounds draw no fault.
func chaosPlan(rng *rand.Rand, cfg chaosConfig) *chaosCopy {
	c := &chaosCopy{id: chaosNextID.Add(1), fault: faultNone, panicAt: -1}
	c.size = chaosSize(rng, cfg.maxSize)
	srcKind := chaosKinds[rng.IntN(len(chaosKinds))]
	ndst := 1
	switch c.api = []string{"Copy", "CopyN", "Copier", "CopyMulti"}[rng.IntN(4)]; c.api {
	case "CopyN":
		switch rng.IntN(3) {
		case 0:
			c.limit = c.size
		case 1:
			c.limit = rng.Int64N(c.size + 1)
		default:
			c.limit = c.size + 1 + rng.Int64N(1000) // past the end: io.EOF
		}
	case "CopyMulti":
		ndst = 2 + rng.IntN(2)
		c.dropFailed = rng.IntN(2) == 0
	}
	if c.api == "Copier" || c.api == "CopyMulti" {
		c.unwritten = rng.IntN(4) != 0
		c.pipeSize = []int{0, 0, 0, 0, 0, 0, 0, 0, 64 << 10, 16 << 10}[rng.IntN(10)]
	}
	dstKinds := make([]string, ndst)
	for i := range dstKinds {
		dstKinds[i] = chaosKinds[rng.IntN(len(chaosKinds))]
	}
	if !cfg.faults && rng.IntN(3) != 0 {
		// Two thirds of a clean round go through the engine's pipes
		// (between sockets and files, 64 KiB and more), to take every
		// pipe the round with faults left idle.
		srcKind = []string{"tcp", "unix"}[rng.IntN(2)]
		for i := range dstKinds {
			dstKinds[i] = []string{"tcp", "unix", "file"}[rng.IntN(3)]
		}
		c.size = max(c.size, 64<<10)
		c.limit = max(c.limit, min(c.size, 64<<10))
	}
	if !cfg.faults {
		c.src = &chaosSrc{kind: srcKind}
		for _, k := range dstKinds {
			c.dsts = append(c.dsts, &chaosDst{kind: k})
		}
		return c
	}
	c.faultDst = rng.IntN(ndst)
	// The faults that apply: weighted so that a third of the copies have
	// none but the refusals.
	faults := []string{faultNone, faultNone, faultNone, faultSrcClose, faultDstClose, faultPanic, faultPanic}
	if srcKind == "tcp" {
		faults = append(faults, faultSrcReset)
	}
	if srcKind != "file" {
		faults = append(faults, faultSrcDeadline)
	}
	if dstKinds[c.faultDst] != "file" {
		faults = append(faults, faultDstGone, faultDstDeadline)
	}
	c.fault = faults[rng.IntN(len(faults))]
	c.at = rng.Int64N(c.size + 1)
	c.delay = time.Duration(1+rng.IntN(20)) * time.Millisecond
	if c.fault == faultPanic {
		if c.api == "Copy" || c.api == "CopyN" {
			c.api, c.limit = "Copier", 0
			c.unwritten = rng.IntN(4) != 0
		}
		if rng.IntN(3) == 0 {
			c.panicAt = rng.Int64N(c.size + 1)
		} else {
			// Panic in the Progress call that follows a destination's
			// failure, when the engine's pipe may still hold bytes: half
			// of these between sockets and files (through the engine's
			// pipe), mostly with no Unwritten to empty it first.
			if rng.IntN(2) == 0 {
				srcKind = []string{"tcp", "unix", "file"}[rng.IntN(3)]
				for i := range dstKinds {
					dstKinds[i] = []string{"tcp", "unix"}[rng.IntN(2)]
				}
				c.unwritten = c.unwritten && rng.IntN(4) == 0
			}
			dstFaults := []string{faultDstClose}
			if dstKinds[c.faultDst] != "file" {
				dstFaults = append(dstFaults, faultDstGone, faultDstDeadline, faultDstDeadline)
			}
			c.fault, c.panicFault = dstFaults[rng.IntN(len(dstFaults))], true
		}
	}
	c.src = &chaosSrc{kind: srcKind}
	for _, k := range dstKinds {
		c.dsts = append(c.dsts, &chaosDst{kind: k})
	}
	return c
}

// chaosSize draws a copy's size: a third small (up to a page), a third up to
// 128 KiB, most of the rest up to 1 MiB, a few up to max.
func chaosSize(rng *rand.Rand, limit int64) int64 {
	var n int64
	switch r := rng.IntN(100); {
	case r < 30:
		n = rng.Int64N(4097)
	case r < 65:
		n = 4096 + rng.Int64N(124<<10)
	case r < 92:
		n = 128<<10 + rng.Int64N(896<<10)
	default:
		n = 1<<20 + rng.Int64N(max(limit-1<<20, 1))
	}
	return min(n, limit)
}

// chaosRound runs one round of cfg.copies concurrent copies, planned from seed
// and round, checks every one and returns the round's figures. Its endpoints
// are closed by t's cleanups.
func chaosRound(t *testing.T, seed, round uint64, cfg chaosConfig) *chaosStats {
	rng := rand.New(rand.NewPCG(seed, round))
	copies := make([]*chaosCopy, cfg.copies)
	dir := t.TempDir()
	var planned int64 // the plan's fingerprint, the same for the same seed
	for i := range copies {
		copies[i] = chaosPlan(rng, cfg)
		copies[i].open(t, dir)
		planned += copies[i].size
	}
	var counts func() map[string]splice.RefusalCount
	restore := func() {}
	if cfg.faults && cfg.refuse > 0 {
		counts, restore = splice.InjectRefusals(seed^round<<32, cfg.refuse, syscall.EINVAL, syscall.ENOSYS, syscall.EPERM)
	}
	start, hold := make(chan struct{}), make(chan struct{})
	if !cfg.hold {
		close(hold)
	}
	var wg sync.WaitGroup
	var running atomic.Int64
	running.Store(int64(len(copies)))
	done := make([]atomic.Bool, len(copies))
	for i, c := range copies {
		c.goFeed(&wg, start, hold)
		c.goRead(&wg, start)
		wg.Go(func() {
			defer running.Add(-1)
			defer done[i].Store(true)
			<-start
			c.run()
		})
	}
	t0 := time.Now()
	close(start)
	if cfg.hold {
		inUse, idle := chaosHold(hold)
		if !cfg.quiet {
			t.Logf("round %d: %d engine pipes in use at once, %d left idle", round, inUse, idle)
		}
	}
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(chaosHang):
		var stuck []string
		for i, c := range copies {
			if !done[i].Load() && len(stuck) < 20 {
				stuck = append(stuck, c.String())
			}
		}
		buf := make([]byte, 4<<20)
		t.Fatalf("%d of %d copies still running after %v, among them:\n%s\n%s", running.Load(), len(copies), chaosHang,
			strings.Join(stuck, "\n"), buf[:runtime.Stack(buf, true)])
	}
	elapsed := time.Since(t0)
	restore()
	st := &chaosStats{kinds: map[string]int{}, refused: map[string]splice.RefusalCount{}}
	if counts != nil {
		st.refused = counts()
	}
	for _, c := range copies {
		st.judge(c)
	}
	// The engine pipes put back idle must be empty, and no other may be
	// open: each copy gave its pipes back or closed them.
	if idle, held := splice.PooledPipeBytes(); held != 0 {
		st.problem("pooled", fmt.Sprintf("%d idle engine pipes hold %d bytes", idle, held))
	}
	if open, idle := splice.EnginePipes(); open != idle {
		st.problem("pipes", fmt.Sprintf("%d engine pipes open after the copies, %d of them idle: the others outlived their copies", open, idle))
	}
	if !cfg.quiet {
		t.Logf("round %d: %d copies from %d source bytes in %v; %d bytes delivered; %d lost, %d duplicated, %d copies crossed, %d miscounted",
			round, len(copies), planned, elapsed.Round(time.Millisecond), st.bytes, st.lost, st.dup, st.crossed, st.miscounted)
	}
	if !cfg.faults {
		for k, n := range st.kinds {
			if k != faultNone+" → nil" && k != faultNone+" → EOF" {
				st.problem("clean", fmt.Sprintf("%d copies without faults ended %s", n, k))
			}
		}
	}
	for _, p := range st.problems {
		t.Error(p)
	}
	if st.more > 0 {
		t.Errorf("... and %d more problems", st.more)
	}
	return st
}

// A chaosSrc is a copy's source: the reader it is given, the feeder's end.
type chaosSrc struct {
	kind     string
	r        io.Reader // what the copy reads
	closeEnd func()    // closes the copy's end
	deadline func(time.Time) error
	feedTo   io.Writer // the feeder's end; nil for a file
	endFeed  func()    // the feeder's end of stream (CloseWrite, Close)
	reset    func()    // TCP: reset from the feeder's end
	resume   chan struct{}
	fed      chan struct{}

	mu    sync.Mutex
	ended bool // the copy has returned: no more deadlines
}

// A chaosDst is one destination of a copy.
type chaosDst struct {
	kind     string
	w        io.Writer // what the copy writes
	path     string    // a file's
	closeEnd func()    // closes the copy's end
	deadline func(time.Time) error
	readFrom io.Reader // the reader's end; nil for a file
	gone     func()    // the reader resets (TCP) or closes its end
	resume   chan struct{}
	read     chan struct{}
	got      chaosCheck // what the far end received
	readErr  error
}

// open makes the copy's endpoints; t's cleanups close them.
func (c *chaosCopy) open(t *testing.T, dir string) {
	s := c.src
	s.resume, s.fed = make(chan struct{}), make(chan struct{})
	switch s.kind {
	case "tcp", "unix":
		var conn, peer testutil.Socket
		if s.kind == "tcp" {
			a, b := testutil.TCPPair(t)
			conn, peer = a, b
			s.reset = func() {
				b.SetLinger(0)
				b.Close()
			}
		} else {
			conn, peer = testutil.UnixPair(t)
		}
		s.r, s.closeEnd, s.deadline = conn, func() { conn.Close() }, conn.SetReadDeadline
		s.feedTo, s.endFeed = peer, func() { peer.CloseWrite() }
	case "file":
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("src-%d", c.id)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if err := chaosWrite(f, make([]byte, 32<<10), c.id, 0, c.size); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		s.r, s.closeEnd = f, func() { f.Close() }
		close(s.fed)
	case "ospipe":
		r, w := testutil.OSPipePair(t)
		s.r, s.closeEnd, s.deadline = r, func() { r.Close() }, r.SetReadDeadline
		s.feedTo, s.endFeed = w, func() { w.Close() }
	case "pipe":
		p := chaosPipe(t)
		s.r, s.closeEnd, s.deadline = p, func() { p.Reader().Close() }, p.Reader().SetReadDeadline
		s.feedTo, s.endFeed = p.Writer(), func() { p.CloseWrite() }
	}
	for i, d := range c.dsts {
		d.resume, d.read = make(chan struct{}), make(chan struct{})
		d.got = chaosCheck{id: c.id}
		switch d.kind {
		case "tcp", "unix":
			var conn, peer testutil.Socket
			if d.kind == "tcp" {
				a, b := testutil.TCPPair(t)
				conn, peer = a, b
				d.gone = func() {
					b.SetLinger(0)
					b.Close()
				}
			} else {
				conn, peer = testutil.UnixPair(t)
				d.gone = func() { peer.Close() }
			}
			if c.dstFault(i) && c.fault == faultDstDeadline {
				// Small buffers, so that a stalled reader stalls the copy.
				conn.SetWriteBuffer(32 << 10)
				peer.SetReadBuffer(32 << 10)
			}
			d.w, d.closeEnd, d.deadline = conn, func() { conn.Close() }, conn.SetWriteDeadline
			d.readFrom = peer
			peer.SetReadDeadline(time.Now().Add(chaosHang))
		case "file":
			d.path = filepath.Join(dir, fmt.Sprintf("dst-%d-%d", c.id, i))
			f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			d.w, d.closeEnd = f, func() { f.Close() }
			close(d.read)
		case "ospipe":
			r, w := testutil.OSPipePair(t)
			d.w, d.closeEnd, d.deadline = w, func() { w.Close() }, w.SetWriteDeadline
			d.readFrom, d.gone = r, func() { r.Close() }
			r.SetReadDeadline(time.Now().Add(chaosHang))
		case "pipe":
			p := chaosPipe(t)
			d.w, d.closeEnd, d.deadline = p, func() { p.CloseWrite() }, p.Writer().SetWriteDeadline
			d.readFrom, d.gone = p.Reader(), func() { p.Reader().Close() }
			p.Reader().SetReadDeadline(time.Now().Add(chaosHang))
		}
	}
}

// chaosPipe returns a splice.Pipe that t's cleanups close.
func chaosPipe(t *testing.T) *splice.Pipe {
	p, err := splice.NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// goFeed starts the goroutine that writes the source's stream to its far end,
// striking the copy's src- fault on the way.
func (c *chaosCopy) goFeed(wg *sync.WaitGroup, start, hold <-chan struct{}) {
	s := c.src
	if s.feedTo == nil {
		return
	}
	wg.Go(func() {
		defer close(s.fed)
		<-start
		buf := make([]byte, 32<<10)
		if !c.srcFault() {
			first := min(c.size, int64(len(buf)))
			if chaosWrite(s.feedTo, buf, c.id, 0, first) != nil {
				return
			}
			<-hold
			if chaosWrite(s.feedTo, buf, c.id, first, c.size) == nil {
				s.endFeed()
			}
			return
		}
		if chaosWrite(s.feedTo, buf, c.id, 0, c.at) != nil {
			return
		}
		switch c.fault {
		case faultSrcReset:
			s.reset()
		case faultSrcClose:
			s.closeEnd()
			s.endFeed()
		case faultSrcDeadline:
			// Not once the copy has ended: readRest lifts the deadline
			// then, and this one must not come after.
			s.mu.Lock()
			if !s.ended {
				s.deadline(time.Now().Add(c.delay))
				c.struck.Store(true)
			}
			s.mu.Unlock()
			<-s.resume
			if chaosWrite(s.feedTo, buf, c.id, c.at, c.size) == nil {
				s.endFeed()
			}
			return
		}
		c.struck.Store(true)
	})
}

// chaosHold closes hold once no engine pipe is idle, or once the count in use
// has not grown for 200 ms (or after 5 s: it only makes the check stronger),
// and returns the most pipes in use at once and how many stayed idle.
func chaosHold(hold chan<- struct{}) (inUse, idle int) {
	defer close(hold)
	stable := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && stable < 20; {
		time.Sleep(10 * time.Millisecond)
		open, n := splice.EnginePipes()
		idle = n
		if idle == 0 {
			return max(inUse, open), 0
		}
		if open-idle > inUse {
			inUse, stable = open-idle, 0
		} else {
			stable++
		}
	}
	return inUse, idle
}

// chaosWrite writes bytes [from, to) of stream id to w.
func chaosWrite(w io.Writer, buf []byte, id uint64, from, to int64) error {
	for off := from; off < to; {
		b := buf[:min(int64(len(buf)), to-off)]
		chaosFill(b, id, off)
		n, err := w.Write(b)
		off += int64(n)
		if err != nil {
			return err
		}
	}
	return nil
}

// goRead starts, for each destination with a far end, the goroutine that reads
// and checks what arrives, striking the copy's dst- fault on the way.
func (c *chaosCopy) goRead(wg *sync.WaitGroup, start <-chan struct{}) {
	for i, d := range c.dsts {
		if d.readFrom == nil {
			continue
		}
		fault := c.dstFault(i)
		wg.Go(func() {
			defer close(d.read)
			<-start
			buf := make([]byte, 32<<10)
			for {
				if fault && !c.struck.Load() && d.got.off >= c.at {
					switch c.fault {
					case faultDstGone:
						d.gone()
						c.struck.Store(true)
						return
					case faultDstDeadline:
						c.struckAt = time.Now()
						d.deadline(c.struckAt.Add(c.delay))
						c.struck.Store(true)
						<-d.resume
					case faultDstClose:
						d.closeEnd()
						c.struck.Store(true)
					}
				}
				n, err := d.readFrom.Read(buf)
				d.got.check(buf[:n])
				if err != nil {
					if err != io.EOF {
						d.readErr = err
					}
					return
				}
			}
		})
	}
}

// chaosPanic is what a chaos Progress panics with.
type chaosPanic struct{ id uint64 }

// run makes the copy, then lets stalled ends go on, reads what the source
// still holds and closes its own ends, so that the far ends see the end.
func (c *chaosCopy) run() {
	var timers []*time.Timer
	if c.src.kind == "file" && c.fault == faultSrcClose {
		timers = append(timers, time.AfterFunc(c.delay/4, func() {
			c.src.closeEnd()
			c.struck.Store(true)
		}))
	}
	if c.fault == faultDstClose && c.dsts[c.faultDst].kind == "file" {
		d := c.dsts[c.faultDst]
		timers = append(timers, time.AfterFunc(c.delay/4, func() {
			d.closeEnd()
			c.struck.Store(true)
		}))
	}
	c.n, c.panicked, c.err = c.call()
	for _, tm := range timers {
		tm.Stop()
	}
	c.src.mu.Lock()
	c.src.ended = true
	c.src.mu.Unlock()
	close(c.src.resume)
	for _, d := range c.dsts {
		close(d.resume)
	}
	if c.srcReadable() {
		c.readRest()
	}
	c.src.closeEnd()
	for _, d := range c.dsts {
		d.closeEnd()
	}
	for _, d := range c.dsts {
		<-d.read
		if d.path != "" {
			d.readFile()
		}
	}
	<-c.src.fed
}

// call makes the copy, recovering a panic of its Progress.
func (c *chaosCopy) call() (n int64, panicked bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			if p, ok := r.(chaosPanic); !ok || p.id != c.id {
				panic(r)
			}
			panicked = true
		}
	}()
	ws := make([]io.Writer, len(c.dsts))
	for i, d := range c.dsts {
		ws[i] = d.w
	}
	cp := &splice.Copier{Progress: c.onProgress, PipeSize: c.pipeSize, DropFailed: c.dropFailed}
	if c.unwritten {
		cp.Unwritten = func(b []byte) { c.unw = append(c.unw, b...) }
	}
	switch c.api {
	case "Copy":
		n, err = splice.Copy(ws[0], c.src.r)
	case "CopyN":
		n, err = splice.CopyN(ws[0], c.src.r, c.limit)
	case "Copier":
		n, err = cp.Copy(ws[0], c.src.r)
	default:
		n, err = cp.CopyMulti(c.src.r, ws...)
	}
	return n, false, err
}

func (c *chaosCopy) onProgress(total int64) {
	if (total < c.progress || total > c.size) && c.progBad == "" {
		c.progBad = fmt.Sprintf("Progress(%d) after Progress(%d), of %d bytes", total, c.progress, c.size)
	}
	c.progress = total
	if c.panicAt >= 0 && total >= c.panicAt {
		panic(chaosPanic{c.id})
	}
	// After the fault, once it has taken effect (a deadline, once it
	// expired), so that this is likely the call after dst failed.
	if c.panicFault && c.struck.Load() && (c.fault != faultDstDeadline || time.Since(c.struckAt) >= c.delay) {
		panic(chaosPanic{c.id})
	}
}

// srcReadable reports whether the source can be read to its end after the copy.
func (c *chaosCopy) srcReadable() bool {
	return c.fault != faultSrcReset && c.fault != faultSrcClose
}

// readRest reads and checks what the source still holds. Where the copy
// accounts for what it took (a Copier with Unwritten: the count, then
// Unwritten's bytes; CopyMulti: the count), the rest is checked from there as
// it is read. Otherwise (no Unwritten: the bytes in flight when dst failed
// were dropped, as documented; a panicked copy) the rest must be the end of
// the stream.
func (c *chaosCopy) readRest() {
	if c.src.deadline != nil {
		c.src.deadline(time.Now().Add(chaosHang)) // lifts a src-deadline
	}
	if !c.accounts() {
		all, err := io.ReadAll(c.src.r)
		c.restErr = err
		c.restStart = c.size - int64(len(all))
		c.rest = chaosCheck{id: c.id, off: c.restStart}
		if c.restStart < 0 {
			c.rest.bad = fmt.Sprintf("%d bytes, more than the source held", len(all))
			return
		}
		c.rest.check(all)
		return
	}
	c.restStart = c.n + int64(len(c.unw))
	c.rest = chaosCheck{id: c.id, off: c.restStart}
	buf := make([]byte, 32<<10)
	for {
		n, err := c.src.r.Read(buf)
		c.rest.check(buf[:n])
		if err != nil {
			if err != io.EOF {
				c.restErr = err
			}
			return
		}
	}
}

// accounts reports whether the copy accounts for every byte it took from the
// source: it did not panic, and it hands what dst did not take to Unwritten
// (CopyMulti: the count is what it took).
func (c *chaosCopy) accounts() bool {
	return !c.panicked && (c.unwritten || c.api == "CopyMulti")
}

// readFile reads and checks what a file destination holds.
func (d *chaosDst) readFile() {
	f, err := os.Open(d.path)
	if err != nil {
		d.readErr = err
		return
	}
	defer f.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		d.got.check(buf[:n])
		if err != nil {
			if err != io.EOF {
				d.readErr = err
			}
			return
		}
	}
}

// exact reports whether destination i's far end gets every byte the copy says
// it wrote there: all but a reader that went away.
func (c *chaosCopy) exact(i int) bool {
	return !(c.dstFault(i) && c.fault == faultDstGone)
}

// chaosStats are the figures of one or more rounds.
type chaosStats struct {
	copies     int
	bytes      int64          // bytes checked at the destinations
	kinds      map[string]int // "fault → error kind": copies
	struck     map[string]int // fault: copies whose fault struck
	lost       int64          // bytes taken from a source and accounted for nowhere (see judge)
	dup        int64          // bytes accounted for twice
	discarded  int64          // bytes dropped where dst failed, by copies without Unwritten
	crossed    int            // copies with a byte not their own at its place
	miscounted int            // copies whose count is not what arrived
	failures   int            // problems found
	problems   []string
	more       int // problems not kept
	refused    map[string]splice.RefusalCount
}

// problem records a problem of some copy.
func (st *chaosStats) problem(what, detail string) {
	st.failures++
	if len(st.problems) >= 30 {
		st.more++
		return
	}
	st.problems = append(st.problems, what+": "+detail)
}

// judge checks one copy's outcome and adds it to the figures.
//
// Bytes lost are bytes a copy took from its source that reached neither the
// destination (the count) nor Unwritten, and were not left unread: size −
// (n + len(Unwritten) + unread), where size is what the source held, n the
// count returned and unread what a read of the source to its end returns
// after the copy; for CopyMulti, which takes no Unwritten and returns what it
// took from the source, size − (n + unread). It is knowable, and counted,
// where the source can still be read to its end (it was not reset nor closed
// under the copy), no callback panicked (the bytes in flight then go with the
// engine's pipe) and the copy accounts for what dst refused (a Copier with
// Unwritten, or CopyMulti). A negative difference counts as duplicated. A
// copy without Unwritten drops the bytes in flight when dst fails, as
// documented: those count as discarded, and its unread rest must be the end
// of its stream, from no earlier than n.
func (st *chaosStats) judge(c *chaosCopy) {
	st.copies++
	if st.struck == nil {
		st.struck = map[string]int{}
	}
	if c.struck.Load() {
		st.struck[c.fault]++
	}
	bad := func(what, format string, args ...any) {
		st.problem(what, fmt.Sprintf(format, args...)+"\n\t"+c.String())
	}
	crossed := false
	for i, d := range c.dsts {
		st.bytes += d.got.off
		if d.got.wrong(fmt.Sprintf("dst %d (%s)", i, d.kind), bad) {
			crossed = true
		}
		if d.got.off > c.size {
			crossed = true
			bad("foreign byte", "dst %d (%s) received %d bytes, more than the source held", i, d.kind, d.got.off)
		}
		if d.readErr != nil {
			bad("read", "dst %d (%s): reading what arrived: %v", i, d.kind, d.readErr)
		}
	}
	if c.rest.wrong(fmt.Sprintf("the source's unread rest, from %d", c.restStart), bad) {
		crossed = true
	}
	if c.restErr != nil {
		bad("read", "reading the source's rest: %v", c.restErr)
	}
	if len(c.unw) > 0 && !c.panicked {
		v := chaosCheck{id: c.id, off: c.n}
		v.check(c.unw)
		if v.wrong(fmt.Sprintf("Unwritten, from %d", c.n), bad) {
			crossed = true
		}
	}
	if crossed {
		st.crossed++
	}
	if c.progBad != "" {
		bad("progress", "%s", c.progBad)
	}

	kind := c.errKind()
	st.kinds[c.fault+" → "+kind]++
	if !c.kindExpected(kind) {
		bad("error", "unexpected error kind %q", kind)
	}
	if c.panicked {
		// The count is gone with the panic: what arrived is at least
		// what Progress last reported (Copy: dst accepted it; CopyMulti:
		// every live destination did).
		for i, d := range c.dsts {
			if c.exact(i) && c.api != "CopyMulti" && d.got.off < c.progress {
				bad("count", "dst %d (%s) received %d bytes, Progress reported %d", i, d.kind, d.got.off, c.progress)
			}
		}
		if c.srcReadable() && c.restStart < c.progress {
			st.dup += c.progress - c.restStart
			bad("duplicated", "Progress reported %d bytes, the source still holds them from %d", c.progress, c.restStart)
		}
		return
	}
	if c.n < 0 || c.n > c.size {
		bad("count", "n out of range")
		st.miscounted++
		return
	}
	if c.err == nil && c.n != c.want() {
		bad("count", "a nil error after %d of %d bytes", c.n, c.want())
		st.miscounted++
	}
	if c.n > 0 && c.err == nil && c.progress != c.n && c.api != "CopyN" && c.api != "Copy" {
		bad("progress", "Progress ended at %d, the copy at %d", c.progress, c.n)
	}

	// What each destination received against the count.
	miscounted := false
	if c.api == "CopyMulti" {
		failed, srcErr := chaosDestErrors(c.err)
		if c.err != nil && len(failed) == 0 && srcErr == nil {
			bad("error", "CopyMulti error %v is neither a *DestError nor the source's", c.err)
		}
		// A source closed under CopyMulti (read or closed by another) may
		// leave the destinations a chunk apart, as documented: one that
		// did not fail may have up to a pipe's worth more than the count.
		var slack int64
		if c.fault == faultSrcClose {
			slack = int64(max(splice.MaxPipeSize(), c.pipeSize))
		}
		for i, d := range c.dsts {
			want := c.n
			if de, ok := failed[i]; ok {
				want = de.Written
				if want > c.n {
					bad("count", "dst %d: DestError.Written %d past the count", i, want)
				}
				if !c.dstFault(i) {
					bad("error", "dst %d failed with no fault of its own: %v", i, de.Err)
				}
			}
			over := slack
			if _, ok := failed[i]; ok {
				over = 0
			}
			if c.exact(i) && (d.got.off < want || d.got.off > want+over) || !c.exact(i) && d.got.off > want+over {
				miscounted = true
				bad("count", "dst %d (%s) received %d bytes, want %d", i, d.kind, d.got.off, want)
			}
		}
	} else if d := c.dsts[0]; c.exact(0) && d.got.off != c.n || !c.exact(0) && d.got.off > c.n {
		miscounted = true
		bad("count", "the destination received %d bytes, the count is %d", d.got.off, c.n)
	}
	if miscounted {
		st.miscounted++
	}

	// Nothing lost: the count, Unwritten and the unread rest are the source.
	switch {
	case !c.srcReadable():
	case c.accounts():
		if d := c.size - c.rest.off; d > 0 {
			st.lost += d
			bad("lost", "%d bytes taken and neither written, nor given to Unwritten (%d), nor left unread (%d)", d, len(c.unw), c.rest.off-c.restStart)
		} else if d < 0 {
			st.dup += -d
			bad("duplicated", "count %d + Unwritten %d + unread %d is %d bytes more than the source held", c.n, len(c.unw), c.rest.off-c.restStart, -d)
		}
	case c.restStart < c.n:
		st.dup += c.n - c.restStart
		bad("duplicated", "wrote %d bytes, the source still holds them from %d", c.n, c.restStart)
	default:
		st.discarded += c.restStart - c.n
	}
}

// want is the count of a copy that ends without an error.
func (c *chaosCopy) want() int64 {
	if c.api == "CopyN" {
		return min(c.limit, c.size)
	}
	return c.size
}

// errKind names how the copy ended: "panic", "nil" or the error's kind; for
// CopyMulti, each failed destination's ("dst:EPIPE") and then the source's.
func (c *chaosCopy) errKind() string {
	switch {
	case c.panicked:
		return "panic"
	case c.err == nil:
		return "nil"
	case c.api != "CopyMulti":
		return chaosKind(c.err)
	}
	failed, srcErr := chaosDestErrors(c.err)
	var kinds []string
	for _, i := range slices.Sorted(maps.Keys(failed)) {
		kinds = append(kinds, "dst:"+chaosKind(failed[i].Err))
	}
	if srcErr != nil {
		kinds = append(kinds, "src:"+chaosKind(srcErr))
	}
	return strings.Join(kinds, "+")
}

// kindExpected reports whether the copy may end with an error of kind.
func (c *chaosCopy) kindExpected(kind string) bool {
	allowed := slices.Clone(chaosErrKinds[c.fault])
	if c.panicFault || c.panicAt >= 0 {
		allowed = append(allowed, "panic")
	}
	if c.api == "CopyN" && c.limit > c.size {
		allowed = append(allowed, "EOF") // a source that ends first
	}
	if c.api != "CopyMulti" {
		return slices.Contains(allowed, kind)
	}
	if slices.Contains([]string{"nil", "panic"}, kind) {
		return slices.Contains(allowed, kind)
	}
	for _, k := range strings.Split(kind, "+") {
		side, k, _ := strings.Cut(k, ":")
		switch {
		case !slices.Contains(allowed, k):
			return false
		case side == "src" && !c.srcFault():
			return false
		case side == "dst" && !strings.HasPrefix(c.fault, "dst-"):
			return false
		}
	}
	return true
}

// chaosKind names an error's kind.
func chaosKind(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "deadline"
	case errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrClosed):
		return "closed"
	case errors.Is(err, syscall.ECONNRESET):
		return "ECONNRESET"
	case errors.Is(err, syscall.EPIPE):
		return "EPIPE"
	case err == io.EOF:
		return "EOF"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return "errno " + errno.Error()
	}
	return "other: " + errChain(err)
}

// chaosDestErrors splits a CopyMulti error into the destinations' failures, by
// index, and the source's error.
func chaosDestErrors(err error) (failed map[int]*splice.DestError, srcErr error) {
	failed = map[int]*splice.DestError{}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if de, ok := e.(*splice.DestError); ok {
			failed[de.Index] = de
		} else if e != nil {
			srcErr = e
		}
	}
	return failed, srcErr
}

// add adds the figures of o to st.
func (st *chaosStats) add(o *chaosStats) {
	if st.kinds == nil {
		st.kinds, st.struck, st.refused = map[string]int{}, map[string]int{}, map[string]splice.RefusalCount{}
	}
	st.copies += o.copies
	st.bytes += o.bytes
	st.lost += o.lost
	st.dup += o.dup
	st.discarded += o.discarded
	st.failures += o.failures
	st.crossed += o.crossed
	st.miscounted += o.miscounted
	for k, n := range o.kinds {
		st.kinds[k] += n
	}
	for k, n := range o.struck {
		st.struck[k] += n
	}
	for k, r := range o.refused {
		sum := st.refused[k]
		sum.Calls += r.Calls
		if sum.Refused == nil {
			sum.Refused = map[syscall.Errno]int64{}
		}
		for e, n := range r.Refused {
			sum.Refused[e] += n
		}
		st.refused[k] = sum
	}
}

// table lays out the copies by fault and outcome, and the refusals.
func (st *chaosStats) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\t%-28s %7s\n", "fault → outcome", "copies")
	for _, k := range slices.Sorted(maps.Keys(st.kinds)) {
		fmt.Fprintf(&b, "\t%-28s %7d\n", k, st.kinds[k])
	}
	for _, k := range slices.Sorted(maps.Keys(st.struck)) {
		fmt.Fprintf(&b, "\t%s struck in %d copies\n", k, st.struck[k])
	}
	for _, k := range splice.RefusalStages {
		r, ok := st.refused[k]
		if !ok || r.Calls == 0 {
			continue
		}
		var parts []string
		var total int64
		for _, e := range slices.Sorted(maps.Keys(r.Refused)) {
			parts = append(parts, fmt.Sprintf("%s %d", chaosErrnoName(e), r.Refused[e]))
			total += r.Refused[e]
		}
		fmt.Fprintf(&b, "\t%-16s %8d calls, %6d refused (%s)\n", k, r.Calls, total, strings.Join(parts, ", "))
	}
	return b.String()
}

func chaosErrnoName(e syscall.Errno) string {
	switch e {
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.ENOSYS:
		return "ENOSYS"
	case syscall.EPERM:
		return "EPERM"
	}
	return e.Error()
}

// A copy's stream: word i (bytes 8i to 8i+7, little-endian) of copy id's
// stream is chaosMix(id<<40 | i), a bijection, so that any 8 bytes of any
// stream say which copy and which offset they are from (chaosWhose).
const chaosIndexBits = 40

// chaosMix is MurmurHash3's 64-bit finalizer, a bijection.
func chaosMix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// chaosUnmix inverts chaosMix.
func chaosUnmix(x uint64) uint64 {
	x ^= x >> 33
	x *= chaosInv2
	x ^= x >> 33
	x *= chaosInv1
	x ^= x >> 33
	return x
}

var chaosInv1, chaosInv2 = oddInverse(0xff51afd7ed558ccd), oddInverse(0xc4ceb9fe1a85ec53)

// oddInverse returns the inverse of the odd c modulo 2⁶⁴ (Newton's iteration;
// each step doubles the correct low bits).
func oddInverse(c uint64) uint64 {
	inv := c // correct to 3 bits for odd c
	for range 5 {
		inv *= 2 - c*inv
	}
	return inv
}

// chaosFill fills b with stream id's bytes from offset off.
func chaosFill(b []byte, id uint64, off int64) {
	base := id << chaosIndexBits
	w := uint64(off) / 8
	var tmp [8]byte
	i := 0
	if skip := int(off % 8); skip != 0 {
		binary.LittleEndian.PutUint64(tmp[:], chaosMix(base|w))
		i = copy(b, tmp[skip:])
		w++
	}
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], chaosMix(base|w))
		w++
	}
	if i < len(b) {
		binary.LittleEndian.PutUint64(tmp[:], chaosMix(base|w))
		copy(b[i:], tmp[:])
	}
}

// chaosWhose says whose byte b[i] is, if 8 bytes of b that hold it or lie
// next to it are a word of some copy's stream, and returns that copy's id (0:
// none).
func chaosWhose(b []byte, i int) (string, uint64) {
	for _, d := range []int{0, -1, -2, -3, -4, -5, -6, -7, 1, 2, 3, 4, 5, 6, 7} {
		j := i + d
		if j < 0 || j+8 > len(b) {
			continue
		}
		x := chaosUnmix(binary.LittleEndian.Uint64(b[j:]))
		id, word := x>>chaosIndexBits, x&(1<<chaosIndexBits-1)
		if id >= 1 && id <= chaosNextID.Load() && word < 1<<24 && int64(word)*8-int64(d) >= 0 {
			return fmt.Sprintf(" (copy %d's byte %d)", id, int64(word)*8-int64(d)), id
		}
	}
	return " (no copy's)", 0
}

// chaosScratch holds buffers for the expected bytes.
var chaosScratch = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// chaosFirstDiff compares b with stream id from off and describes the first
// difference, "" if none; own reports that the byte there is of stream id,
// from another offset (bytes lost or repeated, not another copy's).
func chaosFirstDiff(b []byte, id uint64, off int64) (diff string, own bool) {
	exp := chaosScratch.Get().(*[32 << 10]byte)
	defer chaosScratch.Put(exp)
	for done := 0; done < len(b); {
		chunk := b[done:min(len(b), done+len(exp))]
		want := exp[:len(chunk)]
		chaosFill(want, id, off+int64(done))
		if !bytes.Equal(want, chunk) {
			j := 0
			for chunk[j] == want[j] {
				j++
			}
			whose, owner := chaosWhose(b, done+j)
			return fmt.Sprintf("byte %d is %#02x, want %#02x%s", off+int64(done+j), chunk[j], want[j], whose), owner == id
		}
		done += len(chunk)
	}
	return "", false
}

// chaosCheck checks bytes as they arrive against stream id: off is the offset
// of the next byte; bad describes the first wrong one.
type chaosCheck struct {
	id  uint64
	off int64
	bad string
	own bool // the first wrong byte is of the same stream (see chaosFirstDiff)
}

func (v *chaosCheck) check(b []byte) {
	if v.bad == "" && len(b) > 0 {
		v.bad, v.own = chaosFirstDiff(b, v.id, v.off)
	}
	v.off += int64(len(b))
}

// wrong reports the first wrong byte checked, if any: a foreign byte (another
// copy's, or no copy's), or one of the copy's own from another offset.
func (v *chaosCheck) wrong(what string, bad func(what, format string, args ...any)) (foreign bool) {
	switch {
	case v.bad == "":
		return false
	case v.own:
		bad("misplaced byte", "%s: %s", what, v.bad)
		return false
	}
	bad("foreign byte", "%s: %s", what, v.bad)
	return true
}
