package splice_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// bufferedWriter is what Writer and bufio.Writer have in common.
type bufferedWriter interface {
	io.Writer
	io.StringWriter
	io.ByteWriter
	Flush() error
	Buffered() int
	Available() int
}

// writeStream writes data to w in chunks of random sizes, 1 B to maxChunk
// (log-uniform, so that most are small and most bytes go in big ones), by
// Write, WriteString and WriteByte, with a Flush now and then. It returns the
// number of chunks, and fails t if w reports an error or a count other than
// the chunk's, or if Buffered and Available disagree with the bytes written.
func writeStream(t testing.TB, w bufferedWriter, data []byte, seed uint64, maxChunk int) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	chunks := 0
	for len(data) > 0 {
		n := min(len(data), logUniform(rng, maxChunk))
		before := w.Buffered()
		var err error
		switch op := rng.IntN(16); {
		case op == 0:
			err = w.WriteByte(data[0])
			n = 1
		case op < 4:
			var m int
			m, err = w.WriteString(string(data[:n]))
			if err == nil && m != n {
				err = fmt.Errorf("WriteString returned %d for %d bytes", m, n)
			}
		default:
			var m int
			m, err = w.Write(data[:n])
			if err == nil && m != n {
				err = fmt.Errorf("Write returned %d for %d bytes", m, n)
			}
		}
		if err != nil {
			t.Fatalf("chunk %d (%d bytes): %v", chunks, n, err)
		}
		if b := w.Buffered(); b > before+n || w.Available() < 0 {
			t.Fatalf("chunk %d (%d bytes): Buffered %d (was %d), Available %d", chunks, n, b, before, w.Available())
		}
		if rng.IntN(64) == 0 {
			if err := w.Flush(); err != nil {
				t.Fatalf("Flush after chunk %d: %v", chunks, err)
			}
			if b := w.Buffered(); b != 0 {
				t.Fatalf("Buffered after Flush: %d", b)
			}
		}
		data = data[n:]
		chunks++
	}
	return chunks
}

// logUniform returns a size from 1 to max whose logarithm is uniform.
func logUniform(rng *rand.Rand, max int) int {
	bits := rng.IntN(64 - 1 - leadingZeros(uint64(max)) + 1)
	n := 1<<bits + rng.IntN(1<<bits)
	return min(n, max)
}

func leadingZeros(x uint64) int {
	n := 0
	for i := 63; i >= 0 && x&(1<<i) == 0; i-- {
		n++
	}
	return n
}

// wantWriterMethod is the path a Writer should take to a sink of kind k.
func wantWriterMethod(k testutil.Kind) splice.Method {
	if !spliceSupported { // the portable implementation
		return splice.MethodReadWrite
	}
	if sb, ok := testutil.Sandboxed(); ok {
		if sb.Refuses("vmsplice") || k == testutil.File && sb.Refuses("splice") {
			return splice.MethodReadWrite
		}
	}
	switch k {
	case testutil.File, testutil.OSPipe, testutil.Pipe, testutil.BlockingPipe:
		return splice.MethodVmsplice
	}
	return splice.MethodReadWrite
}

// TestWriterMatchesBufio writes the same stream through a Writer and through a
// bufio.Writer of the same buffer size, into every sink kind, and checks that
// both deliver exactly the stream, and the path the Writer took.
func TestWriterMatchesBufio(t *testing.T) {
	size := 8 << 20
	if testing.Short() {
		size = 1 << 20
	}
	data := testutil.Data(size+13, 1)
	for _, k := range testutil.SinkKinds() {
		for _, pipeSize := range []int{0, 4096, 64 << 10} {
			t.Run(fmt.Sprintf("%v/pipe=%d", k, pipeSize), func(t *testing.T) {
				t.Parallel()
				sink := testutil.OpenSink(t, k)
				w, err := splice.NewWriterSize(sink.W, pipeSize)
				if err != nil {
					t.Fatal(err)
				}
				writeStream(t, w, data, uint64(pipeSize)+2, 300<<10)
				if m, want := w.Method(), wantWriterMethod(k); m != want {
					t.Errorf("Method() = %v, want %v", m, want)
				}
				if err := w.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if !k.Discards() {
					testutil.Equal(t, data, sink.Bytes())
				}

				bsink := testutil.OpenSink(t, k)
				bsize := pipeSize
				if bsize == 0 {
					bsize = min(1<<20, splice.MaxPipeSize())
				}
				bw := bufio.NewWriterSize(bsink.W, bsize)
				writeStream(t, bw, data, uint64(pipeSize)+2, 300<<10)
				if err := bw.Flush(); err != nil {
					t.Fatal(err)
				}
				if !k.Discards() {
					testutil.Equal(t, data, bsink.Bytes())
				}
			})
		}
	}
}

// TestWriterSmallWrites writes a million log-line-sized chunks into a pipe.
func TestWriterSmallWrites(t *testing.T) {
	t.Parallel()
	n := 1 << 20 // about 150 MB
	if testing.Short() {
		n = 1 << 16
	} else if raceEnabled {
		// The sink's io.ReadAll of 150 MB under the race detector, beside
		// the other packages' race runs, once took more than the sink's
		// 10 s to finish after the write end closed.
		n = 1 << 18
	}
	rng := rand.New(rand.NewPCG(3, 3))
	sizes := make([]int, n)
	total := 0
	for i := range sizes {
		sizes[i] = 1 + rng.IntN(300)
		total += sizes[i]
	}
	data := testutil.Data(total, 3)
	for _, k := range []testutil.Kind{testutil.OSPipe, testutil.File, testutil.Writer} {
		t.Run(k.String(), func(t *testing.T) {
			sink := testutil.OpenSink(t, k)
			w, err := splice.NewWriter(sink.W)
			if err != nil {
				t.Fatal(err)
			}
			off := 0
			for _, s := range sizes {
				if _, err := w.Write(data[off : off+s]); err != nil {
					t.Fatal(err)
				}
				off += s
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			testutil.Equal(t, data, sink.Bytes())
		})
	}
}

// call is one call of a Writer's or a bufio.Writer's, and what it returned.
type call struct {
	Op        string
	N         int
	Err       string
	Buffered  int
	Available int
}

// TestWriterErrorsAsBufio runs the same calls on a Writer and on a bufio.Writer
// of the same size, on the copying path, into destinations that fail after
// some bytes, and compares every result.
func TestWriterErrorsAsBufio(t *testing.T) {
	const size = 4096
	data := testutil.Data(5*size, 4)
	dsts := map[string]func() io.Writer{
		"fails-at-once":     func() io.Writer { return &testutil.FailWriter{Limit: 0} },
		"fails-after-100":   func() io.Writer { return &testutil.FailWriter{Limit: 100} },
		"fails-after-5000":  func() io.Writer { return &testutil.FailWriter{Limit: 5000} },
		"fails-after-15000": func() io.Writer { return &testutil.FailWriter{Limit: 15000} },
		"short-write": func() io.Writer {
			return testutil.WriterFunc(func(p []byte) (int, error) { return len(p) / 2, nil })
		},
	}
	for name, dst := range dsts {
		t.Run(name, func(t *testing.T) {
			w, err := splice.NewWriterSize(dst(), size)
			if err != nil {
				t.Fatal(err)
			}
			got := runCalls(w, data)
			want := runCalls(bufio.NewWriterSize(dst(), size), data)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Writer's calls differ from bufio.Writer's (-bufio +Writer):\n%s", diff)
			}
			if err := w.Close(); err == nil || err.Error() != got[len(got)-1].Err {
				t.Errorf("Close() = %v, want the error that stuck (%s)", err, got[len(got)-1].Err)
			}
		})
	}
}

func runCalls(w bufferedWriter, data []byte) []call {
	var calls []call
	rec := func(op string, n int, err error) {
		c := call{Op: op, N: n, Buffered: w.Buffered(), Available: w.Available()}
		if err != nil {
			c.Err = err.Error()
		}
		calls = append(calls, c)
	}
	n, err := w.Write(data[:10])
	rec("Write(10)", n, err)
	n, err = w.WriteString(string(data[:3000]))
	rec("WriteString(3000)", n, err)
	rec("WriteByte", 1, w.WriteByte('x'))
	n, err = w.Write(data[:6000])
	rec("Write(6000)", n, err)
	rec("Flush", 0, w.Flush())
	n, err = w.Write(data[:9000])
	rec("Write(9000) into an empty buffer", n, err)
	n, err = w.WriteString(string(data[:9000]))
	rec("WriteString(9000)", n, err)
	rec("Flush", 0, w.Flush())
	return calls
}

// TestWriterClose checks Close's rules: it flushes, it never closes dst, and
// every call after it fails with an error matching os.ErrClosed.
func TestWriterClose(t *testing.T) {
	for _, k := range []testutil.Kind{testutil.OSPipe, testutil.File, testutil.TCP, testutil.Writer} {
		t.Run(k.String(), func(t *testing.T) {
			sink := testutil.OpenSink(t, k)
			w, err := splice.NewWriter(sink.W)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.WriteString("hello, "); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			// dst is still open.
			if _, err := sink.W.Write([]byte("world")); err != nil {
				t.Fatalf("dst after Close: %v", err)
			}
			for name, err := range map[string]error{
				"Close":       w.Close(),
				"Flush":       w.Flush(),
				"WriteByte":   w.WriteByte('x'),
				"Write":       second(w.Write([]byte("x"))),
				"WriteEmpty":  second(w.Write(nil)),
				"WriteString": second(w.WriteString("x")),
			} {
				if !errors.Is(err, os.ErrClosed) {
					t.Errorf("%s after Close = %v, want an error matching os.ErrClosed", name, err)
				}
			}
			if b, a := w.Buffered(), w.Available(); b != 0 || a != 0 {
				t.Errorf("after Close: Buffered %d, Available %d, want 0, 0", b, a)
			}
			testutil.Equal(t, []byte("hello, world"), sink.Bytes())
		})
	}
}

func second(_ int, err error) error { return err }

// TestNewWriterBadInput checks that a nil destination, and a pipe size no
// pipe can have, are refused.
func TestNewWriterBadInput(t *testing.T) {
	for name, dst := range map[string]io.Writer{"nil": nil, "nil-file": (*os.File)(nil), "nil-pipe": (*splice.Pipe)(nil)} {
		if w, err := splice.NewWriter(dst); err == nil || w != nil {
			t.Errorf("NewWriter(%s) = %v, %v; want an error", name, w, err)
		}
	}
	if strconv.IntSize == 64 {
		if w, err := splice.NewWriterSize(io.Discard, math.MaxInt); err == nil || w != nil {
			t.Errorf("NewWriterSize(io.Discard, MaxInt) = %v, %v; want an error", w, err)
		}
	}
}
