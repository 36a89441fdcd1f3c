package fallback_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/splicekit/splice/fallback"
	"github.com/splicekit/splice/internal/testutil"
)

// The io.Copy baselines splice through the standard library's own pipe pool,
// whose pipes live until a garbage collection empties the pool and their
// cleanups close them: collect before the leak check.
func TestMain(m *testing.M) { testutil.Main(m, func() { runtime.GC(); runtime.GC() }) }

// outcome is everything a copy leaves behind that a caller can observe.
type outcome struct {
	N     int64
	Err   error
	Bytes string // length and SHA-256 of what arrived (cmp is slow on megabytes)
	LimN  int64  // LimitedReader.N after the copy, or -1
}

func digest(b []byte) string { return fmt.Sprintf("%d bytes, sha256 %x", len(b), sha256.Sum256(b)) }

func run(t *testing.T, copyFn func(io.Writer, io.Reader) (int64, error), src, dst testutil.Kind, data []byte) outcome {
	s := testutil.OpenSource(t, src, data)
	k := testutil.OpenSink(t, dst)
	n, err := copyFn(k.W, s.R)
	o := outcome{N: n, Err: err, LimN: -1}
	if lr, ok := s.R.(*io.LimitedReader); ok {
		o.LimN = lr.N
	}
	if !dst.Discards() {
		o.Bytes = digest(k.Bytes())
	}
	return o
}

// Copy and CopyN give exactly what io.Copy and io.CopyN give, for every pair.
func TestCopyMatchesIOCopy(t *testing.T) {
	t.Parallel()
	sizes := []int{0, 1, 32<<10 - 1, 32<<10 + 1, 300001}
	for _, src := range testutil.SourceKinds() {
		for _, dst := range testutil.SinkKinds() {
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%v-%v/%d", src, dst, size), func(t *testing.T) {
					t.Parallel()
					data := testutil.Data(size, uint64(size))
					want := run(t, io.Copy, src, dst, data)
					got := run(t, fallback.Copy, src, dst, data)
					if diff := cmp.Diff(want, got, cmpopts.EquateErrors(), cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("Copy differs from io.Copy (-want +got):\n%s", diff)
					}
					if !dst.Discards() && got.Bytes != digest(data) {
						t.Errorf("arrived: %s; sent: %s", got.Bytes, digest(data))
					}
					half := int64(size / 2)
					cn := func(w io.Writer, r io.Reader) (int64, error) { return io.CopyN(w, r, half) }
					fcn := func(w io.Writer, r io.Reader) (int64, error) { return fallback.CopyN(w, r, half) }
					want, got = run(t, cn, src, dst, data), run(t, fcn, src, dst, data)
					if diff := cmp.Diff(want, got, cmpopts.EquateErrors(), cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("CopyN differs from io.CopyN (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

func TestCopyNShortSource(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	n, err := fallback.CopyN(&b, bytes.NewReader([]byte("abc")), 10)
	if n != 3 || err != io.EOF || b.String() != "abc" {
		t.Errorf("CopyN(3-byte source, 10) = %d, %v, %q; want 3, io.EOF, abc", n, err, b.String())
	}
	n, err = fallback.CopyN(&b, bytes.NewReader([]byte("abc")), 0)
	if n != 0 || err != nil {
		t.Errorf("CopyN(0) = %d, %v; want 0, nil", n, err)
	}
}

// A writer that accepts limit bytes, then fails (or writes short, or lies).
type faultyWriter struct {
	buf   bytes.Buffer
	limit int
	mode  string // "error", "short", "invalid"
}

var errBoom = errors.New("boom")

func (w *faultyWriter) Write(b []byte) (int, error) {
	room := w.limit - w.buf.Len()
	if len(b) <= room {
		return w.buf.Write(b)
	}
	w.buf.Write(b[:room])
	switch w.mode {
	case "short":
		return room, nil
	case "invalid":
		return len(b) + 1, nil
	}
	return room, errBoom
}

// On a failing destination the read/write loop returns io.Copy's count and error
// and hands the bytes it read but could not deliver to Unwritten: what dst got
// plus what Unwritten got is exactly what was taken from src.
func TestCopierUnwritten(t *testing.T) {
	t.Parallel()
	data := testutil.Data(100000, 7)
	for _, tc := range []struct {
		mode    string
		limit   int
		wantErr error
	}{
		{"error", 50000, errBoom},
		{"error", 0, errBoom},
		{"short", 40000, io.ErrShortWrite},
		{"invalid", 10, nil}, // io's unexported errInvalidWrite
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.mode, tc.limit), func(t *testing.T) {
			t.Parallel()
			ref := &faultyWriter{limit: tc.limit, mode: tc.mode}
			src := bytes.NewReader(data)
			wantN, wantErr := io.Copy(ref, struct{ io.Reader }{src})

			w := &faultyWriter{limit: tc.limit, mode: tc.mode}
			src2 := bytes.NewReader(data)
			var unwritten []byte
			var progress []int64
			c := &fallback.Copier{
				Unwritten: func(b []byte) { unwritten = append(unwritten, b...) },
				Progress:  func(n int64) { progress = append(progress, n) },
			}
			n, err := c.Copy(w, struct{ io.Reader }{src2})
			if n != wantN {
				t.Errorf("count = %d, io.Copy says %d", n, wantN)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) || err == nil || err.Error() != wantErr.Error() {
				t.Errorf("err = %v, io.Copy says %v", err, wantErr)
			}
			if tc.mode == "invalid" && n != 0 {
				// an invalid count is taken as 0 bytes written
				t.Errorf("count = %d after an invalid write, want 0", n)
			}
			taken := len(data) - src2.Len()
			delivered := data[:n]
			testutil.Equal(t, data[:taken], append(append([]byte{}, delivered...), unwritten...))
			if len(progress) > 0 && progress[len(progress)-1] != n {
				t.Errorf("last progress %d, want the count %d", progress[len(progress)-1], n)
			}
		})
	}
}

// Progress reports a running total after every chunk.
func TestCopierProgress(t *testing.T) {
	t.Parallel()
	data := testutil.Data(3*fallback.BufferSize+5, 8)
	var got []int64
	c := &fallback.Copier{Progress: func(n int64) { got = append(got, n) }}
	var dst bytes.Buffer
	if _, err := c.Copy(struct{ io.Writer }{&dst}, struct{ io.Reader }{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	want := []int64{fallback.BufferSize, 2 * fallback.BufferSize, 3 * fallback.BufferSize, int64(len(data))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	// Through WriterTo: one report, at the end.
	got = nil
	c.Copy(&dst, bytes.NewReader(data))
	if diff := cmp.Diff([]int64{int64(len(data))}, got); diff != "" {
		t.Errorf("progress through WriterTo (-want +got):\n%s", diff)
	}
}

// The order of fast paths is io.Copy's, and ReadWrite uses none of them.
type spy struct {
	calls *[]string
}

type spyReader struct {
	spy
	r io.Reader
}

func (s spyReader) Read(b []byte) (int, error) {
	*s.calls = append(*s.calls, "Read")
	return s.r.Read(b)
}
func (s spyReader) WriteTo(w io.Writer) (int64, error) {
	*s.calls = append(*s.calls, "WriteTo")
	return io.Copy(struct{ io.Writer }{w}, struct{ io.Reader }{s.r})
}

type spyWriter struct {
	spy
	w io.Writer
}

func (s spyWriter) Write(b []byte) (int, error) {
	*s.calls = append(*s.calls, "Write")
	return s.w.Write(b)
}
func (s spyWriter) ReadFrom(r io.Reader) (int64, error) {
	*s.calls = append(*s.calls, "ReadFrom")
	return io.Copy(struct{ io.Writer }{s.w}, r)
}

func TestOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fn   func(io.Writer, io.Reader) (int64, error)
		want []string
	}{
		{"Copy", fallback.Copy, []string{"WriteTo", "Write"}},
		{"ReadWrite", fallback.ReadWrite, []string{"Read", "Write", "Read"}},
	} {
		var calls []string
		var dst bytes.Buffer
		r := spyReader{spy{&calls}, bytes.NewReader([]byte("x"))}
		w := spyWriter{spy{&calls}, &dst}
		if n, err := tc.fn(w, r); n != 1 || err != nil {
			t.Errorf("%s = %d, %v", tc.name, n, err)
		}
		if diff := cmp.Diff(tc.want, calls); diff != "" {
			t.Errorf("%s calls (-want +got):\n%s", tc.name, diff)
		}
	}
	// Without a WriterTo, the destination's ReadFrom.
	var calls []string
	var dst bytes.Buffer
	fallback.Copy(spyWriter{spy{&calls}, &dst}, struct{ io.Reader }{bytes.NewReader([]byte("x"))})
	if diff := cmp.Diff([]string{"ReadFrom"}, calls); diff != "" {
		t.Errorf("Copy calls (-want +got):\n%s", diff)
	}
}

// The loop takes its buffer from a pool: no allocation per call once warm.
func TestReadWriteAllocs(t *testing.T) {
	data := testutil.Data(100000, 9)
	src := bytes.NewReader(data)
	var r io.Reader = struct{ io.Reader }{src}
	var w io.Writer = struct{ io.Writer }{io.Discard}
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(data)
		fallback.ReadWrite(w, r)
	})
	if allocs != 0 {
		t.Errorf("ReadWrite allocates %v times per call, want 0", allocs)
	}
}
