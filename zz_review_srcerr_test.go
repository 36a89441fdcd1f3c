package splice_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// A source whose read deadline fires while it is idle: the error as
// io.Copy over an io.MultiWriter shapes it.
func TestZZReviewSrcDeadlineShape(t *testing.T) {
	data := testutil.Data(100000, 4)
	type mk func(t *testing.T) (io.Reader, func())
	srcs := map[string]mk{
		"ospipe": func(t *testing.T) (io.Reader, func()) {
			r, w := testutil.OSPipePair(t)
			go w.Write(data)
			r.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			return r, func() { w.Close() }
		},
		"splicepipe": func(t *testing.T) (io.Reader, func()) {
			p, _ := splice.NewPipe()
			t.Cleanup(func() { p.Close() })
			go p.Writer().Write(data)
			p.Reader().SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			return p, func() {}
		},
		"limited-ospipe": func(t *testing.T) (io.Reader, func()) {
			r, w := testutil.OSPipePair(t)
			go w.Write(data)
			r.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			return &io.LimitedReader{R: r, N: 1 << 20}, func() { w.Close() }
		},
		"tcp": func(t *testing.T) (io.Reader, func()) {
			a, b := testutil.TCPPair(t)
			go b.Write(data)
			a.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			return a, func() {}
		},
		"unix": func(t *testing.T) (io.Reader, func()) {
			a, b := testutil.UnixPair(t)
			go b.Write(data)
			a.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			return a, func() {}
		},
	}
	combos := [][]testutil.Kind{{testutil.OSPipe}, {testutil.File}, {testutil.Writer}, {testutil.File, testutil.OSPipe}, {testutil.OSPipe, testutil.Writer}}
	for name, mkSrc := range srcs {
		for _, dks := range combos {
			t.Run(fmt.Sprintf("%s/%s", name, comboName(dks)), func(t *testing.T) {
				shape := map[string]string{}
				for _, impl := range []string{"io", "splice"} {
					src, done := mkSrc(t)
					var ws []io.Writer
					var sinks []*testutil.Sink
					for _, k := range dks {
						s := testutil.OpenSink(t, k)
						sinks = append(sinks, s)
						ws = append(ws, s.W)
					}
					var n int64
					var err error
					if impl == "io" {
						n, err = ioMulti(src, ws...)
					} else {
						n, err = splice.CopyMulti(src, ws...)
					}
					done()
					shape[impl] = fmt.Sprintf("n=%d\n%s", n, errShapeOf(err).summary())
					for i, s := range sinks {
						if got := s.Bytes(); len(got) != int(n) {
							t.Errorf("%s: dst %d got %d, n=%d", impl, i, len(got), n)
						}
					}
				}
				if shape["io"] != shape["splice"] {
					t.Errorf("io:\n%s\nsplice:\n%s", shape["io"], shape["splice"])
				}
			})
		}
	}
	_ = net.ErrClosed
	_ = os.ErrClosed
}
