package splice_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// checkRepeated checks that got is data cut into chunks, each repeated k times.
func checkRepeated(t *testing.T, data, got []byte, k int) {
	t.Helper()
	if len(got) != k*len(data) {
		t.Fatalf("got %d bytes; want %d×%d", len(got), k, len(data))
	}
	for pos, at := 0, 0; pos < len(data); {
		n := 0
		for pos+n < len(data) && got[at+n] == data[pos+n] {
			n++
		}
		for ; n > 0; n-- {
			ok := true
			for r := 1; r < k && ok; r++ {
				ok = at+(r+1)*n <= len(got) && bytes.Equal(got[at+r*n:at+(r+1)*n], data[pos:pos+n])
			}
			if ok {
				break
			}
		}
		if n == 0 {
			t.Fatalf("at output byte %d (data byte %d): no chunk repeated %d times", at, pos, k)
		}
		pos, at = pos+n, at+k*n
	}
}

func TestZZReviewSameDestThrice(t *testing.T) {
	for _, c := range []*splice.Copier{{DisableSplice: true}, nil} {
		data := testutil.Data(3<<20, 5)
		src := testutil.OpenSource(t, testutil.File, data)
		sink := testutil.OpenSink(t, testutil.OSPipe)
		n, err := c.CopyMulti(src.R, sink.W, sink.W, sink.W)
		if n != int64(len(data)) || err != nil {
			t.Fatalf("CopyMulti = %d, %v", n, err)
		}
		t.Logf("disable=%v", c != nil)
		checkRepeated(t, data, sink.Bytes(), 3)
	}
	_ = io.Discard
}

// A pipe twice, then a file: the pipe's copies must not interleave within a chunk.
func TestZZReviewSameDestTwiceThenFile(t *testing.T) {
	for i := 0; i < 20; i++ {
		data := testutil.Data(3<<20, 5)
		src := testutil.OpenSource(t, testutil.File, data)
		sink := testutil.OpenSink(t, testutil.OSPipe)
		file := testutil.OpenSink(t, testutil.File)
		n, err := splice.CopyMulti(src.R, sink.W, sink.W, file.W)
		if n != int64(len(data)) || err != nil {
			t.Fatalf("CopyMulti = %d, %v", n, err)
		}
		checkRepeated(t, data, sink.Bytes(), 2)
	}
}
