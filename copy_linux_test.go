package splice_test

import (
	"io"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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

func watchMethods(dst io.Writer) { splice.WatchMethods(dst) }

// checkMethod requires Plan to name the expected path and that path to have
// handled the copy of size bytes, so that a silent fallback cannot pass as
// zero-copy. The kernel must have moved every byte, but from a pipe, where
// chunks under 8 KiB go by read and write: from those it must have moved most
// of a megabyte.
func checkMethod(t *testing.T, dst io.Writer, src io.Reader, sk, dk testutil.Kind, size int) {
	t.Helper()
	want := expectedMethod(sk, dk)
	if got := splice.Plan(dst, src); got != want {
		t.Errorf("Plan = %v, want %v", got, want)
	}
	var runs []splice.MethodRun
	if want != splice.MethodReadWrite {
		runs = []splice.MethodRun{{Method: want, Handled: true}}
		if sk == testutil.File && (want == splice.MethodSendfile || want == splice.MethodCopyFileRange) && emptyFile(src) {
			// A first sendfile or copy_file_range that moves nothing may be
			// procfs's way of saying "use read": Copy reads to be sure.
			runs[0].Handled = false
		}
	}
	got := splice.MethodsRun(dst)
	if diff := cmp.Diff(runs, got, cmpopts.IgnoreFields(splice.MethodRun{}, "Kernel")); diff != "" {
		t.Errorf("kernel paths run (-want +got):\n%s", diff)
		return
	}
	if len(got) == 0 {
		return
	}
	switch kernel := got[0].Kernel; sk {
	case testutil.OSPipe, testutil.Pipe, testutil.BlockingPipe, testutil.LimitedOSPipe:
		if kernel > int64(size) || size >= 1<<20 && kernel < int64(size)/2 {
			t.Errorf("the kernel moved %d of %d bytes from a pipe; want most of them", kernel, size)
		}
	default:
		if kernel != int64(size) {
			t.Errorf("the kernel moved %d of %d bytes; want all", kernel, size)
		}
	}
}

// emptyFile reports whether src is a file of size 0.
func emptyFile(src io.Reader) bool {
	f, ok := src.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Size() == 0
}

// checkNoKernelPath requires that no kernel path ran.
func checkNoKernelPath(t *testing.T, dst io.Writer) {
	t.Helper()
	if runs := splice.MethodsRun(dst); len(runs) != 0 {
		t.Errorf("with splice disabled, kernel paths ran: %v", runs)
	}
}

// Copy on the splice path allocates nothing in steady state (io.Copy allocates a
// 32 KiB buffer per call). Not parallel: AllocsPerRun counts the whole process.
func TestCopyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops items at random: allocations are expected")
	}
	const size = 4096
	data := testutil.Data(size, 50)
	buf := make([]byte, size)
	tcpA, tcpB := testutil.TCPPair(t)
	tcpC, tcpD := testutil.TCPPair(t)
	r1, w1 := testutil.OSPipePair(t)
	r2, w2 := testutil.OSPipePair(t)
	file := testutil.TempFile(t, data)
	p := newPipe(t)
	for _, tc := range []struct {
		name     string
		feed     func()
		dst      io.Writer
		src      io.Reader
		collect  io.Reader
		wantPlan splice.Method
	}{
		{"pipe-pipe", func() { w1.Write(data) }, w2, r1, r2, splice.MethodSplice},
		{"tcp-tcp", func() { tcpB.Write(data) }, tcpC, tcpA, tcpD, splice.MethodSplice},
		{"tcp-splicepipe", func() { tcpB.Write(data) }, p, tcpA, p, splice.MethodSplice},
		{"file-tcp", func() { file.Seek(0, io.SeekStart) }, tcpC, file, tcpD, splice.MethodSendfile},
	} {
		if got := splice.Plan(tc.dst, tc.src); got != tc.wantPlan {
			t.Errorf("%s: Plan = %v, want %v", tc.name, got, tc.wantPlan)
		}
		var failed error
		run := func() {
			tc.feed()
			if _, err := splice.CopyN(tc.dst, tc.src, size); err != nil {
				failed = err
				return
			}
			if _, err := io.ReadFull(tc.collect, buf); err != nil {
				failed = err
			}
		}
		run() // warm the pools
		allocs := testing.AllocsPerRun(100, run)
		if failed != nil {
			t.Fatalf("%s: %v", tc.name, failed)
		}
		if allocs != 0 {
			t.Errorf("%s: CopyN allocates %v times per call, want 0", tc.name, allocs)
		}
		testutil.Equal(t, data, buf)
	}
}

// A destination opened with O_APPEND: splice and copy_file_range refuse it, so
// Copy must take the read/write path and append exactly as io.Copy does.
func TestCopyToAppendFile(t *testing.T) {
	t.Parallel()
	data := testutil.Data(300001, 51)
	for _, sk := range []testutil.Kind{testutil.File, testutil.OSPipe, testutil.TCP, testutil.Pipe} {
		t.Run(sk.String(), func(t *testing.T) {
			t.Parallel()
			f := appendFile(t, "head:")
			src := testutil.OpenSource(t, sk, data)
			if got := splice.Plan(f, src.R); got != splice.MethodReadWrite {
				t.Errorf("Plan = %v, want read/write", got)
			}
			n, err := splice.Copy(f, src.R)
			if err != nil || n != int64(len(data)) {
				t.Fatalf("Copy = %d, %v", n, err)
			}
			got, _ := os.ReadFile(f.Name())
			testutil.Equal(t, append([]byte("head:"), data...), got)
		})
	}
}
