package splice_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// newPipe returns a Pipe that is closed when the test ends.
func newPipe(t testing.TB) *splice.Pipe {
	t.Helper()
	p, err := splice.NewPipe()
	if err != nil {
		t.Fatalf("NewPipe: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// drain reads r to EOF in a goroutine; the returned function waits for it.
func drain(t testing.TB, r io.Reader) func() ([]byte, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		ch <- result{b, err}
	}()
	return func() ([]byte, error) {
		select {
		case r := <-ch:
			return r.b, r.err
		case <-time.After(30 * time.Second):
			t.Fatal("drain: reader still running after 30 s")
			return nil, nil
		}
	}
}

func TestPipeReadWrite(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	data := testutil.Data(3<<20+5, 1) // far more than the pipe holds
	wait := drain(t, p)
	n, err := p.Write(data)
	if n != len(data) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(data))
	}
	if err := p.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	got, err := wait()
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	testutil.Equal(t, data, got)
	if n, err := p.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
	}
}

// splices reports whether a Pipe method splices to or from an endpoint of kind k
// on this system (rather than reading and writing): never under a sandbox that
// refuses splice (TestCopyMatrixUnderSeccomp runs the Pipe tests under one).
func splices(k testutil.Kind) bool {
	if sb, ok := testutil.Sandboxed(); ok && sb.Refuses("splice") {
		return false
	}
	return spliceSupported && k.HasFD()
}

// TestPipeReadFrom moves every size from every source kind into a Pipe and
// checks the bytes that come out of it, the count, the limit and the offsets.
func TestPipeReadFrom(t *testing.T) {
	t.Parallel()
	for _, k := range testutil.SourceKinds() {
		for _, size := range testutil.Sizes(64 << 10) {
			t.Run(fmt.Sprintf("%v/%d", k, size), func(t *testing.T) {
				t.Parallel()
				data := testutil.Data(size, uint64(size))
				src := testutil.OpenSource(t, k, data)
				p := newPipe(t)
				wait := drain(t, p.Reader())
				n, err := p.ReadFrom(src.R)
				if cerr := p.CloseWrite(); cerr != nil {
					t.Errorf("CloseWrite: %v", cerr)
				}
				got, rerr := wait()
				if err != nil || rerr != nil {
					t.Fatalf("ReadFrom = %d, %v; reading the pipe: %v", n, err, rerr)
				}
				if n != int64(size) {
					t.Errorf("ReadFrom = %d, want %d", n, size)
				}
				testutil.Equal(t, data, got)
				if lr, ok := src.R.(*io.LimitedReader); ok && lr.N != 0 {
					t.Errorf("LimitedReader.N = %d after the copy, want 0", lr.N)
				}
				if src.File != nil {
					if off := src.Offset(); off != int64(size) {
						t.Errorf("file offset = %d after the copy, want %d", off, size)
					}
				}
				if k.Limited() {
					if diff := cmp.Diff(src.Extra, src.Rest()); diff != "" {
						t.Errorf("bytes past the limit (-want +got):\n%s", diff)
					}
				}
				// An exhausted LimitedReader returns before any system call.
				checkSpliced(t, p, splices(k) && !(k.Limited() && size == 0))
			})
		}
	}
}

// TestPipeWriteTo moves every size out of a Pipe into every sink kind.
func TestPipeWriteTo(t *testing.T) {
	t.Parallel()
	for _, k := range testutil.SinkKinds() {
		for _, size := range testutil.Sizes(64 << 10) {
			t.Run(fmt.Sprintf("%v/%d", k, size), func(t *testing.T) {
				t.Parallel()
				data := testutil.Data(size, uint64(size)+7)
				sink := testutil.OpenSink(t, k)
				p := newPipe(t)
				werr := make(chan error, 1)
				go func() {
					_, err := p.Writer().Write(data)
					if cerr := p.CloseWrite(); err == nil {
						err = cerr
					}
					werr <- err
				}()
				n, err := p.WriteTo(sink.W)
				if err != nil {
					t.Fatalf("WriteTo = %d, %v", n, err)
				}
				if err := <-werr; err != nil {
					t.Fatalf("feeding the pipe: %v", err)
				}
				if n != int64(size) {
					t.Errorf("WriteTo = %d, want %d", n, size)
				}
				if sink.File != nil {
					if off, _ := sink.File.Seek(0, io.SeekCurrent); off != int64(size) {
						t.Errorf("file offset = %d after the copy, want %d", off, size)
					}
				}
				got := sink.Bytes()
				if !k.Discards() {
					testutil.Equal(t, data, got)
				}
				checkSpliced(t, p, splices(k))
			})
		}
	}
}

// TestPipeReadFromStopsAtLimit checks that a limit smaller than what the source
// holds is honoured exactly, also when the limit is zero.
func TestPipeReadFromLimit(t *testing.T) {
	t.Parallel()
	for _, k := range []testutil.Kind{testutil.File, testutil.TCP, testutil.OSPipe, testutil.Reader} {
		for _, limit := range []int64{0, 1, 4095, 70000} {
			t.Run(fmt.Sprintf("%v/%d", k, limit), func(t *testing.T) {
				t.Parallel()
				data := testutil.Data(100000, 3)
				src := testutil.OpenSource(t, k, data)
				lr := &io.LimitedReader{R: src.R, N: limit}
				p := newPipe(t)
				wait := drain(t, p.Reader())
				n, err := p.ReadFrom(lr)
				p.CloseWrite()
				got, _ := wait()
				if n != limit || err != nil {
					t.Errorf("ReadFrom = %d, %v; want %d, nil", n, err, limit)
				}
				if lr.N != 0 {
					t.Errorf("N = %d after the copy, want 0", lr.N)
				}
				testutil.Equal(t, data[:limit], got)
				rest, err := io.ReadAll(src.R)
				if err != nil {
					t.Fatalf("reading the rest: %v", err)
				}
				testutil.Equal(t, data[limit:], rest)
			})
		}
	}
}

func TestPipeClose(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	if _, err := p.Write([]byte("discarded")); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close = %v, want os.ErrClosed", err)
	}
	other := newPipe(t)
	calls := map[string]func() error{
		"Read":       func() error { _, err := p.Read(make([]byte, 1)); return err },
		"Write":      func() error { _, err := p.Write([]byte("x")); return err },
		"ReadFrom":   func() error { _, err := p.ReadFrom(bytes.NewReader([]byte("x"))); return err },
		"ReadFromFD": func() error { _, err := p.ReadFrom(other); return err },
		"WriteTo":    func() error { _, err := p.WriteTo(io.Discard); return err },
		"WriteToFD":  func() error { _, err := p.WriteTo(other); return err },
		"CloseWrite": p.CloseWrite,
	}
	if spliceSupported {
		calls["Tee"] = func() error { _, err := p.Tee(other, 1); return err }
		calls["SetSize"] = func() error { _, err := p.SetSize(1 << 16); return err }
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("%s after Close = %v, want an error matching os.ErrClosed", name, err)
		}
	}
	if n := p.Size(); n != 0 {
		t.Errorf("Size after Close = %d, want 0", n)
	}
	if n := p.Buffered(); n != 0 {
		t.Errorf("Buffered after Close = %d, want 0", n)
	}
}

// A reader that must not be consumed: ReadFrom on a closed pipe must fail before
// it takes bytes it cannot deliver.
func TestPipeReadFromClosedKeepsSource(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	p.CloseWrite()
	src := bytes.NewReader([]byte("keep me"))
	if _, err := p.ReadFrom(struct{ io.Reader }{src}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadFrom after CloseWrite = %v, want os.ErrClosed", err)
	}
	if src.Len() != len("keep me") {
		t.Errorf("ReadFrom consumed %d bytes it could not deliver", len("keep me")-src.Len())
	}
}

func TestPipeCloseWrite(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	if _, err := p.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := p.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	if err := p.CloseWrite(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second CloseWrite = %v, want os.ErrClosed", err)
	}
	got, err := io.ReadAll(p)
	if err != nil || string(got) != "last words" {
		t.Errorf("ReadAll = %q, %v; want %q, nil", got, err, "last words")
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after CloseWrite = %v, want os.ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close after CloseWrite = %v, want nil", err)
	}
}

// Close wakes a goroutine blocked in any method.
func TestPipeCloseWakes(t *testing.T) {
	t.Parallel()
	// Each waits on p's own end (an empty p): Close of p alone must wake it.
	blockers := map[string]func(p, other *splice.Pipe) error{
		"Read":      func(p, _ *splice.Pipe) error { _, err := p.Read(make([]byte, 1)); return err },
		"WriteTo":   func(p, other *splice.Pipe) error { _, err := p.WriteTo(other); return err },
		"WriteToRW": func(p, _ *splice.Pipe) error { _, err := p.WriteTo(io.Discard); return err },
		"ReadFromFull": func(p, other *splice.Pipe) error {
			_, err := p.ReadFrom(other)
			return err
		},
	}
	if spliceSupported {
		blockers["Tee"] = func(p, other *splice.Pipe) error { _, err := p.Tee(other, 10); return err }
	}
	for name, block := range blockers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, other := newPipe(t), newPipe(t)
			if name == "ReadFromFull" {
				// p full, other holding bytes: ReadFrom waits for room in p.
				p.Write(make([]byte, p.Size()))
				other.Write([]byte("abc"))
			}
			done := make(chan error, 1)
			go func() { done <- block(p, other) }()
			time.Sleep(20 * time.Millisecond) // let it block
			select {
			case err := <-done:
				t.Fatalf("returned before Close: %v", err)
			default:
			}
			p.Close()
			select {
			case err := <-done:
				if !errors.Is(err, os.ErrClosed) {
					t.Errorf("got %v, want an error matching os.ErrClosed", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still blocked 10 s after Close")
			}
		})
	}
}
