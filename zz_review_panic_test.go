package splice_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

func TestZZReviewPanics(t *testing.T) {
	for _, sk := range []testutil.Kind{testutil.File, testutil.OSPipe, testutil.TCP} {
		for _, where := range []string{"progress1", "progress3", "writer-first", "writer-last", "writer-mid"} {
			t.Run(fmt.Sprintf("%v/%s", sk, where), func(t *testing.T) {
				splice.DrainPipePool()
				data := testutil.Data(5<<20, 2)
				src := testutil.OpenSource(t, sk, data)
				pipe := testutil.OpenSink(t, testutil.OSPipe)
				file := testutil.OpenSink(t, testutil.File)
				calls := 0
				boom := testutil.WriterFunc(func(p []byte) (int, error) {
					calls++
					if calls == 5 {
						panic("boom")
					}
					return len(p), nil
				})
				ok := testutil.WriterFunc(func(p []byte) (int, error) { return len(p), nil })
				c := &splice.Copier{}
				var ws []io.Writer
				switch where {
				case "progress1", "progress3":
					n := 1
					if where == "progress3" {
						n = 3
					}
					c.Progress = func(int64) {
						calls++
						if calls == n {
							panic("boom")
						}
					}
					ws = []io.Writer{pipe.W, ok, file.W}
				case "writer-first":
					ws = []io.Writer{boom, pipe.W, ok, file.W}
				case "writer-last":
					ws = []io.Writer{pipe.W, file.W, ok, boom}
				case "writer-mid":
					ws = []io.Writer{pipe.W, boom, file.W}
				}
				func() {
					defer func() { recover() }()
					c.CopyMulti(src.R, ws...)
				}()
				if pipes, b := splice.PooledPipeBytes(); b != 0 {
					t.Errorf("pool: %d pipes, %d bytes", pipes, b)
				}
			})
		}
	}
}
