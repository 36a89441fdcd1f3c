//go:build !splice_portable

package splice_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// BenchmarkWriter writes a stream in writes of a fixed size through
// splice.Writer, through bufio.Writer of the same buffer size, and through a
// raw double-buffered vmsplice loop on a blocking fd (the ceiling: what a C
// program does), into a pipe read by read(2) in another goroutine ("pipe") or
// in another process ("proc": dd), and into a file.
//
//	go test -run '^$' -bench BenchmarkWriter -benchtime 300ms -count 8
//
// SPLICE_BENCH_NOHUGE=1 runs the Writers without MADV_HUGEPAGE on their buffer.
func BenchmarkWriter(b *testing.B) {
	for _, dst := range []string{"pipe", "proc", "file"} {
		for _, write := range []string{"200", "262144", "slog"} {
			for _, impl := range []string{"bufio", "splice.Writer", "splice.Writer.copying", "raw"} {
				if impl == "raw" && (dst == "file" || write == "slog") {
					continue // vmsplice into a file goes through a pipe of the Writer's own
				}
				b.Run(fmt.Sprintf("dst=%s/write=%s/impl=%s", dst, write, impl), func(b *testing.B) {
					benchWriter(b, dst, write, impl)
				})
			}
		}
	}
}

// writerBenchPipe is the pipe size each implementation runs with.
const writerBenchPipe = 1 << 20

// emitter writes about total bytes to w, as writes of one size or as slog
// JSON lines, and returns how many it wrote.
type emitter func(w io.Writer, total int) int

func newEmitter(write string) emitter {
	if write == "slog" {
		return func(w io.Writer, total int) int {
			cw := &countingWriter{w: w}
			logger := slog.New(slog.NewJSONHandler(cw, &slog.HandlerOptions{
				ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey && len(groups) == 0 {
						return slog.String("time", "2026-12-01T20:00:00.000Z") // a fixed width
					}
					return a
				},
			}))
			for i := 0; cw.n < total; i++ {
				logger.Info("request served", "id", i, "method", "GET", "path", "/static/app.js", "status", 200, "bytes", 18342)
			}
			return cw.n
		}
	}
	size, _ := strconv.Atoi(write)
	data := testutil.Data(size, 9)
	return func(w io.Writer, total int) int {
		n := 0
		for ; n < total; n += len(data) {
			w.Write(data)
		}
		return n
	}
}

type countingWriter struct {
	w io.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	return n, err
}

func benchWriter(b *testing.B, dst string, write string, impl string) {
	total := 64 << 20
	if write == "slog" {
		total = 4 << 20 // formatting, not the writer, costs most of a line
	}
	emit := newEmitter(write)
	var w io.Writer
	var finish func()
	switch dst {
	case "pipe", "proc":
		r, pw := writerBenchPipePair(b, impl == "raw", dst == "proc")
		if dst == "pipe" {
			done := make(chan struct{})
			go func() {
				defer close(done)
				buf := make([]byte, 1<<20)
				for {
					if _, err := r.Read(buf); err != nil {
						return
					}
				}
			}()
			finish = func() { pw.Close(); <-done; r.Close() }
		} else {
			cmd := exec.Command("dd", "of=/dev/null", "bs=1M", "status=none")
			cmd.Stdin = r
			if err := cmd.Start(); err != nil {
				b.Skipf("dd: %v", err)
			}
			r.Close()
			finish = func() { pw.Close(); cmd.Wait() }
		}
		w = pw
	case "file":
		f, err := os.Create(filepath.Join(benchTempDir(b), "out"))
		if err != nil {
			b.Fatal(err)
		}
		w = f
		finish = func() { f.Close() }
	}
	defer finish()

	b.SetBytes(int64(emit(io.Discard, total)))
	b.ReportAllocs()
	switch impl {
	case "bufio":
		bw := bufio.NewWriterSize(w, 2*writerBenchPipe)
		for b.Loop() {
			emit(bw, total)
			if err := bw.Flush(); err != nil {
				b.Fatal(err)
			}
			rewind(b, w)
		}
	case "splice.Writer", "splice.Writer.copying":
		want := splice.MethodVmsplice
		if impl == "splice.Writer.copying" {
			// A kernel whose vmsplice copies: the Writer writes.
			_, restore := splice.FakeVmspliceProbe(false, true)
			defer restore()
			want = splice.MethodReadWrite
		}
		if os.Getenv("SPLICE_BENCH_NOHUGE") == "1" {
			defer splice.SetWriterHugePages(false)()
		}
		sw, err := splice.NewWriterSize(w, writerBenchPipe)
		if err != nil {
			b.Fatal(err)
		}
		defer sw.Close()
		for b.Loop() {
			emit(sw, total)
			if err := sw.Flush(); err != nil {
				b.Fatal(err)
			}
			rewind(b, w)
		}
		if m := sw.Method(); m != want {
			b.Fatalf("Method() = %v, want %v", m, want)
		}
	case "raw":
		benchRawVmsplice(b, w.(*os.File), emit, total)
	}
}

// benchTempDir is a directory in memory where there is one, so that file
// benchmarks measure the page cache and not a disk.
func benchTempDir(b *testing.B) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "splicebench")
		if err == nil {
			b.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return b.TempDir()
}

// rewind starts a file destination over, so that a run does not grow it.
func rewind(b *testing.B, w io.Writer) {
	if f, ok := w.(*os.File); ok && f.Name() != "|1" {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// writerBenchPipePair returns a pipe of writerBenchPipe bytes. With blocking
// set, the write end is a blocking fd outside the poller; with forChild, the
// read end is blocking, for another process to read.
func writerBenchPipePair(b *testing.B, blocking, forChild bool) (r, w *os.File) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		b.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, writerBenchPipe); err != nil {
		b.Fatal(err)
	}
	for i, block := range []bool{forChild, blocking} {
		if err := unix.SetNonblock(fds[i], !block); err != nil {
			b.Fatal(err)
		}
	}
	return os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1")
}

// benchRawVmsplice is the ceiling: a buffer of twice the pipe's size in mapped
// memory (a huge page where the kernel gives one), each half filled with the
// writes and vmspliced whole on a blocking fd, as the scheme was first
// described.
func benchRawVmsplice(b *testing.B, f *os.File, emit emitter, total int) {
	fd := int(f.Fd())
	half := writerBenchPipe
	ring, err := unix.Mmap(-1, 0, 2*half, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Munmap(ring)
	unix.Madvise(ring, unix.MADV_HUGEPAGE) // as the Writer does
	cur, fill := 0, 0
	send := func() {
		p := ring[cur*half : cur*half+fill]
		for len(p) > 0 {
			n, err := splice.Vmsplice(fd, [][]byte{p}, 0)
			if err != nil {
				b.Fatal(err)
			}
			p = p[n:]
		}
		cur, fill = 1-cur, 0
	}
	halves := testutil.WriterFunc(func(p []byte) (int, error) {
		n := len(p)
		for len(p) > 0 {
			m := copy(ring[cur*half+fill:(cur+1)*half], p)
			fill += m
			p = p[m:]
			if fill == half {
				send()
			}
		}
		return n, nil
	})
	for b.Loop() {
		emit(halves, total)
		send()
	}
}
