//go:build !splice_portable

package splice_test

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// TestCopyEndIntoFullPipe: a source that fills an unread pipe exactly, or an
// empty one into a full pipe, ends the copy as io.Copy's read of EOF does;
// splice(2) answers EAGAIN for the full pipe before it looks at the source,
// and the copy once waited for room it did not need (found by FuzzPipe).
func TestCopyEndIntoFullPipe(t *testing.T) {
	size := 65536
	for _, k := range []testutil.Kind{testutil.File, testutil.OSPipe, testutil.TCP} {
		for _, name := range []string{"io.Copy", "splice.Copy"} {
			_, w := testutil.OSPipePair(t)
			growPipe(t, w, size)
			src := testutil.OpenSource(t, k, testutil.Data(size, 1))
			type result struct {
				n   int64
				err error
			}
			done := make(chan result, 1)
			go func() {
				copyFn := splice.Copy
				if name == "io.Copy" {
					copyFn = io.Copy
				}
				n, err := copyFn(w, src.R)
				done <- result{n, err}
			}()
			select {
			case r := <-done:
				if r.n != int64(size) || r.err != nil {
					t.Errorf("%v: %s = %d, %v; want %d, nil", k, name, r.n, r.err, size)
				}
			case <-time.After(time.Minute):
				w.Close()
				<-done
				t.Errorf("%v: %s still waiting after a minute for room it does not need", k, name)
			}
		}
	}
}

// TestCopyEmptyIntoFailingPipe: an empty source into a pipe that cannot be
// written (its reader gone, its write deadline passed): io.Copy reads EOF
// first and returns 0, nil; so must Copy and CopyMulti (found by
// FuzzCopyMulti).
func TestCopyEmptyIntoFailingPipe(t *testing.T) {
	for _, k := range []testutil.Kind{testutil.File, testutil.OSPipe, testutil.TCP, testutil.BlockingPipe} {
		for _, deadline := range []bool{false, true} {
			dst := func() *os.File {
				r, w := testutil.OSPipePair(t)
				if deadline {
					w.SetWriteDeadline(time.Unix(1, 0))
				} else {
					r.Close()
				}
				return w
			}
			n0, ioErr := io.Copy(dst(), testutil.NewSource(t, k, nil))
			n1, err := splice.Copy(dst(), testutil.NewSource(t, k, nil))
			n2, merr := splice.CopyMulti(testutil.NewSource(t, k, nil), dst())
			if n0 != 0 || ioErr != nil || n1 != 0 || err != nil || n2 != 0 || merr != nil {
				t.Errorf("%v, deadline %v: io.Copy = %d, %v; Copy = %d, %v; CopyMulti = %d, %v; want 0, nil from each",
					k, deadline, n0, ioErr, n1, err, n2, merr)
			}
		}
	}
}
