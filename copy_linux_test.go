package splice_test

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// expectedMethod is the path Copy must take from a source of kind sk to a sink
// of kind dk.
func expectedMethod(sk, dk testutil.Kind) splice.Method {
	if !sk.HasFD() || !dk.HasFD() {
		return splice.MethodReadWrite
	}
	srcFile := sk == testutil.File || sk == testutil.LimitedFile
	switch {
	case srcFile && dk == testutil.File:
		return splice.MethodCopyFileRange
	case srcFile && (dk == testutil.TCP || dk == testutil.Unix):
		return splice.MethodSendfile
	}
	return splice.MethodSplice
}

// checkMethod requires Plan to name the expected path and that path to have
// handled the copy, so that a silent fallback cannot pass as zero-copy.
func checkMethod(t *testing.T, dst io.Writer, src io.Reader, sk, dk testutil.Kind) {
	t.Helper()
	want := expectedMethod(sk, dk)
	if got := splice.Plan(dst, src); got != want {
		t.Errorf("Plan = %v, want %v", got, want)
	}
	var runs []splice.MethodRun
	if want != splice.MethodReadWrite {
		runs = []splice.MethodRun{{Method: want, Handled: true}}
	}
	if diff := cmp.Diff(runs, splice.MethodsRun(dst)); diff != "" {
		t.Errorf("kernel paths run (-want +got):\n%s", diff)
	}
}

// checkNoKernelPath requires that no kernel path ran.
func checkNoKernelPath(t *testing.T, dst io.Writer) {
	t.Helper()
	if runs := splice.MethodsRun(dst); len(runs) != 0 {
		t.Errorf("with splice disabled, kernel paths ran: %v", runs)
	}
}
