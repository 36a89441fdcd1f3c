//go:build !splice_portable

package splice_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// From a TCP socket into a pipe, one splice per chunk moves the bytes: no
// engine pipe is taken, so a failing destination strands nothing in one. (From
// a Unix socket the engine's pipe measured faster: throughEnginePipe.)
// Not parallel: it counts the engine pipes of the whole process.
func TestCopySocketToOSPipeSplicesDirect(t *testing.T) {
	taken, stop := splice.CountEnginePipes()
	defer stop()
	for _, sk := range []testutil.Kind{testutil.TCP, testutil.LimitedTCP} {
		for _, dk := range []testutil.Kind{testutil.OSPipe, testutil.BlockingPipe} {
			t.Run(fmt.Sprintf("%v-%v", sk, dk), func(t *testing.T) {
				data := testutil.Data(1<<20+5, 61)
				src := testutil.OpenSource(t, sk, data)
				dst := testutil.OpenSink(t, dk)
				before := taken()
				n, err := splice.Copy(dst.W, src.R)
				if n != int64(len(data)) || err != nil {
					t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data))
				}
				if got := taken() - before; got != 0 {
					t.Errorf("Copy took %d engine pipes; want 0 (one splice per chunk into the pipe)", got)
				}
				testutil.Equal(t, data, dst.Bytes())
			})
		}
	}
}

// Sockets that keep message boundaries, handed over as *os.File, are written
// to as io.Copy writes them (one record per 32 KiB write), never spliced into:
// by Copy and by Pipe.WriteTo.
func TestCopyToRecordSocketFile(t *testing.T) {
	t.Parallel()
	type result struct {
		N       int64
		Err     string
		Records []int
	}
	kinds := []struct {
		name string
		size int
		open func(t *testing.T) (w *os.File, r func() int)
	}{
		{"udp", 70000, udpFile},
		{"unixgram", 40000, func(t *testing.T) (*os.File, func() int) { return socketpairFile(t, syscall.SOCK_DGRAM) }},
		{"seqpacket", 40000, func(t *testing.T) (*os.File, func() int) { return socketpairFile(t, syscall.SOCK_SEQPACKET) }},
	}
	impls := []struct {
		name string
		copy func(dst io.Writer, src *os.File) (int64, error)
	}{
		{"io.Copy", func(dst io.Writer, src *os.File) (int64, error) { return io.Copy(dst, src) }},
		{"splice.Copy", func(dst io.Writer, src *os.File) (int64, error) { return splice.Copy(dst, src) }},
		{"Pipe.WriteTo", nil},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			data := testutil.Data(k.size, 62)
			results := map[string]result{}
			for _, impl := range impls {
				w, recv := k.open(t)
				var n int64
				var err error
				if impl.copy == nil {
					p := newPipe(t)
					if _, err := p.SetSize(1 << 17); err != nil {
						t.Skipf("cannot grow the pipe to hold the data: %v", err)
					}
					p.Write(data)
					p.CloseWrite()
					n, err = p.WriteTo(w)
				} else {
					r, pw := testutil.OSPipePair(t)
					go func() { pw.Write(data); pw.Close() }()
					n, err = impl.copy(w, r)
				}
				res := result{N: n, Records: []int{}}
				if err != nil {
					res.Err = err.Error()
				}
				for got := 0; got < int(n); {
					m := recv()
					if m <= 0 {
						break
					}
					res.Records = append(res.Records, m)
					got += m
				}
				results[impl.name] = res
			}
			want := results["io.Copy"]
			if want.Err != "" || want.N != int64(k.size) {
				t.Fatalf("io.Copy = %+v; want all %d bytes", want, k.size)
			}
			for _, impl := range impls[1:] {
				if diff := cmp.Diff(want, results[impl.name]); diff != "" {
					t.Errorf("%s differs from io.Copy (-io.Copy +%s):\n%s", impl.name, impl.name, diff)
				}
			}
		})
	}
}

// udpFile returns a connected UDP socket as an *os.File, and a function that
// receives one datagram at its peer and returns its size.
func udpFile(t *testing.T) (*os.File, func() int) {
	t.Helper()
	srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.SetReadBuffer(1 << 20)
	c, err := net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.File()
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	buf := make([]byte, 1<<16)
	return f, func() int {
		srv.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := srv.ReadFromUDP(buf)
		if err != nil {
			return -1
		}
		return n
	}
}

// socketpairFile returns one end of an AF_UNIX socketpair of type typ as an
// *os.File, and a function that reads one record at the other end.
func socketpairFile(t *testing.T, typ int) (*os.File, func() int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, typ|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Skipf("socketpair(AF_UNIX, %d): %v", typ, err)
	}
	w, r := os.NewFile(uintptr(fds[0]), "w"), os.NewFile(uintptr(fds[1]), "r")
	t.Cleanup(func() { w.Close(); r.Close() })
	buf := make([]byte, 1<<17)
	return w, func() int {
		r.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := r.Read(buf)
		if err != nil {
			return -1
		}
		return n
	}
}

// What a plain destination refuses stays in the pipe: WriteTo takes from it
// only what dst accepted.
func TestPipeWriteToPlainWriterKeepsBytes(t *testing.T) {
	t.Parallel()
	for _, accept := range []int{0, 10, 32768, 40000} {
		t.Run(fmt.Sprint(accept), func(t *testing.T) {
			t.Parallel()
			p := newPipe(t)
			data := testutil.Data(50000, 63)
			p.Write(data)
			dst := &failAfter{n: accept}
			n, err := p.WriteTo(dst)
			if n != int64(accept) || !errors.Is(err, errFailAfter) {
				t.Fatalf("WriteTo = %d, %v; want %d, %v", n, err, accept, errFailAfter)
			}
			testutil.Equal(t, data[:accept], dst.got.Bytes())
			if got := p.Buffered(); got != len(data)-accept {
				t.Errorf("the pipe holds %d bytes; want %d", got, len(data)-accept)
			}
			p.CloseWrite()
			rest, _ := io.ReadAll(p)
			testutil.Equal(t, data[accept:], rest)
		})
	}
}

var errFailAfter = errors.New("destination failed")

// failAfter accepts n bytes, then fails; a plain writer (no ReadFrom).
type failAfter struct {
	n   int
	got bytes.Buffer
}

func (w *failAfter) Write(b []byte) (int, error) {
	if left := w.n - w.got.Len(); len(b) > left {
		w.got.Write(b[:left])
		return left, errFailAfter
	}
	return w.got.Write(b)
}

// A Progress that panics while the engine pipe holds bytes (the destination
// failed mid-round) must not leave those bytes pooled: the next, unrelated copy
// would deliver them. Not parallel: it inspects the process's pool.
func TestCopyPanicInCallbackPoolsNoBytes(t *testing.T) {
	for _, exit := range []string{"panic", "goexit"} {
		t.Run(exit, func(t *testing.T) {
			splice.DrainPipePool()
			a, b := testutil.TCPPair(t) // the destination; b never reads
			a.SetWriteBuffer(4096)
			b.SetReadBuffer(4096)
			src, peer := testutil.TCPPair(t)
			src.SetReadBuffer(4 << 20)
			data := testutil.Data(8<<20, 64)
			go func() { peer.Write(data); peer.Close() }()
			// Let a megabyte wait in src: the first round takes far more
			// than a's buffers hold, so a's deadline fires mid-round with
			// bytes in the engine's pipe, and Progress runs then.
			time.Sleep(100 * time.Millisecond)
			deadline := time.Now().Add(200 * time.Millisecond)
			a.SetWriteDeadline(deadline)
			var early atomic.Bool
			c := &splice.Copier{Progress: func(int64) {
				early.Store(time.Now().Before(deadline))
				if exit == "panic" {
					panic("progress")
				}
				runtime.Goexit()
			}}
			done := make(chan any)
			go func() {
				defer func() { done <- recover() }()
				c.Copy(a, src)
			}()
			if r := <-done; exit == "panic" && r != "progress" {
				t.Fatalf("Copy ended with %v; want the callback's panic", r)
			}
			if early.Load() {
				t.Fatal("Progress ran before a's deadline: the round did not fail mid-way, the test proves nothing")
			}
			if pipes, held := splice.PooledPipeBytes(); held != 0 {
				t.Errorf("after the callback's %s, %d pooled pipes hold %d bytes", exit, pipes, held)
			}
			// The next copies through the engine's pipe get only their own bytes.
			for i := range 4 {
				want := testutil.Data(100000, uint64(70+i))
				s := testutil.OpenSource(t, testutil.Unix, want)
				d := testutil.OpenSink(t, testutil.Unix)
				if n, err := splice.Copy(d.W, s.R); n != int64(len(want)) || err != nil {
					t.Fatalf("next Copy = %d, %v", n, err)
				}
				testutil.Equal(t, want, d.Bytes())
			}
		})
	}
}

// A broken stdout raises SIGPIPE, as it does for io.Copy (os.File.Write's rule
// for fds 1 and 2), on every path: direct splice, through the engine's pipe,
// sendfile or splice from a file, and Pipe.WriteTo. The copies run in a child
// whose stdout is a pipe without a reader.
func TestCopyBrokenStdoutRaisesSIGPIPE(t *testing.T) {
	if impl := os.Getenv("SPLICE_TEST_SIGPIPE"); impl != "" {
		sigpipeChild(t, impl)
		return
	}
	t.Parallel()
	// (io.Copy from TCP does not: the standard library splices there, and
	// its EPIPE reaches no os.File.Write.)
	for _, impl := range []string{"io.Copy/file", "io.Copy/ospipe",
		"splice.Copy/file", "splice.Copy/ospipe", "splice.Copy/tcp", "splice.Copy/pipe",
		"wrapped/ospipe", "Pipe.WriteTo"} {
		t.Run(impl, func(t *testing.T) {
			t.Parallel()
			r, w := testutil.OSPipePair(t)
			r.Close() // nobody reads the child's stdout
			var stderr bytes.Buffer
			cmd := exec.Command(os.Args[0], "-test.run=^TestCopyBrokenStdoutRaisesSIGPIPE$")
			cmd.Env = append(os.Environ(), "SPLICE_TEST_SIGPIPE="+impl)
			cmd.Stdout, cmd.Stderr = w, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("child: %v; want death by SIGPIPE\n%s", err, stderr.String())
			}
			ws, ok := ee.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
				t.Errorf("child ended with %v; want death by SIGPIPE\n%s", err, stderr.String())
			}
		})
	}
}

func sigpipeChild(t *testing.T, impl string) {
	data := testutil.Data(1<<20, 65)
	name, kind, _ := strings.Cut(impl, "/")
	var n int64
	var err error
	if name == "Pipe.WriteTo" {
		p := newPipe(t)
		p.Write(data[:32<<10])
		p.CloseWrite()
		n, err = p.WriteTo(os.Stdout)
	} else {
		src := testutil.NewSource(t, testutil.Kind(kind), data)
		switch name {
		case "io.Copy":
			n, err = io.Copy(os.Stdout, src)
		case "wrapped": // stdout behind a type of another package
			n, err = splice.Copy(struct{ *os.File }{os.Stdout}, src)
		default:
			n, err = splice.Copy(os.Stdout, src)
		}
	}
	// Still alive: report and leave before package testing writes to stdout.
	fmt.Fprintf(os.Stderr, "%s returned %d, %v instead of raising SIGPIPE\n", impl, n, err)
	os.Exit(3)
}

// A writer that reports an impossible count fails the copy with io's own
// error value, so that errors.Is answers as it does for io.Copy.
func TestCopyInvalidWriteIsIOs(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, 2} {
		w := badCount{n}
		_, want := io.Copy(w, struct{ io.Reader }{strings.NewReader("some bytes")})
		_, got := splice.Copy(w, struct{ io.Reader }{strings.NewReader("some bytes")})
		if want == nil || !errors.Is(got, want) {
			t.Errorf("Write returning %d: Copy = %v; want io.Copy's %v", n, got, want)
		}
	}
}

// badCount's Write reports n more bytes than it was given (n < 0: -1).
type badCount struct{ n int }

func (w badCount) Write(p []byte) (int, error) {
	if w.n < 0 {
		return -1, nil
	}
	return len(p) + w.n, nil
}

// A destination not open for writing is the side blamed, as io.Copy blames it:
// *os.PathError "write" naming dst, around EBADF.
func TestCopyEBADFBlamesDst(t *testing.T) {
	t.Parallel()
	data := testutil.Data(100000, 66)
	dsts := map[string]func(t *testing.T) *os.File{
		"file-rdonly": func(t *testing.T) *os.File {
			f := testutil.TempFile(t, nil)
			r, err := os.Open(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		},
		"pipe-read-end": func(t *testing.T) *os.File {
			r, _ := testutil.OSPipePair(t)
			return r
		},
	}
	for name, open := range dsts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, impl := range []struct {
				name string
				copy func(io.Writer, io.Reader) (int64, error)
			}{{"io.Copy", io.Copy}, {"splice.Copy", splice.Copy}} {
				dst := open(t)
				n, err := impl.copy(dst, testutil.TempFile(t, data))
				var pe *os.PathError
				if n != 0 || !errors.Is(err, syscall.EBADF) || !errors.As(err, &pe) || pe.Op != "write" || pe.Path != dst.Name() {
					t.Errorf("%s = %d, %v; want 0 and *os.PathError write %s around EBADF", impl.name, n, err, dst.Name())
				}
			}
		})
	}
}

// A source of another package whose RawConn fails or panics after its callback
// ran (the kernel may have filled the engine's pipe by then): no byte is lost,
// and no pipe holding bytes is pooled. Not parallel: it inspects the pool.
func TestCopyFailingRawConnPoolsNoBytes(t *testing.T) {
	for _, how := range []string{"error", "panic", "goexit"} {
		t.Run(how, func(t *testing.T) {
			splice.DrainPipePool()
			data := testutil.Data(50000, 67)
			conn, peer := testutil.TCPPair(t)
			peer.Write(data)
			peer.CloseWrite()
			time.Sleep(10 * time.Millisecond) // let the bytes arrive
			src := struct {
				io.Reader
				syscall.Conn
			}{conn, afterCallback{conn, how}}
			dst := testutil.OpenSink(t, testutil.TCP)
			var rec recorder
			c := &splice.Copier{Unwritten: rec.add}
			var n int64
			var err error
			done := make(chan any)
			go func() {
				defer func() { done <- recover() }()
				n, err = c.Copy(dst.W, src)
			}()
			if r := <-done; how == "panic" && r == nil {
				t.Fatal("the RawConn's panic did not reach the caller")
			}
			if pipes, held := splice.PooledPipeBytes(); held != 0 {
				t.Errorf("%d pooled pipes hold %d bytes", pipes, held)
			}
			if how == "error" {
				if !errors.Is(err, errAfterCallback) {
					t.Errorf("Copy = %d, %v; want the RawConn's error", n, err)
				}
				rest, _ := io.ReadAll(conn)
				accounted(t, data, n, rec.got, rest)
				testutil.Equal(t, data[:n], dst.Bytes())
			}
		})
	}
}

var errAfterCallback = errors.New("raw conn fails after its callback")

// afterCallback is a syscall.Conn whose RawConn.Read runs the callback, then
// fails, panics or exits the goroutine.
type afterCallback struct {
	c   syscall.Conn
	how string
}

func (a afterCallback) SyscallConn() (syscall.RawConn, error) {
	rc, err := a.c.SyscallConn()
	return afterCallbackRaw{rc, a.how}, err
}

type afterCallbackRaw struct {
	syscall.RawConn
	how string
}

func (r afterCallbackRaw) Read(f func(uintptr) bool) error {
	r.RawConn.Read(f)
	switch r.how {
	case "panic":
		panic(errAfterCallback)
	case "goexit":
		runtime.Goexit()
	}
	return errAfterCallback
}

// A read deadline on the pipe that passes while dst.Write runs cannot make
// WriteTo deliver bytes twice: what dst accepted is counted and gone from p.
func TestPipeWriteToDeadlineDuringWrite(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	data := testutil.Data(1000, 68)
	p.Write(data)
	p.Reader().SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	dst := testutil.WriterFunc(func(b []byte) (int, error) {
		time.Sleep(100 * time.Millisecond)
		return len(b), nil
	})
	n, err := p.WriteTo(dst)
	if n != int64(len(data)) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("WriteTo = %d, %v; want %d and the deadline", n, err, len(data))
	}
	if got := p.Buffered(); got != 0 {
		t.Errorf("the pipe still holds %d of the bytes dst accepted", got)
	}
}

// Into a pipe of any name (a FIFO, a shell's stdout), from a stream socket: one
// splice per chunk, no engine pipe. Not parallel: it counts engine pipes.
func TestCopySocketToFIFOSplicesDirect(t *testing.T) {
	taken, stop := splice.CountEnginePipes()
	defer stop()
	path := t.TempDir() + "/fifo"
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(r); got <- b }()
	data := testutil.Data(1<<20, 69)
	src := testutil.NewSource(t, testutil.TCP, data)
	before := taken()
	if n, err := splice.Copy(w, src); n != int64(len(data)) || err != nil {
		t.Fatalf("Copy = %d, %v", n, err)
	}
	if n := taken() - before; n != 0 {
		t.Errorf("Copy took %d engine pipes into a FIFO; want 0", n)
	}
	w.Close()
	testutil.Equal(t, data, <-got)
}

// From a stream socket into a record socket handed over as *os.File, Copy
// writes records of at most 32 KiB (io.Copy's writes), never splices.
func TestCopySocketToRecordSocketFile(t *testing.T) {
	t.Parallel()
	for _, typ := range []int{syscall.SOCK_DGRAM, syscall.SOCK_SEQPACKET} {
		w, recv := socketpairFile(t, typ)
		data := testutil.Data(40000, 70)
		src := testutil.NewSource(t, testutil.TCP, data)
		if n, err := splice.Copy(w, src); n != int64(len(data)) || err != nil {
			t.Fatalf("Copy = %d, %v", n, err)
		}
		var records []int
		for got := 0; got < len(data); {
			m := recv()
			if m <= 0 {
				break
			}
			records = append(records, m)
			got += m
		}
		if diff := cmp.Diff([]int{32768, 7232}, records); diff != "" {
			t.Errorf("socket type %d: records (-want +got):\n%s", typ, diff)
		}
	}
}

// Types that embed an *os.File or a *net.TCPConn are fds too: once Copy has
// taken the read/write path (DisableSplice, or a refusal such as a sandbox's),
// their promoted WriteTo and ReadFrom, the standard library's zero-copy paths,
// are not called. TestCopyMatrixUnderSeccomp runs this under a filter that
// refuses those paths, where calling them delivered nothing.
func TestCopyEmbeddedFDs(t *testing.T) {
	t.Parallel()
	type embeddedFile struct{ *os.File }
	type embeddedTCP struct{ *net.TCPConn }
	data := testutil.Data(300000, 71)
	cases := []struct {
		name string
		run  func(t *testing.T, c *splice.Copier) (n int64, got func() []byte, err error)
	}{
		{"tcp-embeddedpipe", func(t *testing.T, c *splice.Copier) (int64, func() []byte, error) {
			r, w := testutil.OSPipePair(t)
			got := make(chan []byte, 1)
			go func() { b, _ := io.ReadAll(r); got <- b }()
			n, err := c.Copy(embeddedFile{w}, testutil.NewSource(t, testutil.TCP, data))
			w.Close()
			return n, func() []byte { return <-got }, err
		}},
		{"embeddedfile-tcp", func(t *testing.T, c *splice.Copier) (int64, func() []byte, error) {
			dst := testutil.OpenSink(t, testutil.TCP)
			n, err := c.Copy(dst.W, embeddedFile{testutil.TempFile(t, data)})
			return n, dst.Bytes, err
		}},
		{"file-embeddedtcp", func(t *testing.T, c *splice.Copier) (int64, func() []byte, error) {
			dst := testutil.OpenSink(t, testutil.TCP)
			n, err := c.Copy(embeddedTCP{dst.W.(*net.TCPConn)}, testutil.TempFile(t, data))
			return n, dst.Bytes, err
		}},
		{"tcp-embeddedtcp", func(t *testing.T, c *splice.Copier) (int64, func() []byte, error) {
			dst := testutil.OpenSink(t, testutil.TCP)
			n, err := c.Copy(embeddedTCP{dst.W.(*net.TCPConn)}, testutil.NewSource(t, testutil.TCP, data))
			return n, dst.Bytes, err
		}},
	}
	for _, tc := range cases {
		for _, disable := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/disable=%v", tc.name, disable), func(t *testing.T) {
				t.Parallel()
				n, got, err := tc.run(t, &splice.Copier{DisableSplice: disable})
				if n != int64(len(data)) || err != nil {
					t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data))
				}
				testutil.Equal(t, data, got())
			})
		}
	}
}

// A datagram socket handed over as *os.File is read as io.Copy reads it, never
// spliced from: a splice keeps of a record only what fits in the pipe, and the
// kernel drops the rest. By Copy and by Pipe.ReadFrom.
func TestCopyFromRecordSocketFile(t *testing.T) {
	t.Parallel()
	const record, backlog = 20000, 60 << 10
	for _, impl := range []string{"io.CopyN", "splice.CopyN", "Pipe.ReadFrom"} {
		t.Run(impl, func(t *testing.T) {
			t.Parallel()
			fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
			if err != nil {
				t.Skipf("socketpair: %v", err)
			}
			src, peer := os.NewFile(uintptr(fds[0]), "dgram"), os.NewFile(uintptr(fds[1]), "peer")
			defer src.Close()
			defer peer.Close()
			data := testutil.Data(2*record, 72)
			peer.Write(data[:record])
			peer.Write(data[record:])
			src.SetReadDeadline(time.Now().Add(5 * time.Second)) // a copy that lost bytes waits for more
			// The destination pipe is nearly full: a splice could take only
			// a part of each record.
			var w io.WriteCloser
			var r io.Reader
			var p *splice.Pipe
			if impl == "Pipe.ReadFrom" {
				p = newPipe(t)
				w, r = p.Writer(), p
			} else {
				pr, pw := testutil.OSPipePair(t)
				w, r = pw, pr
			}
			w.Write(make([]byte, backlog))
			got := make(chan []byte, 1)
			go func() {
				time.Sleep(20 * time.Millisecond)
				b, _ := io.ReadAll(r)
				got <- b
			}()
			var n int64
			switch impl {
			case "io.CopyN":
				n, err = io.CopyN(w, src, int64(len(data)))
			case "splice.CopyN":
				n, err = splice.CopyN(w, src, int64(len(data)))
			default:
				n, err = p.ReadFrom(&io.LimitedReader{R: src, N: int64(len(data))})
			}
			w.Close()
			b := <-got
			if n != int64(len(data)) || err != nil {
				t.Fatalf("%s = %d, %v; want %d, nil", impl, n, err, len(data))
			}
			testutil.Equal(t, data, b[min(backlog, len(b)):])
		})
	}
}

// A net.Conn of another package may answer its addresses with a nil pointer:
// shaping its errors must not dereference it.
func TestCopyConnWithNilAddrs(t *testing.T) {
	t.Parallel()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Skipf("socketpair: %v", err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer a.Close()
	b.Close() // writes to a fail with EPIPE
	r, w := testutil.OSPipePair(t)
	go func() { w.Write(testutil.Data(100000, 73)); w.Close() }()
	_, err = splice.Copy(nilAddrConn{a}, r)
	if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("Copy = %v; want EPIPE or ECONNRESET", err)
	}
}

// nilAddrConn is a net.Conn over an *os.File whose addresses are nil pointers.
type nilAddrConn struct{ *os.File }

func (nilAddrConn) LocalAddr() net.Addr  { return (*net.UnixAddr)(nil) }
func (nilAddrConn) RemoteAddr() net.Addr { return (*net.UnixAddr)(nil) }
