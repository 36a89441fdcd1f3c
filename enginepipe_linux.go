//go:build !splice_portable

package splice

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// An enginePipe is the engine's own pipe: raw non-blocking fds that never enter Go's
// poller (the pumps know when it is ready), and the two pumps that fill and
// drain it.
type enginePipe struct {
	r, w      int
	size      int
	in, out   *pump
	idleSince time.Time // when it was put back, while idle
	counted   bool      // in the budget: taken by getPipe
	cleanup   runtime.Cleanup
}

// The engine's pipes have a budget, as HAProxy's maxpipes has: at most limit()
// of them are open at once, in use and idle together, and past it copies go by
// read and write. Idle pipes (empty, of the default size) are reused, the last
// put back first, and closed once idle for pipeIdleTimeout, so that a burst
// leaves neither fds nor charged pipe pages behind. A pipe that may hold bytes
// is closed, never put back.
//
// A new pipe too small to pay for itself (the user's pipe-user-pages-soft is
// spent: the kernel gives new pipes two pages and refuses to grow them) is
// closed; so is none made when pipe2 fails (EMFILE, ENFILE, ENOMEM). For
// pipeRetryAfter then no pipe is made: copies go by read and write, which an
// 8 KiB pipe would not beat, without paying for a pipe2 that fails.
type pipeBudget struct {
	mu       sync.Mutex
	idle     []*enginePipe // idle[0] was put back first
	open     int           // in use and idle
	max      int           // set by SetMaxPipes; 0: defaultMaxPipes
	retry    time.Time     // no new pipe before then
	trim     *time.Timer   // closes pipes idle for pipeIdleTimeout
	trimming bool          // trim is armed
}

var pipes pipeBudget

var (
	// pipeIdleTimeout is how long an idle pipe is kept; tests shorten it.
	pipeIdleTimeout = time.Second
	// pipeRetryAfter is how long no pipe is made after one could not be had.
	pipeRetryAfter = 100 * time.Millisecond
)

// minUsefulPipe is the smallest pipe worth splicing through when a bigger one
// was asked for: below it, two splices a chunk cost more than io.Copy's read
// and write of 32 KiB.
const minUsefulPipe = 64 << 10

// defaultMaxPipes is the budget unless SetMaxPipes sets one: an eighth of the
// fd limit (two fds a pipe: a quarter of the fds), at least 16, at most 4,096;
// and for a user held to pipe-user-pages-soft (without CAP_SYS_RESOURCE and
// CAP_SYS_ADMIN, as the kernel's pipe_is_unprivileged_user asks), no more
// default-size pipes than half that budget holds, leaving the rest to the
// user's other pipes.
var defaultMaxPipes = sync.OnceValue(func() int {
	var rl unix.Rlimit
	nofile := uint64(1 << 20)
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		nofile = rl.Cur
	}
	pages := pipeUserPagesSoft()
	if pipePagesExempt() {
		pages = 0
	}
	return maxPipesFor(nofile, pages, os.Getpagesize(), defaultPipeSize())
})

// maxPipesFor returns the default budget for an fd limit, a pipe-page budget
// (0: none), the page size and the default pipe size.
func maxPipesFor(nofile uint64, pages int64, page, pipeSize int) int {
	n := 4096
	if nofile/8 < uint64(n) {
		n = max(int(nofile/8), 16)
	}
	if pages > 0 {
		n = min(n, max(int(pages*int64(page)/2/int64(pipeSize)), 1))
	}
	return n
}

// procPipeUserPagesSoft is where Linux publishes the per-user soft budget of
// pipe pages; a variable so tests can point it elsewhere.
var procPipeUserPagesSoft = "/proc/sys/fs/pipe-user-pages-soft"

// pipeUserPagesSoft returns pipe-user-pages-soft, or 0 (no limit) if it
// cannot be read.
func pipeUserPagesSoft() int64 {
	b, err := os.ReadFile(procPipeUserPagesSoft)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// pipePagesExempt reports whether this process has CAP_SYS_RESOURCE or
// CAP_SYS_ADMIN in its effective set, in the initial user namespace: the
// kernel then holds its pipes to no page budget. (Its capable() asks the
// initial namespace: root in a rootless container is held to the budget.)
func pipePagesExempt() bool {
	if !initialUserNS(procSelfUIDMap) {
		return false
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_SYS_RESOURCE|1<<unix.CAP_SYS_ADMIN) != 0
}

// procSelfUIDMap is where Linux publishes this process's user namespace's
// uid mapping; a variable so tests can point it elsewhere.
var procSelfUIDMap = "/proc/self/uid_map"

// initialUserNS reports whether the uid map at path is the initial user
// namespace's, which maps every uid to itself (or cannot be read: a kernel
// without user namespaces).
func initialUserNS(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	return strings.Join(strings.Fields(string(b)), " ") == "0 0 4294967295"
}

// limit returns the budget. b.mu is held.
func (b *pipeBudget) limit() int {
	if b.max > 0 {
		return b.max
	}
	return defaultMaxPipes()
}

// setMaxPipes implements SetMaxPipes.
func setMaxPipes(n int) int {
	b := &pipes
	b.mu.Lock()
	prev := b.limit()
	b.max = max(n, 0)
	// Idle pipes past the new budget go now, the oldest first; pipes in
	// use go as they come back.
	k := min(max(b.open-b.limit(), 0), len(b.idle))
	surplus := b.take(k)
	b.mu.Unlock()
	closeAll(surplus)
	return prev
}

// take removes the k pipes idle longest from the idle list and returns them
// for closing; b.mu is held.
func (b *pipeBudget) take(k int) []*enginePipe {
	if k == 0 {
		return nil
	}
	old := append([]*enginePipe(nil), b.idle[:k]...)
	b.idle = append(b.idle[:0], b.idle[k:]...)
	clear(b.idle[len(b.idle):cap(b.idle)])
	b.open -= len(old)
	return old
}

func closeAll(cps []*enginePipe) {
	for _, cp := range cps {
		cp.closeUncounted()
	}
}

// trimIdle closes the pipes idle for pipeIdleTimeout, and arms itself again
// for the next while any is left.
func trimIdle() {
	b := &pipes
	now := time.Now()
	b.mu.Lock()
	k := 0
	for k < len(b.idle) && now.Sub(b.idle[k].idleSince) >= pipeIdleTimeout {
		k++
	}
	old := b.take(k)
	if len(b.idle) > 0 {
		b.trim.Reset(pipeIdleTimeout - now.Sub(b.idle[0].idleSince))
	} else {
		b.trimming = false
	}
	b.mu.Unlock()
	closeAll(old)
}

// newEnginePipe makes a pipe, sized to size on a best-effort basis, counted
// in the budget if counted (getPipe's pipes; a Writer's own pipe is not).
func newEnginePipe(size int, counted bool) (*enginePipe, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	cp := &enginePipe{r: fds[0], w: fds[1], in: newPump(), out: newPump(), counted: counted}
	got, err := unix.FcntlInt(uintptr(cp.w), unix.F_SETPIPE_SZ, size)
	if err != nil {
		// Refused (EPERM past the user's budget): keep what the kernel gave.
		got, err = unix.FcntlInt(uintptr(cp.w), unix.F_GETPIPE_SZ, 0)
		if err != nil {
			got = 1 << 16
		}
	}
	cp.size = got
	cp.in.dst = endpoint{engine: true, fd: cp.w, kind: kindPipe, blocking: no}
	cp.in.once = true
	cp.out.src = endpoint{engine: true, fd: cp.r, kind: kindPipe, blocking: no}
	// A pipe that no copy gave back (a bug) or Writer closed is closed
	// when collected, and leaves the budget.
	if counted {
		cp.cleanup = runtime.AddCleanup(cp, closeLost, fds)
	} else {
		cp.cleanup = runtime.AddCleanup(cp, closeFDs, fds)
	}
	return cp, nil
}

func closeLost(fds [2]int) {
	closeFDs(fds)
	pipes.mu.Lock()
	pipes.open--
	pipes.mu.Unlock()
}

func closeFDs(fds [2]int) {
	unix.Close(fds[0])
	unix.Close(fds[1])
}

// closeUncounted closes the pipe now rather than when it is collected; its
// place in the budget is the caller's to give back.
func (cp *enginePipe) closeUncounted() {
	cp.cleanup.Stop()
	closeFDs([2]int{cp.r, cp.w})
}

// close closes the pipe and gives its place in the budget back.
func (cp *enginePipe) close() {
	cp.closeUncounted()
	if !cp.counted {
		return
	}
	pipes.mu.Lock()
	pipes.open--
	pipes.mu.Unlock()
}

// testHookGetPipe, set by tests, counts the engine pipes copies take;
// testHookPipeRefused the new pipes the kernel gave too small or not at all.
var testHookGetPipe, testHookPipeRefused func()

// getPipe returns an empty pipe: an idle one for the default size, a new one
// for a Copier with its own PipeSize or when none is idle. It returns nil if
// no pipe may or can be had: the budget is spent, or the kernel gave none
// worth using.
func (c *Copier) getPipe() *enginePipe {
	if testHookGetPipe != nil {
		testHookGetPipe()
	}
	pooled := c.pooledSize()
	size := defaultPipeSize()
	if !pooled {
		size = clampPipeSize(c.PipeSize)
	}
	b := &pipes
	b.mu.Lock()
	if n := len(b.idle); pooled && n > 0 {
		cp := b.idle[n-1]
		b.idle[n-1] = nil
		b.idle = b.idle[:n-1]
		b.mu.Unlock()
		return cp
	}
	if time.Now().Before(b.retry) {
		b.mu.Unlock()
		return nil
	}
	var evict []*enginePipe
	if b.open >= b.limit() && len(b.idle) > 0 {
		evict = b.take(1) // an idle pipe of the default size makes room
	}
	if b.open >= b.limit() {
		b.mu.Unlock()
		closeAll(evict)
		return nil
	}
	b.open++
	b.mu.Unlock()
	closeAll(evict)

	cp, err := newEnginePipe(size, true)
	if err == nil && cp.size >= min(size, minUsefulPipe) {
		return cp
	}
	if cp != nil {
		cp.closeUncounted()
	}
	if testHookPipeRefused != nil {
		testHookPipeRefused()
	}
	b.mu.Lock()
	b.open--
	b.retry = time.Now().Add(pipeRetryAfter)
	b.mu.Unlock()
	return nil
}

// putPipe puts cp back among the idle pipes if it is empty and of the default
// size, else closes it: one made smaller (the user's pipe pages nearly spent,
// or a CopyMulti's shrunk) would serve later copies badly.
func (c *Copier) putPipe(cp *enginePipe, empty bool) {
	if !empty || !c.pooledSize() || cp.size != defaultPipeSize() {
		cp.close()
		return
	}
	b := &pipes
	b.mu.Lock()
	if b.open > b.limit() { // SetMaxPipes lowered the budget
		b.open--
		b.mu.Unlock()
		cp.closeUncounted()
		return
	}
	cp.idleSince = time.Now()
	b.idle = append(b.idle, cp)
	if !b.trimming {
		b.trimming = true
		if b.trim == nil {
			b.trim = time.AfterFunc(pipeIdleTimeout, trimIdle)
		} else {
			b.trim.Reset(pipeIdleTimeout)
		}
	}
	b.mu.Unlock()
}

func (c *Copier) pooledSize() bool {
	return c.PipeSize <= 0 || clampPipeSize(c.PipeSize) == defaultPipeSize()
}

// drain reads n bytes out of the pipe, which holds at least that many.
func (cp *enginePipe) drain(n int64) ([]byte, error) {
	return cp.readFull(make([]byte, n))
}

// readFull reads len(buf) bytes out of the pipe, which holds at least that many.
func (cp *enginePipe) readFull(buf []byte) ([]byte, error) {
	for got := 0; got < len(buf); {
		m, err := ignoringEINTR(func() (int, error) { return unix.Read(cp.r, buf[got:]) })
		switch {
		case err != nil:
			return buf[:got], os.NewSyscallError("read", err)
		case m == 0:
			return buf[:got], io.ErrUnexpectedEOF
		}
		got += m
	}
	return buf, nil
}
