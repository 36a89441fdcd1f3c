//go:build !splice_portable

package splice

import (
	"errors"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// paths records, per watched destination, the kernel paths that copies to it
// ran, and per Pipe (keyed pipeMethods{p}) those its ReadFrom and WriteTo ran.
var (
	pathsMu sync.Mutex
	paths   = map[any][]MethodRun{}
)

// MaxPipesFor is the default pipe budget's formula.
var MaxPipesFor = maxPipesFor

// Engine constants that tests assert on.
const (
	SmallChunk      = smallChunk
	TCPSpliceBudget = tcpSpliceBudget
)

// MethodRun is one kernel path a copy ran: the method, whether it handled the
// copy (false: the kernel refused before any byte moved), and how many bytes the
// kernel moved (from a pipe, small chunks go by read and write).
type MethodRun struct {
	Method  Method
	Handled bool
	Kernel  int64
}

func init() {
	testHookPath = func(key any, m Method, handled bool, kernel int64) {
		pathsMu.Lock()
		defer pathsMu.Unlock()
		_, watched := paths[key]
		if _, isPipe := key.(pipeMethods); watched || isPipe {
			paths[key] = append(paths[key], MethodRun{m, handled, kernel})
		}
	}
}

// WatchMethods starts recording the kernel paths that copies to dst run (only
// watched destinations are recorded, so that benchmarks measure no bookkeeping).
func WatchMethods(dst io.Writer) {
	pathsMu.Lock()
	defer pathsMu.Unlock()
	paths[dst] = []MethodRun{}
}

// MethodsRun returns the kernel paths that copies to dst ran.
func MethodsRun(dst io.Writer) []MethodRun {
	pathsMu.Lock()
	defer pathsMu.Unlock()
	if len(paths[dst]) == 0 {
		return nil
	}
	return append([]MethodRun(nil), paths[dst]...)
}

// SpliceOutcomes reports how many of p's ReadFrom and WriteTo calls spliced and
// how many found the kernel refusing and fell back to read and write. Calls that
// never tried to splice (the other side has no fd) count in neither.
func SpliceOutcomes(p *Pipe) (spliced, refused int) {
	pathsMu.Lock()
	defer pathsMu.Unlock()
	for _, r := range paths[pipeMethods{p}] {
		if r.Handled {
			spliced++
		} else {
			refused++
		}
	}
	return spliced, refused
}

// CountEnginePipes starts counting the engine pipes that copies take (of any
// goroutine: not for parallel tests), and returns the count so far.
func CountEnginePipes() (taken func() int64, stop func()) {
	var n atomic.Int64
	testHookGetPipe = func() { n.Add(1) }
	return n.Load, func() { testHookGetPipe = nil }
}

// CountPipeRefusals starts counting the new engine pipes that the kernel gave
// too small to use or not at all (of any goroutine: not for parallel tests).
func CountPipeRefusals() (refused func() int64, stop func()) {
	var n atomic.Int64
	testHookPipeRefused = func() { n.Add(1) }
	return n.Load, func() { testHookPipeRefused = nil }
}

// PoolShrunkPipe takes an engine pipe, shrinks it to 64 KiB and gives it back
// empty, and reports whether it was kept idle.
func PoolShrunkPipe() (kept bool, err error) {
	cp := defaultCopier.getPipe()
	if cp == nil {
		return false, errors.New("no engine pipe to be had")
	}
	got, err := unix.FcntlInt(uintptr(cp.w), unix.F_SETPIPE_SZ, 64<<10)
	if err != nil {
		defaultCopier.putPipe(cp, false)
		return false, err
	}
	cp.size = got
	defaultCopier.putPipe(cp, true)
	pipes.mu.Lock()
	defer pipes.mu.Unlock()
	return slices.Contains(pipes.idle, cp), nil
}

// InitialUserNS is the test of a uid map for the initial user namespace.
var InitialUserNS = initialUserNS

// PooledPipeBytes reports how many pipes are idle now and how many bytes they
// hold in all (FIONREAD).
func PooledPipeBytes() (idle, bytes int) {
	pipes.mu.Lock()
	defer pipes.mu.Unlock()
	for _, cp := range pipes.idle {
		if n, err := unix.IoctlGetInt(cp.r, unix.TIOCINQ); err == nil {
			bytes += n
		}
	}
	return len(pipes.idle), bytes
}

// DrainPipePool closes the idle pipes now, for the leak check.
func DrainPipePool() {
	pipes.mu.Lock()
	idle := pipes.take(len(pipes.idle))
	pipes.mu.Unlock()
	closeAll(idle)
}

// EnginePipes reports how many engine pipes are open, in use and idle, and how
// many of them are idle.
func EnginePipes() (open, idle int) {
	pipes.mu.Lock()
	defer pipes.mu.Unlock()
	return pipes.open, len(pipes.idle)
}

// SetPipeIdleTimeout makes idle pipes close after d (not for parallel tests).
func SetPipeIdleTimeout(d time.Duration) (restore func()) {
	pipes.mu.Lock()
	old := pipeIdleTimeout
	pipeIdleTimeout = d
	if pipes.trimming {
		pipes.trim.Reset(d)
	}
	pipes.mu.Unlock()
	return func() {
		pipes.mu.Lock()
		pipeIdleTimeout = old
		pipes.mu.Unlock()
	}
}

// SetPipeRetryAfter sets how long the engine makes no pipe after one could not
// be had (not for parallel tests).
func SetPipeRetryAfter(d time.Duration) (restore func()) {
	pipes.mu.Lock()
	old := pipeRetryAfter
	pipeRetryAfter = d
	pipes.retry = time.Time{}
	pipes.mu.Unlock()
	return func() {
		pipes.mu.Lock()
		pipeRetryAfter = old
		pipes.mu.Unlock()
	}
}

// InjectErrno makes the nth (from 1) system call of the given pump stage fail with
// errno, once; stage is "tee" (any tee(2), the first being CopyMulti's check
// that the kernel allows it), "direct" (a pump between the caller's fds), "in"
// (into the engine's pipe) or "out" (out of it). Not for parallel tests.
func InjectErrno(stage string, nth int, errno error) (restore func()) {
	fail := failNth(nth, errno)
	testHookCall = func(p *pump) error {
		var s string
		switch {
		case p.op == opTee:
			s = "tee"
		case p.dst.engine:
			s = "in"
		case p.src.engine:
			s = "out"
		default:
			s = "direct"
		}
		if s != stage {
			return nil
		}
		return fail()
	}
	return func() { testHookCall = nil }
}

// failNth returns a function that returns errno at its nth call (from 1), nil
// at the others; it may be called from several goroutines.
func failNth(nth int, errno error) func() error {
	var mu sync.Mutex
	calls := 0
	return func() error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == nth {
			return errno
		}
		return nil
	}
}

// SetSendfileMax sets how many bytes a file → socket copy sends by sendfile
// before it splices through the engine's pipe, until restore.
func SetSendfileMax(n int64) (restore func()) {
	old := sendfileMax
	sendfileMax = n
	return func() { sendfileMax = old }
}

// SetPipeMin sets the size from which a copy between two non-pipes takes the
// engine's pipe, until restore.
func SetPipeMin(n int64) (restore func()) {
	old := pipeMin
	pipeMin = n
	return func() { pipeMin = old }
}

// SendfileMax is the size up to which a file → socket copy goes by sendfile.
func SendfileMax() int64 { return sendfileMax }

// WatchMultiPaths records, for each CopyMulti that takes the kernel path, how
// each destination got its bytes: "tee" (teed into it, a pipe), "tee+splice"
// (teed into an engine pipe of its own, spliced on), "tee+read/write" (teed
// into its own pipe, read and written), "splice" (the consumer: spliced out
// of the source pipe) or "read/write" (the consumer, reading the source
// pipe). last returns the paths of the last such copy since the last call of
// last, nil if none.
func WatchMultiPaths() (last func() []string, stop func()) {
	var mu sync.Mutex
	var got []string
	testHookMulti = func(paths []string) {
		mu.Lock()
		defer mu.Unlock()
		got = paths
	}
	return func() []string {
			mu.Lock()
			defer mu.Unlock()
			g := got
			got = nil
			return g
		}, func() {
			testHookMulti = nil
		}
}

// InjectVmsplice makes the nth (from 1) vmsplice(2) of the Writers fail with
// errno, once. Not for parallel tests.
func InjectVmsplice(nth int, errno error) (restore func()) {
	testHookVmsplice = failNth(nth, errno)
	return func() { testHookVmsplice = nil }
}

// FakeVmspliceProbe makes the Writers' probe answer maps, ok (ok false: not
// conclusive) and counts how often it is asked, until restore; the cached
// answer is forgotten before and after. Not for parallel tests.
func FakeVmspliceProbe(maps, ok bool) (asked func() int, restore func()) {
	var n atomic.Int32
	vmspliceState.Store(0)
	testHookProbe = func() (bool, bool) {
		n.Add(1)
		return maps, ok
	}
	return func() int { return int(n.Load()) }, func() {
		testHookProbe = nil
		vmspliceState.Store(0)
	}
}

// VmspliceMaps is the Writers' probe: whether this kernel maps vmspliced pages.
func VmspliceMaps() bool { return vmspliceMaps() }

// WriterRing returns the address and size of w's mapped memory (0, 0 on the
// copying path).
func WriterRing(w *Writer) (addr uintptr, size int) {
	if w.vm == nil || len(w.vm.ring) == 0 {
		return 0, 0
	}
	return uintptr(unsafe.Pointer(&w.vm.ring[0])), len(w.vm.ring)
}

// SetWriterHugePages sets whether Writers advise MADV_HUGEPAGE, until restore.
func SetWriterHugePages(on bool) (restore func()) {
	old := writerHugePages
	writerHugePages = on
	return func() { writerHugePages = old }
}
