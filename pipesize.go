package splice

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Pipe sizing policy.
//
// A Linux pipe holds a ring of page-sized slots: 16 by default (64 KiB with 4 KiB
// pages). F_SETPIPE_SZ changes the number of slots; the kernel rounds the request up
// to a power-of-two number of pages, refuses unprivileged requests above
// /proc/sys/fs/pipe-max-size with EPERM, and silently gives new pipes a minimal
// size (one or two pages, by kernel version) once a user has exceeded
// /proc/sys/fs/pipe-user-pages-soft. A bigger pipe means fewer
// splice calls per byte; past 1 MiB the gain is lost in cache misses, which is why
// the standard library and this package both aim for 1 MiB.

const (
	// linuxDefaultMaxPipeSize is the kernel's default for /proc/sys/fs/pipe-max-size.
	linuxDefaultMaxPipeSize = 1 << 20
	// otherMaxPipeSize is what pipes grow to on the BSDs and Darwin (BIG_PIPE_SIZE).
	otherMaxPipeSize = 64 << 10
	// targetPipeSize is the size pooled pipes ask for, before clamping.
	targetPipeSize = 1 << 20
	// maxPipeRequest is the largest size round_pipe_size accepts (2 GiB).
	maxPipeRequest = 1 << 31
)

// procPipeMaxSize is where Linux publishes the limit; a variable so tests can point it elsewhere.
var procPipeMaxSize = "/proc/sys/fs/pipe-max-size"

// MaxPipeSize returns the largest capacity an unprivileged process may give a pipe:
// the value of /proc/sys/fs/pipe-max-size on Linux, read once, or 1 MiB (the
// kernel's default) when that file cannot be read. On other systems it returns
// 64 KiB, the size pipes grow to on Darwin and the BSDs (Windows sizes its pipes
// otherwise).
func MaxPipeSize() int { return maxPipeSize() }

var maxPipeSize = sync.OnceValue(func() int {
	if runtime.GOOS != "linux" {
		return otherMaxPipeSize
	}
	return readMaxPipeSize(procPipeMaxSize)
})

// readMaxPipeSize parses a pipe-max-size file, falling back to the kernel default.
func readMaxPipeSize(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return linuxDefaultMaxPipeSize
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n < uint64(os.Getpagesize()) || n > maxPipeRequest {
		return linuxDefaultMaxPipeSize
	}
	if n > math.MaxInt {
		return 1 << 30 // 2 GiB on a 32-bit system: the largest power of two an int holds
	}
	return int(n)
}

// defaultPipeSize is the size pooled pipes are given: 1 MiB, clamped to MaxPipeSize.
func defaultPipeSize() int {
	return clampPipeSize(targetPipeSize)
}

// clampPipeSize limits a requested pipe size to what an unprivileged process may
// set, rounded as the kernel would round it.
func clampPipeSize(n int) int {
	m := MaxPipeSize()
	if n > m {
		n = m
	}
	size := roundPipeSize(n)
	for size > m && size > os.Getpagesize() {
		size >>= 1 // the kernel rounds pipe-max-size itself, but be safe
	}
	return size
}

// roundPipeSize rounds a requested capacity as the kernel's round_pipe_size does:
// up to one page at least, and up to a power of two. It returns 0 for requests the
// kernel rejects outright (above 2 GiB).
func roundPipeSize(n int) int {
	page := os.Getpagesize()
	switch {
	case uint64(n) > maxPipeRequest:
		return 0
	case n <= page:
		return page
	}
	size := uint64(page)
	for size < uint64(n) {
		size <<= 1
	}
	if size > math.MaxInt {
		return 0 // 2 GiB on a 32-bit system
	}
	return int(size)
}

// SetMaxPipes sets the most pipes the engine holds at once, in use by copies
// and idle between them, and returns the previous budget; n <= 0 restores the
// default. A copy that needs a pipe past the budget goes without one, as
// io.Copy would: by read and write (by sendfile, from a regular file to a
// socket). HAProxy's maxpipes works the same way. Pipes idle for a second are
// closed. A Writer's own pipe, into a regular file, is not counted.
//
// The default is an eighth of RLIMIT_NOFILE (each pipe takes two fds), at least
// 16 and at most 4,096; for a process without CAP_SYS_RESOURCE and
// CAP_SYS_ADMIN in the initial user namespace (root in a rootless container
// has neither there) it is also at most as many default-size (1 MiB) pipes as
// half of /proc/sys/fs/pipe-user-pages-soft holds: 32 with the kernel's
// defaults. Every pipe of the user is charged to that budget, and past it the
// kernel shrinks new pipes to two pages. Whatever the budget, a pipe the kernel
// gives too small to beat read and write (the user's pages spent by other
// pipes) is closed at once, and for 100 ms no pipe is tried.
//
// Where the engine makes no pipes (systems without splice(2)), the budget is
// recorded and unused, and the default is 0.
func SetMaxPipes(n int) (prev int) { return setMaxPipes(n) }
