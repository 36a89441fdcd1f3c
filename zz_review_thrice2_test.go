package splice_test

import (
	"testing"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

func TestZZReviewThriceLoop(t *testing.T) {
	fails := 0
	for i := 0; i < 30; i++ {
		data := testutil.Data(3<<20, 5)
		src := testutil.OpenSource(t, testutil.File, data)
		sink := testutil.OpenSink(t, testutil.OSPipe)
		n, err := splice.CopyMulti(src.R, sink.W, sink.W, sink.W)
		if n != int64(len(data)) || err != nil {
			t.Fatalf("CopyMulti = %d, %v", n, err)
		}
		sub := &testing.T{}
		_ = sub
		got := sink.Bytes()
		if !repeatedOK(data, got, 3) {
			fails++
		}
	}
	t.Logf("%d/30 runs interleaved", fails)
	if fails > 0 {
		t.Fail()
	}
}

func repeatedOK(data, got []byte, k int) bool {
	if len(got) != k*len(data) {
		return false
	}
	for pos, at := 0, 0; pos < len(data); {
		n := 0
		for pos+n < len(data) && got[at+n] == data[pos+n] {
			n++
		}
		for ; n > 0; n-- {
			ok := true
			for r := 1; r < k && ok; r++ {
				ok = at+(r+1)*n <= len(got) && string(got[at+r*n:at+(r+1)*n]) == string(data[pos:pos+n])
			}
			if ok {
				break
			}
		}
		if n == 0 {
			return false
		}
		pos, at = pos+n, at+k*n
	}
	return true
}
