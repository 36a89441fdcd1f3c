package testutil

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// SpendPipePages spends the pipe-page budget of the calling process's user
// (/proc/sys/fs/pipe-user-pages-soft, in pages) and holds it until release
// (or t's cleanup), so that from then on every new pipe of this user (of any
// of its processes) gets 2 pages and cannot grow: F_SETPIPE_SZ to anything
// larger fails with EPERM. That is what a program meets on a machine where
// the same user already holds many pipes.
//
// The kernel (fs/pipe.c) charges every pipe's slots to its creator's user:
// alloc_pipe_info charges a new pipe its 16 default pages, or only 2
// (PIPE_MIN_DEF_BUFFERS) once the user's total is past the soft limit
// (too_many_pipe_buffers_soft); pipe_set_size refuses, with EPERM, to grow
// a pipe past that limit. So SpendPipePages makes pipes and grows each to
// /proc/sys/fs/pipe-max-size until a growth is refused, then makes
// default pipes until a new one comes back with 2 pages
// (F_GETPIPE_SZ == 2*pagesize), and checks that such a pipe cannot grow to the
// default 16 pages (64 KiB with 4 KiB pages). With the default limit (16384
// pages) and pipe-max-size (1 MiB) it holds about 80 pipes.
//
// Root (and any process with CAP_SYS_RESOURCE or CAP_SYS_ADMIN) is not held
// to the budget, so SpendPipePages fails t when called with either: call it in
// a child that [RunChildUnprivileged] runs. It skips t, with the reason, where
// the kernel sets no budget (pipe-user-pages-soft is 0) or /proc says nothing
// of it. It is process-wide and user-wide: use it only in such a child, not in
// parallel with other tests. It logs what it holds, except in a benchmark.
func SpendPipePages(t testing.TB) (release func()) {
	t.Helper()
	if err := heldToPipeBudget(); err != nil {
		t.Fatalf("testutil: SpendPipePages: %v; run it in a child that RunChildUnprivileged runs", err)
	}
	soft, err := procInt("/proc/sys/fs/pipe-user-pages-soft")
	if err != nil {
		t.Skipf("testutil: no pipe-page budget to spend: %v", err)
	}
	if soft == 0 {
		t.Skipf("testutil: no pipe-page budget to spend: /proc/sys/fs/pipe-user-pages-soft is 0 (no limit)")
	}
	page := os.Getpagesize()
	grow, err := procInt("/proc/sys/fs/pipe-max-size")
	if err != nil {
		grow = 1 << 20
	}
	const defaultPages = 16 // PIPE_DEF_BUFFERS

	var fds []int
	var once sync.Once
	release = func() {
		once.Do(func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
			fds = nil
		})
	}
	t.Cleanup(release)
	fail := func(format string, args ...any) {
		t.Helper()
		release()
		t.Fatalf("testutil: SpendPipePages: "+format, args...)
	}
	newPipe := func() (w int, size int) {
		t.Helper()
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			fail("pipe2 after %d pipes: %v", len(fds)/2, err)
		}
		fds = append(fds, p[0], p[1])
		size, err := unix.FcntlInt(uintptr(p[1]), unix.F_GETPIPE_SZ, 0)
		if err != nil {
			fail("F_GETPIPE_SZ: %v", err)
		}
		return p[1], size
	}

	// The pages our pipes charge; the user's other pipes (of other
	// processes) only bring the limit nearer, so past soft plus one pipe's
	// worth the kernel is not holding this process to it.
	held := 0
	for grow > defaultPages*page { // else new pipes are already as large as they may grow
		w, size := newPipe()
		got, err := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, grow)
		if errors.Is(err, unix.EPERM) {
			held += size / page
			break
		}
		if err != nil {
			fail("F_SETPIPE_SZ %d: %v", grow, err)
		}
		held += got / page
		if held > soft+grow/page {
			fail("%d pipes hold %d pages and F_SETPIPE_SZ was never refused: not held to pipe-user-pages-soft (%d)", len(fds)/2, held, soft)
		}
	}
	for {
		_, size := newPipe()
		held += size / page
		if size == 2*page {
			break
		}
		if held > soft+defaultPages {
			fail("%d pipes hold %d pages and new pipes still get %d bytes: not held to pipe-user-pages-soft (%d)", len(fds)/2, held, size, soft)
		}
	}

	// The state promised: a new pipe has 2 pages and cannot grow.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		fail("pipe2 with the budget spent: %v", err)
	}
	size, serr := unix.FcntlInt(uintptr(p[1]), unix.F_GETPIPE_SZ, 0)
	_, gerr := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, defaultPages*page)
	unix.Close(p[0])
	unix.Close(p[1])
	if serr != nil || size != 2*page || !errors.Is(gerr, unix.EPERM) {
		fail("with the budget spent a new pipe has %d bytes (%v) and growing it to %d gives %v; want %d bytes and EPERM",
			size, serr, defaultPages*page, gerr, 2*page)
	}
	if _, bench := t.(*testing.B); bench {
		return release // a benchmark prints every line it logs, amid benchstat's input
	}
	t.Logf("testutil: spent uid %d's pipe budget (pipe-user-pages-soft %d): %d pipes hold %d pages; new pipes get %d bytes and cannot grow",
		os.Getuid(), soft, len(fds)/2, held, 2*page)
	return release
}

// heldToPipeBudget returns an error if the kernel would not hold this process
// to the pipe-page budget: it is root, or has CAP_SYS_RESOURCE or
// CAP_SYS_ADMIN in its effective set (pipe_is_unprivileged_user).
func heldToPipeBudget() error {
	if os.Geteuid() == 0 {
		return errors.New("running as root, which is not held to pipe-user-pages-soft")
	}
	eff, err := effectiveCaps()
	if err != nil {
		return err
	}
	for _, c := range []struct {
		bit  uint
		name string
	}{{unix.CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE"}, {unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}} {
		if eff&(1<<c.bit) != 0 {
			return fmt.Errorf("uid %d holds %s, which is not held to pipe-user-pages-soft", os.Geteuid(), c.name)
		}
	}
	return nil
}

// effectiveCaps returns the process's effective capability set, from the
// CapEff line of /proc/self/status.
func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no CapEff in /proc/self/status")
}

// procInt reads a file of /proc that holds one decimal number.
func procInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	return n, nil
}
