//go:build !splice_portable

package splice_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// cached returns how many bytes of f's first n are in the page cache
// (mincore over a mapping of the file, which faults nothing in).
func cached(t *testing.T, f *os.File, n int64) int64 {
	t.Helper()
	if n <= 0 {
		return 0
	}
	r, err := os.Open(f.Name()) // f may be open for writing only
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rc, err := r.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var m []byte
	var merr error
	rc.Control(func(fd uintptr) {
		m, merr = unix.Mmap(int(fd), 0, int(n), unix.PROT_READ, unix.MAP_SHARED)
	})
	if merr != nil {
		t.Fatalf("mmap: %v", merr)
	}
	defer unix.Munmap(m)
	page := int64(os.Getpagesize())
	vec := make([]byte, (n+page-1)/page)
	// x/sys/unix has no Mincore on Linux.
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	var in int64
	for _, v := range vec {
		if v&1 != 0 {
			in += page
		}
	}
	return in
}

// TestNoCache copies a 48 MiB file, on the filesystem of the test's temporary
// directory, to and from every kind of fd and by every path, with NoCache: the
// bytes arrive as without it, the page cache never holds more than a few steps
// of either file during the copy (sampled at each Progress), and next to none
// of them after. Without NoCache both files stay cached: the check can fail.
func TestNoCache(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 48 MiB files")
	}
	const size = 48 << 20
	const bound = 3*8<<20 + 4<<20 // three steps of the advice and read-ahead
	data := testutil.Data(size, 12)
	pairs := []struct{ src, dst testutil.Kind }{
		{testutil.File, testutil.File},        // copy_file_range
		{testutil.File, testutil.TCP},         // sendfile, then splice through the engine's pipe
		{testutil.File, testutil.OSPipe},      // splice directly
		{testutil.LimitedFile, testutil.Unix}, // a LimitedReader
		{testutil.TCP, testutil.File},         // splice through the engine's pipe
		{testutil.OSPipe, testutil.File},      // splice directly
		{testutil.Reader, testutil.File},      // read and write
	}
	for _, p := range pairs {
		for _, nocache := range []bool{true, false} {
			for _, disable := range []bool{false, true} {
				if !nocache && disable {
					continue
				}
				t.Run(fmt.Sprintf("%v-%v/nocache=%v/disable=%v", p.src, p.dst, nocache, disable), func(t *testing.T) {
					src := testutil.OpenSource(t, p.src, data)
					if src.File != nil {
						// Written just now: dirty pages, which no advice drops
						// before they are written back. A file to back up is clean.
						if err := src.File.Sync(); err != nil {
							t.Fatal(err)
						}
					}
					sink := testutil.OpenSink(t, p.dst)
					var peak int64
					progress := 0
					c := &splice.Copier{NoCache: nocache, DisableSplice: disable, Progress: func(n int64) {
						progress++
						if src.File != nil {
							peak = max(peak, cached(t, src.File, n))
						}
						if sink.File != nil {
							peak = max(peak, cached(t, sink.File, n))
						}
					}}
					n, err := c.Copy(sink.W, src.R)
					if err != nil || n != size {
						t.Fatalf("Copy = %d, %v", n, err)
					}
					var after int64
					if src.File != nil {
						after += cached(t, src.File, size)
					}
					if sink.File != nil {
						after += cached(t, sink.File, size)
					}
					t.Logf("%d Progress calls; cached: at most %d MiB behind the copy, %d KiB after", progress, peak>>20, after>>10)
					if nocache {
						if progress < size/(8<<20) {
							t.Errorf("Progress called %d times, want one a step at least", progress)
						}
						if peak > bound {
							t.Errorf("the files' cache reached %d MiB during the copy, want under %d", peak>>20, bound>>20)
						}
						// Source pages still in a socket's or a pipe's
						// buffer when the copy returns stay cached.
						left := int64(1 << 20)
						if sink.File == nil {
							left = bound
						}
						if after > left {
							t.Errorf("%d KiB of the files still cached after the copy", after>>10)
						}
					} else if after < size/2 {
						t.Logf("without NoCache only %d MiB stayed cached: the machine may be short of memory", after>>20)
					}
					testutil.Equal(t, data, sink.Bytes())
				})
			}
		}
	}
}

// TestNoCacheUserProgress checks that the caller's Progress still sees every
// total, ending with the count, and that a Progress that panics leaves no
// advice half done to fail later copies.
func TestNoCacheUserProgress(t *testing.T) {
	data := testutil.Data(20<<20+3, 13)
	src := testutil.OpenSource(t, testutil.File, data)
	dst := testutil.OpenSink(t, testutil.File)
	var totals []int64
	c := &splice.Copier{NoCache: true, Progress: func(n int64) { totals = append(totals, n) }}
	n, err := c.Copy(dst.W, src.R)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Copy = %d, %v", n, err)
	}
	if len(totals) < 3 || totals[len(totals)-1] != n {
		t.Errorf("Progress totals %v, want one a step ending at %d", totals, n)
	}
	testutil.Equal(t, data, dst.Bytes())

	src2 := testutil.OpenSource(t, testutil.File, data)
	dst2 := testutil.OpenSink(t, testutil.File)
	func() {
		defer func() { recover() }()
		c := &splice.Copier{NoCache: true, Progress: func(n int64) { panic("progress") }}
		c.Copy(dst2.W, src2.R)
	}()
	if _, err := io.Copy(dst2.W, src2.R); err != nil {
		t.Fatal(err)
	}
	testutil.Equal(t, data, dst2.Bytes())
}

// TestNoCacheDelegated covers copies that another package's ReadFrom or
// WriteTo does in one call (bufio here, an http.ResponseWriter in a file
// server): the advice still comes every step of it. And CopyMulti into the
// same file twice advises the whole of what it wrote there.
func TestNoCacheDelegated(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 40 MiB files")
	}
	const size = 40 << 20
	const bound = 3*8<<20 + 4<<20
	data := testutil.Data(size, 17)
	t.Run("ReadFrom", func(t *testing.T) {
		src := testutil.OpenSource(t, testutil.File, data)
		src.File.Sync()
		var peak, wrote int64
		sampler := testutil.WriterFunc(func(p []byte) (int, error) {
			wrote += int64(len(p))
			peak = max(peak, cached(t, src.File, wrote)) // the part read so far
			return len(p), nil
		})
		bw := bufio.NewWriterSize(sampler, 1<<20)
		n, err := (&splice.Copier{NoCache: true}).Copy(bw, src.R)
		if err != nil || n != size {
			t.Fatalf("Copy = %d, %v", n, err)
		}
		if peak > bound {
			t.Errorf("the source's cache reached %d MiB during a copy into a bufio.Writer", peak>>20)
		}
	})
	t.Run("WriteTo", func(t *testing.T) {
		sink := testutil.OpenSink(t, testutil.File)
		var peak int64
		var read int64
		r := bufio.NewReaderSize(readerFunc(func(p []byte) (int, error) {
			if read >= size {
				return 0, io.EOF
			}
			n := copy(p, data[read:])
			read += int64(n)
			peak = max(peak, cached(t, sink.File, read))
			return n, nil
		}), 1<<20)
		n, err := (&splice.Copier{NoCache: true}).Copy(sink.W, r)
		if err != nil || n != size {
			t.Fatalf("Copy = %d, %v", n, err)
		}
		if peak > bound {
			t.Errorf("the destination's cache reached %d MiB during a copy from a bufio.Reader", peak>>20)
		}
		testutil.Equal(t, data, sink.Bytes())
	})
	t.Run("CopyMulti-same-file", func(t *testing.T) {
		src := testutil.OpenSource(t, testutil.File, data[:size/2])
		src.File.Sync()
		sink := testutil.OpenSink(t, testutil.File)
		n, err := (&splice.Copier{NoCache: true}).CopyMulti(src.R, sink.W, sink.W)
		if err != nil || n != size/2 {
			t.Fatalf("CopyMulti = %d, %v", n, err)
		}
		if c := cached(t, sink.File, size); c > 1<<20 {
			t.Errorf("%d KiB of the file written twice still cached", c>>10)
		}
	})
}

// readerFunc is an io.Reader of a function.
type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
