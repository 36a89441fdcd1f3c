package splice_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// outcome is everything a copy leaves that its caller can observe.
type outcome struct {
	N      int64
	Err    error
	Bytes  string // length and SHA-256 of what arrived (cmp is slow on megabytes)
	LimitN int64  // LimitedReader.N afterwards, or -1
	SrcOff int64  // the source file's offset afterwards, or -1
	DstOff int64  // the destination file's offset afterwards, or -1
	Rest   string // what remained unread in the source, for Limited kinds
}

func digest(b []byte) string { return fmt.Sprintf("%d bytes, sha256 %x", len(b), sha256.Sum256(b)) }

type copyFunc func(dst io.Writer, src io.Reader) (int64, error)

// observe runs copy from a fresh source of kind sk holding data to a fresh sink of
// kind dk, and returns what it left. check, if not nil, runs after the copy,
// with what Plan said before it.
func observe(t *testing.T, fn copyFunc, sk, dk testutil.Kind, data []byte, check func(dst io.Writer, src io.Reader, planned splice.Method)) outcome {
	t.Helper()
	src := testutil.OpenSource(t, sk, data)
	dst := testutil.OpenSink(t, dk)
	watchMethods(dst.W)
	var planned splice.Method
	if check != nil {
		planned = splice.Plan(dst.W, src.R)
	}
	n, err := fn(dst.W, src.R)
	o := outcome{N: n, Err: err, LimitN: -1, SrcOff: -1, DstOff: -1}
	if check != nil {
		check(dst.W, src.R, planned)
	}
	if lr, ok := src.R.(*io.LimitedReader); ok {
		o.LimitN = lr.N
	}
	if src.File != nil {
		o.SrcOff = src.Offset()
	}
	if dst.File != nil {
		o.DstOff, _ = dst.File.Seek(0, io.SeekCurrent)
	}
	if sk.Limited() {
		o.Rest = digest(src.Rest())
	}
	if !dk.Discards() {
		o.Bytes = digest(dst.Bytes())
	}
	return o
}

// TestCopyMatchesIOCopy runs every source kind into every sink kind at every
// boundary size, through Copy, CopyN and a Copier with splice disabled, and
// requires each to leave exactly what io.Copy (or io.CopyN) leaves: bytes, count,
// error, LimitedReader.N, file offsets and unread bytes. Where Plan promises a
// kernel path, that path must really have run.
//
// Under a sandbox that refuses the kernel paths (TestCopyMatrixUnderSeccomp
// runs this test in such a child) the baseline is a plain read/write copy,
// since io.Copy itself fails where the standard library does not fall back;
// instead of the kernel path, every byte must have arrived.
func TestCopyMatchesIOCopy(t *testing.T) {
	t.Parallel()
	_, sandboxed := testutil.Sandboxed()
	sizes := testutil.Sizes(1 << 20)
	if testing.Short() || raceEnabled {
		// The race detector's memory grows past 20 GiB with the megabyte
		// sizes: the plain run (see README) covers those.
		sizes = []int{0, 1, 4097, 65537}
	}
	baseline, baselineN := io.Copy, io.CopyN
	if sandboxed {
		// The short sizes, and one past the engine's pipes and 1 MiB.
		sizes = []int{0, 1, 4097, 65537}
		if !testing.Short() && !raceEnabled {
			sizes = append(sizes, 1<<20+1)
		}
		baseline, baselineN = readWriteCopy, readWriteCopyN
	}
	for _, sk := range testutil.SourceKinds() {
		for _, dk := range testutil.SinkKinds() {
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%v-%v/%d", sk, dk, size), func(t *testing.T) {
					t.Parallel()
					data := testutil.Data(size, uint64(size)*31+7)
					want := observe(t, baseline, sk, dk, data, nil)
					if want.Err != nil {
						t.Fatalf("io.Copy failed: %v", want.Err)
					}
					if !dk.Discards() && want.Bytes != digest(data) {
						t.Fatalf("io.Copy delivered %s; sent %s", want.Bytes, digest(data))
					}
					opts := []cmp.Option{cmpopts.EquateErrors()}
					got := observe(t, splice.Copy, sk, dk, data, func(dst io.Writer, src io.Reader, planned splice.Method) {
						if !sandboxed {
							checkMethod(t, dst, src, planned, sk, dk, size)
						}
					})
					if sandboxed && (got.Err != nil || got.N != int64(size) || !dk.Discards() && got.Bytes != digest(data)) {
						t.Errorf("sandboxed: Copy = %d, %v (delivered %s); want all %d bytes", got.N, got.Err, got.Bytes, size)
					}
					if diff := cmp.Diff(want, got, opts...); diff != "" {
						t.Errorf("Copy differs from io.Copy (-io.Copy +Copy):\n%s", diff)
					}
					off := &splice.Copier{DisableSplice: true}
					got = observe(t, off.Copy, sk, dk, data, func(dst io.Writer, _ io.Reader, _ splice.Method) {
						checkNoKernelPath(t, dst)
					})
					if diff := cmp.Diff(want, got, opts...); diff != "" {
						t.Errorf("Copier{DisableSplice} differs from io.Copy (-io.Copy +Copy):\n%s", diff)
					}
					nocache := &splice.Copier{NoCache: true}
					got = observe(t, nocache.Copy, sk, dk, data, nil)
					if diff := cmp.Diff(want, got, opts...); diff != "" {
						t.Errorf("Copier{NoCache} differs from io.Copy (-io.Copy +Copy):\n%s", diff)
					}
					for _, n := range []int64{int64(size / 2), int64(size) + 1} {
						want = observe(t, func(w io.Writer, r io.Reader) (int64, error) { return baselineN(w, r, n) }, sk, dk, data, nil)
						got = observe(t, func(w io.Writer, r io.Reader) (int64, error) { return splice.CopyN(w, r, n) }, sk, dk, data, nil)
						if diff := cmp.Diff(want, got, opts...); diff != "" {
							t.Errorf("CopyN(%d) differs from io.CopyN (-io.CopyN +CopyN):\n%s", n, diff)
						}
					}
				})
			}
		}
	}
}

// readWriteCopy is io.Copy with every fast path hidden, so that it runs no
// kernel copy: neither src's WriteTo nor dst's ReadFrom, only its loop of
// Read and Write. Hidden are the methods of src and dst themselves; what the
// loop reads is still src, so a *io.LimitedReader's N is updated, a file's
// offset advances and the rest stays unread exactly as under io.Copy. For
// copies that succeed it leaves what io.Copy leaves where the kernel lets
// io.Copy's fast paths run.
func readWriteCopy(dst io.Writer, src io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{dst}, struct{ io.Reader }{src})
}

// readWriteCopyN is io.CopyN over readWriteCopy.
func readWriteCopyN(dst io.Writer, src io.Reader, n int64) (int64, error) {
	return io.CopyN(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, n)
}

func TestMethodString(t *testing.T) {
	t.Parallel()
	for m, want := range map[splice.Method]string{
		splice.MethodReadWrite:     "read/write",
		splice.MethodSplice:        "splice",
		splice.MethodCopyFileRange: "copy_file_range",
		splice.MethodSendfile:      "sendfile",
	} {
		if got := m.String(); got != want {
			t.Errorf("Method(%d).String() = %q, want %q", int(m), got, want)
		}
	}
}

// recorder collects what Unwritten is given.
type recorder struct {
	mu  sync.Mutex
	got []byte
}

func (r *recorder) add(b []byte) {
	r.mu.Lock()
	r.got = append(r.got, b...)
	r.mu.Unlock()
}
