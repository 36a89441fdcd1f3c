//go:build !splice_portable

package splice_test

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// wantMultiPaths is how CopyMulti hands the bytes to each destination of dks
// from a source of kind sk, nil where it loops through user space: a pipe is
// teed into, another fd gets a tee into an engine pipe that is spliced on, a
// writer without an fd a tee into an engine pipe that is read and written;
// the last destination without an fd, else the last destination, takes the
// source pipe's bytes instead (splice, or read and write). A pipe is teed into
// only if it can hold a chunk (bigPipes: the test grew them to the engine's
// 1 MiB); else it is treated like any other fd.
func wantMultiPaths(sk testutil.Kind, dks []testutil.Kind, bigPipes bool) []string {
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
		case pipe && bigPipes:
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
			for _, big := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v-%s/big=%v", sk, comboName(dks), big), func(t *testing.T) {
					data := testutil.Data(200000, 1)
					src := testutil.OpenSource(t, sk, data)
					var ws []io.Writer
					for _, dk := range dks {
						w := testutil.OpenSink(t, dk).W
						if big {
							growPipe(t, w, 1<<20)
						}
						ws = append(ws, w)
					}
					last() // forget the last copy's
					if n, err := splice.CopyMulti(src.R, ws...); n != int64(len(data)) || err != nil {
						t.Fatalf("CopyMulti = %d, %v", n, err)
					}
					if got, want := last(), wantMultiPaths(sk, dks, big); !slices.Equal(got, want) {
						t.Errorf("paths %q; want %q", got, want)
					}
				})
			}
		}
	}
	// A LimitedReader with less than 8 KiB to give loops.
	for _, sk := range []testutil.Kind{testutil.LimitedFile, testutil.LimitedOSPipe, testutil.LimitedTCP} {
		t.Run(fmt.Sprintf("%v-small", sk), func(t *testing.T) {
			data := testutil.Data(8<<10-1, 1)
			src := testutil.OpenSource(t, sk, data)
			a, b := testutil.OpenSink(t, testutil.OSPipe), testutil.OpenSink(t, testutil.File)
			last()
			if n, err := splice.CopyMulti(src.R, a.W, b.W); n != int64(len(data)) || err != nil {
				t.Fatalf("CopyMulti = %d, %v", n, err)
			}
			if got := last(); got != nil {
				t.Errorf("paths %q; want the loop", got)
			}
		})
	}
}

// TestCopyMultiShortTee gives CopyMulti a destination pipe that holds a chunk
// but is drained slowly, in pieces of less than a page, so that a tee into it
// comes short or finds it full, and one too small for a chunk: the short tee
// is completed through the destination's own pipe, the small pipe gets its
// copy through its own, and every destination gets every byte in order.
func TestCopyMultiShortTee(t *testing.T) {
	for _, sk := range []testutil.Kind{testutil.File, testutil.OSPipe, testutil.TCP} {
		t.Run(sk.String(), func(t *testing.T) { // not parallel: the path hook is global
			data := testutil.Data(3<<20+11, 21)
			src := testutil.OpenSource(t, sk, data)
			small, slow := testutil.OSPipePair(t)
			growPipe(t, slow, 1<<20)
			got := make(chan []byte, 1)
			go func() {
				var b []byte
				buf := make([]byte, 3000) // less than a page: the pipe stays full
				for {
					n, err := small.Read(buf)
					b = append(b, buf[:n]...)
					if err != nil {
						got <- b
						return
					}
				}
			}()
			other := testutil.OpenSink(t, testutil.OSPipe)
			growPipe(t, other.W, 4096) // too small for a chunk: its own pipe
			file := testutil.OpenSink(t, testutil.File)
			last, stop := splice.WatchMultiPaths()
			defer stop()
			n, err := splice.CopyMulti(src.R, slow, other.W, file.W)
			slow.Close()
			if n != int64(len(data)) || err != nil {
				t.Fatalf("CopyMulti = %d, %v", n, err)
			}
			if paths := last(); !slices.Equal(paths, []string{"tee", "tee+splice", "splice"}) {
				t.Errorf("paths %q", paths)
			}
			testutil.Equal(t, data, <-got)
			testutil.Equal(t, data, other.Bytes())
			testutil.Equal(t, data, file.Bytes())
		})
	}
}

// TestCopyMultiBackPressure copies from a pipe that a writer fills as fast as
// it can into a fast file and a slow reader's pipe: the writer can never get
// further ahead of the slow reader than the pipes hold (the source pipe, the
// engine's, the destination's), so the copy holds no growing buffer.
func TestCopyMultiBackPressure(t *testing.T) {
	const total = 24 << 20
	srcR, srcW := testutil.OSPipePair(t)
	slowR, slowW := testutil.OSPipePair(t)
	file := testutil.OpenSink(t, testutil.File)
	var written, read atomic.Int64
	var ahead atomic.Int64 // the most the writer was ahead of the slow reader
	data := testutil.Data(1<<20, 5)
	go func() {
		for i := 0; i < total/len(data); i++ {
			n, err := srcW.Write(data)
			written.Add(int64(n))
			if d := written.Load() - read.Load(); d > ahead.Load() {
				ahead.Store(d)
			}
			if err != nil {
				break
			}
		}
		srcW.Close()
	}()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 256<<10)
		for {
			n, err := slowR.Read(buf)
			read.Add(int64(n))
			if err != nil {
				done <- err
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	n, err := splice.CopyMulti(srcR, file.W, slowW)
	slowW.Close()
	<-done
	if n != total || err != nil {
		t.Fatalf("CopyMulti = %d, %v; want %d, nil", n, err, total)
	}
	// Pipes of 64 KiB (the source, the slow one) and the engine's own of
	// 1 MiB, plus the writer's last 1 MiB write: well under 4 MiB.
	if a := ahead.Load(); a > 4<<20 {
		t.Errorf("the writer got %d bytes ahead of the slow destination", a)
	}
	t.Logf("the writer was at most %d bytes ahead of the slow destination", ahead.Load())
}

// growPipe sets the size of w's pipe, if w is one; it skips t if the kernel
// grants another size.
func growPipe(t *testing.T, w io.Writer, size int) {
	t.Helper()
	var f *os.File
	switch v := w.(type) {
	case *splice.Pipe:
		f = v.Writer()
	case *os.File:
		f = v
	default:
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var ferr error
	if err := rc.Control(func(fd uintptr) { got, ferr = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) }); err != nil || ferr != nil {
		return // not a pipe (a file, /dev/null)
	}
	rc.Control(func(fd uintptr) { got, ferr = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size) })
	if ferr != nil || got != size {
		t.Skipf("F_SETPIPE_SZ %d: %d, %v", size, got, ferr)
	}
}
