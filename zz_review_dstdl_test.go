package splice_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

func TestZZReviewDstDeadline(t *testing.T) {
	for _, sk := range []testutil.Kind{testutil.File, testutil.OSPipe, testutil.TCP} {
		for _, pos := range []int{0, 1, 2} {
			for _, drop := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/pos=%d/drop=%v", sk, pos, drop), func(t *testing.T) {
					data := testutil.Data(4<<20, 6)
					src := testutil.OpenSource(t, sk, data)
					sr, sw := testutil.OSPipePair(t) // never read past 100 KB
					stall := readThenDo(t, sr, 100000, func() {})
					sw.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
					a := testutil.OpenSink(t, testutil.File)
					b := testutil.OpenSink(t, testutil.OSPipe)
					ws := []io.Writer{a.W, b.W}
					ws = append(ws[:pos], append([]io.Writer{sw}, ws[pos:]...)...)
					n, err := (&splice.Copier{DropFailed: drop}).CopyMulti(src.R, ws...)
					var de *splice.DestError
					if !errors.As(err, &de) || de.Index != pos {
						t.Fatalf("CopyMulti = %d, %v", n, err)
					}
					var pe *os.PathError
					if !errors.As(de.Err, &pe) || pe.Op != "write" || pe.Path != sw.Name() || pe.Err != os.ErrDeadlineExceeded {
						t.Errorf("DestError.Err = %#v", de.Err)
					}
					if drop && n != int64(len(data)) {
						t.Errorf("n = %d", n)
					}
					for i, s := range []*testutil.Sink{a, b} {
						if got := s.Bytes(); !testutil.Equal(t, data[:n], got) {
							t.Errorf("sink %d", i)
						}
					}
					_ = stall()
					// what the stalled pipe holds + read
					sw.Close()
					rest, _ := io.ReadAll(sr)
					got := append(stall(), rest...)
					if int64(len(got)) != de.Written {
						t.Errorf("stalled pipe got %d, Written %d", len(got), de.Written)
					}
					testutil.Equal(t, data[:len(got)], got)
				})
			}
		}
	}
}
