package splice_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

func zzPipe(t *testing.T, flags, size int) (r, w *os.File) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK|flags); err != nil {
		t.Fatal(err)
	}
	if size > 0 {
		if _, err := unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, size); err != nil {
			t.Fatal(err)
		}
	}
	r, w = os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1")
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

type zzSink struct {
	w   io.Writer
	get func() []byte
}

func zzPipeSink(t *testing.T, size int) zzSink {
	r, w := zzPipe(t, 0, size)
	ch := make(chan []byte, 1)
	go func() {
		var b []byte
		buf := make([]byte, 1<<20)
		for {
			n, err := r.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				ch <- b
				return
			}
		}
	}()
	var got []byte
	done := false
	return zzSink{w, func() []byte {
		if !done {
			w.Close()
			got, done = <-ch, true
		}
		return got
	}}
}

func TestZZReviewSlots(t *testing.T) {
	data := testutil.Data(300000, 3)
	for _, srcSize := range []int{4096, 64 << 10, 1 << 20} {
		for _, dsize := range []int{4096, 8192, 64 << 10, 1 << 20} {
			for _, ps := range []int{0, 4096, 8192} {
				for combo := 0; combo < 5; combo++ {
					name := fmt.Sprintf("src=%d/dst=%d/ps=%d/combo=%d", srcSize, dsize, ps, combo)
					sr, sw := zzPipe(t, unix.O_DIRECT, srcSize)
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
						n, err := (&splice.Copier{PipeSize: ps}).CopyMulti(sr, ws...)
						ch <- res{n, err}
					}()
					select {
					case r := <-ch:
						if r.n != int64(len(data)) || r.err != nil {
							t.Errorf("%s: CopyMulti = %d, %v", name, r.n, r.err)
						}
					case <-time.After(20 * time.Second):
						t.Fatalf("%s: hang", name)
					}
					for i, s := range sinks {
						if got := s.get(); !bytes.Equal(got, data) {
							t.Errorf("%s: dst %d got %d bytes, differ", name, i, len(got))
						}
					}
				}
			}
		}
	}
}

func zzFileSink(t *testing.T) zzSink {
	p := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	return zzSink{f, func() []byte { f.Close(); b, _ := os.ReadFile(p); return b }}
}

func zzBufSink() zzSink {
	b := new(bytes.Buffer)
	return zzSink{struct{ io.Writer }{b}, func() []byte { return b.Bytes() }}
}
