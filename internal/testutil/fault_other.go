//go:build !linux

package testutil

import (
	"runtime"
	"testing"
)

// SmallFS skips t: mounting a small file system is implemented for Linux only.
func SmallFS(t testing.TB, size int) string {
	t.Helper()
	t.Skipf("testutil: no small tmpfs on %s", runtime.GOOS)
	return ""
}

// FileSizeLimit skips t: RLIMIT_FSIZE is set on Linux only.
func FileSizeLimit(t testing.TB, limit int64) (restore func()) {
	t.Helper()
	t.Skipf("testutil: RLIMIT_FSIZE is not set on %s", runtime.GOOS)
	return func() {}
}
