//go:build !linux

package benchpair

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/splicekit/splice"
)

// Pairs are the pairs the harness builds: off Linux, the portable subset of
// regular files and TCP connections.
var Pairs = []Pair{
	{"file", "file"}, {"file", "tcp"}, {"tcp", "file"}, {"tcp", "tcp"},
}

// HasRaw reports whether the harness has a raw copy ([Raw]): off Linux,
// no.
func HasRaw() bool { return false }

// Copy is one pair's benchmark for one implementation: endpoints of the
// pair's kinds and the copy of exactly Size bytes that each iteration makes.
// Off Linux the kinds are "file" and "tcp" ("limitedfile" and "limitedtcp" as
// sources), a TCP source is fed, one iteration ahead, by a goroutine that
// writes Data to its peer, and a TCP sink is emptied by one that reads from
// its peer; the zero-copy paths and the raw copy are Linux-only. With
// Verify set, what a sink gets is checked.
type Copy struct {
	Src, Dst string // kinds, as in Pair
	Size     int64  // bytes per iteration
	Impl     string // IOCopy or SpliceCopy
	Verify   bool

	tb  TB
	src *portEnv
	dst *portEnv
}

// Start builds the endpoints and the helpers, starts them and gives the
// feeder the first iteration's token. It fails tb on an error; tb's cleanups
// stop the helpers and close everything.
func (c *Copy) Start(tb TB) {
	tb.Helper()
	c.tb = tb
	switch c.Impl {
	case IOCopy, SpliceCopy:
	default:
		tb.Fatalf("unknown impl %q on this system", c.Impl)
	}
	c.src = newSource(tb, c.Src, c.Size)
	c.dst = newSink(tb, c.Dst, c.Size, c.Verify)
	c.src.first(tb)
}

// Iterate copies Size bytes from the source to the sink, and returns once the
// sink has them all. It fails the TB given to Start on an error.
func (c *Copy) Iterate() {
	c.src.before(c.tb)
	c.dst.before(c.tb)
	var n int64
	var err error
	switch {
	case c.src.stream && c.Impl == IOCopy:
		n, err = io.CopyN(c.dst.w, c.src.r, c.Size)
	case c.src.stream:
		n, err = splice.CopyN(c.dst.w, c.src.r, c.Size)
	case c.Impl == IOCopy:
		n, err = io.Copy(c.dst.w, c.src.r)
	default:
		n, err = splice.Copy(c.dst.w, c.src.r)
	}
	if err != nil || n != c.Size {
		c.tb.Fatalf("%s copied %d of %d bytes: %v", c.Impl, n, c.Size, err)
	}
	c.dst.after(c.tb)
}

// Multi is the benchmark of one list of destinations ("file" or "tcp") for
// one implementation (IOMultiWriter or SpliceCopyMulti): off Linux the source
// is a TCP connection fed as Copy's is. Each iteration moves exactly Size
// bytes to every destination.
type Multi struct {
	Dsts   []string
	Size   int64
	Impl   string
	Verify bool

	tb   TB
	src  *portEnv
	dsts []*portEnv
	ws   []io.Writer
	lr   *io.LimitedReader
}

// Start builds the endpoints and the helpers, starts them and gives the
// feeder the first iteration's token.
func (m *Multi) Start(tb TB) {
	tb.Helper()
	m.tb = tb
	switch m.Impl {
	case IOMultiWriter, SpliceCopyMulti:
	default:
		tb.Fatalf("unknown impl %q on this system", m.Impl)
	}
	if len(m.Dsts) == 0 {
		tb.Fatalf("no destinations")
	}
	m.src = newSource(tb, "tcp", m.Size)
	for _, k := range m.Dsts {
		e := newSink(tb, k, m.Size, m.Verify)
		m.dsts = append(m.dsts, e)
		m.ws = append(m.ws, e.w)
	}
	m.lr = &io.LimitedReader{R: m.src.r}
	m.src.first(tb)
}

// Iterate copies Size bytes from the source to every destination, and
// returns once every sink has them all.
func (m *Multi) Iterate() {
	m.src.before(m.tb)
	for _, e := range m.dsts {
		e.before(m.tb)
	}
	var n int64
	var err error
	if m.Impl == IOMultiWriter {
		n, err = io.CopyN(io.MultiWriter(m.ws...), m.src.r, m.Size)
	} else {
		m.lr.N = m.Size
		n, err = splice.CopyMulti(m.lr, m.ws...)
	}
	if err != nil || n != m.Size {
		m.tb.Fatalf("%s copied %d of %d bytes: %v", m.Impl, n, m.Size, err)
	}
	for _, e := range m.dsts {
		e.after(m.tb)
	}
}

// portEnv is one endpoint of the portable harness: a file, or a TCP
// connection whose peer a goroutine feeds (a source) or drains (a sink).
type portEnv struct {
	size   int64
	verify bool
	r      io.Reader // a source's, as the copy reads it
	w      io.Writer // a sink's
	file   *os.File  // a regular file to rewind, or nil
	lr     *io.LimitedReader
	stream bool // r has no EOF

	peer *net.TCPConn
	feed chan struct{} // a token per iteration, to the feeder
	done chan error    // a token per iteration, from the drainer
	errc chan error    // the feeder's error
	quit chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func newSource(tb TB, kind string, size int64) *portEnv {
	e := &portEnv{size: size, quit: make(chan struct{})}
	switch kind {
	case "file", "limitedfile":
		f := tempFile(tb)
		n := size
		if kind == "limitedfile" {
			n += 4096 // bytes past the limit, which the copy must leave
		}
		if err := fill(f, n); err != nil {
			tb.Fatalf("fill source: %v", err)
		}
		e.r, e.file = f, f
		if kind == "limitedfile" {
			e.lr = &io.LimitedReader{R: f, N: size}
			e.r = e.lr
		}
	case "tcp", "limitedtcp":
		peer, c := tcpPair(tb)
		e.r, e.stream, e.peer = c, true, peer
		if kind == "limitedtcp" {
			e.lr = &io.LimitedReader{R: c, N: size}
			e.r, e.stream = e.lr, false
		}
		e.feed = make(chan struct{}, 2)
		e.errc = make(chan error, 1)
		tb.Cleanup(e.stop) // before the pair's own cleanups
		e.wg.Add(1)
		go e.feedLoop()
	default:
		tb.Fatalf("unknown source kind %q on this system", kind)
	}
	return e
}

func newSink(tb TB, kind string, size int64, verify bool) *portEnv {
	e := &portEnv{size: size, verify: verify, quit: make(chan struct{})}
	switch kind {
	case "file":
		f := tempFile(tb)
		e.w, e.file = f, f
	case "tcp":
		c, peer := tcpPair(tb)
		e.w, e.peer = c, peer
		e.done = make(chan error, 1)
		tb.Cleanup(e.stop)
		e.wg.Add(1)
		go e.drainLoop()
	default:
		tb.Fatalf("unknown sink kind %q on this system", kind)
	}
	return e
}

// first gives the feeder the first iteration's token.
func (e *portEnv) first(tb TB) {
	if e.feed != nil {
		e.feed <- struct{}{}
	}
}

// before readies the endpoint for an iteration: the next token to the
// feeder, one iteration ahead; a rewind; the limit reset.
func (e *portEnv) before(tb TB) {
	if e.feed != nil {
		select {
		case err := <-e.errc:
			tb.Fatalf("feeder: %v", err)
		case e.feed <- struct{}{}:
		}
	}
	if e.file != nil {
		if _, err := e.file.Seek(0, io.SeekStart); err != nil {
			tb.Fatalf("rewind: %v", err)
		}
	}
	if e.lr != nil {
		e.lr.N = e.size
	}
}

// after waits for the drainer to have the iteration, or checks a file sink.
func (e *portEnv) after(tb TB) {
	if e.done != nil {
		if err := <-e.done; err != nil {
			tb.Fatalf("drainer: %v", err)
		}
		return
	}
	if e.verify && e.file != nil {
		if err := verifyFile(e.file, e.size); err != nil {
			tb.Fatalf("file sink: %v", err)
		}
	}
}

func (e *portEnv) feedLoop() {
	defer e.wg.Done()
	for {
		select {
		case <-e.quit:
			return
		case <-e.feed:
		}
		for off := int64(0); off < e.size; {
			n, err := e.peer.Write(expected(e.size, off, BufSize))
			if err != nil {
				select {
				case <-e.quit:
				default:
					e.errc <- err
					e.peer.Close() // the copy sees end of file instead of waiting
				}
				return
			}
			off += int64(n)
		}
	}
}

func (e *portEnv) drainLoop() {
	defer e.wg.Done()
	buf := make([]byte, BufSize)
	var got int64
	for {
		n, err := e.peer.Read(buf)
		if err == nil && e.verify {
			for p := buf[:n]; len(p) > 0; {
				want := expected(e.size, got%e.size, len(p))
				if i := mismatch(want, p[:len(want)]); i >= 0 {
					err = fmt.Errorf("sink: byte %d of an iteration differs", got%e.size+int64(i))
					break
				}
				p = p[len(want):]
				got += int64(len(want))
			}
		} else {
			got += int64(n)
		}
		for ; got >= e.size && err == nil; got -= e.size {
			select {
			case <-e.quit:
				return
			case e.done <- nil:
			}
		}
		if err != nil {
			select {
			case <-e.quit:
			default:
				e.peer.Close() // the copy fails instead of waiting
				select {
				case <-e.quit:
				case e.done <- err:
				}
			}
			return
		}
	}
}

// stop ends the helpers and waits for them; idempotent.
func (e *portEnv) stop() {
	e.once.Do(func() {
		close(e.quit)
		if e.peer != nil {
			e.peer.Close()
		}
		e.wg.Wait()
	})
}
