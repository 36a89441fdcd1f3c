package testutil_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/splicekit/splice/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// testSizes are the sizes every kind is exercised with.
var testSizes = []int{0, 1, 65537, testutil.BigSize}

// wantSourceType is the dynamic type of Source.R per kind.
var wantSourceType = map[testutil.Kind]string{
	testutil.File:          "*os.File",
	testutil.OSPipe:        "*os.File",
	testutil.Pipe:          "*splice.Pipe",
	testutil.TCP:           "*net.TCPConn",
	testutil.Unix:          "*net.UnixConn",
	testutil.BlockingPipe:  "*os.File",
	testutil.LimitedFile:   "*io.LimitedReader",
	testutil.LimitedOSPipe: "*io.LimitedReader",
	testutil.LimitedTCP:    "*io.LimitedReader",
	testutil.LimitedUnix:   "*io.LimitedReader",
	testutil.Reader:        "struct { io.Reader }",
	testutil.Buffer:        "*bytes.Buffer",
}

// wantSinkType is the dynamic type of Sink.W per kind.
var wantSinkType = map[testutil.Kind]string{
	testutil.File:         "*os.File",
	testutil.OSPipe:       "*os.File",
	testutil.Pipe:         "*splice.Pipe",
	testutil.TCP:          "*net.TCPConn",
	testutil.Unix:         "*net.UnixConn",
	testutil.BlockingPipe: "*os.File",
	testutil.DevNull:      "*os.File",
	testutil.Writer:       "struct { io.Writer }",
	testutil.Buffer:       "*bytes.Buffer",
}

func TestSource(t *testing.T) {
	for _, k := range testutil.SourceKinds() {
		for _, n := range testSizes {
			t.Run(fmt.Sprintf("%v/%d", k, n), func(t *testing.T) {
				t.Parallel()
				data := testutil.Data(n, uint64(n))
				s := testutil.OpenSource(t, k, data)
				if got, want := fmt.Sprintf("%T", s.R), wantSourceType[k]; got != want {
					t.Errorf("R is a %s, want %s", got, want)
				}
				got, err := io.ReadAll(s.R)
				if err != nil {
					t.Fatalf("ReadAll: %v", err)
				}
				testutil.Equal(t, data, got)
				if err := s.Wait(); err != nil {
					t.Errorf("Wait: %v", err)
				}
				if k.Limited() {
					if lr := s.R.(*io.LimitedReader); lr.N != 0 {
						t.Errorf("LimitedReader.N = %d after reading to EOF, want 0", lr.N)
					}
					if len(s.Extra) == 0 {
						t.Errorf("Extra is empty for a limited kind")
					}
				} else if s.Extra != nil {
					t.Errorf("Extra = %d bytes for a kind that is not limited", len(s.Extra))
				}
				if k == testutil.File || k == testutil.LimitedFile {
					if off := s.Offset(); off != int64(n) {
						t.Errorf("Offset() = %d, want %d", off, n)
					}
				}
				testutil.Equal(t, s.Extra, s.Rest())
				// Everything has been read: the endpoint stays at EOF.
				if rest := s.Rest(); len(rest) != 0 {
					t.Errorf("second Rest() = %d bytes, want none", len(rest))
				}
			})
		}
	}
}

// TestSourceUnread abandons each source with its data mostly unread: the
// cleanups must unblock and reap the feeding goroutine without failing the
// test (TestMain's leak check sees what they leave).
func TestSourceUnread(t *testing.T) {
	for _, k := range testutil.SourceKinds() {
		t.Run(k.String(), func(t *testing.T) {
			t.Parallel()
			data := testutil.Data(testutil.BigSize, 1)
			var s *testutil.Source
			t.Run("abandon", func(t *testing.T) {
				s = testutil.OpenSource(t, k, data)
				b := make([]byte, 10)
				if _, err := io.ReadFull(s.R, b); err != nil {
					t.Fatalf("ReadFull: %v", err)
				}
				testutil.Equal(t, data[:10], b)
			})
			if s == nil {
				return // skipped
			}
			// The feeder has returned: Wait does not block. Its error,
			// if any, is from the cleanup closing the endpoints.
			done := make(chan error, 1)
			go func() { done <- s.Wait() }()
			select {
			case err := <-done:
				t.Logf("feeder error: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatalf("feeding goroutine still running after the cleanups")
			}
		})
	}
}

// writeChunks writes data to w in odd-sized chunks with a plain loop.
func writeChunks(t *testing.T, w io.Writer, data []byte) {
	t.Helper()
	for off := 0; off < len(data); {
		n, err := w.Write(data[off:min(off+10007, len(data))])
		if err != nil {
			t.Fatalf("Write at offset %d: %v", off, err)
		}
		off += n
	}
}

func TestSink(t *testing.T) {
	for _, k := range testutil.SinkKinds() {
		for _, n := range testSizes {
			t.Run(fmt.Sprintf("%v/%d", k, n), func(t *testing.T) {
				t.Parallel()
				data := testutil.Data(n, uint64(n)+7)
				s := testutil.OpenSink(t, k)
				if got, want := fmt.Sprintf("%T", s.W), wantSinkType[k]; got != want {
					t.Errorf("W is a %s, want %s", got, want)
				}
				writeChunks(t, s.W, data)
				if k == testutil.File {
					if off, err := s.File.Seek(0, io.SeekCurrent); err != nil || off != int64(n) {
						t.Errorf("file offset = %d, %v; want %d", off, err, n)
					}
				}
				got := s.Bytes()
				if err := s.Err(); err != nil {
					t.Errorf("Err: %v", err)
				}
				if k.Discards() {
					if got != nil {
						t.Errorf("Bytes() = %d bytes from a discarding sink, want nil", len(got))
					}
					return
				}
				if got == nil {
					t.Errorf("Bytes() = nil, want non-nil")
				}
				testutil.Equal(t, data, got)
				if again := s.Bytes(); !bytes.Equal(again, got) {
					t.Errorf("second Bytes() differs from the first")
				}
			})
		}
	}
}

// TestSinkUnfinished leaves each sink for the cleanups to finish: they must
// still collect what arrived.
func TestSinkUnfinished(t *testing.T) {
	for _, k := range testutil.SinkKinds() {
		t.Run(k.String(), func(t *testing.T) {
			t.Parallel()
			data := testutil.Data(100_000, 3)
			var got func() []byte
			t.Run("write", func(t *testing.T) {
				var w io.Writer
				w, got = testutil.NewSink(t, k)
				writeChunks(t, w, data)
			})
			if got == nil {
				return // skipped
			}
			if k.Discards() {
				return
			}
			testutil.Equal(t, data, got())
		})
	}
}

func TestKinds(t *testing.T) {
	for _, k := range testutil.SourceKinds() {
		if _, ok := wantSourceType[k]; !ok || k.Discards() {
			t.Errorf("SourceKinds() lists %v, which is not a source kind", k)
		}
	}
	for _, k := range testutil.SinkKinds() {
		if _, ok := wantSinkType[k]; !ok || k.Limited() {
			t.Errorf("SinkKinds() lists %v, which is not a sink kind", k)
		}
	}
	if runtime.GOOS == "linux" {
		if diff := cmp.Diff(len(wantSourceType), len(testutil.SourceKinds())); diff != "" {
			t.Errorf("on linux every source kind is available (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(len(wantSinkType), len(testutil.SinkKinds())); diff != "" {
			t.Errorf("on linux every sink kind is available (-want +got):\n%s", diff)
		}
	}
	for k, want := range map[testutil.Kind]bool{
		testutil.File: true, testutil.LimitedTCP: true, testutil.DevNull: true,
		testutil.Reader: false, testutil.Writer: false, testutil.Buffer: false,
	} {
		if got := k.HasFD(); got != want {
			t.Errorf("%v.HasFD() = %v, want %v", k, got, want)
		}
	}
}

// TestNonPollable checks that the blocking kinds really are outside the
// poller: an *os.File the poller does not know refuses deadlines.
func TestNonPollable(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skipf("no blocking pipes or non-pollable /dev/null on %s", runtime.GOOS)
	}
	r, w := testutil.BlockingPipePair(t)
	for _, f := range []*os.File{r, w} {
		if err := f.SetDeadline(time.Now()); !errors.Is(err, os.ErrNoDeadline) {
			t.Errorf("blocking pipe %s: SetDeadline = %v, want os.ErrNoDeadline", f.Name(), err)
		}
	}
	dn, _ := testutil.NewSink(t, testutil.DevNull)
	if err := dn.(*os.File).SetDeadline(time.Now()); !errors.Is(err, os.ErrNoDeadline) {
		t.Errorf("devnull: SetDeadline = %v, want os.ErrNoDeadline", err)
	}
	// And the pollable ones accept them.
	pr, _ := testutil.OSPipePair(t)
	if err := pr.SetDeadline(time.Now()); err != nil {
		t.Errorf("os.Pipe: SetDeadline = %v, want nil", err)
	}
}

func TestPairs(t *testing.T) {
	t.Parallel()
	msg := testutil.Data(1000, 9)
	roundTrip := func(t *testing.T, name string, a, b io.ReadWriter) {
		t.Helper()
		for _, dir := range []struct{ w, r io.ReadWriter }{{a, b}, {b, a}} {
			if _, err := dir.w.Write(msg); err != nil {
				t.Fatalf("%s: Write: %v", name, err)
			}
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(dir.r, got); err != nil {
				t.Fatalf("%s: ReadFull: %v", name, err)
			}
			testutil.Equal(t, msg, got)
		}
	}
	t.Run("tcp", func(t *testing.T) {
		a, b := testutil.TCPPair(t)
		for _, addr := range []net.Addr{a.LocalAddr(), a.RemoteAddr(), b.LocalAddr(), b.RemoteAddr()} {
			if ip := addr.(*net.TCPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
				t.Errorf("address %v is not on 127.0.0.1", addr)
			}
		}
		roundTrip(t, "tcp", a, b)
	})
	t.Run("unix", func(t *testing.T) {
		a, b := testutil.UnixPair(t)
		roundTrip(t, "unix", a, b)
	})
	pipe := func(t *testing.T, r, w *os.File) {
		t.Helper()
		if _, err := w.Write(msg); err != nil {
			t.Fatalf("Write: %v", err)
		}
		w.Close()
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("ReadAll: %v", err)
		}
		testutil.Equal(t, msg, got)
	}
	t.Run("ospipe", func(t *testing.T) {
		r, w := testutil.OSPipePair(t)
		pipe(t, r, w)
	})
	t.Run("blockpipe", func(t *testing.T) {
		r, w := testutil.BlockingPipePair(t)
		pipe(t, r, w)
	})
	t.Run("tempfile", func(t *testing.T) {
		f := testutil.TempFile(t, msg)
		if off, err := f.Seek(0, io.SeekCurrent); err != nil || off != 0 {
			t.Fatalf("offset = %d, %v; want 0", off, err)
		}
		got, err := io.ReadAll(f)
		if err != nil {
			t.Fatalf("ReadAll: %v", err)
		}
		testutil.Equal(t, msg, got)
		if _, err := f.Write([]byte("x")); err != nil {
			t.Errorf("TempFile is not writable: %v", err)
		}
	})
}

func TestData(t *testing.T) {
	t.Parallel()
	a := testutil.Data(1<<20+5, 42)
	if !bytes.Equal(a, testutil.Data(1<<20+5, 42)) {
		t.Errorf("Data is not deterministic")
	}
	if !bytes.Equal(a[:1001], testutil.Data(1001, 42)) {
		t.Errorf("Data(1001, 42) is not a prefix of Data(1<<20+5, 42)")
	}
	if bytes.Equal(a[:64], testutil.Data(64, 43)[:64]) {
		t.Errorf("seeds 42 and 43 give the same bytes")
	}
	if b := testutil.Data(0, 1); b == nil || len(b) != 0 {
		t.Errorf("Data(0, 1) = %#v, want an empty non-nil slice", b)
	}
	// Pin the generator: these bytes must never change, or saved
	// expectations elsewhere would silently move.
	if diff := cmp.Diff([]byte{0x24, 0xf6, 0x9e, 0x91, 0x5c, 0xd1, 0x55, 0x76, 0xb7, 0xc8}, testutil.Data(10, 0)); diff != "" {
		t.Errorf("Data(10, 0) (-pinned +got):\n%s", diff)
	}
}

func TestSizes(t *testing.T) {
	t.Parallel()
	page := os.Getpagesize()
	for _, ps := range []int{0, 1, 4096, 65536, 1 << 20} {
		sizes := testutil.Sizes(ps)
		if !slices.IsSorted(sizes) {
			t.Errorf("Sizes(%d) = %v, not sorted", ps, sizes)
		}
		if len(slices.Compact(slices.Clone(sizes))) != len(sizes) {
			t.Errorf("Sizes(%d) = %v, has duplicates", ps, sizes)
		}
		want := []int{0, 1, 42, page - 1, page, page + 1, 65535, 65536, 65537, testutil.BigSize}
		if ps >= 2 {
			want = append(want, ps-1, ps, ps+1)
		}
		for _, n := range want {
			if !slices.Contains(sizes, n) {
				t.Errorf("Sizes(%d) = %v, lacks %d", ps, sizes, n)
			}
		}
		if sizes[0] != 0 || sizes[len(sizes)-1] < 4<<20 {
			t.Errorf("Sizes(%d) = %v, want 0 to several MiB", ps, sizes)
		}
	}
}

// recorder is a testing.TB that records failures instead of reporting them.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestEqual(t *testing.T) {
	t.Parallel()
	want := testutil.Data(4<<20, 5)
	for _, tc := range []struct {
		name      string
		got       []byte
		wantMatch []string
	}{
		{"differ", func() []byte { b := bytes.Clone(want); b[123456] ^= 1; return b }(), []string{"offset 123456", "bytes differ"}},
		{"short", want[:1000], []string{"offset 1000", "got is a prefix of want", "len(got)=1000"}},
		{"long", append(bytes.Clone(want), 1), []string{"want is a prefix of got", "len(got)=4194305"}},
	} {
		r := &recorder{TB: t}
		if testutil.Equal(r, want, tc.got) {
			t.Errorf("%s: Equal = true", tc.name)
		}
		if len(r.errs) != 1 {
			t.Fatalf("%s: %d failures reported, want 1", tc.name, len(r.errs))
		}
		msg := r.errs[0]
		for _, s := range append(tc.wantMatch, "sha256(want)", "len(want)=4194304") {
			if !strings.Contains(msg, s) {
				t.Errorf("%s: message lacks %q:\n%s", tc.name, s, msg)
			}
		}
		if len(msg) > 1000 {
			t.Errorf("%s: message is %d bytes long", tc.name, len(msg))
		}
	}
	r := &recorder{TB: t}
	if !testutil.Equal(r, nil, []byte{}) || len(r.errs) != 0 {
		t.Errorf("Equal(nil, []byte{}) failed: %q", r.errs)
	}
}

// TestCheckFDs is not parallel: CheckFDs looks at the whole process.
func TestCheckFDs(t *testing.T) {
	if _, err := testutil.OpenFDs(); err != nil {
		t.Skipf("fds cannot be listed: %v", err)
	}
	f := testutil.TempFile(t, nil) // closed by its cleanup
	fds, err := testutil.OpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	if fds[int(f.Fd())] != f.Name() {
		t.Errorf("OpenFDs()[%d] = %q, want %q", f.Fd(), fds[int(f.Fd())], f.Name())
	}
	r := &recorder{TB: t}
	check := testutil.CheckFDs(r)
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		r2.Close() // closed late: CheckFDs waits for it
	}()
	check()
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "pipe:[") {
		t.Errorf("CheckFDs with a leaked pipe end reported %q, want one pipe fd", r.errs)
	}
	w2.Close()
	r = &recorder{TB: t}
	testutil.CheckFDs(r)()
	if len(r.errs) != 0 {
		t.Errorf("CheckFDs with nothing leaked reported %q", r.errs)
	}
}

const leakEnv = "TESTUTIL_LEAK_CHILD"

var leaked []any

// leakForTest leaks a pipe and a goroutine, for TestMainReportsLeaks.
func leakForTest() {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	ch := make(chan int)
	leaked = append(leaked, r, w, ch)
	go leakedGoroutine(ch)
}

func leakedGoroutine(ch chan int) { <-ch }

// TestLeakChild is the test run by TestMainReportsLeaks' child process, which
// leaks after Main takes its baseline.
func TestLeakChild(t *testing.T) {
	if os.Getenv(leakEnv) == "" {
		t.Skip("run by TestMainReportsLeaks")
	}
	leakForTest()
}

// TestMainReportsLeaks runs this test binary with a test that leaks a pipe
// and a goroutine, and checks that Main fails it and names both.
func TestMainReportsLeaks(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("the leak check waits 5 s before it reports")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("cannot re-run the test binary: %v", err)
	}
	cmd := exec.Command(exe, "-test.run=^TestLeakChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), leakEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Fatalf("child: %v, want exit status 1; stderr:\n%s", err, &stderr)
	}
	want := []string{"leak check failed", "1 leaked goroutines", "testutil_test.leakedGoroutine"}
	if runtime.GOOS == "linux" {
		want = append(want, "2 leaked file descriptors", "pipe:[")
	}
	for _, s := range want {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("child's report lacks %q:\n%s", s, &stderr)
		}
	}
}
