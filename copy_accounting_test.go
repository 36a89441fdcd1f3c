package splice_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// Nothing lost: when the destination fails part way, every byte the source gave
// is either in the destination (the count), handed to Unwritten, or still unread
// in the source, in order, once: written + len(Unwritten) + unread == size.

// acctSink is a destination that fails after taking acctFailAt(size) bytes, and
// what its far end received, read after the copy. exact: the far end reads
// back every byte dst accepted; otherwise the far end closed with bytes
// accepted but unread, and received is only a prefix of them.
type acctSink struct {
	name  string
	exact bool
	child bool // process-wide: run in a child, one copy at a time
	open  func(t *testing.T, size int) (w io.Writer, received func() []byte)
	// around, if set, runs the copy.
	around func(t *testing.T, size int, copy func())
}

// acctFailAt is where a sink of size bytes fails: part way.
func acctFailAt(size int) int { return size * 3 / 10 }

// acctCloseAt is where a pipe or socket sink's reader goes away: part way through
// a copy larger than the buffers between, before the copy otherwise (a small
// copy would fit in the buffers and not fail at all).
func acctCloseAt(size int) int {
	if size > 256<<10 {
		return acctFailAt(size)
	}
	return 0
}

// acctReader reads k bytes from r, then calls stop (which closes r, or waits
// for the copy to end), then, if more is set, reads r to EOF. received closes
// the write side with closeW and returns all it read.
func acctReader(t *testing.T, r io.Reader, k int, stop func(), more bool, closeW func()) func() []byte {
	done := make(chan []byte, 1)
	start := func() {
		buf := make([]byte, k)
		m, _ := io.ReadFull(r, buf)
		stop()
		got := buf[:m]
		if more {
			rest, _ := io.ReadAll(r)
			got = append(got, rest...)
		}
		done <- got
	}
	if k == 0 && !more {
		start() // gone before the copy
	} else {
		go start()
	}
	var once sync.Once
	var got []byte
	return func() []byte {
		once.Do(func() {
			closeW()
			select {
			case got = <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("the sink's reader did not finish")
			}
		})
		return got
	}
}

func acctSinks() []acctSink {
	pipeEnds := func(t *testing.T, name string) (r io.Reader, w io.Writer, closeR, closeW func()) {
		switch name {
		case "ospipe", "blockpipe":
			var rf, wf *os.File
			if name == "ospipe" {
				rf, wf = testutil.OSPipePair(t)
			} else {
				rf, wf = testutil.BlockingPipePair(t)
			}
			return rf, wf, func() { rf.Close() }, func() { wf.Close() }
		}
		p, err := splice.NewPipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p.Reader(), p, func() { p.Reader().Close() }, func() { p.CloseWrite() }
	}
	sockEnds := func(t *testing.T, name string) (conn, peer testutil.Socket) {
		// Small buffers, so that a megabyte does not fit between.
		return testutil.SmallSocketPair(t, testutil.Kind(name), 64<<10)
	}
	var sinks []acctSink
	for _, name := range []string{"ospipe", "blockpipe", "pipe"} {
		sinks = append(sinks, acctSink{name: name + "-close", open: func(t *testing.T, size int) (io.Writer, func() []byte) {
			r, w, closeR, closeW := pipeEnds(t, name)
			return w, acctReader(t, r, acctCloseAt(size), closeR, false, closeW)
		}})
	}
	for _, name := range []string{"tcp-close", "tcp-reset", "unix-close"} {
		sinks = append(sinks, acctSink{name: name, open: func(t *testing.T, size int) (io.Writer, func() []byte) {
			kind, _, _ := strings.Cut(name, "-")
			conn, peer := sockEnds(t, kind)
			stop := func() { peer.Close() }
			if tc, ok := peer.(*net.TCPConn); ok && name == "tcp-reset" {
				stop = func() {
					tc.SetLinger(0)
					tc.Close()
				}
			}
			return conn, acctReader(t, peer, acctCloseAt(size), stop, false, func() { conn.Close() })
		}})
	}
	for _, name := range []string{"ospipe", "pipe", "tcp", "unix"} {
		sinks = append(sinks, acctSink{name: name + "-stall", exact: true, open: func(t *testing.T, size int) (io.Writer, func() []byte) {
			var r io.Reader
			var w io.Writer
			var closeW func()
			var deadline interface{ SetWriteDeadline(time.Time) error }
			switch name {
			case "tcp", "unix":
				conn, peer := sockEnds(t, name)
				r, w, closeW, deadline = peer, conn, func() { conn.Close() }, conn
			default:
				var pr io.Reader
				pr, w, _, closeW = pipeEnds(t, name)
				r = pr
				if p, ok := w.(*splice.Pipe); ok {
					deadline = p.Writer()
				} else {
					deadline = w.(*os.File)
				}
			}
			if err := deadline.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			received := acctReader(t, r, acctFailAt(size), func() { <-release }, true, func() {
				closeW()
				close(release)
			})
			return w, received
		}})
	}
	sinks = append(sinks,
		acctSink{name: "writer-fail", exact: true, open: func(t *testing.T, size int) (io.Writer, func() []byte) {
			w := &testutil.FailWriter{Limit: acctFailAt(size)}
			return w, w.Bytes
		}},
		acctSink{name: "writer-short", exact: true, open: func(t *testing.T, size int) (io.Writer, func() []byte) {
			w := &testutil.FailWriter{Limit: acctFailAt(size), Short: true}
			return w, w.Bytes
		}},
		acctSink{name: "readerfrom-fail", exact: true, open: func(t *testing.T, size int) (io.Writer, func() []byte) {
			w := &testutil.FailReaderFrom{FailWriter: testutil.FailWriter{Limit: acctFailAt(size)}}
			return w, w.Bytes
		}},
		acctSink{name: "file-enospc", exact: true, open: func(t *testing.T, size int) (io.Writer, func() []byte) {
			return acctFileSink(t, filepath.Join(testutil.SmallFS(t, 64<<10), "sink"))
		}},
		acctSink{name: "file-fsize", exact: true, child: true, open: func(t *testing.T, size int) (io.Writer, func() []byte) {
			return acctFileSink(t, filepath.Join(t.TempDir(), "sink"))
		}, around: func(t *testing.T, size int, copy func()) {
			restore := testutil.FileSizeLimit(t, int64(acctFailAt(size)))
			defer restore()
			copy()
		}},
	)
	return sinks
}

func acctFileSink(t *testing.T, path string) (io.Writer, func() []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, func() []byte {
		f.Close()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Error(err)
		}
		return b
	}
}

// TestCopyAccounting copies every source kind into every kind of destination
// made to fail part way, with and without splice, and requires that the count
// is what the destination received, and that the bytes handed to Unwritten and
// those left unread in the source are exactly the rest of the data, in order.
func TestCopyAccounting(t *testing.T) {
	if !testutil.InChild(t) {
		t.Parallel()
	}
	sizes := []int{1<<20 + 5, 1000}
	modes := []struct {
		name          string
		disableSplice bool
	}{{"splice", false}, {"nosplice", true}}
	for _, sink := range acctSinks() {
		t.Run(sink.name, func(t *testing.T) {
			if sink.child && !testutil.InChild(t) {
				t.Parallel()
				testutil.RunChild(t)
				return
			}
			if !sink.child {
				t.Parallel()
			}
			for _, sk := range testutil.SourceKinds() {
				for _, size := range sizes {
					for _, mode := range modes {
						t.Run(fmt.Sprintf("%v/%d/%s", sk, size, mode.name), func(t *testing.T) {
							if !sink.child {
								t.Parallel()
							}
							acctCheck(t, sink, sk, size, mode.disableSplice)
						})
					}
				}
			}
		})
	}
}

func acctCheck(t *testing.T, sink acctSink, sk testutil.Kind, size int, disableSplice bool) {
	data := testutil.Data(size, uint64(size)^0xacc)
	src := testutil.OpenSource(t, sk, data)
	dst, received := sink.open(t, size)
	var log recorder
	c := &splice.Copier{DisableSplice: disableSplice, Unwritten: log.add}
	var n int64
	var err error
	run := func() { n, err = c.Copy(dst, src.R) }
	if sink.around != nil {
		sink.around(t, size, run)
	} else {
		run()
	}
	limitN := int64(-1)
	if lr, ok := src.R.(*io.LimitedReader); ok {
		limitN = lr.N
	}
	got := received()
	rest := src.Rest()
	unw := log.got
	t.Logf("Copy = %d, %v; Unwritten got %d bytes, %d left unread, the far end received %d", n, err, len(unw), len(rest)-len(src.Extra), len(got))
	if n < 0 || n > int64(size) {
		t.Fatalf("Copy = %d, %v; sent %d", n, err, size)
	}
	taken := n + int64(len(unw))
	unread := len(rest) - len(src.Extra)
	if sum := taken + int64(unread); sum != int64(size) || taken > int64(size) {
		t.Errorf("accounting: written %d + unwritten %d + unread %d = %d of %d bytes (%+d); err %v",
			n, len(unw), unread, sum, size, sum-int64(size), err)
	}
	if sink.exact {
		if !testutil.Equal(t, data[:n], got) {
			t.Errorf("Copy = %d, %v; the destination received %d bytes", n, err, len(got))
		}
	} else if int64(len(got)) > n || !testutil.Equal(t, data[:len(got)], got) {
		t.Errorf("Copy = %d, %v; the destination received %d bytes, not a prefix of those", n, err, len(got))
	}
	if taken > int64(size) {
		return
	}
	if !testutil.Equal(t, data[n:taken], unw) {
		t.Errorf("Unwritten was given %d bytes, not data[%d:%d]", len(unw), n, taken)
	}
	if !testutil.Equal(t, append(data[taken:len(data):len(data)], src.Extra...), rest) {
		t.Errorf("the source's unread rest is %d bytes, not data[%d:] (%d bytes) and the %d extra", len(rest), taken, int64(size)-taken, len(src.Extra))
	}
	if limitN >= 0 && limitN != int64(size)-taken {
		t.Errorf("LimitedReader.N = %d after taking %d of %d", limitN, taken, size)
	}
}
