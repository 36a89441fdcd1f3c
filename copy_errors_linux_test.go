//go:build !splice_portable

package splice_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// The error matrix: for each way a copy can fail, on every pair of endpoint
// kinds where it can, Copy must return the error io.Copy returns for the same
// failure on the same pair: the same chain of types, Op, Path, the call an
// *os.SyscallError names, and errno, so that errors.Is and errors.As answer the
// same and so does the message.

// errSize is the size of the data the failing copies are given: past a MiB, so
// that the kernel paths run.
const errSize = 1<<20 + 3

var errData = testutil.Data(errSize, 0xe11)

// ioErrInvalidWrite is io's unexported errInvalidWrite, as io.Copy returns it
// for a writer that reports an impossible count.
var ioErrInvalidWrite = func() error {
	w := testutil.WriterFunc(func(p []byte) (int, error) { return -1, nil })
	_, err := io.Copy(w, struct{ io.Reader }{strings.NewReader("x")})
	return err
}()

// errSentinels are the error values a chain layer is recognised as, by
// identity; errors.Is is asked about each and about errErrnos.
var errSentinels = []struct {
	name string
	err  error
}{
	{"os.ErrClosed", os.ErrClosed},
	{"net.ErrClosed", net.ErrClosed},
	{"os.ErrDeadlineExceeded", os.ErrDeadlineExceeded},
	{"os.ErrNoDeadline", os.ErrNoDeadline},
	{"os.ErrInvalid", os.ErrInvalid},
	{"io.ErrShortWrite", io.ErrShortWrite},
	{"io.EOF", io.EOF},
	{"io.ErrUnexpectedEOF", io.ErrUnexpectedEOF},
	{"io.errInvalidWrite", ioErrInvalidWrite},
	{"errors.ErrUnsupported", errors.ErrUnsupported},
	{"testutil.ErrInjected", testutil.ErrInjected},
}

var errErrnos = []syscall.Errno{
	unix.EPIPE, unix.ECONNRESET, unix.EBADF, unix.EFBIG, unix.ENOSPC, unix.EAGAIN,
	unix.EINVAL, unix.EIO, unix.ENOTCONN, unix.ETIMEDOUT, unix.EMFILE, unix.ENFILE,
}

// errLayer is one error of a chain, as far as a caller can tell errors apart.
type errLayer struct {
	Depth  int
	Type   string
	Op     string // *os.PathError, *net.OpError
	Path   string // *os.PathError, temporary directories left out
	Net    string // *net.OpError
	Source string // *net.OpError: Source's dynamic type, "" when nil
	Addr   string // *net.OpError: Addr's dynamic type
	Call   string // *os.SyscallError: the call it names
	Errno  string // syscall.Errno
	Value  string // one of errSentinels
	Msg    string // any other error that wraps none: its text
}

// errShape is what a caller can learn of a copy's error.
type errShape struct {
	Panic string
	Chain []errLayer
	Is    []string // the errSentinels and errErrnos errors.Is finds
	As    []string // the types errors.As finds
}

func errShapeOf(err error) errShape {
	var s errShape
	errWalk(err, 0, &s.Chain)
	for _, sv := range errSentinels {
		if errors.Is(err, sv.err) {
			s.Is = append(s.Is, sv.name)
		}
	}
	for _, e := range errErrnos {
		if errors.Is(err, e) {
			s.Is = append(s.Is, unix.ErrnoName(e))
		}
	}
	var pe *os.PathError
	var oe *net.OpError
	var se *os.SyscallError
	var errno syscall.Errno
	var ne net.Error
	for name, ok := range map[string]bool{
		"*os.PathError":    errors.As(err, &pe),
		"*net.OpError":     errors.As(err, &oe),
		"*os.SyscallError": errors.As(err, &se),
		"syscall.Errno":    errors.As(err, &errno),
		"net.Error":        errors.As(err, &ne),
		"timeout":          errors.As(err, &ne) && ne.Timeout(),
	} {
		if ok {
			s.As = append(s.As, name)
		}
	}
	slices.Sort(s.As)
	return s
}

func errWalk(err error, depth int, out *[]errLayer) {
	if err == nil {
		return
	}
	l := errLayer{Depth: depth, Type: fmt.Sprintf("%T", err)}
	for _, sv := range errSentinels {
		if err == sv.err {
			l.Value = sv.name
		}
	}
	switch e := err.(type) {
	case *os.PathError:
		l.Op, l.Path = e.Op, errTmpPath(e.Path)
	case *net.OpError:
		l.Op, l.Net = e.Op, e.Net
		if e.Source != nil {
			l.Source = fmt.Sprintf("%T", e.Source)
		}
		if e.Addr != nil {
			l.Addr = fmt.Sprintf("%T", e.Addr)
		}
	case *os.SyscallError:
		l.Call = e.Syscall
	case syscall.Errno:
		l.Errno = unix.ErrnoName(e)
	}
	*out = append(*out, l)
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			errWalk(e, depth+1, out)
		}
	case interface{ Unwrap() error }:
		errWalk(u.Unwrap(), depth+1, out)
	default:
		if l.Value == "" && l.Errno == "" {
			(*out)[len(*out)-1].Msg = err.Error()
		}
	}
}

// errTmpPath leaves out the directory of a path in a test's temporary directory,
// which differs between the two runs of a case.
func errTmpPath(p string) string {
	if dir := os.TempDir(); strings.HasPrefix(p, dir+string(filepath.Separator)) {
		return "$TMP/" + filepath.Base(p)
	}
	return p
}

// summary is a one-line form of a shape's chain, for the failure messages.
func (s errShape) summary() string {
	if s.Panic != "" {
		return "panic: " + s.Panic
	}
	var parts []string
	for _, l := range s.Chain {
		var b strings.Builder
		switch {
		case l.Errno != "":
			b.WriteString(l.Errno)
		case l.Value != "":
			b.WriteString(l.Value)
		default:
			b.WriteString(strings.TrimPrefix(strings.TrimPrefix(l.Type, "*"), "fs."))
			var f []string
			for _, v := range []string{l.Op, l.Path, l.Net, l.Call} {
				if v != "" {
					f = append(f, v)
				}
			}
			if l.Type == "*net.OpError" && (l.Source == "" || l.Addr == "") {
				f = append(f, fmt.Sprintf("src=%q addr=%q", l.Source, l.Addr))
			}
			if l.Msg != "" {
				f = append(f, fmt.Sprintf("%q", l.Msg))
			}
			fmt.Fprintf(&b, "(%s)", strings.Join(f, " "))
		}
		if l.Depth != len(parts) {
			fmt.Fprintf(&b, "@%d", l.Depth) // a branch of a joined error
		}
		parts = append(parts, b.String())
	}
	if len(parts) == 0 {
		return "nil"
	}
	return strings.Join(parts, " > ")
}

// errSource makes, for each run of a case, a fresh source that yields a prefix
// of data and then fails or ends.
type errSource struct {
	name string
	open func(t *testing.T, data []byte) io.Reader
}

// errSink makes, for each run, a fresh destination, and a function that
// returns, after the copy, every byte its far end received (nil where that
// cannot be read back).
type errSink struct {
	name string
	open func(t *testing.T) (io.Writer, func() []byte)
}

type errCase struct {
	name  string // subtest name: src:dst
	src   errSource
	dst   errSink
	exact bool // the count is deterministic: compare it
	// around, if set, runs the copy (in a child: process-wide state).
	around func(t *testing.T, copy func())
}

type errGroup struct {
	name  string
	child bool // process-wide: run the cases in a child, one at a time
	cases []errCase
}

// errPairs returns the cases for every source with every sink.
func errPairs(srcs []errSource, dsts []errSink, exact bool) []errCase {
	var cs []errCase
	for _, s := range srcs {
		for _, d := range dsts {
			cs = append(cs, errCase{name: s.name + ":" + d.name, src: s, dst: d, exact: exact})
		}
	}
	return cs
}

// TestCopyErrorsMatchIOCopy runs io.Copy and Copy on identical fresh setups of
// every failure on every pair where it can happen, and requires the same error
// chain, the same errors.Is and errors.As answers, the same panic, and, where it
// is deterministic, the same count; and that the count is what dst received,
// where that can be read back.
func TestCopyErrorsMatchIOCopy(t *testing.T) {
	if ioErrInvalidWrite == nil || ioErrInvalidWrite.Error() != "invalid write result" {
		t.Fatalf("io.Copy over an impossible count returned %v, not io's errInvalidWrite", ioErrInvalidWrite)
	}
	if !testutil.InChild(t) {
		t.Parallel()
	}
	for _, g := range errGroups() {
		t.Run(g.name, func(t *testing.T) {
			if g.child {
				if !testutil.InChild(t) {
					t.Parallel()
					testutil.RunChild(t)
					return
				}
				for _, c := range g.cases {
					t.Run(c.name, func(t *testing.T) { runErrCase(t, c) })
				}
				return
			}
			t.Parallel()
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					runErrCase(t, c)
				})
			}
		})
	}
}

// errRun is the outcome of one run of a case.
type errRun struct {
	n     int64
	err   error
	shape errShape
}

func runErrCase(t *testing.T, c errCase) {
	want := errObserve(t, c, "io.Copy", io.Copy)
	if want.err == nil && want.shape.Panic == "" {
		t.Fatalf("io.Copy = %d, nil: the case does not fail", want.n)
	}
	got := errObserve(t, c, "splice.Copy", splice.Copy)
	if diff := cmp.Diff(want.shape, got.shape); diff != "" {
		t.Errorf("error differs from io.Copy's (-io.Copy +splice.Copy):\n%s\n"+
			"io.Copy:     %d, %v\n             %s\n"+
			"splice.Copy: %d, %v\n             %s",
			diff, want.n, want.err, want.shape.summary(), got.n, got.err, got.shape.summary())
	}
	if c.exact && want.n != got.n {
		t.Errorf("splice.Copy wrote %d bytes, io.Copy %d (%v)", got.n, want.n, want.err)
	}
	// CopyN as io.CopyN, which copies io.LimitReader(src, n): the layer
	// changes which of the standard library's paths io.Copy takes.
	n := int64(len(errData)) + 1
	wantN := errObserve(t, c, "io.Copy", func(w io.Writer, r io.Reader) (int64, error) { return io.CopyN(w, r, n) })
	gotN := errObserve(t, c, "splice.Copy", func(w io.Writer, r io.Reader) (int64, error) { return splice.CopyN(w, r, n) })
	if diff := cmp.Diff(wantN.shape, gotN.shape); diff != "" {
		t.Errorf("CopyN's error differs from io.CopyN's (-io.CopyN +splice.CopyN):\n%s\n"+
			"io.CopyN:     %d, %v\n             %s\n"+
			"splice.CopyN: %d, %v\n             %s",
			diff, wantN.n, wantN.err, wantN.shape.summary(), gotN.n, gotN.err, gotN.shape.summary())
	}
	if c.exact && wantN.n != gotN.n {
		t.Errorf("splice.CopyN wrote %d bytes, io.CopyN %d (%v)", gotN.n, wantN.n, wantN.err)
	}
	// A Pipe's own ReadFrom and WriteTo report errors as io.Copy does on
	// its *os.File ends, as Copy does.
	got = errObserve(t, c, "Pipe method", pipeMethod)
	if got.n < 0 {
		return // neither side is a Pipe
	}
	if diff := cmp.Diff(want.shape, got.shape); diff != "" {
		t.Errorf("error differs from io.Copy's (-io.Copy +Pipe method):\n%s\n"+
			"io.Copy:     %d, %v\n             %s\n"+
			"Pipe method: %d, %v\n             %s",
			diff, want.n, want.err, want.shape.summary(), got.n, got.err, got.shape.summary())
	}
}

// pipeMethod copies with dst's ReadFrom where dst is a *splice.Pipe, else with
// src's WriteTo where src is one; else it returns -1.
func pipeMethod(dst io.Writer, src io.Reader) (int64, error) {
	if p, ok := dst.(*splice.Pipe); ok {
		return p.ReadFrom(src)
	}
	if p, ok := src.(*splice.Pipe); ok {
		return p.WriteTo(dst)
	}
	return -1, nil
}

// errObserve runs fn on a fresh setup of c. io.Copy is given the *os.File ends
// of a *splice.Pipe: io.Copy on the Pipe itself would run this package's code.
func errObserve(t *testing.T, c errCase, name string, fn copyFunc) errRun {
	t.Helper()
	src := c.src.open(t, errData)
	dst, received := c.dst.open(t)
	if name == "io.Copy" {
		if p, ok := src.(*splice.Pipe); ok {
			src = p.Reader()
		}
		if p, ok := dst.(*splice.Pipe); ok {
			dst = p.Writer()
		}
	}
	var r errRun
	run := func() {
		defer func() {
			if v := recover(); v != nil {
				r.shape.Panic = fmt.Sprint(v)
			}
		}()
		r.n, r.err = fn(dst, src)
	}
	if c.around != nil {
		c.around(t, run)
	} else {
		run()
	}
	panicked := r.shape.Panic
	r.shape = errShapeOf(r.err)
	r.shape.Panic = panicked
	switch {
	case r.n > errSize:
		t.Errorf("%s returned %d, more than the %d bytes sent", name, r.n, errSize)
	case r.n >= 0 && received != nil: // a negative count is bytes.Buffer.WriteTo's, passing on the writer's
		if got := received(); !testutil.Equal(t, errData[:r.n], got) {
			t.Errorf("%s returned %d, %v; dst received %d bytes", name, r.n, r.err, len(got))
		}
	}
	return r
}

func errGroups() []errGroup {
	srcs := errKindSources(testutil.SourceKinds()...)
	sinks := append(errKindSinks(testutil.SinkKinds()...), errSink{"file-append", func(t *testing.T) (io.Writer, func() []byte) {
		// O_APPEND: os.File.ReadFrom declines it, and io.Copy loops.
		path := filepath.Join(t.TempDir(), "sink")
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f, func() []byte { return errReadFile(t, path) }
	}})
	pollable := []testutil.Kind{testutil.OSPipe, testutil.Pipe, testutil.TCP, testutil.Unix,
		testutil.LimitedOSPipe, testutil.LimitedTCP, testutil.LimitedUnix}
	closable := []testutil.Kind{testutil.File, testutil.OSPipe, testutil.Pipe, testutil.TCP, testutil.Unix,
		testutil.BlockingPipe, testutil.LimitedFile, testutil.LimitedOSPipe, testutil.LimitedTCP, testutil.LimitedUnix}
	closableSinks := []testutil.Kind{testutil.File, testutil.OSPipe, testutil.Pipe, testutil.TCP, testutil.Unix,
		testutil.BlockingPipe, testutil.DevNull}
	pollableSinks := []testutil.Kind{testutil.OSPipe, testutil.Pipe, testutil.TCP, testutil.Unix}

	var (
		epipe, reset, badf, deadline, closed, invalid []errCase
		efbig, enospc, nofile                         []errCase
	)
	epipe = errPairs(srcs, []errSink{
		{"ospipe-rclosed", func(t *testing.T) (io.Writer, func() []byte) {
			r, w := testutil.OSPipePair(t)
			r.Close()
			return w, nil
		}},
		{"pipe-rclosed", func(t *testing.T) (io.Writer, func() []byte) {
			p := errPipe(t)
			p.Reader().Close()
			return p, nil
		}},
		{"blockpipe-rclosed", func(t *testing.T) (io.Writer, func() []byte) {
			r, w := testutil.BlockingPipePair(t)
			r.Close()
			return w, nil
		}},
		{"unix-peerclosed", func(t *testing.T) (io.Writer, func() []byte) {
			conn, peer := testutil.UnixPair(t)
			peer.Close()
			return conn, nil
		}},
		{"tcp-shutwr", func(t *testing.T) (io.Writer, func() []byte) {
			conn, _ := testutil.TCPPair(t)
			conn.CloseWrite()
			return conn, nil
		}},
		{"unix-shutwr", func(t *testing.T) (io.Writer, func() []byte) {
			conn, _ := testutil.UnixPair(t)
			conn.CloseWrite()
			return conn, nil
		}},
	}, true)

	reset = append(errPairs([]errSource{
		errResetSource("tcp-reset", testutil.TCP), errResetSource("limited-tcp-reset", testutil.LimitedTCP),
		errResetSource("unix-reset", testutil.Unix), errResetSource("limited-unix-reset", testutil.LimitedUnix),
	}, sinks, true), errPairs(srcs, []errSink{
		{"tcp-reset", func(t *testing.T) (io.Writer, func() []byte) {
			conn, peer := testutil.TCPPair(t)
			testutil.ResetTCP(t, conn, peer)
			return conn, nil
		}},
	}, true)...)

	badf = append(errPairs([]errSource{
		errWronlySource("file-wronly", false), errWronlySource("limited-file-wronly", true),
	}, sinks, true), errPairs(srcs, []errSink{
		{"file-rdonly", func(t *testing.T) (io.Writer, func() []byte) {
			path := filepath.Join(t.TempDir(), "sink")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f, func() []byte { return errReadFile(t, path) }
		}},
	}, true)...)

	efbig = errPairs(srcs, errKindSinks(testutil.File), true)
	for i := range efbig {
		efbig[i].around = func(t *testing.T, copy func()) {
			restore := testutil.FileSizeLimit(t, 100000)
			defer restore()
			copy()
		}
	}

	enospc = errPairs(srcs, []errSink{
		{"tmpfs-file", func(t *testing.T) (io.Writer, func() []byte) {
			path := filepath.Join(testutil.SmallFS(t, 64<<10), "sink")
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f, func() []byte { return errReadFile(t, path) }
		}},
	}, true)

	var pastSrcs, idleSrcs []errSource
	for _, k := range pollable {
		pastSrcs = append(pastSrcs, errSource{k.String() + "-past", func(t *testing.T, data []byte) io.Reader {
			r := testutil.OpenSource(t, k, data).R
			errSetReadDeadline(t, r, time.Unix(1, 0))
			return r
		}})
		idleSrcs = append(idleSrcs, errIdleSource(k))
	}
	var pastSinks, stallSinks []errSink
	for _, k := range pollableSinks {
		pastSinks = append(pastSinks, errStalledSink(k, "-past", time.Unix(1, 0)))
		stallSinks = append(stallSinks, errStalledSink(k, "-stall", time.Time{}))
	}
	deadline = slices.Concat(errPairs(pastSrcs, sinks, true), errPairs(idleSrcs, sinks, true),
		errPairs(srcs, pastSinks, true), errPairs(srcs, stallSinks, false))

	var closedSrcs []errSource
	for _, k := range closable {
		closedSrcs = append(closedSrcs, errSource{k.String() + "-closed", func(t *testing.T, data []byte) io.Reader {
			r := testutil.OpenSource(t, k, data).R
			errCloseEnd(t, r)
			return r
		}})
	}
	var closedSinks []errSink
	for _, k := range closableSinks {
		closedSinks = append(closedSinks, errSink{k.String() + "-closed", func(t *testing.T) (io.Writer, func() []byte) {
			w := testutil.OpenSink(t, k).W
			errCloseEnd(t, w)
			return w, nil
		}})
	}
	closed = append(errPairs(closedSrcs, sinks, true), errPairs(srcs, closedSinks, true)...)
	for _, c := range closed {
		if socketIntoFile(c.name) {
			// From a closed socket into an *os.File, io.Copy's error
			// depends on whether the standard library's own pipe pool
			// holds a pipe at that moment: it splices through one (and
			// reports "write <file>"), and loops where none can be made
			// ("read <socket>"). Copy may splice directly, needing none.
			// Not comparable at the fd limit (the "closed" group compares
			// them with fds to spare).
			continue
		}
		c.around = func(t *testing.T, copy func()) {
			// Leave the copy no fd to make an engine pipe with: empty the
			// pools, then take every free fd.
			splice.DrainPipePool()
			runtime.GC()
			runtime.GC()
			restore := testutil.ExhaustFDs(t)
			defer restore()
			copy()
		}
		nofile = append(nofile, c)
	}

	counts := []struct {
		name string
		n    func(p []byte) int
	}{
		{"over", func(p []byte) int { return len(p) + 1 }},
		{"negative", func([]byte) int { return -1 }},
		{"short0", func([]byte) int { return 0 }},
		{"shorthalf", func(p []byte) int { return len(p) / 2 }},
	}
	for _, wc := range counts {
		sink := errSink{wc.name, func(t *testing.T) (io.Writer, func() []byte) {
			return testutil.WriterFunc(func(p []byte) (int, error) { return wc.n(p), nil }), nil
		}}
		for _, c := range errPairs(srcs, []errSink{sink}, true) {
			// A half write's count is half of the first read, which is
			// as long as a stream happens to have buffered.
			switch c.src.name {
			case "file", "limited-file", "reader", "buffer":
			default:
				c.exact = wc.name != "shorthalf"
			}
			invalid = append(invalid, c)
		}
	}

	return []errGroup{
		{name: "epipe", cases: epipe},
		{name: "econnreset", cases: reset},
		{name: "ebadf", cases: badf},
		{name: "efbig", child: true, cases: efbig},
		{name: "enospc", cases: enospc},
		{name: "deadline", cases: deadline},
		{name: "closed", cases: closed},
		{name: "closed-at-nofile-limit", child: true, cases: nofile},
		{name: "invalid-write", cases: invalid},
	}
}

func errKindSources(kinds ...testutil.Kind) []errSource {
	var out []errSource
	for _, k := range kinds {
		out = append(out, errSource{k.String(), func(t *testing.T, data []byte) io.Reader {
			return testutil.OpenSource(t, k, data).R
		}})
	}
	return out
}

func errKindSinks(kinds ...testutil.Kind) []errSink {
	var out []errSink
	for _, k := range kinds {
		out = append(out, errSink{k.String(), func(t *testing.T) (io.Writer, func() []byte) {
			s := testutil.OpenSink(t, k)
			if k.Discards() {
				return s.W, nil
			}
			return s.W, s.Bytes
		}})
	}
	return out
}

// errPipe returns a *splice.Pipe that t.Cleanup closes.
func errPipe(t *testing.T) *splice.Pipe {
	t.Helper()
	p, err := splice.NewPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func errReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
	}
	return b
}

// errStreamPair returns, for a pipe or socket kind (or its Limited twin), the end
// to read, what to hand the copy as a source (the end itself, or a
// *splice.Pipe), and the far end to write.
func errStreamPair(t *testing.T, k testutil.Kind) (end syscall.Conn, src io.Reader, far io.Writer) {
	t.Helper()
	switch k {
	case testutil.TCP, testutil.LimitedTCP:
		conn, peer := testutil.TCPPair(t)
		return conn, conn, peer
	case testutil.Unix, testutil.LimitedUnix:
		conn, peer := testutil.UnixPair(t)
		return conn, conn, peer
	case testutil.OSPipe, testutil.LimitedOSPipe:
		r, w := testutil.OSPipePair(t)
		return r, r, w
	case testutil.Pipe:
		p := errPipe(t)
		return p.Reader(), p, p.Writer()
	}
	t.Fatalf("%v is not a stream kind", k)
	return nil, nil, nil
}

// errLimitAbove wraps src in a LimitedReader for Limited kinds, with a limit
// above the n bytes it will yield, so that the copy meets the failure before
// the limit.
func errLimitAbove(k testutil.Kind, src io.Reader, n int) io.Reader {
	if k.Limited() {
		return &io.LimitedReader{R: src, N: int64(n) + 4099}
	}
	return src
}

// errResetSource is a socket whose peer sends a prefix of the data (as much as
// the receive buffer surely holds) and then resets the connection, so that
// reads return that prefix and then ECONNRESET. A Unix peer resets by closing
// with bytes unread in its own receive queue.
func errResetSource(name string, k testutil.Kind) errSource {
	return errSource{name, func(t *testing.T, data []byte) io.Reader {
		end, src, far := errStreamPair(t, k)
		if uc, ok := end.(*net.UnixConn); ok {
			if _, err := uc.Write([]byte("unread")); err != nil {
				t.Fatal(err)
			}
		}
		n := testutil.Preload(t, end, far, data)
		switch conn := end.(type) {
		case *net.TCPConn:
			testutil.ResetTCP(t, conn, far.(*net.TCPConn))
		case *net.UnixConn:
			far.(*net.UnixConn).Close()
			testutil.WaitHangup(t, conn)
		}
		return errLimitAbove(k, src, n)
	}}
}

// errWronlySource is a regular file holding the data, opened for writing only.
func errWronlySource(name string, limited bool) errSource {
	return errSource{name, func(t *testing.T, data []byte) io.Reader {
		path := filepath.Join(t.TempDir(), "src")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if limited {
			return &io.LimitedReader{R: f, N: int64(len(data))}
		}
		return f
	}}
}

// errIdleSource is a pipe or socket whose far end sends a prefix of the data and
// then neither sends more nor closes; once the copy has read all of it, the
// read deadline is set in the past, so the copy's next read fails with it.
func errIdleSource(k testutil.Kind) errSource {
	return errSource{k.String() + "-idle", func(t *testing.T, data []byte) io.Reader {
		end, src, far := errStreamPair(t, k)
		n := testutil.Preload(t, end, far, data)
		testutil.WhenDrained(t, end, func() {
			end.(interface{ SetReadDeadline(time.Time) error }).SetReadDeadline(time.Unix(1, 0))
		})
		return errLimitAbove(k, src, n)
	}}
}

// errStalledSink is a pipe or socket whose far end reads nothing until the copy
// has returned, and whose write deadline is at (stallDeadline from now if
// zero), with buffers kept small so that the copy does fill them. What arrived
// is read after the copy.
//
// The deadline must not pass before the copy starts: io.Copy's error then
// takes another shape (the standard library's sendfile gives up before it
// begins, and its generic ReadFrom fails in Write), and the two copies, each
// with its own sink, would be compared across that line. 50 ms was crossed
// under load in CI.
const stallDeadline = 300 * time.Millisecond

func errStalledSink(k testutil.Kind, suffix string, at time.Time) errSink {
	return errSink{k.String() + suffix, func(t *testing.T) (io.Writer, func() []byte) {
		deadline := at
		if deadline.IsZero() {
			deadline = time.Now().Add(stallDeadline)
		}
		var w io.Writer
		var closeW func()
		var far io.Reader
		switch k {
		case testutil.TCP, testutil.Unix:
			conn, peer := testutil.SmallSocketPair(t, k, 64<<10)
			w, closeW, far = conn, func() { conn.Close() }, peer
		case testutil.OSPipe:
			r, pw := testutil.OSPipePair(t)
			w, closeW, far = pw, func() { pw.Close() }, r
		case testutil.Pipe:
			p := errPipe(t)
			w, closeW, far = p, func() { p.CloseWrite() }, p.Reader()
		}
		errSetWriteDeadline(t, w, deadline)
		return w, func() []byte {
			closeW()
			b, err := io.ReadAll(far)
			if err != nil {
				t.Errorf("reading what arrived: %v", err)
			}
			return b
		}
	}}
}

// errSetReadDeadline sets the read deadline of a source (under a LimitedReader,
// or a *splice.Pipe's read end) to at.
func errSetReadDeadline(t *testing.T, r io.Reader, at time.Time) {
	t.Helper()
	var v any = r
	if lr, ok := r.(*io.LimitedReader); ok {
		v = lr.R
	}
	if p, ok := v.(*splice.Pipe); ok {
		v = p.Reader()
	}
	if err := v.(interface{ SetReadDeadline(time.Time) error }).SetReadDeadline(at); err != nil {
		t.Fatalf("setting the read deadline of %T: %v", v, err)
	}
}

// errSetWriteDeadline sets the write deadline of a sink (a *splice.Pipe's write
// end) to at.
func errSetWriteDeadline(t *testing.T, w io.Writer, at time.Time) {
	t.Helper()
	var v any = w
	if p, ok := v.(*splice.Pipe); ok {
		v = p.Writer()
	}
	if err := v.(interface{ SetWriteDeadline(time.Time) error }).SetWriteDeadline(at); err != nil {
		t.Fatalf("setting the write deadline of %T: %v", v, err)
	}
}

// errCloseEnd closes a source or sink before the copy (under a LimitedReader; all
// of a *splice.Pipe).
func errCloseEnd(t *testing.T, v any) {
	t.Helper()
	if lr, ok := v.(*io.LimitedReader); ok {
		v = lr.R
	}
	if err := v.(io.Closer).Close(); err != nil {
		t.Fatalf("closing %T: %v", v, err)
	}
}

// socketIntoFile reports whether an errCase named src:dst copies from a socket
// source into a sink that is an *os.File (a pipe, a regular file, /dev/null).
func socketIntoFile(name string) bool {
	src, dst, _ := strings.Cut(name, ":")
	socket := strings.Contains(src, "tcp") || strings.Contains(src, "unix")
	file := false
	for _, k := range []string{"ospipe", "pipe", "blockpipe", "file", "devnull"} {
		file = file || strings.HasPrefix(dst, k)
	}
	return socket && file
}
