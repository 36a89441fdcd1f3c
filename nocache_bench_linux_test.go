//go:build !splice_portable

package splice_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// BenchmarkNoCache copies a file of 2 GiB (SPLICE_BENCH_NOCACHE_SIZE bytes,
// if set), on a disk filesystem (SPLICE_BENCH_DIR, else /var/tmp; never
// tmpfs) and dropped from the page cache before each run, file → file,
// file → TCP and TCP → file, by io.Copy, splice.Copy and splice.Copier{NoCache},
// and reports the page cache's growth during the run beside the throughput:
// the most of the run's files in the cache at once (mincore, sampled every
// 10 ms), and the peak growth of Dirty in /proc/meminfo (which counts the
// whole machine's).
// A run into a file ends when the file is on disk (fdatasync), for every
// implementation: a copy that leaves its bytes dirty has only put off writing
// them.
//
//	go test -run '^$' -bench BenchmarkNoCache -benchtime 1x -count 3
func BenchmarkNoCache(b *testing.B) {
	size := int64(2 << 30)
	if s, err := strconv.ParseInt(os.Getenv("SPLICE_BENCH_NOCACHE_SIZE"), 10, 64); err == nil && s > 0 {
		size = s
	}
	dir := noCacheBenchDir(b)
	src := filepath.Join(dir, "src")
	makeBenchFile(b, src, size)
	impls := []struct {
		name string
		copy func(io.Writer, io.Reader) (int64, error)
	}{
		{"io.Copy", io.Copy},
		{"splice.Copy", splice.Copy},
		{"NoCache", (&splice.Copier{NoCache: true}).Copy},
	}
	for _, pair := range []string{"file-file", "file-tcp", "tcp-file"} {
		for _, impl := range impls {
			b.Run(fmt.Sprintf("pair=%s/impl=%s", pair, impl.name), func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				var cachedPeak, dirtyPeak int64
				for range b.N {
					b.StopTimer()
					run := newNoCacheRun(b, pair, src, filepath.Join(dir, "dst"), size)
					m := startMeminfo(b, run.files)
					b.StartTimer()
					n, err := impl.copy(run.dst, run.src)
					if err == nil {
						err = run.finish()
					}
					b.StopTimer()
					cached, dirty := m.stop()
					cachedPeak, dirtyPeak = max(cachedPeak, cached), max(dirtyPeak, dirty)
					if err != nil || n != size {
						b.Fatalf("copy = %d, %v", n, err)
					}
					run.close()
					b.StartTimer()
				}
				b.ReportMetric(float64(cachedPeak)/(1<<20), "files-cached-MiB")
				b.ReportMetric(float64(dirtyPeak)/(1<<20), "dirty-MiB")
			})
		}
	}
}

// noCacheBenchDir returns a directory on a disk filesystem, or skips.
func noCacheBenchDir(b *testing.B) string {
	base := os.Getenv("SPLICE_BENCH_DIR")
	if base == "" {
		base = "/var/tmp"
	}
	var st unix.Statfs_t
	if err := unix.Statfs(base, &st); err != nil || st.Type == unix.TMPFS_MAGIC {
		b.Skipf("%s is no disk filesystem (set SPLICE_BENCH_DIR)", base)
	}
	dir, err := os.MkdirTemp(base, "splice-nocache")
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// makeBenchFile writes size bytes to path, on disk, and out of the cache.
func makeBenchFile(b *testing.B, path string, size int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	chunk := testutil.Data(4<<20, 14)
	for n := int64(0); n < size; n += int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), size-n)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	dropCache(b, f)
}

// dropCache drops f's clean pages from the page cache.
func dropCache(b *testing.B, f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	rc.Control(func(fd uintptr) { unix.Fadvise(int(fd), 0, 0, unix.FADV_DONTNEED) })
}

// noCacheRun is one run's endpoints.
type noCacheRun struct {
	files   []string // the run's files, whose cached pages are counted
	src     io.Reader
	dst     io.Writer
	finish  func() error // after the copy: the bytes delivered, on disk
	closers []io.Closer
}

func (r *noCacheRun) close() {
	for _, c := range r.closers {
		c.Close()
	}
}

func newNoCacheRun(b *testing.B, pair, srcPath, dstPath string, size int64) *noCacheRun {
	r := &noCacheRun{finish: func() error { return nil }}
	switch pair {
	case "file-file", "file-tcp":
		f, err := os.Open(srcPath)
		if err != nil {
			b.Fatal(err)
		}
		dropCache(b, f)
		r.src, r.closers = f, append(r.closers, f)
		r.files = append(r.files, srcPath)
	case "tcp-file":
		conn, peer := testutil.TCPPair(b)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // the peer sends size bytes
			defer wg.Done()
			chunk := testutil.Data(1<<20, 15)
			for n := int64(0); n < size; n += int64(len(chunk)) {
				if _, err := peer.Write(chunk[:min(int64(len(chunk)), size-n)]); err != nil {
					return
				}
			}
			peer.CloseWrite()
		}()
		r.src = conn
		r.closers = append(r.closers, conn, closerFunc(func() error { peer.Close(); wg.Wait(); return nil }))
	}
	switch pair {
	case "file-file", "tcp-file":
		f, err := os.Create(dstPath)
		if err != nil {
			b.Fatal(err)
		}
		r.dst, r.finish = f, f.Sync
		r.files = append(r.files, dstPath)
		r.closers = append(r.closers, closerFunc(func() error { dropCache(b, f); return f.Close() }))
	case "file-tcp":
		conn, peer := testutil.TCPPair(b)
		done := make(chan error, 1)
		go func() { // the peer drains to EOF
			_, err := io.Copy(io.Discard, peer)
			done <- err
		}()
		r.dst = conn
		r.finish = func() error { conn.CloseWrite(); return <-done }
		r.closers = append(r.closers, conn, peer)
	}
	return r
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// meminfo samples the files' cached pages and Dirty until stopped.
type meminfo struct {
	files               []string
	stopc               chan struct{}
	done                chan struct{}
	dirty0              int64
	cachedMax, dirtyMax int64
}

func startMeminfo(b *testing.B, files []string) *meminfo {
	m := &meminfo{files: files, stopc: make(chan struct{}), done: make(chan struct{})}
	var ok bool
	if _, m.dirty0, ok = readMeminfo(); !ok {
		b.Skip("no /proc/meminfo")
	}
	m.dirtyMax = m.dirty0
	go func() {
		defer close(m.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if _, d, ok := readMeminfo(); ok {
				m.dirtyMax = max(m.dirtyMax, d)
			}
			var c int64
			for _, name := range m.files {
				c += fileCached(name)
			}
			m.cachedMax = max(m.cachedMax, c)
			select {
			case <-t.C:
			case <-m.stopc:
				return
			}
		}
	}()
	return m
}

// stop returns the most bytes of the files cached at once, and the peak
// growth of Dirty.
func (m *meminfo) stop() (cached, dirty int64) {
	close(m.stopc)
	<-m.done
	return m.cachedMax, max(m.dirtyMax-m.dirty0, 0)
}

// fileCached returns how many bytes of the named file are in the page cache.
func fileCached(name string) int64 {
	f, err := os.Open(name)
	if err != nil {
		return 0
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return 0
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0
	}
	defer unix.Munmap(m)
	page := int64(os.Getpagesize())
	vec := make([]byte, (st.Size()+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return 0
	}
	var n int64
	for _, v := range vec {
		n += int64(v&1) * page
	}
	return n
}

func readMeminfo() (cached, dirty int64, ok bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found := 0
	for sc.Scan() {
		key, rest, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "Cached":
			cached, found = v<<10, found+1
		case "Dirty":
			dirty, found = v<<10, found+1
		}
	}
	return cached, dirty, found == 2
}
