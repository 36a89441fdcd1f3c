package splice_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// onThread runs f in a new goroutine locked to its own OS thread, and returns a
// clock of that thread's CPU time. A spin test measures the copy's own thread,
// not the whole process: the race detector, the garbage collector and the test's
// other goroutines use CPU too, and on a loaded runner they once made a copy that
// was asleep look busy.
func onThread(t *testing.T, f func()) (cpu func() time.Duration) {
	t.Helper()
	tid := make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid <- unix.Gettid()
		f()
	}()
	stat := fmt.Sprintf("/proc/self/task/%d/schedstat", <-tid)
	return func() time.Duration {
		t.Helper()
		// The first field of schedstat is the thread's time on a CPU in ns.
		b, err := os.ReadFile(stat)
		if err != nil {
			t.Fatalf("reading the copy thread's CPU time: %v", err)
		}
		ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", stat, err)
		}
		return time.Duration(ns)
	}
}
