//go:build !splice_portable

package splice_test

import (
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
	"golang.org/x/sys/unix"
)

// BenchmarkFileToSocket measures where splicing a regular file through the
// engine's 1 MiB pipe overtakes sendfile(2) (which goes through the kernel's
// 16-page pipe), for TCP and Unix stream sockets, from 64 KiB to 1 GiB:
// impl=sendfile sends everything with sendfile, impl=pipe splices everything
// through the pipe, impl=splice.Copy is the engine's choice and impl=io.Copy
// the standard library's. The sink is drained by splice(2) into /dev/null.
func BenchmarkFileToSocket(b *testing.B) {
	if procs := runtime.GOMAXPROCS(0); procs < 4 {
		runtime.GOMAXPROCS(4)
		b.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	}
	const maxSize = 1 << 30
	var src *os.File
	for _, dst := range []string{"tcp", "unix"} {
		b.Run("dst="+dst, func(b *testing.B) {
			for _, size := range []int64{64 << 10, 128 << 10, 192 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20, 1 << 30} {
				b.Run("size="+sizeName(size), func(b *testing.B) {
					if size > maxSize/4 && testing.Short() {
						b.Skip("big")
					}
					if src == nil {
						src = bigFile(b, maxSize)
					}
					for _, impl := range []string{"io.Copy", "splice.Copy", "sendfile", "pipe"} {
						b.Run("impl="+impl, func(b *testing.B) {
							switch impl {
							case "sendfile":
								b.Cleanup(splice.SetSendfileMax(math.MaxInt64))
							case "pipe":
								b.Cleanup(splice.SetSendfileMax(0))
							}
							var w net.Conn
							var peer syscall.Conn
							if dst == "tcp" {
								w, peer = testutil.TCPPair(b)
							} else {
								w, peer = testutil.UnixPair(b)
							}
							done := drainToNull(b, peer, size)
							b.SetBytes(size)
							b.ReportAllocs()
							for b.Loop() {
								if _, err := src.Seek(0, io.SeekStart); err != nil {
									b.Fatal(err)
								}
								lr := io.LimitedReader{R: src, N: size}
								var n int64
								var err error
								if impl == "io.Copy" {
									n, err = io.Copy(w, &lr)
								} else {
									n, err = splice.Copy(w, &lr)
								}
								if err != nil || n != size {
									b.Fatalf("copied %d of %d: %v", n, size, err)
								}
								if err := <-done; err != nil {
									b.Fatal(err)
								}
							}
						})
					}
				})
			}
		})
	}
}

func bigFile(b *testing.B, size int64) *os.File {
	f, err := os.CreateTemp("", "splice-bench-")
	if err != nil {
		b.Fatal(err)
	}
	os.Remove(f.Name())
	data := testutil.Data(1<<20, 7)
	for left := size; left > 0; left -= int64(len(data)) {
		if _, err := f.Write(data); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

// drainToNull splices everything peer receives into /dev/null and sends on the
// returned channel each time size more bytes have arrived (or the error).
func drainToNull(b *testing.B, peer syscall.Conn, size int64) <-chan error {
	done := make(chan error, 1)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		b.Fatal(err)
	}
	unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, 1<<20)
	rc, err := peer.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	quit := make(chan struct{})
	exited := make(chan struct{})
	b.Cleanup(func() {
		close(quit)
		peer.(io.Closer).Close()
		<-exited
		unix.Close(p[0])
		unix.Close(p[1])
		null.Close()
	})
	go func() {
		defer close(exited)
		var got int64
		var n int
		var serr error
		splice := func(fd uintptr) bool { // made once: the benchmark counts allocations
			m, err := unix.Splice(int(fd), nil, p[1], nil, 1<<20, unix.SPLICE_F_NONBLOCK)
			n, serr = int(m), err // m is an int64 on some architectures, an int on others
			return serr != unix.EAGAIN
		}
		for {
			n, serr = 0, nil
			err := rc.Read(splice)
			if err == nil {
				err = serr
			}
			if err == nil && n == 0 {
				err = io.EOF
			}
			for left := n; err == nil && left > 0; {
				m, serr := unix.Splice(p[0], nil, int(null.Fd()), nil, left, 0)
				if serr != nil {
					err = serr
				}
				left -= int(m)
			}
			if err != nil {
				select {
				case <-quit:
				case done <- fmt.Errorf("drain: %w", err):
				}
				return
			}
			for got += int64(n); got >= size; got -= size {
				select {
				case done <- nil:
				case <-quit:
					return
				}
			}
		}
	}()
	return done
}

// BenchmarkSmallSocketCopy measures small copies between sockets, each
// iteration one copy of size bytes written by the source's peer just before
// and read by the sink's peer just after: io.Copy, splice.Copy, and
// splice.Copy taking the engine's pipe at every size (impl=pipe).
func BenchmarkSmallSocketCopy(b *testing.B) {
	for _, pair := range []string{"limitedtcp-tcp", "tcp-tcp", "unix-tcp", "tcp-unix"} {
		b.Run(pair, func(b *testing.B) {
			for _, size := range []int64{512, 2 << 10, 4 << 10, 8 << 10, 16 << 10} {
				b.Run("size="+sizeName(size), func(b *testing.B) {
					for _, impl := range []string{"io.Copy", "splice.Copy", "pipe"} {
						b.Run("impl="+impl, func(b *testing.B) {
							if impl == "pipe" {
								b.Cleanup(splice.SetPipeMin(1))
							}
							var feed, src net.Conn
							var dst, sink net.Conn
							if pair[len(pair)-4:] == "unix" {
								dst, sink = testutil.UnixPair(b)
							} else {
								dst, sink = testutil.TCPPair(b)
							}
							if pair[:4] == "unix" {
								feed, src = testutil.UnixPair(b)
							} else {
								feed, src = testutil.TCPPair(b)
							}
							data := testutil.Data(int(size), 1)
							buf := make([]byte, size)
							limited := pair[:7] == "limited"
							b.SetBytes(size)
							b.ReportAllocs()
							for b.Loop() {
								if _, err := feed.Write(data); err != nil {
									b.Fatal(err)
								}
								var n int64
								var err error
								switch {
								case limited && impl == "io.Copy":
									n, err = io.Copy(dst, &io.LimitedReader{R: src, N: size})
								case limited:
									n, err = splice.Copy(dst, &io.LimitedReader{R: src, N: size})
								case impl == "io.Copy":
									n, err = io.CopyN(dst, src, size)
								default:
									n, err = splice.CopyN(dst, src, size)
								}
								if n != size || err != nil {
									b.Fatalf("copied %d of %d: %v", n, size, err)
								}
								if _, err := io.ReadFull(sink, buf); err != nil {
									b.Fatal(err)
								}
							}
						})
					}
				})
			}
		})
	}
}
