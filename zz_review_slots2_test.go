package splice_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

func TestZZReviewSlots2(t *testing.T) {
	data := testutil.Data(300000, 3)
	const cut = 12345
	for _, sk := range []string{"limited-packet", "tcp-small"} {
		for _, dsize := range []int{4096, 8192, 64 << 10, 1 << 20} {
			for _, ps := range []int{0, 4096, 8192} {
				for combo := 0; combo < 5; combo++ {
					name := fmt.Sprintf("%s/dst=%d/ps=%d/combo=%d", sk, dsize, ps, combo)
					var src io.Reader
					want := data
					var rest func() []byte
					switch sk {
					case "limited-packet":
						sr, sw := zzPipe(t, unix.O_DIRECT, 1<<20)
						go func() {
							rnd := rand.New(rand.NewSource(1))
							for off := 0; off < len(data); {
								m := min(1+rnd.Intn(64), len(data)-off)
								if _, err := sw.Write(data[off : off+m]); err != nil {
									return
								}
								off += m
							}
							sw.Close()
						}()
						want = data[:len(data)-cut]
						src = &io.LimitedReader{R: sr, N: int64(len(want))}
						rest = func() []byte {
							var b []byte
							buf := make([]byte, 1<<20)
							for {
								n, err := sr.Read(buf)
								b = append(b, buf[:n]...)
								if err != nil {
									return b
								}
							}
						}
					case "tcp-small":
						a, b := testutil.TCPPair(t)
						b.SetNoDelay(true)
						go func() {
							rnd := rand.New(rand.NewSource(1))
							for off := 0; off < len(data); {
								m := min(1+rnd.Intn(64), len(data)-off)
								if _, err := b.Write(data[off : off+m]); err != nil {
									return
								}
								off += m
							}
							b.CloseWrite()
						}()
						src = a
					}
					var sinks []zzSink
					switch combo {
					case 0:
						sinks = []zzSink{zzPipeSink(t, dsize), zzPipeSink(t, dsize), zzFileSink(t)}
					case 1:
						sinks = []zzSink{zzFileSink(t), zzPipeSink(t, dsize)}
					case 2:
						sinks = []zzSink{zzPipeSink(t, dsize), zzBufSink()}
					case 3:
						sinks = []zzSink{zzPipeSink(t, dsize), zzPipeSink(t, 64<<10)}
					case 4:
						sinks = []zzSink{zzFileSink(t), zzPipeSink(t, dsize), zzBufSink(), zzPipeSink(t, dsize)}
					}
					var ws []io.Writer
					for _, s := range sinks {
						ws = append(ws, s.w)
					}
					type res struct {
						n   int64
						err error
					}
					ch := make(chan res, 1)
					go func() {
						n, err := (&splice.Copier{PipeSize: ps}).CopyMulti(src, ws...)
						ch <- res{n, err}
					}()
					select {
					case r := <-ch:
						if r.n != int64(len(want)) || r.err != nil {
							t.Errorf("%s: CopyMulti = %d, %v", name, r.n, r.err)
						}
					case <-time.After(20 * time.Second):
						t.Fatalf("%s: hang", name)
					}
					if lr, ok := src.(*io.LimitedReader); ok && lr.N != 0 {
						t.Errorf("%s: N = %d", name, lr.N)
					}
					if rest != nil {
						if r := rest(); !bytes.Equal(r, data[len(want):]) {
							t.Errorf("%s: rest %d bytes, want %d", name, len(r), cut)
						}
					}
					for i, s := range sinks {
						if got := s.get(); !bytes.Equal(got, want) {
							t.Errorf("%s: dst %d got %d bytes, differ", name, i, len(got))
						}
					}
				}
			}
		}
	}
}
