//go:build !splice_portable

package splice_test

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
)

// BenchmarkPipeChunk is the measurement behind Copy's small-chunk rule (copy_linux.go,
// smallChunk): one chunk of each size moved out of a pipe (to a Unix socket or to
// another pipe) or into one (from a Unix socket), by read(2)+write(2) through a
// buffer or by one splice(2), on raw non-blocking fds in one goroutine. Each
// iteration also feeds the source and drains the destination, the same way for
// both methods. Compare with
//
//	benchstat -col /how results.txt
func BenchmarkPipeChunk(b *testing.B) {
	type ends struct{ feed, src, dst, drain int }
	pairs := []struct {
		name string
		make func(b *testing.B) ends
	}{
		{"pipe-unix", func(b *testing.B) ends {
			pr, pw := rawPipe(b, unix.O_NONBLOCK)
			s, peer := rawUnixPair(b)
			return ends{pw, pr, s, peer}
		}},
		{"pipe-pipe", func(b *testing.B) ends {
			pr, pw := rawPipe(b, unix.O_NONBLOCK)
			qr, qw := rawPipe(b, unix.O_NONBLOCK)
			return ends{pw, pr, qw, qr}
		}},
		{"unix-pipe", func(b *testing.B) ends {
			s, peer := rawUnixPair(b)
			qr, qw := rawPipe(b, unix.O_NONBLOCK)
			return ends{peer, s, qw, qr}
		}},
	}
	for _, p := range pairs {
		for _, size := range []int{1, 1 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10} {
			data := make([]byte, size)
			buf := make([]byte, 1<<20)
			for _, how := range []string{"read+write", "splice"} {
				b.Run(fmt.Sprintf("%s/size=%s/how=%s", p.name, sizeName(int64(size)), how), func(b *testing.B) {
					e := p.make(b)
					b.SetBytes(int64(size))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := unix.Write(e.feed, data); err != nil {
							b.Fatal(err)
						}
						for got := 0; got < size; {
							var n int
							var err error
							if how == "splice" {
								var m int64
								m, err = splice.Splice(e.src, nil, e.dst, nil, size-got, splice.NonBlock)
								n = int(m)
							} else if n, err = unix.Read(e.src, buf[:size-got]); err == nil {
								_, err = unix.Write(e.dst, buf[:n])
							}
							if err != nil {
								b.Fatal(err)
							}
							got += n
						}
						for got := 0; got < size; {
							n, err := unix.Read(e.drain, buf)
							if err != nil {
								b.Fatal(err)
							}
							got += n
						}
					}
				})
			}
		}
	}
}

// rawUnixPair returns a non-blocking Unix stream socket pair, closed when b ends.
func rawUnixPair(b *testing.B) (a, peer int) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}
