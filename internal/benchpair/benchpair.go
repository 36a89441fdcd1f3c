// Package benchpair is the benchmark harness shared by the splice package's
// benchmarks and by "splice bench": endpoint pairs of every kind (regular
// files, pipes, TCP and Unix stream sockets, an *io.LimitedReader around a
// file or a TCP connection), the feeders that fill a source and the drainers
// that empty a sink, and the raw copy of each pair: what a plain loop of the
// same blocking system calls gets, as a C program would make them (a
// reference, not an upper bound: a non-blocking copy can beat it).
//
// On Linux every pair of [Pairs] is there, with feeders and drainers that are
// blocking helper threads (see [Copy]) and a raw copy. Elsewhere only a
// portable subset is: regular files and TCP connections, with goroutine
// feeders and drainers that use read(2) and write(2), and no raw copy
// ([HasRaw] reports false); the zero-copy paths are Linux-only.
//
// The harness reports failures through a [TB], the part of testing.TB it
// uses, so that it runs under a *testing.B as under [Run], which gives code
// outside tests a TB of its own.
package benchpair

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
)

// Implementations a [Copy] or a [Multi] runs.
const (
	IOCopy          = "io.Copy"          // io.Copy, or io.CopyN from a source without EOF
	SpliceCopy      = "splice.Copy"      // splice.Copy, or splice.CopyN
	IOMultiWriter   = "io.MultiWriter"   // io.CopyN(io.MultiWriter(dsts...), src, size)
	SpliceCopyMulti = "splice.CopyMulti" // splice.CopyMulti over an *io.LimitedReader
	Raw             = "raw"              // a plain loop of blocking system calls, where HasRaw
)

// BufSize is the size of [Data] and of every pipe the harness makes: the pipe
// endpoints, raw's pipe and the feeders' and drainers' private ones.
const BufSize = 1 << 20

// Data is what feeders put into sources and what source files hold: an
// iteration of n bytes is Data repeated, cut at n. It is never modified, and
// the package keeps it alive for the rest of the process, so pages of it may
// be mapped into pipes and sockets by vmsplice(2) and stay there for as long
// as the kernel likes.
var Data = sync.OnceValue(func() []byte { return pseudoRandom(BufSize, 0xbe4c) })

// pseudoRandom is internal/testutil.Data, which this package cannot use (it
// imports testing, which the command must not): n deterministic bytes from a
// PCG generator seeded with seed.
func pseudoRandom(n int, seed uint64) []byte {
	b := make([]byte, n)
	g := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], g.Uint64())
	}
	if i < n {
		v := g.Uint64()
		for ; i < n; i++ {
			b[i] = byte(v)
			v >>= 8
		}
	}
	return b
}

// expected returns the bytes an iteration of size bytes holds from offset
// off on, at most n of them (fewer at a Data boundary or at size).
func expected(size, off int64, n int) []byte {
	data := Data()
	i := off % int64(len(data))
	end := min(int64(len(data)), i+int64(n), i+size-off)
	return data[i:end]
}

// verifyFile checks that f's first size bytes are an iteration's.
func verifyFile(f *os.File, size int64) error {
	buf := make([]byte, BufSize)
	for off := int64(0); off < size; {
		want := expected(size, off, len(buf))
		n, err := f.ReadAt(buf[:len(want)], off)
		if n < len(want) {
			return fmt.Errorf("read at %d: %d of %d bytes: %v", off, n, len(want), err)
		}
		if i := mismatch(want, buf[:n]); i >= 0 {
			return fmt.Errorf("byte %d differs", off+int64(i))
		}
		off += int64(n)
	}
	return nil
}

// mismatch returns the index of the first byte where got differs from want,
// or -1.
func mismatch(want, got []byte) int {
	for i := range got {
		if i >= len(want) || got[i] != want[i] {
			return i
		}
	}
	return -1
}

// fill writes n bytes of iteration data to f and rewinds it.
func fill(f *os.File, n int64) error {
	for off := int64(0); off < n; {
		m, err := f.Write(expected(n, off, BufSize))
		if err != nil {
			return err
		}
		off += int64(m)
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// Pair is a source kind and a sink kind. Kinds: "file" is a regular file in
// the TB's TempDir, "pipe" a 1 MiB pipe end like one from os.Pipe
// (non-blocking, in Go's poller), "tcp" a connection over 127.0.0.1, "unix" a
// Unix stream socket; "limitedfile" and "limitedtcp" (sources only) are an
// *io.LimitedReader around a file (which holds more than the limit) or a TCP
// connection.
type Pair struct{ Src, Dst string }

// String is the pair's name, "<src>-<dst>", as BenchmarkCopy names its
// sub-benchmarks.
func (p Pair) String() string { return p.Src + "-" + p.Dst }

// Lookup returns the pair of Pairs named name ("file-tcp").
func Lookup(name string) (Pair, bool) {
	for _, p := range Pairs {
		if p.String() == name {
			return p, true
		}
	}
	return Pair{}, false
}

// TB is the part of testing.TB the harness uses. Fatalf must not return: it
// ends the calling goroutine (as testing's runtime.Goexit does), after which
// the functions given to Cleanup run, last first.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

// Run calls fn with a TB for code outside tests and returns the error fn
// failed with, or nil. fn runs on a goroutine of its own, which the TB's
// Fatalf ends with runtime.Goexit; then, as when fn returns, the cleanups
// run, last first, and Run returns. Fatalf and Cleanup must be called only
// from fn's goroutine. A panic in fn is not recovered.
func Run(fn func(tb TB)) error {
	r := &runTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer r.cleanup()
		fn(r)
	}()
	<-done
	return r.err
}

// runTB is Run's TB.
type runTB struct {
	err      error
	cleanups []func()
	dir      string
}

func (r *runTB) Helper() {}

func (r *runTB) Fatalf(format string, args ...any) {
	r.err = fmt.Errorf(format, args...)
	runtime.Goexit()
}

func (r *runTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// TempRoot is the directory in which [Run]'s TempDir makes its own: /dev/shm
// where there is one, so that file pairs measure the page cache and not a
// disk, and os.TempDir() elsewhere. Its files are in memory there: a caller
// that moves large sizes through file pairs checks the room it has first.
func TempRoot() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// TempDir returns a directory in [TempRoot], the same on every call, which a
// cleanup removes.
func (r *runTB) TempDir() string {
	if r.dir != "" {
		return r.dir
	}
	dir, err := os.MkdirTemp(TempRoot(), "splicebench")
	if err != nil {
		r.Fatalf("temporary directory: %v", err)
	}
	r.dir = dir
	r.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// cleanup runs the cleanups, last first. (The harness's cleanups never call
// Fatalf.)
func (r *runTB) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}
