//go:build !linux

package testutil

import (
	"runtime"
	"testing"
)

// UnprivilegedUID is the uid (and gid) that RunChildUnprivileged runs its
// child as on Linux when the test runs as root.
const UnprivilegedUID = 65534

// RunChildUnprivileged skips t: running a test as another user is implemented
// for Linux only.
func RunChildUnprivileged(t testing.TB) {
	t.Helper()
	t.Skipf("testutil: no unprivileged child on %s", runtime.GOOS)
}

// SpendPipePages skips t: the pipe-page budget is Linux's.
func SpendPipePages(t testing.TB) (release func()) {
	t.Helper()
	t.Skipf("testutil: no pipe-page budget on %s", runtime.GOOS)
	return func() {}
}
