//go:build !splice_portable

package splice_test

import (
	"os"
	"testing"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/benchpair"
	"github.com/splicekit/splice/internal/testutil"
)

// BenchmarkCopyBudgetSpent compares splice.Copy with io.Copy where the user's
// pipe-page budget (/proc/sys/fs/pipe-user-pages-soft) is spent, so that every
// new pipe has 2 pages and cannot grow: the engine then finds no pipe worth
// splicing through and goes by read and write, and io.Copy splices through its
// own 2-page pipes where it uses one (TCP → TCP); file → TCP goes by sendfile
// and pipe → pipe by splice(2) without a pipe of their own, for reference.
// Names are <src>-<dst>/size=<n>/impl=<splice|io.Copy>, so that benchstat
// -col /impl puts the two side by side.
//
// Each sub-benchmark builds internal/benchpair's endpoints and helpers first,
// with their 1 MiB pipes, and only then spends the budget (SpendPipePages),
// until its end: what is measured is the copy, not a harness starved of pipe
// room. The engine's idle pipes are closed before; the standard library's
// pooled pipes were all made with the budget spent (io.Copy runs only then),
// so neither implementation has a pipe from before.
//
// Root is not held to the budget, so as root the benchmark skips. Run it as
// nobody, interleaved (each run alternates the implementations):
//
//	go test -c -o /tmp/splice.test .
//	for i in 1 2 3 4 5 6 7 8; do
//		setpriv --reuid=65534 --regid=65534 --clear-groups \
//			/tmp/splice.test -test.run '^$' -test.bench '^BenchmarkCopyBudgetSpent$' -test.benchtime 300ms
//	done | tee budget.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl budget.txt
//
// from a directory that nobody may enter (the repository, or /tmp), with
// TMPDIR one that nobody may write (/tmp, /dev/shm).
func BenchmarkCopyBudgetSpent(b *testing.B) {
	if os.Geteuid() == 0 {
		b.Skip("root is not held to pipe-user-pages-soft; run as nobody: go test -c -o /tmp/splice.test . && " +
			"setpriv --reuid=65534 --regid=65534 --clear-groups /tmp/splice.test -test.run '^$' -test.bench BenchmarkCopyBudgetSpent " +
			"(see the benchmark's doc comment)")
	}
	impls := []struct{ name, impl string }{{"splice", benchpair.SpliceCopy}, {"io.Copy", benchpair.IOCopy}}
	for _, p := range []benchpair.Pair{{Src: "tcp", Dst: "tcp"}, {Src: "file", Dst: "tcp"}, {Src: "pipe", Dst: "pipe"}} {
		b.Run(p.String(), func(b *testing.B) {
			for _, size := range []int64{64 << 10, 1 << 20, 64 << 20} {
				b.Run("size="+sizeName(size), func(b *testing.B) {
					for _, impl := range impls {
						b.Run("impl="+impl.name, func(b *testing.B) {
							benchCopyBudgetSpent(b, p, size, impl.impl)
						})
					}
				})
			}
		})
	}
}

func benchCopyBudgetSpent(b *testing.B, p benchpair.Pair, size int64, impl string) {
	c := &benchpair.Copy{Src: p.Src, Dst: p.Dst, Size: size, Impl: impl}
	c.Start(b)
	splice.DrainPipePool()
	testutil.SpendPipePages(b) // released by b's cleanup, before the harness's
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		c.Iterate()
	}
}
