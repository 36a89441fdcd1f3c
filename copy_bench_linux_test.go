//go:build !splice_portable

package splice_test

import (
	"fmt"
	"testing"

	"github.com/splicekit/splice/internal/benchpair"
)

// BenchmarkCopy compares, for each pair of endpoint kinds and each size (from one
// byte, where a path's set-up costs most, to 64 MiB), the standard library's
// io.Copy, splice.Copy and "raw". Names are <src>-<dst>/size=<n>/impl=<impl>,
// so that
//
//	benchstat -col /impl results.txt
//
// puts the three implementations side by side.
//
// Raw is the kernel's ceiling for the pair as a C program gets it: a bare loop
// of blocking system calls on the fds under the sub-benchmark's own endpoints,
// which it switches to blocking mode (clearing O_NONBLOCK) for its run, outside
// Go's poller, with neither poll(2) nor SPLICE_F_NONBLOCK. Between two regular
// files it is copy_file_range(2); where one side is a pipe, splice(2) from the
// source straight to the sink; otherwise (file to socket included) splice(2)
// from the source into one blocking pipe and from that pipe on to the sink, at
// most a pipe's worth at a time. Raw retries EINTR and fails if the source ends
// early. See benchpair.Copy.
//
// Every iteration moves exactly size bytes and ends only when the sink has them
// all. Endpoints are built once per sub-benchmark, and each implementation has
// its own. A regular file source holds the data in the page cache and is
// rewound each iteration (a file sink too). Every pipe the harness makes is
// grown to 1 MiB with F_SETPIPE_SZ (or left at what the kernel grants, past the
// user's pipe quota say): the pipe endpoints, the helpers' private pipes and
// raw's pipe.
//
// The harness, the same for all three implementations (the pairs' endpoints,
// the feeders and drainers, blocking helper threads as in a C harness, and
// why they are built so), is internal/benchpair's: see benchpair.Copy. Pairs
// and kinds are benchpair.Pairs.
func BenchmarkCopy(b *testing.B) {
	for _, p := range benchpair.Pairs {
		b.Run(p.String(), func(b *testing.B) {
			for _, size := range benchSizes {
				b.Run("size="+sizeName(size), func(b *testing.B) {
					for _, impl := range []string{benchpair.IOCopy, benchpair.SpliceCopy, benchpair.Raw} {
						b.Run("impl="+impl, func(b *testing.B) {
							benchCopy(b, p, size, impl)
						})
					}
				})
			}
		})
	}
}

var benchSizes = []int64{1, 512, 4 << 10, 64 << 10, 1 << 20, 64 << 20}

func sizeName(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func benchCopy(b *testing.B, p benchpair.Pair, size int64, impl string) {
	c := &benchpair.Copy{Src: p.Src, Dst: p.Dst, Size: size, Impl: impl}
	c.Start(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		c.Iterate()
	}
}
