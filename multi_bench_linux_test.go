//go:build !splice_portable

package splice_test

import (
	"testing"

	"github.com/splicekit/splice/internal/benchpair"
)

// BenchmarkCopyMulti compares, for each list of destinations and each size,
// io.Copy over an io.MultiWriter, splice.CopyMulti and "raw". The source is
// always a 1 MiB pipe end like one from os.Pipe (non-blocking, in Go's
// poller), which has no EOF. Names are dsts=<list>/size=<n>/impl=<impl>, so
// that
//
//	benchstat -col /impl results.txt
//
// puts the three implementations side by side. The lists are two, three and
// four pipes ("pipe×2" to "pipe×4") and "mixed": a pipe, a regular file and a
// TCP connection, in that order.
//
// Impl io.MultiWriter is io.CopyN(io.MultiWriter(dsts...), src, size), and
// splice.CopyMulti is splice.CopyMulti(&io.LimitedReader{R: src, N: size},
// dsts...), CopyMulti having no N variant (the same LimitedReader, its N reset
// each iteration).
//
// Raw is the kernel's ceiling as a C program gets it, tee(2) and splice(2)
// on blocking fds; the harness is BenchmarkCopy's, one set of endpoints per
// implementation. Both are internal/benchpair's: see benchpair.Multi.
func BenchmarkCopyMulti(b *testing.B) {
	for _, dsts := range multiBenchDsts {
		b.Run("dsts="+dsts.name, func(b *testing.B) {
			for _, size := range []int64{4 << 10, 64 << 10, 1 << 20, 64 << 20} {
				b.Run("size="+sizeName(size), func(b *testing.B) {
					if size > 1<<20 && testing.Short() {
						b.Skip("big; not with -short")
					}
					for _, impl := range []string{benchpair.IOMultiWriter, benchpair.SpliceCopyMulti, benchpair.Raw} {
						b.Run("impl="+impl, func(b *testing.B) {
							benchCopyMulti(b, dsts.kinds, size, impl)
						})
					}
				})
			}
		})
	}
}

// multiBenchDsts are BenchmarkCopyMulti's lists of destinations, of
// BenchmarkCopy's sink kinds.
var multiBenchDsts = []struct {
	name  string
	kinds []string
}{
	{"pipe×2", []string{"pipe", "pipe"}},
	{"pipe×3", []string{"pipe", "pipe", "pipe"}},
	{"pipe×4", []string{"pipe", "pipe", "pipe", "pipe"}},
	{"mixed", []string{"pipe", "file", "tcp"}},
}

func benchCopyMulti(b *testing.B, kinds []string, size int64, impl string) {
	m := &benchpair.Multi{Dsts: kinds, Size: size, Impl: impl}
	m.Start(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		m.Iterate()
	}
}
