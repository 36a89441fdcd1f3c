package splice_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

func TestZZReviewSelfFeed(t *testing.T) {
	for _, order := range []int{0, 1} {
		for _, impl := range []string{"io", "splice"} {
			t.Run(fmt.Sprintf("%d/%s", order, impl), func(t *testing.T) {
				data := testutil.Data(65536, 8)
				r, w := testutil.OSPipePair(t)
				w.Write(data)
				p := filepath.Join(t.TempDir(), "f")
				f, _ := os.Create(p)
				ws := []io.Writer{w, f}
				if order == 1 {
					ws = []io.Writer{f, w}
				}
				lr := &io.LimitedReader{R: r, N: 1 << 20}
				ch := make(chan error, 1)
				go func() {
					var n int64
					var err error
					if impl == "io" {
						n, err = ioMulti(lr, ws...)
					} else {
						n, err = splice.CopyMulti(lr, ws...)
					}
					if n != 1<<20 || err != nil {
						err = fmt.Errorf("%d, %v", n, err)
					}
					ch <- err
				}()
				select {
				case err := <-ch:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("hang")
				}
				f.Close()
				got, _ := os.ReadFile(p)
				want := bytes.Repeat(data, 16)
				if !bytes.Equal(got, want) {
					t.Errorf("file differs: %d bytes", len(got))
				}
			})
		}
	}
}
