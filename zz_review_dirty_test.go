package splice_test

import (
	"errors"
	"io"
	"syscall"
	"testing"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// The consumer's splice out of the engine pipe p0 into a pipe fails with an
// errno other than EPIPE: the engine pipe, still holding the chunk, goes back
// to the pool, and the failure is blamed on the source.
func TestZZReviewConsumerErrnoPoolsDirty(t *testing.T) {
	splice.DrainPipePool()
	data := testutil.Data(3<<20, 9)
	src := testutil.OpenSource(t, testutil.File, data)
	file := testutil.OpenSink(t, testutil.File)
	pipe := testutil.OpenSink(t, testutil.OSPipe)
	restore := splice.InjectErrno("out", 1, syscall.EIO)
	n, err := splice.CopyMulti(src.R, file.W, pipe.W)
	restore()
	t.Logf("CopyMulti = %d, %v", n, err)
	var de *splice.DestError
	if !errors.As(err, &de) {
		t.Errorf("error %v: no *DestError (the engine pipe cannot fail; the destination did)", err)
	}
	pipes, bytes := splice.PooledPipeBytes()
	if bytes != 0 {
		t.Errorf("pool holds %d pipes with %d bytes in all", pipes, bytes)
	}
	splice.DrainPipePool()
	_ = io.EOF
}
