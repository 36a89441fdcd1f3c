//go:build !splice_portable

package splice_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
			data := testutil.Data(size, 1)
			var srcR io.Reader
			if k == testutil.OSPipe {
				// Its end has come before the copy: a pipe that ends
				// while Copy waits for a full dst is a departure (the
				// pump's srcState).
				r, pw := testutil.OSPipePair(t)
				growPipe(t, pw, size)
				if _, err := pw.Write(data); err != nil {
					t.Fatal(err)
				}
				pw.Close()
				srcR = r
			} else {
				srcR = testutil.OpenSource(t, k, data).R
			}
			done := startCopy(name, w, srcR, nil)
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
			// An empty source whose end has come: a pipe's write end is
			// closed before the copy. (One that ends later, while Copy
			// has found dst failing, is a departure: a pipe's readiness is
			// not known for sure, see the pump's srcState.)
			src := func() io.Reader {
				var r, w *os.File
				switch k {
				case testutil.OSPipe:
					r, w = testutil.OSPipePair(t)
				case testutil.BlockingPipe:
					r, w = testutil.BlockingPipePair(t)
				default:
					return testutil.NewSource(t, k, nil)
				}
				w.Close()
				return r
			}
			n0, ioErr := io.Copy(dst(), src())
			n1, err := splice.Copy(dst(), src())
			n2, merr := splice.CopyMulti(src(), dst())
			if n0 != 0 || ioErr != nil || n1 != 0 || err != nil || n2 != 0 || merr != nil {
				t.Errorf("%v, deadline %v: io.Copy = %d, %v; Copy = %d, %v; CopyMulti = %d, %v; want 0, nil from each",
					k, deadline, n0, ioErr, n1, err, n2, merr)
			}
		}
	}
}

// TestCopyProcFileIntoFullPipe: a procfs file says st_size 0 and FIONREAD 0,
// yet has bytes: into a full pipe, Copy must wait for room and deliver them
// all, as io.Copy does (found in review: an end judged by st_size lost them).
func TestCopyProcFileIntoFullPipe(t *testing.T) {
	want, err := os.ReadFile("/proc/version")
	if err != nil || len(want) == 0 {
		t.Skipf("no /proc/version to read: %v", err)
	}
	for _, name := range []string{"io.Copy", "splice.Copy"} {
		r, w := testutil.OSPipePair(t)
		fill := testutil.Data(65536, 2)
		growPipe(t, w, len(fill))
		if _, err := w.Write(fill); err != nil {
			t.Fatal(err)
		}
		src, err := os.Open("/proc/version")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		done := startCopy(name, w, src, func() { w.Close() })
		got, err := io.ReadAll(r)
		res := <-done
		if res.n != int64(len(want)) || res.err != nil || err != nil {
			t.Errorf("%s from /proc/version into a full pipe = %d, %v (read: %v); want %d, nil", name, res.n, res.err, err, len(want))
		}
		testutil.Equal(t, append(fill, want...), got)
	}
}

// TestCopyFromUnwrittenFIFO: a FIFO opened (non-blocking) before any writer
// came polls as not readable, yet read(2) returns its end: Copy from it into
// a pipe that cannot take bytes must not wait for it for ever (found in
// review). io.Copy returns 0, nil; Copy may fail on the pipe as before the
// fixes above, but must return.
func TestCopyFromUnwrittenFIFO(t *testing.T) {
	for _, dstCase := range []string{"no reader", "deadline"} {
		fifo := filepath.Join(t.TempDir(), "fifo")
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		src, err := os.OpenFile(fifo, os.O_RDONLY|unix.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		r, w := testutil.OSPipePair(t)
		if dstCase == "deadline" {
			w.SetWriteDeadline(time.Unix(1, 0))
		} else {
			r.Close()
		}
		done := make(chan error, 1)
		go func() {
			n, err := splice.Copy(w, src)
			if n != 0 {
				err = fmt.Errorf("%d bytes, %v", n, err)
			}
			done <- err
		}()
		select {
		case err := <-done:
			t.Logf("%s: Copy = %v", dstCase, err)
		case <-time.After(time.Minute):
			src.Close()
			w.Close()
			<-done
			t.Errorf("%s: Copy from an unwritten FIFO still waiting after a minute", dstCase)
		}
	}
}

// startCopy runs the named copy ("io.Copy" or "splice.Copy") of src to w in a
// goroutine, then after if it is set; the channel gets the outcome.
func startCopy(name string, w io.Writer, src io.Reader, after func()) <-chan copyResult {
	done := make(chan copyResult, 1)
	go func() {
		copyFn := splice.Copy
		if name == "io.Copy" {
			copyFn = io.Copy
		}
		n, err := copyFn(w, src)
		if after != nil {
			after()
		}
		done <- copyResult{n, err}
	}()
	return done
}
