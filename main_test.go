package splice_test

import (
	"runtime"
	"testing"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// TestMain fails the run if a test leaves an fd or a goroutine behind. Pipes in
// the package's own pool are closed first; the io.Copy baselines splice through
// the standard library's pipe pool, whose pipes close only when a collection
// empties that pool, so collect too.
func TestMain(m *testing.M) {
	testutil.Main(m, splice.DrainPipePool, func() { runtime.GC(); runtime.GC() })
}
