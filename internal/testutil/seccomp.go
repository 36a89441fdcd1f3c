package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Sandbox is a seccomp filter that makes some system calls fail, as hardened
// container profiles and gVisor-like sandboxes do: each call named in
// Syscalls fails with Errno, before the kernel looks at its arguments, on
// every thread of the process; every other call is allowed.
//
// A test runs code under a Sandbox in a child process ([RunInSandbox]): a
// filter cannot be removed once installed, so it must never be installed in
// the process that runs the other tests.
type Sandbox struct {
	// Errno is what the refused calls fail with, such as EPERM (a profile
	// that forbids them) or ENOSYS (a kernel or sandbox without them).
	Errno syscall.Errno

	// Syscalls names the refused calls as syscalls(2) does. A name that
	// [Sandbox.Install] knows but this GOARCH lacks (sendfile64 and pipe on
	// arm64, say) is left out of the filter; an unknown name is an error.
	Syscalls []string
}

// knownSyscalls are the names a Sandbox may refuse: the zero-copy calls and
// the calls that make pipes. Each GOARCH has the subset its kernel ABI has.
var knownSyscalls = []string{
	"splice", "tee", "vmsplice", "sendfile", "sendfile64", "copy_file_range",
	"pipe", "pipe2",
}

// ZeroCopySyscalls returns the names of the system calls that move data
// inside the kernel: splice, tee, vmsplice, sendfile (with sendfile64, its
// name on 32-bit ABIs) and copy_file_range. A Sandbox that refuses them leaves
// a copy nothing but read and write.
func ZeroCopySyscalls() []string {
	return []string{"splice", "tee", "vmsplice", "sendfile", "sendfile64", "copy_file_range"}
}

// Refuses reports whether sb makes the system call name fail.
func (sb Sandbox) Refuses(name string) bool { return slices.Contains(sb.Syscalls, name) }

// String names the errno and the refused calls, as in
// "EPERM for splice,tee".
func (sb Sandbox) String() string {
	return fmt.Sprintf("%s for %s", errnoName(sb.Errno), strings.Join(sb.Syscalls, ","))
}

// validate checks what can be checked without the kernel: a usable errno
// and known names.
func (sb Sandbox) validate() error {
	// The kernel passes at most MAX_ERRNO (4095) through SECCOMP_RET_ERRNO;
	// errno 0 would make the refused calls "succeed" without running.
	if sb.Errno <= 0 || sb.Errno > 4095 {
		return fmt.Errorf("testutil: sandbox errno %d is not in 1..4095", int(sb.Errno))
	}
	if len(sb.Syscalls) == 0 {
		return errors.New("testutil: sandbox refuses no system call")
	}
	for _, name := range sb.Syscalls {
		if !slices.Contains(knownSyscalls, name) {
			return fmt.Errorf("testutil: sandbox: unknown system call %q (known: %s)", name, strings.Join(knownSyscalls, ", "))
		}
	}
	return nil
}

// sandboxEnv names the environment variable that tells [Main] to install a
// Sandbox before it runs the tests; its value is what encode returns.
const sandboxEnv = "SPLICE_TESTUTIL_SANDBOX"

// The child's reports, on its stderr, which RunInSandbox looks for.
const (
	sandboxedMarker   = "testutil: sandboxed: "              // the filter is installed
	unavailableMarker = "testutil: sandbox unavailable: "    // seccomp cannot be used here
	failedMarker      = "testutil: cannot install sandbox: " // anything else
)

// Exit statuses of a child that could not install its sandbox. Tests exit
// with 1 when they fail.
const (
	exitSandboxUnavailable = 3
	exitSandboxFailed      = 4
)

// encode returns sb as the value of sandboxEnv: "1:splice,tee".
func (sb Sandbox) encode() string {
	return strconv.Itoa(int(sb.Errno)) + ":" + strings.Join(sb.Syscalls, ",")
}

// decodeSandbox parses what encode returns.
func decodeSandbox(s string) (Sandbox, error) {
	errno, names, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(errno)
	if !ok || err != nil || names == "" {
		return Sandbox{}, fmt.Errorf("testutil: %s=%q: want <errno>:<syscall>[,<syscall>]", sandboxEnv, s)
	}
	sb := Sandbox{Errno: syscall.Errno(n), Syscalls: strings.Split(names, ",")}
	return sb, sb.validate()
}

// current is the sandbox this process installed, or nil.
var current atomic.Pointer[Sandbox]

// Sandboxed reports whether this process runs under a Sandbox that it
// installed ([Sandbox.Install], which [Main] calls in a child started by
// [RunInSandbox]), and which. Tests use it to expect what the sandbox
// changes: under it, kernel paths are refused and every copy must still
// deliver every byte.
func Sandboxed() (Sandbox, bool) {
	sb := current.Load()
	if sb == nil {
		return Sandbox{}, false
	}
	return Sandbox{Errno: sb.Errno, Syscalls: slices.Clone(sb.Syscalls)}, true
}

// enterSandbox installs the Sandbox that sandboxEnv names, if it is set. It
// exits the process if it cannot, with exitSandboxUnavailable where seccomp
// cannot be used at all and exitSandboxFailed otherwise: a child must never
// run its tests unfiltered while its parent believes them filtered.
func enterSandbox() {
	spec, ok := os.LookupEnv(sandboxEnv)
	if !ok {
		return
	}
	sb, err := decodeSandbox(spec)
	if err == nil {
		err = sb.Install()
	}
	switch {
	case err == nil:
		fmt.Fprintf(os.Stderr, "%s%v\n", sandboxedMarker, sb)
	case errors.Is(err, errors.ErrUnsupported):
		fmt.Fprintf(os.Stderr, "%s%v\n", unavailableMarker, err)
		os.Exit(exitSandboxUnavailable)
	default:
		fmt.Fprintf(os.Stderr, "%s%s=%q: %v\n", failedMarker, sandboxEnv, spec, err)
		os.Exit(exitSandboxFailed)
	}
}

// RunInSandbox runs the tests of this test binary that match run (a
// -test.run pattern) in a child process under sb, and fails t, with the
// child's output, if they fail. The test binary's TestMain must call [Main],
// which installs the sandbox before any test runs.
//
// The child is the running test binary, started with -test.run=run,
// -test.count=1, -test.short when t runs under -short, a -test.timeout within
// t's deadline, then args; its environment is this process's plus the
// sandbox's description. RunInSandbox fails t as well if the child did not
// confirm its sandbox or ran no test, so a pattern that matches nothing
// cannot pass. It skips t, with the reason, where seccomp filters cannot be
// installed: on systems other than Linux, on a GOARCH whose system call ABI
// it does not know, on a kernel without seccomp filters, or under a sandbox
// that forbids them.
func RunInSandbox(t testing.TB, sb Sandbox, run string, args ...string) {
	t.Helper()
	if err := sb.validate(); err != nil {
		t.Fatal(err)
	}
	if err := sandboxSupported(); err != nil {
		t.Skipf("%v", err)
	}
	cmd, childArgs := childCommand(t, run, sandboxEnv+"="+sb.encode(), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start).Round(time.Millisecond)
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == exitSandboxUnavailable {
		if reason, ok := markedLine(out.String(), unavailableMarker); ok {
			t.Skipf("%s", reason)
		}
	}
	switch {
	case err != nil:
		t.Fatalf("testutil: %v: %s under the sandbox (%v) failed after %v: %v\n%s", cmd.Path, strings.Join(childArgs, " "), sb, elapsed, err, &out)
	case !strings.Contains(out.String(), sandboxedMarker+sb.String()+"\n"):
		t.Fatalf("testutil: the child did not report its sandbox (%v): does TestMain call testutil.Main?\n%s", sb, &out)
	case strings.Contains(out.String(), "testing: warning: no tests to run"):
		t.Fatalf("testutil: -test.run=%s ran no test in the child\n%s", run, &out)
	}
	t.Logf("testutil: %s passed under the sandbox (%v) in %v", run, sb, elapsed)
}

// markedLine returns the rest of the first line of out that starts with
// marker.
func markedLine(out, marker string) (string, bool) {
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, marker); ok {
			return strings.TrimSuffix(rest, "\n"), true
		}
	}
	return "", false
}
