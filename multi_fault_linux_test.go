//go:build !splice_portable

package splice_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// A failingDest is a destination that fails once it has taken at least off
// bytes: w to hand to the copy, got for the bytes that reached its far side
// (a prefix of what it accepted), and the errors it may fail with.
type failingDest struct {
	w     io.Writer
	got   func() []byte
	exact bool // got is all it accepted
	is    []error
}

// failingDests builds destinations that fail after off bytes, by kind of
// failure.
var failingDests = map[string]func(t *testing.T, off int) failingDest{
	// A writer without an fd that fails (the copy reads its bytes out of a
	// pipe).
	"writer": func(t *testing.T, off int) failingDest {
		w := &testutil.FailWriter{Limit: off}
		return failingDest{w: w, got: w.Bytes, exact: true, is: []error{testutil.ErrInjected}}
	},
	// A pipe whose reader reads off bytes and goes: EPIPE.
	"pipe-reader-gone": func(t *testing.T, off int) failingDest {
		r, w := testutil.OSPipePair(t)
		return failingDest{w: w, got: readThenDo(t, r, off, func() { r.Close() }), is: []error{syscall.EPIPE}}
	},
	// A TCP socket whose peer reads off bytes and resets the connection.
	"tcp-reset": func(t *testing.T, off int) failingDest {
		a, b := testutil.TCPPair(t)
		// Buffers too small for the rest of the copy: it cannot end
		// before the reset.
		a.SetWriteBuffer(64 << 10)
		b.SetReadBuffer(64 << 10)
		return failingDest{w: a, got: readThenDo(t, b, off, func() { b.SetLinger(0); b.Close() }),
			is: []error{syscall.ECONNRESET, syscall.EPIPE}}
	},
	// A TCP socket with a write deadline whose peer stops reading after off
	// bytes.
	"tcp-deadline": func(t *testing.T, off int) failingDest {
		a, b := testutil.TCPPair(t)
		a.SetWriteBuffer(64 << 10)
		b.SetReadBuffer(64 << 10)
		a.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		got := readThenDo(t, b, off, func() {})
		// On a loaded machine the deadline may pass before the copy writes
		// off bytes here: closing a, once the copy has returned, ends the
		// peer's read with what came.
		return failingDest{w: a, got: func() []byte { a.Close(); return got() }, is: []error{os.ErrDeadlineExceeded}}
	},
	// /dev/full, which refuses splice and fails every write with ENOSPC.
	"devfull": func(t *testing.T, off int) failingDest {
		f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Skipf("no /dev/full: %v", err)
		}
		t.Cleanup(func() { f.Close() })
		return failingDest{w: f, got: func() []byte { return nil }, exact: true, is: []error{syscall.ENOSPC}}
	},
}

// readThenDo reads off bytes from r in a goroutine, then calls then, and
// keeps r open (unread) until the test ends. The function it returns waits
// for the bytes read.
func readThenDo(t *testing.T, r io.Reader, off int, then func()) func() []byte {
	buf := make([]byte, off)
	done := make(chan int, 1)
	go func() {
		n, _ := io.ReadFull(r, buf)
		then()
		done <- n
	}()
	var once sync.Once
	var n int
	return func() []byte {
		once.Do(func() {
			select {
			case n = <-done:
			case <-time.After(30 * time.Second):
				// The copy has returned: what did not come by now never will.
				t.Errorf("readThenDo: the destination's reader is still waiting for %d bytes", off)
				n = 0
			}
		})
		return buf[:n]
	}
}

// TestCopyMultiFailingDestination puts one failing destination among a file,
// a pipe, a buffer and a TCP socket, at each position, failing early or
// mid-way, from a file, a pipe and a TCP socket, with and without DropFailed
// and with splice disabled: the error is a *DestError naming it, around the
// error its Write gives (the one io.Copy over an io.MultiWriter returns);
// every other destination has exactly the returned count of bytes (all of
// them with DropFailed), and the failed one exactly its Written.
func TestCopyMultiFailingDestination(t *testing.T) {
	t.Parallel()
	size := testutil.BigSize
	if testing.Short() || raceEnabled {
		size = 1<<20 + 5
	}
	survivors := []testutil.Kind{testutil.File, testutil.OSPipe, testutil.Buffer, testutil.TCP}
	for name, mk := range failingDests {
		for _, off := range []int{0, 1, 300000} {
			for _, pos := range []int{0, 2, len(survivors)} {
				for _, sk := range []testutil.Kind{testutil.File, testutil.OSPipe, testutil.TCP} {
					for _, c := range []*splice.Copier{{}, {DropFailed: true}, {DisableSplice: true}, {DisableSplice: true, DropFailed: true}} {
						t.Run(fmt.Sprintf("%s@%d/pos=%d/%v/drop=%v,disable=%v", name, off, pos, sk, c.DropFailed, c.DisableSplice), func(t *testing.T) {
							t.Parallel()
							runFailingDest(t, c, sk, survivors, pos, mk(t, off), size)
						})
					}
				}
			}
		}
	}
}

func runFailingDest(t *testing.T, c *splice.Copier, sk testutil.Kind, survivors []testutil.Kind, pos int, fd failingDest, size int) {
	data := testutil.Data(size, 77)
	src := testutil.OpenSource(t, sk, data)
	var sinks []*testutil.Sink
	var ws []io.Writer
	for i, k := range survivors {
		if i == pos {
			ws = append(ws, fd.w)
		}
		s := testutil.OpenSink(t, k)
		sinks = append(sinks, s)
		ws = append(ws, s.W)
	}
	if pos == len(survivors) {
		ws = append(ws, fd.w)
	}
	n, err := c.CopyMulti(src.R, ws...)
	var de *splice.DestError
	if !errors.As(err, &de) || de.Index != pos {
		t.Fatalf("CopyMulti = %d, %v; want a *DestError for index %d", n, err, pos)
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		t.Errorf("error joins %d errors, want one *DestError: %v", len(joined.Unwrap()), err)
	}
	matched := false
	for _, e := range fd.is {
		matched = matched || errors.Is(err, e)
	}
	if !matched {
		t.Errorf("error %v is none of %v", err, fd.is)
	}
	if wantOp(t, de.Err) != "write" {
		t.Errorf("DestError.Err = %#v; want the shape of a Write's error", de.Err)
	}
	if de.Written > n {
		t.Errorf("failed destination's Written %d > count %d", de.Written, n)
	}
	if c.DropFailed && n != int64(size) {
		t.Errorf("DropFailed: count %d; want all %d", n, size)
	}
	for i, s := range sinks {
		if s.Kind.Discards() {
			continue
		}
		if got := s.Bytes(); !testutil.Equal(t, data[:n], got) {
			t.Errorf("survivor %d (%v) differs from the first %d bytes", i, s.Kind, n)
		}
	}
	got := fd.got()
	if fd.exact && int64(len(got)) != de.Written || int64(len(got)) > de.Written {
		t.Errorf("failed destination got %d bytes; Written says %d", len(got), de.Written)
	}
	testutil.Equal(t, data[:len(got)], got)
}

// wantOp returns the Op of err's *os.PathError or *net.OpError, "write" for a
// writer's own error.
func wantOp(t *testing.T, err error) string {
	var pe *os.PathError
	var oe *net.OpError
	switch {
	case errors.As(err, &oe):
		return oe.Op
	case errors.As(err, &pe):
		return pe.Op
	case errors.Is(err, testutil.ErrInjected):
		return "write"
	}
	return fmt.Sprintf("%T", err)
}

// TestCopyMultiAllFail fails every destination: with DropFailed the copy
// stops once the last one failed, and the error joins one *DestError each.
func TestCopyMultiAllFail(t *testing.T) {
	for _, c := range []*splice.Copier{{DropFailed: true}, {DropFailed: true, DisableSplice: true}, {}} {
		t.Run(fmt.Sprintf("drop=%v,disable=%v", c.DropFailed, c.DisableSplice), func(t *testing.T) {
			data := testutil.Data(3<<20, 5)
			src := testutil.OpenSource(t, testutil.File, data)
			a := failingDests["pipe-reader-gone"](t, 100000)
			b := &testutil.FailWriter{Limit: 3 << 19}
			d := failingDests["writer"](t, 700000)
			n, err := c.CopyMulti(src.R, a.w, b, d.w)
			var idx []int
			var walk func(error)
			walk = func(e error) {
				if de, ok := e.(*splice.DestError); ok {
					idx = append(idx, de.Index)
					return
				}
				if j, ok := e.(interface{ Unwrap() []error }); ok {
					for _, e := range j.Unwrap() {
						walk(e)
					}
				}
			}
			walk(err)
			if !c.DropFailed {
				// Those that failed with the chunk in hand, in
				// Index order: destination 0 first.
				if len(idx) == 0 || idx[0] != 0 || !slices.IsSorted(idx) {
					t.Fatalf("CopyMulti = %d, %v; want *DestErrors in Index order, from index 0", n, err)
				}
				return
			}
			if len(idx) != 3 {
				t.Fatalf("CopyMulti = %d, %v; want three *DestErrors", n, err)
			}
			if n >= int64(len(data)) {
				t.Errorf("count %d: the copy went on with every destination failed", n)
			}
			testutil.Equal(t, data[:len(b.Bytes())], b.Bytes())
		})
	}
}

// TestCopyMultiSourceFails resets a TCP source mid-way: the error is the one
// io.Copy over an io.MultiWriter reports, no *DestError, and every
// destination has exactly the returned count of bytes.
func TestCopyMultiSourceFails(t *testing.T) {
	for _, c := range []*splice.Copier{{}, {DisableSplice: true}} {
		t.Run(fmt.Sprintf("disable=%v", c.DisableSplice), func(t *testing.T) {
			shapes := map[string]string{}
			for _, impl := range []string{"io", "splice"} {
				data := testutil.Data(1<<20, 8)
				conn, peer := testutil.TCPPair(t)
				go func() {
					peer.Write(data)
					time.Sleep(50 * time.Millisecond)
					peer.SetLinger(0)
					peer.Close()
				}()
				var sinks []*testutil.Sink
				var ws []io.Writer
				for _, k := range []testutil.Kind{testutil.File, testutil.OSPipe, testutil.Buffer} {
					s := testutil.OpenSink(t, k)
					sinks = append(sinks, s)
					ws = append(ws, s.W)
				}
				var n int64
				var err error
				if impl == "io" {
					n, err = ioMulti(conn, ws...)
				} else {
					n, err = c.CopyMulti(conn, ws...)
				}
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Fatalf("%s: %d, %v; want ECONNRESET", impl, n, err)
				}
				var de *splice.DestError
				if errors.As(err, &de) {
					t.Errorf("%s: a source failure as a *DestError: %v", impl, err)
				}
				for _, s := range sinks {
					testutil.Equal(t, data[:n], s.Bytes())
				}
				shapes[impl] = errShapeOf(err).summary()
			}
			if shapes["io"] != shapes["splice"] {
				t.Errorf("error\n%s\nwant, as io.Copy over io.MultiWriter,\n%s", shapes["splice"], shapes["io"])
			}
		})
	}
}

// TestCopyMultiRefused makes the kernel refuse tee(2) (the first call is the
// check before any byte moves; later ones refuse mid-way) or splice into the
// engine's pipe: every byte still reaches every destination, by read and
// write from where the kernel stopped.
func TestCopyMultiRefused(t *testing.T) {
	for _, tc := range []struct {
		stage string
		nth   int
		errno syscall.Errno
	}{
		{"tee", 1, syscall.EPERM}, {"tee", 1, syscall.ENOSYS},
		{"tee", 2, syscall.EINVAL}, {"tee", 3, syscall.EINVAL}, {"tee", 7, syscall.EPERM},
		{"in", 1, syscall.EINVAL}, {"in", 2, syscall.EOPNOTSUPP},
		{"out", 1, syscall.EINVAL}, {"out", 3, syscall.EINVAL},
	} {
		for _, sk := range []testutil.Kind{testutil.File, testutil.OSPipe, testutil.TCP} {
			dks := []testutil.Kind{testutil.OSPipe, testutil.File, testutil.Pipe, testutil.TCP, testutil.Writer}
			t.Run(fmt.Sprintf("%s#%d=%v/%v", tc.stage, tc.nth, tc.errno, sk), func(t *testing.T) {
				data := testutil.Data(3<<20+7, 11)
				last, stop := splice.WatchMultiPaths()
				defer stop()
				restore := splice.InjectErrno(tc.stage, tc.nth, tc.errno)
				got := observeMulti(t, splice.CopyMulti, sk, dks, data)
				restore()
				// Refused before any byte moved, the copy loops; else
				// the kernel path ran up to the refusal.
				if paths := last(); (paths == nil) != (tc.stage == "tee" && tc.nth == 1) {
					t.Errorf("kernel paths %q after the refusal", paths)
				}
				if got.N != int64(len(data)) || got.Err != nil {
					t.Fatalf("CopyMulti = %d, %v; want %d, nil", got.N, got.Err, len(data))
				}
				for i, b := range got.Bytes {
					if b != digest(data) {
						t.Errorf("destination %d (%v) got %s; want %s", i, dks[i], b, digest(data))
					}
				}
			})
		}
	}
}

// TestCopyMultiSrcDeadlineMidChunk sets a read deadline on a source pipe that
// fires while a slow destination still takes a chunk already handed to the
// others: the deadline bounds waiting for src, and there is none once the
// chunk is in the pipe, so every destination ends at the returned count.
func TestCopyMultiSrcDeadlineMidChunk(t *testing.T) {
	t.Parallel()
	data := testutil.Data(4<<20, 1)
	sr, sw := testutil.OSPipePair(t)
	go func() { sw.Write(data) }()
	sr.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	file := testutil.OpenSink(t, testutil.File)
	pr, pw := testutil.OSPipePair(t)
	got := make(chan []byte, 1)
	go func() { // a slow consumer
		var b []byte
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				got <- b
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	n, err := splice.CopyMulti(sr, file.W, pw)
	pw.Close()
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("CopyMulti = %d, %v; want the source's deadline", n, err)
	}
	testutil.Equal(t, data[:n], file.Bytes())
	testutil.Equal(t, data[:n], <-got)
}

// TestCopyMultiSameDestinationThrice lists a pipe three times, from a file:
// every chunk arrives three times in a row, whole, however the reader keeps
// up (a short tee into it is completed before the next copy of the chunk).
func TestCopyMultiSameDestinationThrice(t *testing.T) {
	t.Parallel()
	for i := 0; i < 20; i++ {
		data := testutil.Data(3<<20, uint64(i))
		src := testutil.OpenSource(t, testutil.File, data)
		sink := testutil.OpenSink(t, testutil.OSPipe)
		growPipe(t, sink.W, 1<<20)
		if n, err := splice.CopyMulti(src.R, sink.W, sink.W, sink.W); n != int64(len(data)) || err != nil {
			t.Fatalf("CopyMulti = %d, %v", n, err)
		}
		checkRepeated(t, data, sink.Bytes(), 3)
	}
}

// hookConn is a destination whose RawConn runs hook once, before its first
// write callback.
type hookConn struct {
	f    *os.File
	once sync.Once
	hook func()
}

func (h *hookConn) Write(p []byte) (int, error) { return h.f.Write(p) }
func (h *hookConn) SyscallConn() (syscall.RawConn, error) {
	rc, err := h.f.SyscallConn()
	return hookRaw{rc, h}, err
}

type hookRaw struct {
	syscall.RawConn
	h *hookConn
}

func (r hookRaw) Write(fn func(uintptr) bool) error {
	r.h.once.Do(r.h.hook)
	return r.RawConn.Write(fn)
}

// drainingConn is a hookConn writing to w whose hook empties the pipe src,
// as another reader of it would.
func drainingConn(src, w *os.File) *hookConn {
	var fd int
	rc, _ := src.SyscallConn()
	rc.Control(func(u uintptr) { fd = int(u) })
	return &hookConn{f: w, hook: func() {
		buf := make([]byte, 1<<16)
		for {
			if n, _ := syscall.Read(fd, buf); n <= 0 {
				return
			}
		}
	}}
}

// TestCopyMultiSourceReadElsewhere empties the source pipe from elsewhere
// mid-chunk (a destination's RawConn does it): CopyMulti fails with a clear
// error, and neither panics nor pools a pipe holding bytes.
func TestCopyMultiSourceReadElsewhere(t *testing.T) {
	sr, sw := testutil.OSPipePair(t)
	sw.Write(testutil.Data(10000, 1))
	sw.Close()
	_, xw := testutil.OSPipePair(t)
	x := drainingConn(sr, xw)
	f1, f2 := testutil.OpenSink(t, testutil.File), testutil.OpenSink(t, testutil.File)
	n, err := splice.CopyMulti(sr, f1.W, f2.W, x) // x is the consumer
	if err == nil {
		t.Errorf("CopyMulti = %d, nil; want an error", n)
	}
	if pipes, bytes := splice.PooledPipeBytes(); bytes != 0 {
		t.Errorf("the pool holds %d pipes with %d bytes", pipes, bytes)
	}
}

// TestCopyMultiConsumerFailsPoolsNothing fails the splice out of the engine's
// source pipe: the destination is blamed (the engine's pipe cannot fail), and
// the pipe, which held the chunk, is not pooled dirty.
func TestCopyMultiConsumerFailsPoolsNothing(t *testing.T) {
	splice.DrainPipePool()
	data := testutil.Data(3<<20, 9)
	src := testutil.OpenSource(t, testutil.File, data)
	file, pipe := testutil.OpenSink(t, testutil.File), testutil.OpenSink(t, testutil.OSPipe)
	restore := splice.InjectErrno("out", 1, syscall.EIO)
	n, err := splice.CopyMulti(src.R, file.W, pipe.W)
	restore()
	var de *splice.DestError
	if !errors.As(err, &de) || !errors.Is(err, syscall.EIO) {
		t.Errorf("CopyMulti = %d, %v; want a *DestError around EIO", n, err)
	}
	if pipes, bytes := splice.PooledPipeBytes(); bytes != 0 {
		t.Errorf("the pool holds %d pipes with %d bytes", pipes, bytes)
	}
	testutil.Equal(t, data[:n], file.Bytes())
	splice.DrainPipePool()
}

// TestCopyMultiPipeDestinationClosed closes a *splice.Pipe destination during
// the copy: its DestError says os.ErrClosed, as the Pipe's own Write does.
func TestCopyMultiPipeDestinationClosed(t *testing.T) {
	t.Parallel()
	for i := 0; i < 10; i++ {
		for _, sk := range []testutil.Kind{testutil.File, testutil.OSPipe} {
			src := testutil.OpenSource(t, sk, testutil.Data(4<<20, 6))
			p, err := splice.NewPipe()
			if err != nil {
				t.Fatal(err)
			}
			f := testutil.OpenSink(t, testutil.File)
			go func() { time.Sleep(20 * time.Millisecond); p.Close() }()
			_, err = splice.CopyMulti(src.R, p, f.W)
			var de *splice.DestError
			if errors.As(err, &de) && !errors.Is(de.Err, os.ErrClosed) {
				t.Errorf("%v: DestError.Err = %v; want os.ErrClosed", sk, de.Err)
			}
		}
	}
}

// TestCopyMultiSourceDrainedWriterOpen empties the source pipe from elsewhere
// mid-chunk while its writer stays open: CopyMulti fails, and does not spin.
func TestCopyMultiSourceDrainedWriterOpen(t *testing.T) {
	sr, sw := testutil.OSPipePair(t)
	sw.Write(testutil.Data(10000, 1)) // sw stays open
	xr, xw := testutil.OSPipePair(t)
	go io.Copy(io.Discard, xr)
	x := drainingConn(sr, xw)
	f1, f2 := testutil.OpenSink(t, testutil.File), testutil.OpenSink(t, testutil.File)
	done := make(chan error, 1)
	go func() {
		_, err := splice.CopyMulti(sr, f1.W, f2.W, x)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("CopyMulti = nil; want an error")
		}
	case <-time.After(5 * time.Second):
		sw.Close()
		<-done
		t.Errorf("CopyMulti did not return within 5 s")
	}
}

// TestCopyMultiSingleDestinationFails fails the only destination of a copy
// from a pipe: a *DestError, as from the loop.
func TestCopyMultiSingleDestinationFails(t *testing.T) {
	for _, name := range []string{"pipe-reader-gone", "tcp-reset", "tcp-deadline"} {
		for _, disable := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/disable=%v", name, disable), func(t *testing.T) {
				t.Parallel()
				src := testutil.OpenSource(t, testutil.OSPipe, testutil.Data(4<<20, 1))
				fd := failingDests[name](t, 100000)
				n, err := (&splice.Copier{DisableSplice: disable}).CopyMulti(src.R, fd.w)
				var de *splice.DestError
				if !errors.As(err, &de) || de.Index != 0 || de.Written > n {
					t.Errorf("CopyMulti = %d, %v; want a *DestError for index 0 with Written <= %d", n, err, n)
				}
			})
		}
	}
}

// TestCopyMultiOwnTeeFails fails the tee into a destination's own pipe (from
// the engine's source pipe): that destination is named, and every other has
// exactly the count.
func TestCopyMultiOwnTeeFails(t *testing.T) {
	data := testutil.Data(3<<20, 5)
	src := testutil.OpenSource(t, testutil.File, data)
	sinks := []*testutil.Sink{testutil.OpenSink(t, testutil.File), testutil.OpenSink(t, testutil.File), testutil.OpenSink(t, testutil.File)}
	restore := splice.InjectErrno("tee", 2, syscall.EIO) // #1 is the check, #2 into destination 0's own pipe
	n, err := (&splice.Copier{DropFailed: true}).CopyMulti(src.R, sinks[0].W, sinks[1].W, sinks[2].W)
	restore()
	var de *splice.DestError
	if !errors.As(err, &de) || de.Index != 0 || !errors.Is(err, syscall.EIO) || n != int64(len(data)) {
		t.Fatalf("CopyMulti = %d, %v; want all %d bytes and a *DestError for index 0", n, err, len(data))
	}
	testutil.Equal(t, data[:de.Written], sinks[0].Bytes())
	testutil.Equal(t, data, sinks[1].Bytes())
	testutil.Equal(t, data, sinks[2].Bytes())
}

// TestCopyMultiProgressEnds checks that Progress ends at the count, also when
// every destination failed, and that a kernel refusal in the round that
// stopped the copy does not go on by read and write.
func TestCopyMultiProgressEnds(t *testing.T) {
	for _, disable := range []bool{false, true} {
		data := testutil.Data(3<<20, 4)
		src := testutil.OpenSource(t, testutil.File, data)
		var last int64
		c := &splice.Copier{DisableSplice: disable, DropFailed: true, Progress: func(n int64) { last = n }}
		a, b := &testutil.FailWriter{Limit: 200}, &testutil.FailWriter{Limit: 1<<20 + 100}
		f := failingDests["pipe-reader-gone"](t, 1<<20+5000)
		n, err := c.CopyMulti(src.R, a, f.w, b)
		if err == nil || last != n {
			t.Errorf("disable=%v: CopyMulti = %d, %v; last Progress %d", disable, n, err, last)
		}
	}
	data := testutil.Data(3<<20, 4)
	src := testutil.OpenSource(t, testutil.File, data)
	f1, f2 := testutil.OpenSink(t, testutil.File), testutil.OpenSink(t, testutil.File)
	w := &testutil.FailWriter{Limit: 100} // the consumer
	calls := 0
	c := &splice.Copier{Progress: func(int64) { calls++ }}
	restore := splice.InjectErrno("tee", 3, syscall.EINVAL) // #1 the check, #2 f1, #3 f2
	n, err := c.CopyMulti(src.R, f1.W, f2.W, w)
	restore()
	var de *splice.DestError
	if !errors.As(err, &de) || de.Index != 2 || calls != 1 {
		t.Errorf("CopyMulti = %d, %v after %d Progress calls; want destination 2's failure after the first chunk", n, err, calls)
	}
	testutil.Equal(t, data[:n], f1.Bytes())
	testutil.Equal(t, data[:n], f2.Bytes())
}
