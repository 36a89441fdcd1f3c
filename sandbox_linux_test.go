//go:build !splice_portable

package splice_test

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice/internal/testutil"
)

// TestCopyMatrixUnderSeccomp runs the copy matrix, the Pipe matrices and the
// CopyMulti matrix, and the Writer's, in a child process under a real seccomp filter that makes splice, tee, vmsplice,
// sendfile and copy_file_range fail, on every thread, as hardened profiles
// (EPERM) and gVisor-like sandboxes (ENOSYS) do. Copy must fall back without
// losing a byte: every pair delivers everything, as a read/write copy does,
// and with failing destinations written + Unwritten + unread == size
// (TestCopyAccounting).
func TestCopyMatrixUnderSeccomp(t *testing.T) {
	t.Parallel()
	const run = "^(TestCopyMatchesIOCopy|TestPipeReadFrom|TestPipeWriteTo|TestCopyAccounting|TestCopyEmbeddedFDs|TestCopyMultiMatchesIOCopy|TestCopyMultiSameDestinationTwice|TestWriterMatchesBufio|TestWriterFile|TestWriterProbe|TestWriterDeadline)$"
	// One child at a time: each runs its matrix on every core.
	for _, errno := range []syscall.Errno{unix.EPERM, unix.ENOSYS} {
		t.Run(unix.ErrnoName(errno), func(t *testing.T) {
			sb := testutil.Sandbox{Errno: errno, Syscalls: testutil.ZeroCopySyscalls()}
			testutil.RunInSandbox(t, sb, run)
		})
	}
	// Splice refused, sendfile and copy_file_range allowed (podman's profile
	// refuses vmsplice alone; others refuse the pipe calls): a big file →
	// socket copy, which splices through the engine's pipe after its first
	// bytes, must go on by sendfile.
	t.Run("EPERM-pipe-calls", func(t *testing.T) {
		sb := testutil.Sandbox{Errno: unix.EPERM, Syscalls: []string{"splice", "tee", "vmsplice"}}
		testutil.RunInSandbox(t, sb, run)
	})
	// podman's default profile: vmsplice alone refused. A Writer copies, with
	// the same output.
	t.Run("EPERM-vmsplice", func(t *testing.T) {
		sb := testutil.Sandbox{Errno: unix.EPERM, Syscalls: []string{"vmsplice"}}
		testutil.RunInSandbox(t, sb, "^(TestWriterMatchesBufio|TestWriterFile|TestWriterProbe|TestWriterDeadline|TestWriterSmallWrites)$")
	})
}
