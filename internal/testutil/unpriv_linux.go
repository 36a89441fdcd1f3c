package testutil

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// UnprivilegedUID is the uid (and gid) that [RunChildUnprivileged] runs its
// child as when the test runs as root: nobody's, 65534, on every distribution.
const UnprivilegedUID = 65534

// RunChildUnprivileged runs the test t again, alone, in a child process that
// has no privilege, in which [InChild](t) reports true: a test of what the
// kernel does to an ordinary user (the pipe-page budget that root is not held
// to, say) does that part in the child, as
//
//	if !testutil.InChild(t) {
//		testutil.RunChildUnprivileged(t)
//		return
//	}
//	// as an unprivileged user here
//
// As root, the child runs as uid and gid 65534 (nobody) with no
// supplementary groups, so with no capability. The test binary lives in a
// directory only root may enter (go test's build directory), so the child
// runs a copy of it in a fresh directory that everyone may read (in
// os.TempDir(), or /tmp or /dev/shm where others may not enter that); the
// child's TMPDIR and HOME are a fresh
// directory owned by nobody (so t.TempDir works), and its working directory is
// the parent's where nobody may enter and read it (a package's testdata stays
// reachable), the TMPDIR otherwise. As any other user, the child runs as that
// user, as [RunChild] runs it. (A user other than root who holds capabilities
// keeps them: the child then is not unprivileged, and a test that relies on
// it, such as one that calls [SpendPipePages], fails and says so.)
//
// It skips t, with the reason, only where root cannot become nobody: the
// kernel refuses the change of credentials (EPERM: no CAP_SETUID or
// CAP_SETGID, or setgroups denied in a user namespace; EINVAL: uid 65534 is
// not mapped in this user namespace). Otherwise it is RunChild: it fails t
// with the child's output if the child fails or runs no test, skips t with the
// child's reason if the child skipped t, and logs the child's output.
func RunChildUnprivileged(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		RunChild(t)
		return
	}
	cmd, args := childCommand(t, childRunPattern(t), childEnv+"="+t.Name(), "-test.v")

	dir, err := unprivTempDir()
	if err != nil {
		t.Fatalf("testutil: a directory for uid %d: %v", UnprivilegedUID, err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	exe := filepath.Join(dir, filepath.Base(cmd.Path))
	if err := copyExecutable(exe, cmd.Path); err != nil {
		t.Fatalf("testutil: copying the test binary for uid %d: %v", UnprivilegedUID, err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	if err := os.Chown(tmp, UnprivilegedUID, UnprivilegedUID); err != nil {
		t.Fatalf("testutil: chown %s to %d: %v", tmp, UnprivilegedUID, err)
	}
	cmd.Path, cmd.Args[0] = exe, exe
	cmd.Dir = tmp
	if wd, err := os.Getwd(); err == nil && othersMayEnter(wd) {
		cmd.Dir = wd
	}
	cmd.Env = append(cmd.Env, "TMPDIR="+tmp, "HOME="+tmp) // the last of a name wins
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: UnprivilegedUID, Gid: UnprivilegedUID, Groups: []uint32{}},
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	start := time.Now()
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) {
			t.Skipf("testutil: root cannot run a child as uid %d here: %v", UnprivilegedUID, err)
		}
		t.Fatalf("testutil: starting %s as uid %d: %v", exe, UnprivilegedUID, err)
	}
	err = cmd.Wait()
	elapsed := time.Since(start).Round(time.Millisecond)
	switch {
	case err != nil:
		t.Fatalf("testutil: child (uid %d) %s failed after %v: %v\n%s", UnprivilegedUID, strings.Join(args, " "), elapsed, err, out.Bytes())
	case bytes.Contains(out.Bytes(), []byte("testing: warning: no tests to run")):
		t.Fatalf("testutil: child (uid %d) %s ran no test\n%s", UnprivilegedUID, strings.Join(args, " "), out.Bytes())
	}
	if reason, ok := skipReason(out.String(), t.Name()); ok {
		t.Skipf("testutil: in the child (uid %d): %s", UnprivilegedUID, reason)
	}
	t.Logf("testutil: child (uid %d) passed in %v:\n%s", UnprivilegedUID, elapsed, out.Bytes())
}

// copyExecutable copies the file src to a new file dst that everyone may
// read and execute.
func copyExecutable(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, 0o755) // past the umask
	}
	return err
}

// unprivTempDir makes a fresh directory in the first of os.TempDir(), /tmp
// and /dev/shm that others may reach.
func unprivTempDir() (string, error) {
	var errs []error
	for _, base := range []string{os.TempDir(), "/tmp", "/dev/shm"} {
		if !othersMaySearch(base) {
			errs = append(errs, errors.New(base+": others may not enter it"))
			continue
		}
		dir, err := os.MkdirTemp(base, "splice-unpriv-")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return dir, nil
	}
	return "", errors.Join(errs...)
}

// othersMayEnter reports whether a user who neither owns nor shares a group
// with dir and its parents may list dir and reach it.
func othersMayEnter(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.Mode().Perm()&0o004 != 0 && othersMaySearch(dir)
}

// othersMaySearch reports whether such a user may search dir and every
// directory above it.
func othersMaySearch(dir string) bool {
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

// childRunPattern is the -test.run pattern that selects exactly t.
func childRunPattern(t testing.TB) string {
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
