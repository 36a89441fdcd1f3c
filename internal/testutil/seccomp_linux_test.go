package testutil_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice/internal/testutil"
)

// sandboxErrnos are the refusals a sandbox test runs under: a profile that
// forbids the calls, and a kernel or sandbox that lacks them.
var sandboxErrnos = []syscall.Errno{unix.EPERM, unix.ENOSYS}

// TestSandbox runs TestSandboxChild in a child under a sandbox that refuses the
// zero-copy calls, once per errno.
func TestSandbox(t *testing.T) {
	t.Parallel()
	for _, errno := range sandboxErrnos {
		t.Run(unix.ErrnoName(errno), func(t *testing.T) {
			t.Parallel()
			sb := testutil.Sandbox{Errno: errno, Syscalls: testutil.ZeroCopySyscalls()}
			testutil.RunInSandbox(t, sb, "^TestSandboxChild$")
		})
	}
}

// TestSandboxChild, in the child of TestSandbox, requires each refused call,
// made with arguments under which it would succeed, to fail with exactly the
// sandbox's errno, on several threads, and read and write to work.
func TestSandboxChild(t *testing.T) {
	sb, ok := testutil.Sandboxed()
	if !ok {
		t.Skip("run by TestSandbox, in a sandboxed child")
	}
	if want := testutil.ZeroCopySyscalls(); !slicesEqual(sb.Syscalls, want) {
		t.Fatalf("Sandboxed() = %v, want the zero-copy calls %v", sb, want)
	}
	// Locked goroutines take a thread each, so the calls run on several.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			checkRefused(t, sb.Errno)
		})
	}
	wg.Wait()
}

// checkRefused (safe to call from any goroutine: it fails t with Errorf) makes each zero-copy call on endpoints that would let it move
// data, and requires errno from each; then requires read and write to move the
// bytes the refused calls left in place.
func checkRefused(t *testing.T, errno syscall.Errno) {
	t.Helper()
	var p1, p2 [2]int
	for _, p := range []*[2]int{&p1, &p2} {
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			t.Errorf("pipe2: %v", err)
			return
		}
		defer unix.Close(p[0])
		defer unix.Close(p[1])
	}
	data := []byte("refused")
	if n, err := unix.Write(p1[1], data); n != len(data) || err != nil {
		t.Errorf("write to a pipe = %d, %v", n, err)
		return
	}
	dir := t.TempDir()
	var srcFD, dstFD int
	for _, f := range []struct {
		fd   *int
		name string
	}{{&srcFD, "src"}, {&dstFD, "dst"}} {
		fd, err := unix.Open(filepath.Join(dir, f.name), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
		if err != nil {
			t.Errorf("open: %v", err)
			return
		}
		defer unix.Close(fd)
		*f.fd = fd
	}
	if n, err := unix.Write(srcFD, data); n != len(data) || err != nil {
		t.Errorf("write to a file = %d, %v", n, err)
		return
	}
	var off int64

	calls := []struct {
		name string
		call func() (int, error)
	}{
		{"splice", func() (int, error) {
			n, err := unix.Splice(p1[0], nil, p2[1], nil, len(data), unix.SPLICE_F_NONBLOCK)
			return int(n), err
		}},
		{"tee", func() (int, error) {
			n, err := unix.Tee(p1[0], p2[1], len(data), unix.SPLICE_F_NONBLOCK)
			return int(n), err
		}},
		{"vmsplice", func() (int, error) {
			iov := unix.Iovec{Base: &data[0]}
			iov.SetLen(len(data))
			return unix.Vmsplice(p2[1], []unix.Iovec{iov}, unix.SPLICE_F_NONBLOCK)
		}},
		// sendfile64 on 32-bit ABIs.
		{"sendfile", func() (int, error) { off = 0; return unix.Sendfile(p2[1], srcFD, &off, len(data)) }},
		{"copy_file_range", func() (int, error) {
			off = 0
			return unix.CopyFileRange(srcFD, &off, dstFD, nil, len(data), 0)
		}},
	}
	for _, c := range calls {
		if n, err := c.call(); !errors.Is(err, errno) {
			t.Errorf("%s = %d, %v; want the sandbox's %s (%v)", c.name, n, err, unix.ErrnoName(errno), errno)
		}
	}
	// Nothing moved: the first pipe still holds data, the second and the
	// destination file are empty; read and write work.
	read := func(fd int) (string, error) {
		buf := make([]byte, 64)
		n, err := unix.Read(fd, buf)
		return string(buf[:max(n, 0)]), err
	}
	if got, err := read(p1[0]); err != nil || got != string(data) {
		t.Errorf("read from the pipe = %q, %v; want %q", got, err, data)
	}
	if got, err := read(p2[0]); !errors.Is(err, unix.EAGAIN) {
		t.Errorf("read from the refused calls' destination pipe = %q, %v; want EAGAIN (empty)", got, err)
	}
	if n, err := unix.Write(p2[1], data); n != len(data) || err != nil {
		t.Errorf("write to a pipe = %d, %v", n, err)
	} else if got, err := read(p2[0]); err != nil || got != string(data) {
		t.Errorf("read back from the pipe = %q, %v; want %q", got, err, data)
	}
	var st unix.Stat_t
	if err := unix.Fstat(dstFD, &st); err != nil || st.Size != 0 {
		t.Errorf("copy_file_range's destination holds %d bytes (%v); want none", st.Size, err)
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// threadsEnv names the variable that makes TestSandboxThreadsChild run.
const threadsEnv = "TESTUTIL_SANDBOX_THREADS_CHILD"

// TestSandboxAllThreads checks that Install filters the threads that existed
// before it, not only the calling thread and those started after it.
func TestSandboxAllThreads(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("cannot re-run the test binary: %v", err)
	}
	cmd := exec.Command(exe, "-test.run=^TestSandboxThreadsChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), threadsEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil && bytes.Contains(out, []byte("--- SKIP: TestSandboxThreadsChild")) {
		t.Skipf("the child skipped:\n%s", out)
	}
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestSandboxThreadsChild")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestSandboxThreadsChild parks goroutines on threads of their own, installs
// the sandbox, and has each of those threads try splice.
func TestSandboxThreadsChild(t *testing.T) {
	if os.Getenv(threadsEnv) == "" {
		t.Skip("run by TestSandboxAllThreads")
	}
	const threads = 4
	tids := make(chan int, threads)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
			tids <- unix.Gettid()
			<-start
			checkRefused(t, unix.EPERM)
		})
	}
	before := map[int]bool{}
	for range threads {
		before[<-tids] = true
	}
	runtime.LockOSThread()
	installer := unix.Gettid()
	err := testutil.Sandbox{Errno: unix.EPERM, Syscalls: testutil.ZeroCopySyscalls()}.Install()
	runtime.UnlockOSThread()
	if errors.Is(err, errors.ErrUnsupported) {
		close(start)
		wg.Wait()
		t.Skipf("no seccomp: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if before[installer] || len(before) != threads {
		t.Fatalf("threads %v and installer %d: want %d threads other than the installer's", before, installer, threads)
	}
	close(start)
	wg.Wait()
}

var failChild = flag.Bool("testutil.failchild", false, "TestSandboxFailingChild fails (set by TestRunInSandboxFails)")

// TestSandboxFailingChild fails, when asked to, in a sandboxed child.
func TestSandboxFailingChild(t *testing.T) {
	if _, ok := testutil.Sandboxed(); !ok || !*failChild {
		t.Skip("run by TestRunInSandboxFails")
	}
	t.Error("the deliberate failure")
}

// fatalRecorder is a testing.TB that records a Fatal instead of failing its test.
type fatalRecorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *fatalRecorder) Helper()                           {}
func (r *fatalRecorder) Logf(string, ...any)               {}
func (r *fatalRecorder) Fatal(args ...any)                 { r.stop(&r.failed, args...) }
func (r *fatalRecorder) Fatalf(format string, args ...any) { r.stopf(&r.failed, format, args...) }
func (r *fatalRecorder) Skipf(format string, args ...any)  { r.stopf(&r.skipped, format, args...) }

func (r *fatalRecorder) stop(flag *bool, args ...any) { r.stopf(flag, "%s", fmt.Sprint(args...)) }

func (r *fatalRecorder) stopf(flag *bool, format string, args ...any) {
	*flag = true
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestRunInSandboxFails checks that RunInSandbox fails its test when the
// child's tests fail or when the pattern matches none, with the child's
// output.
func TestRunInSandboxFails(t *testing.T) {
	t.Parallel()
	sb := testutil.Sandbox{Errno: unix.EPERM, Syscalls: []string{"splice"}}
	for _, tc := range []struct {
		name, run string
		args      []string
		want      string
	}{
		{"failing", "^TestSandboxFailingChild$", []string{"-testutil.failchild"}, "the deliberate failure"},
		{"no-tests", "^TestNoSuchTest$", nil, "ran no test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := &fatalRecorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				testutil.RunInSandbox(r, sb, tc.run, tc.args...)
			}()
			<-done
			switch {
			case r.skipped:
				t.Skip(r.msg)
			case !r.failed:
				t.Fatalf("RunInSandbox(%s) did not fail its test", tc.run)
			case !strings.Contains(r.msg, tc.want):
				t.Errorf("RunInSandbox(%s) failed with\n%s\nwant it to say %q", tc.run, r.msg, tc.want)
			}
		})
	}
}
