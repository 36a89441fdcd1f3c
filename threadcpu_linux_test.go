//go:build !splice_portable

package splice_test

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// onThread runs f in a new goroutine locked to its own OS thread, and returns a
// clock of that thread's CPU time. A spin test measures the copy's own thread,
// not the whole process: the race detector, the garbage collector and the test's
// other goroutines use CPU too, and on a loaded runner they once made a copy that
// was asleep look busy. (Copy starts no goroutine of its own.)
func onThread(t *testing.T, f func()) (cpu func() time.Duration) {
	t.Helper()
	tid := make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid <- unix.Gettid()
		f()
	}()
	// The thread's CPU-time clock, as glibc's pthread_getcpuclockid makes it:
	// ^tid<<3 | CPUCLOCK_PERTHREAD (4) | CPUCLOCK_SCHED (2).
	clock := int32(^(<-tid)<<3 | 6)
	return func() time.Duration {
		t.Helper()
		var ts unix.Timespec
		if err := unix.ClockGettime(clock, &ts); err != nil {
			t.Fatalf("clock_gettime(the copy thread's CPU clock): %v", err)
		}
		return time.Duration(ts.Nano())
	}
}
