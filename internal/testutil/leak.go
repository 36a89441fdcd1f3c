package testutil

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// leakTimeout is how long Main waits for goroutines to return and fds to be
// closed before it calls what remains a leak.
const leakTimeout = 5 * time.Second

// fdLeakTimeout is how long CheckFDs waits for fds to be closed: they should
// be closed by the time the call under test returns, so this only absorbs a
// slow machine.
const fdLeakTimeout = 2 * time.Second

// Main runs the tests of m and then checks that they leaked neither a file
// descriptor nor a goroutine, for use as
//
//	func TestMain(m *testing.M) { testutil.Main(m) }
//
// Before m.Run it records the open fds (with their /proc/self/fd targets) and
// the running goroutines. After m.Run it calls each beforeCheck function
// (say, to empty a pipe pool), then waits up to 5 s for every goroutine
// started since to return and every fd opened since to be closed. If some
// remain, it prints each leaked fd with its target and the full stack of each
// leaked goroutine, and exits with status 1. It does not check when the tests
// failed, and it never runs the garbage collector, so an *os.File that was
// dropped without Close counts as a leak.
//
// Ignored are fds the Go runtime opens once and keeps (the netpoller's
// eventpoll and eventfd, pidfds), the -test.cpuprofile and -test.trace files
// that package testing leaves open, and goroutines of os/signal. On systems
// other than Linux only goroutines are checked. Main calls os.Exit.
//
// In a child started by [RunInSandbox], Main first installs the child's
// [Sandbox], and exits with a non-zero status, saying why, if it cannot.
func Main(m *testing.M, beforeCheck ...func()) {
	enterSandbox()
	baseFDs, err := OpenFDs()
	checkFDs := err == nil
	base := make(map[uint64]bool)
	for _, g := range goroutines() {
		base[g.id] = true
	}

	code := m.Run()

	for _, f := range beforeCheck {
		f()
	}
	if code == 0 {
		if checkFDs {
			baseFDs = addProfileFDs(baseFDs)
		}
		if report := waitForLeaks(base, baseFDs, checkFDs); report != "" {
			fmt.Fprintf(os.Stderr, "testutil: leak check failed after the tests passed\n%s", report)
			code = 1
		}
	}
	os.Exit(code)
}

// waitForLeaks waits up to leakTimeout for the goroutines not in base and the
// fds not in baseFDs to go away, and returns a report of those that remain, or
// "" if none do.
func waitForLeaks(base map[uint64]bool, baseFDs map[int]string, checkFDs bool) string {
	deadline := time.Now().Add(leakTimeout)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		var leakedGs []goroutine
		for _, g := range goroutines() {
			if !base[g.id] && !g.ignored() {
				leakedGs = append(leakedGs, g)
			}
		}
		var fds map[int]string
		if checkFDs {
			cur, err := OpenFDs()
			if err != nil {
				return fmt.Sprintf("listing open fds: %v\n", err)
			}
			fds = leakedFDs(baseFDs, cur)
		}
		if len(leakedGs) == 0 && len(fds) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			if len(fds) > 0 {
				fmt.Fprintf(&b, "%d leaked file descriptors:\n%s", len(fds), formatFDs(fds))
			}
			if len(leakedGs) > 0 {
				fmt.Fprintf(&b, "%d leaked goroutines:\n", len(leakedGs))
				for _, g := range leakedGs {
					fmt.Fprintf(&b, "\n%s\n", g.stack)
				}
			}
			return b.String()
		}
		time.Sleep(delay)
	}
}

// addProfileFDs returns base plus the fds of the files that package testing
// opens for -test.cpuprofile and -test.trace and never closes.
func addProfileFDs(base map[int]string) map[int]string {
	paths := profileFiles()
	if len(paths) == 0 {
		return base
	}
	cur, err := OpenFDs()
	if err != nil {
		return base
	}
	base = maps.Clone(base)
	for fd, target := range cur {
		if slices.Contains(paths, target) {
			base[fd] = target
		}
	}
	return base
}

// profileFiles returns the absolute paths of the files that package testing
// opens for -test.cpuprofile and -test.trace.
func profileFiles() []string {
	var paths []string
	for _, name := range []string{"test.cpuprofile", "test.trace"} {
		f := flag.Lookup(name)
		if f == nil || f.Value.String() == "" {
			continue
		}
		path := f.Value.String()
		if dir := flag.Lookup("test.outputdir"); !filepath.IsAbs(path) && dir != nil && dir.Value.String() != "" {
			path = filepath.Join(dir.Value.String(), path)
		}
		if abs, err := filepath.Abs(path); err == nil {
			paths = append(paths, abs)
		}
	}
	return paths
}

// CheckFDs records the open fds and returns a function that fails the test
// (with t.Errorf, listing each one and its target) if fds opened since are
// still open, after waiting up to 2 s for them to be closed. Use it around a
// single call:
//
//	check := testutil.CheckFDs(t)
//	splice.Copy(dst, src)
//	check()
//
// Endpoints built before CheckFDs are not counted; ones built after are, until
// closed. The fd table is shared by the whole process, so the test must not
// run in parallel with others. Where fds cannot be listed (systems other than
// Linux) the check does nothing.
func CheckFDs(t testing.TB) (check func()) {
	t.Helper()
	before, err := OpenFDs()
	if err != nil {
		return func() {}
	}
	return func() {
		t.Helper()
		deadline := time.Now().Add(fdLeakTimeout)
		for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
			cur, err := OpenFDs()
			if err != nil {
				t.Errorf("testutil: %v", err)
				return
			}
			leaked := leakedFDs(before, cur)
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("testutil: %d leaked file descriptors:\n%s", len(leaked), formatFDs(leaked))
				return
			}
			time.Sleep(delay)
		}
	}
}

// leakedFDs returns the fds of cur that are not in base with the same target,
// less those the runtime keeps for itself.
func leakedFDs(base, cur map[int]string) map[int]string {
	leaked := make(map[int]string)
	for fd, target := range cur {
		if old, ok := base[fd]; ok && old == target {
			continue
		}
		if runtimeFD(target) {
			continue
		}
		leaked[fd] = target
	}
	return leaked
}

// runtimeFD reports whether an fd with this /proc/self/fd target is one the Go
// runtime opens once and keeps: the netpoller's epoll instance and wake-up
// eventfd, and pidfds (probed, and held by os.Process); or the directory fd of
// a concurrent fd listing.
func runtimeFD(target string) bool {
	switch target {
	case "anon_inode:[eventpoll]", "anon_inode:[eventfd]":
		return true
	}
	if strings.Contains(target, "pidfd") {
		return true // "anon_inode:[pidfd]", or "pidfd:[N]" with pidfs
	}
	return strings.HasPrefix(target, "/proc/") && strings.HasSuffix(target, "/fd")
}

func formatFDs(fds map[int]string) string {
	var b strings.Builder
	for _, fd := range slices.Sorted(maps.Keys(fds)) {
		fmt.Fprintf(&b, "\tfd %d -> %s%s\n", fd, fds[fd], fdMode(fd))
	}
	return b.String()
}

// goroutine is one entry of a runtime.Stack dump.
type goroutine struct {
	id    uint64
	stack string   // the entry as printed, header included
	funcs []string // the functions of its frames, innermost first
}

// ignoredFuncs are functions whose goroutines live for the rest of the
// process once started, whichever test started them.
var ignoredFuncs = map[string]bool{
	"os/signal.signal_recv": true, // signal.Notify's watcher
	"os/signal.loop":        true,
	"runtime.ensureSigM":    true,
}

func (g goroutine) ignored() bool {
	for _, f := range g.funcs {
		if ignoredFuncs[f] {
			return true
		}
	}
	return false
}

// goroutines returns every user goroutine, as runtime.Stack reports them.
func goroutines() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []goroutine
	for _, entry := range strings.Split(strings.TrimSpace(string(buf)), "\n\n") {
		lines := strings.Split(entry, "\n")
		// The header reads "goroutine 7 [chan receive]:".
		fields := strings.Fields(lines[0])
		if len(fields) < 2 || fields[0] != "goroutine" {
			continue
		}
		id, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			continue
		}
		g := goroutine{id: id, stack: entry}
		for _, line := range lines[1:] {
			// Frames alternate "pkg.func(args)" with "\tfile:line +off";
			// the last line may be "created by pkg.func in goroutine N".
			if line == "" || line[0] == '\t' || strings.HasPrefix(line, "created by ") {
				continue
			}
			if i := strings.LastIndexByte(line, '('); i > 0 {
				line = line[:i]
			}
			g.funcs = append(g.funcs, line)
		}
		gs = append(gs, g)
	}
	return gs
}
