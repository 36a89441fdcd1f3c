package splice_test

import (
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// wantMultiPaths is how CopyMulti hands the bytes to each destination of dks
// from a source of kind sk, nil where it loops through user space: a pipe is
// teed into, another fd gets a tee into an engine pipe that is spliced on, a
// writer without an fd a tee into an engine pipe that is read and written;
// the last destination without an fd, else the last destination, takes the
// source pipe's bytes instead (splice, or read and write).
func wantMultiPaths(sk testutil.Kind, dks []testutil.Kind) []string {
	if !sk.HasFD() {
		return nil
	}
	last, fds := len(dks)-1, 0
	for i, k := range dks {
		if !k.HasFD() {
			last = i
		} else {
			fds++
		}
	}
	if fds == 0 {
		return nil
	}
	var out []string
	for i, k := range dks {
		pipe := k == testutil.OSPipe || k == testutil.Pipe || k == testutil.BlockingPipe
		switch {
		case i == last && k.HasFD():
			out = append(out, "splice")
		case i == last:
			out = append(out, "read/write")
		case pipe:
			out = append(out, "tee")
		case k.HasFD():
			out = append(out, "tee+splice")
		default:
			out = append(out, "tee+read/write")
		}
	}
	return out
}

// TestCopyMultiPaths checks that the kernel path wantMultiPaths promises ran,
// for every source kind into each destination list of the matrix.
func TestCopyMultiPaths(t *testing.T) {
	if _, sandboxed := testutil.Sandboxed(); sandboxed {
		t.Skip("the sandbox refuses the kernel paths")
	}
	last, stop := splice.WatchMultiPaths()
	defer stop()
	for _, sk := range testutil.SourceKinds() {
		for _, dks := range multiCombos {
			t.Run(fmt.Sprintf("%v-%s", sk, comboName(dks)), func(t *testing.T) {
				data := testutil.Data(200000, 1)
				src := testutil.OpenSource(t, sk, data)
				var ws []io.Writer
				for _, dk := range dks {
					ws = append(ws, testutil.OpenSink(t, dk).W)
				}
				last() // forget the last copy's
				if n, err := splice.CopyMulti(src.R, ws...); n != int64(len(data)) || err != nil {
					t.Fatalf("CopyMulti = %d, %v", n, err)
				}
				if got, want := last(), wantMultiPaths(sk, dks); !slices.Equal(got, want) {
					t.Errorf("paths %q; want %q", got, want)
				}
			})
		}
	}
}
