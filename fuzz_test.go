package splice_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// The fuzz targets. `go test` runs their seed corpora (the f.Add calls and
// testdata/fuzz/<name>) as ordinary tests; CI also fuzzes each for a few
// seconds, and `go test -run '^$' -fuzz '^FuzzCopy$' -fuzztime 10m .` fuzzes one
// for longer (README, Testing).

// fuzzMaxSize bounds the bytes one fuzzed copy moves: past the engine's pipes
// and a megabyte, small enough for thousands of executions a minute.
const fuzzMaxSize = 3 << 20

// FuzzCopy copies between a fuzzer-chosen pair of endpoint kinds (every source
// kind, every sink kind of internal/testutil: files, pipes, sockets, limited
// readers, plain readers and writers), of a fuzzer-chosen size and data, with
// Copy, CopyN (a fuzzer-chosen n) and a Copier with a fuzzer-chosen engine pipe
// size, and requires each to leave exactly what io.Copy or io.CopyN leaves on
// the same pair: count, error, bytes delivered, LimitedReader.N, file offsets
// and the bytes left unread.
func FuzzCopy(f *testing.F) {
	for i, seed := range []struct {
		src, dst uint8
		size     uint32
		n        int64
		pipe     uint32
	}{
		{0, 0, 0, -1, 0}, {1, 2, 1, -1, 0}, {2, 3, 4097, 100, 4096}, {3, 1, 65537, -1, 65536},
		{4, 4, 1<<20 + 1, 1 << 20, 0}, {5, 0, 300 << 10, -1, 8192}, {6, 5, 12345, 12346, 0},
		{7, 6, 70000, -1, 1 << 20}, {8, 7, 1, 0, 0}, {9, 3, 200000, 99999, 0},
	} {
		f.Add(seed.src, seed.dst, seed.size, uint64(i), seed.n, seed.pipe)
	}
	srcs, dsts := testutil.SourceKinds(), testutil.SinkKinds()
	opts := []cmp.Option{cmpopts.EquateErrors()}
	f.Fuzz(func(t *testing.T, si, di uint8, size uint32, seed uint64, n int64, pipe uint32) {
		sk, dk := srcs[int(si)%len(srcs)], dsts[int(di)%len(dsts)]
		data := testutil.Data(int(size%(fuzzMaxSize+1)), seed)
		c := &splice.Copier{PipeSize: int(pipe % (2 << 20))}
		if n < 0 {
			want := observe(t, io.Copy, sk, dk, data, nil)
			if got := observe(t, splice.Copy, sk, dk, data, nil); !cmp.Equal(want, got, opts...) {
				t.Errorf("%v → %v, %d bytes: Copy differs from io.Copy (-io.Copy +Copy):\n%s", sk, dk, len(data), cmp.Diff(want, got, opts...))
			}
			if got := observe(t, c.Copy, sk, dk, data, nil); !cmp.Equal(want, got, opts...) {
				t.Errorf("%v → %v, %d bytes: Copier{PipeSize: %d} differs from io.Copy (-io.Copy +Copy):\n%s", sk, dk, len(data), c.PipeSize, cmp.Diff(want, got, opts...))
			}
			return
		}
		n %= int64(len(data)) + 2 // at most one past the end
		ioN := func(w io.Writer, r io.Reader) (int64, error) { return io.CopyN(w, r, n) }
		want := observe(t, ioN, sk, dk, data, nil)
		got := observe(t, func(w io.Writer, r io.Reader) (int64, error) { return c.CopyN(w, r, n) }, sk, dk, data, nil)
		if !cmp.Equal(want, got, opts...) {
			t.Errorf("%v → %v, %d bytes: CopyN(%d) with PipeSize %d differs from io.CopyN (-io.CopyN +CopyN):\n%s", sk, dk, len(data), n, c.PipeSize, cmp.Diff(want, got, opts...))
		}
	})
}

// FuzzCopyFailingWriter copies from a fuzzer-chosen source kind into a writer
// that fails (or writes short) after a fuzzer-chosen number of bytes, and
// requires Copy to return what io.Copy returns, the writer to hold the same
// bytes, and nothing to be lost: the bytes written, those handed to Unwritten
// and those the source still holds are the data, in order.
func FuzzCopyFailingWriter(f *testing.F) {
	for i, seed := range []struct {
		src   uint8
		size  uint32
		limit uint32
		short bool
	}{
		{0, 0, 0, false}, {1, 10, 0, false}, {2, 70000, 65536, false}, {3, 1 << 20, 300000, true},
		{4, 200000, 199999, false}, {5, 4097, 4096, true}, {6, 1<<20 + 1, 1 << 20, false},
	} {
		f.Add(seed.src, seed.size, uint64(i), seed.limit, seed.short)
	}
	srcs := testutil.SourceKinds()
	f.Fuzz(func(t *testing.T, si uint8, size uint32, seed uint64, limit uint32, short bool) {
		sk := srcs[int(si)%len(srcs)]
		data := testutil.Data(int(size%(fuzzMaxSize+1)), seed)
		lim := int(limit % uint32(len(data)+2))

		run := func(copy func(io.Writer, io.Reader) (int64, error)) (int64, []byte, *testutil.Source, error) {
			src := testutil.OpenSource(t, sk, data)
			w := &testutil.FailWriter{Limit: lim, Short: short}
			n, err := copy(w, src.R)
			return n, w.Bytes(), src, err
		}
		wantN, wantBytes, _, wantErr := run(io.Copy)
		var unwritten []byte
		c := &splice.Copier{Unwritten: func(b []byte) { unwritten = append(unwritten, b...) }}
		gotN, gotBytes, src, gotErr := run(c.Copy)
		if gotN != wantN || errChain(gotErr) != errChain(wantErr) || !bytes.Equal(gotBytes, wantBytes) {
			t.Errorf("%v, %d bytes into a writer failing after %d (short %v): Copy = %d, %q, %d bytes written; io.Copy = %d, %q, %d bytes written",
				sk, len(data), lim, short, gotN, errChain(gotErr), len(gotBytes), wantN, errChain(wantErr), len(wantBytes))
		}
		if int64(len(gotBytes)) != gotN {
			t.Errorf("Copy returned %d, the writer holds %d bytes", gotN, len(gotBytes))
		}
		// Nothing lost: written, then Unwritten, then what src still holds.
		var rest []byte
		if !sk.Limited() {
			var err error
			if rest, err = io.ReadAll(src.R); err != nil {
				t.Fatalf("reading what the source still holds: %v", err)
			}
		} else {
			rest = src.Rest()
			if lr := src.R.(*io.LimitedReader); int64(len(rest)) > lr.N+int64(len(src.Extra)) {
				t.Errorf("the source holds %d bytes past a limit of %d", len(rest), lr.N)
			}
			rest = rest[:len(rest)-len(src.Extra)]
		}
		all := append(append(append([]byte{}, gotBytes...), unwritten...), rest...)
		if !bytes.Equal(all, data) {
			t.Errorf("%v, %d bytes: written %d + Unwritten %d + unread %d do not make the data", sk, len(data), len(gotBytes), len(unwritten), len(rest))
		}
	})
}

// errChain describes err's chain without what differs between two runs on
// fresh endpoints (a socket's addresses, a temporary file's name): each
// wrapper's type and operation, then the innermost error's text.
func errChain(err error) string {
	var b strings.Builder
	for err != nil {
		switch e := err.(type) {
		case *net.OpError:
			fmt.Fprintf(&b, "%T(%s %s) ", e, e.Op, e.Net)
		case *os.PathError:
			fmt.Fprintf(&b, "%T(%s) ", e, e.Op)
		case *os.SyscallError:
			fmt.Fprintf(&b, "%T(%s) ", e, e.Syscall)
		default:
			if errors.Unwrap(err) == nil {
				b.WriteString(err.Error())
			} else {
				fmt.Fprintf(&b, "%T ", e)
			}
		}
		err = errors.Unwrap(err)
	}
	return b.String()
}

// FuzzWriter writes fuzzer-chosen data in fuzzer-chosen chunks, with flushes
// between some, through a Writer of a fuzzer-chosen pipe size into a
// fuzzer-chosen sink kind, and through a bufio.Writer into a buffer, and
// requires the same bytes to arrive.
func FuzzWriter(f *testing.F) {
	f.Add(uint8(0), uint32(0), []byte{1, 2, 3})
	f.Add(uint8(1), uint32(4096), []byte{0, 0, 255, 7, 64, 9})
	f.Add(uint8(2), uint32(65536), []byte{200, 100, 50, 25, 12, 6, 3})
	f.Add(uint8(3), uint32(1<<20), bytes.Repeat([]byte{250}, 40))
	sinks := testutil.SinkKinds()
	f.Fuzz(func(t *testing.T, ki uint8, pipe uint32, ops []byte) {
		k := sinks[int(ki)%len(sinks)]
		sink := testutil.OpenSink(t, k)
		w, err := splice.NewWriterSize(sink.W, int(pipe%(2<<20)))
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		bw := bufio.NewWriterSize(&want, w.Available()+w.Buffered())
		seed := uint64(len(ops))
		for i, op := range ops {
			if op%8 == 0 {
				if err := w.Flush(); err != nil {
					t.Fatalf("op %d: Flush: %v", i, err)
				}
				bw.Flush()
				continue
			}
			// Chunks from 1 byte to about 320 KiB, most of them small.
			n := int(op)*int(op)*int(op)/50%(320<<10) + 1
			chunk := testutil.Data(n, seed+uint64(i))
			if m, err := w.Write(chunk); m != n || err != nil {
				t.Fatalf("op %d: Write(%d bytes) = %d, %v", i, n, m, err)
			}
			bw.Write(chunk)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		bw.Flush()
		if k.Discards() {
			return
		}
		if got := sink.Bytes(); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("into %v (pipe %d): %d bytes arrived, bufio delivered %d (same: %v)", k, pipe, len(got), want.Len(), bytes.Equal(got, want.Bytes()))
		}
	})
}
