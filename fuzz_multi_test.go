package splice_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// FuzzCopyMulti copies a fuzzer-chosen source (every source kind of
// internal/testutil, and a plain reader that fails after a fuzzer-chosen
// count) into one to four fuzzer-chosen destinations: every sink kind, and
// destinations that fail: a FailWriter failing or writing short after a
// fuzzer-chosen count, a pipe whose reader is gone (an os.Pipe, a Pipe), a
// TCP socket reset by its peer, /dev/full, a pipe whose write deadline has
// passed. It runs with and without DropFailed, with splice disabled and with
// fuzzer-chosen pipe sizes, and holds the outcome to CopyMulti's doc:
//
//   - the destinations that fail are those handed a byte past what they
//     take (and maybe one that takes exactly the returned count, failing at
//     the next chunk before a byte of it was taken from src), each named by
//     a *DestError (errors.Join of them, in Index order, then src's error,
//     if more than one) whose Written is what it took and whose Err is the
//     error its own Write gives;
//   - every other destination has exactly the returned count of bytes, the
//     source's first bytes; without DropFailed the count ends the chunk in
//     which the first destination failed (at most a pipe's worth past it),
//     with DropFailed it is all the source had, unless every destination
//     failed;
//   - the source gave exactly the returned count (a file's offset, a
//     LimitedReader's N, the bytes it still holds), and Progress saw each
//     chunk's running total, the last the returned count;
//   - where no destination fails, the count and the error are those of
//     io.Copy over an io.MultiWriter of the same endpoints; where one does,
//     without DropFailed, the destination io.Copy stops at (if it took fewer
//     bytes than CopyMulti returned) is named, with the error io.Copy
//     returns.
func FuzzCopyMulti(f *testing.F) {
	// A destination is three bytes: its kind (an index into
	// multiDestKinds) and a 16-bit limit for the failing writers (see
	// multiLimit).
	kinds := multiDestKinds()
	dst := func(kind string, limit uint16) []byte {
		i := slices.Index(kinds, kind)
		if i < 0 {
			i = 0 // a kind this system lacks
		}
		return []byte{byte(i), byte(limit >> 8), byte(limit)}
	}
	dsts := func(ds ...[]byte) []byte { return bytes.Join(ds, nil) }
	srcIndex := func(k testutil.Kind) uint8 {
		if i := slices.Index(testutil.SourceKinds(), k); i >= 0 {
			return uint8(i)
		}
		return uint8(len(testutil.SourceKinds())) // the failing reader
	}
	const drop, noSplice, pipe4K, pipe64K, pipe1M = 1, 2, 1 << 2, 2 << 2, 3 << 2
	for i, s := range []struct {
		src   testutil.Kind
		size  uint32
		dsts  []byte
		flags uint8
		seed  uint64 // 0: the seed's index
	}{
		{testutil.File, 0, dsts(dst("ospipe", 0)), 0, 0},
		{testutil.File, 70000, dsts(dst("file", 0), dst("tcp", 0), dst("pipe", 0)), 0, 0},
		{testutil.Pipe, 1<<20 + 1, dsts(dst("fail", 30000), dst("file", 0), dst("ospipe", 0)), 0, 0},
		{testutil.TCP, 300000, dsts(dst("ospipe", 0), dst("fail", 40000), dst("tcp", 0)), drop, 0},
		{testutil.OSPipe, 200000, dsts(dst("short", 12345), dst("writer", 0), dst("epipe", 0), dst("file", 0)), drop, 0},
		{testutil.File, 3 << 20, dsts(dst("pipe", 0), dst("reset", 0), dst("unix", 0)), 0, 0},
		{testutil.LimitedFile, 100000, dsts(dst("devfull", 0), dst("buffer", 0)), drop | pipe4K, 0},
		{testutil.Reader, 65537, dsts(dst("deadline", 0), dst("pipe-epipe", 0), dst("fail", 99)), drop, 0},
		{testutil.Unix, 500000, dsts(dst("fail", 255), dst("fail", 0x8000), dst("blockpipe", 0)), pipe64K, 0},
		{"", 100000, dsts(dst("file", 0), dst("fail", 5000)), drop, 0},
		{testutil.LimitedTCP, 1<<20 + 7, dsts(dst("tcp", 0), dst("epipe", 0)), noSplice, 0},
		{testutil.Buffer, 40000, dsts(dst("fail", 10000), dst("devnull", 0)), pipe1M, 0},
		{testutil.BlockingPipe, 150000, dsts(dst("deadline", 0), dst("reset", 0)), drop, 0},
		{testutil.OSPipe, 0, dsts(dst("epipe", 0)), 0, 0},
		// The failing reader (its seed makes it fail after 70001 bytes)
		// into healthy destinations.
		{"", 100000, dsts(dst("file", 0), dst("pipe", 0), dst("writer", 0)), 0, 70001},
	} {
		seed := s.seed
		if seed == 0 {
			seed = uint64(i)
		}
		f.Add(srcIndex(s.src), s.size, seed, s.dsts, s.flags)
	}
	f.Fuzz(func(t *testing.T, si uint8, size uint32, seed uint64, spec []byte, flags uint8) {
		maxSize := uint32(fuzzMaxSize)
		if testing.Short() {
			maxSize = 256 << 10
		}
		data := testutil.Data(int(size%(maxSize+1)), seed)
		srcs := testutil.SourceKinds()
		sk := testutil.Kind("") // "": the failing reader
		if int(si)%(len(srcs)+1) < len(srcs) {
			sk = srcs[int(si)%(len(srcs)+1)]
		}
		// The failing reader fails after a seed-chosen count.
		avail := len(data)
		if sk == "" {
			avail = int(seed % uint64(len(data)+1))
		}
		var ds []multiDestSpec
		for i := 0; i+3 <= len(spec) && len(ds) < 4; i += 3 {
			ds = append(ds, multiDestSpec{kinds[int(spec[i])%len(kinds)], multiLimit(int(spec[i+1])<<8|int(spec[i+2]), avail)})
		}
		if len(ds) == 0 {
			ds = []multiDestSpec{{"writer", -1}}
		}
		c := &splice.Copier{
			DropFailed:    flags&1 != 0,
			DisableSplice: flags&2 != 0,
			PipeSize:      [...]int{0, 4096, 64 << 10, 1 << 20}[flags>>2&3],
		}
		checkCopyMulti(t, c, sk, data, avail, ds)
	})
}

// multiLimit decodes a failing writer's limit: up to 255 bytes as given,
// else a fraction of the source's bytes, 0xffff one past them.
func multiLimit(v, avail int) int {
	switch {
	case v < 256:
		return v
	case v == 0xffff:
		return avail + 1
	}
	return int(uint64(v) * uint64(avail+1) >> 16)
}

// multiDestSpec is a destination to build: a kind of multiDestKinds, and the
// limit of a failing writer.
type multiDestSpec struct {
	kind  string
	limit int
}

// multiDestKinds names the destinations FuzzCopyMulti builds: every sink
// kind, then those that fail, less those this system cannot build.
func multiDestKinds() []string {
	var kinds []string
	for _, k := range testutil.SinkKinds() {
		kinds = append(kinds, k.String())
	}
	kinds = append(kinds, "fail", "short", "epipe", "pipe-epipe", "reset")
	if f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0); err == nil {
		f.Close()
		kinds = append(kinds, "devfull")
	}
	if r, w, err := os.Pipe(); err == nil {
		if w.SetWriteDeadline(time.Time{}) == nil {
			kinds = append(kinds, "deadline")
		}
		r.Close()
		w.Close()
	}
	return kinds
}

// A multiDest is a destination as built for one copy.
type multiDest struct {
	w      io.Writer
	failAt int   // the bytes it takes before it fails (if handed more)
	cause  error // what its failure matches, where known
	// got returns every byte it received, once the copy is over; nil:
	// it keeps none (/dev/null, a destination that takes nothing).
	got  func() []byte
	file *os.File
	pipe bool // a pipe that fails (its reader gone, its deadline passed)
	// ref makes it fail again, as it failed in the copy: the error its
	// own next Write gives, for the error chain.
	ref func() error
}

// newMultiDest builds the destination spec names; never is a count past
// every byte of the copy.
func newMultiDest(t *testing.T, spec multiDestSpec, never int) *multiDest {
	d := &multiDest{failAt: never}
	onLinux := func(err error) error {
		if runtime.GOOS == "linux" {
			return err
		}
		return nil
	}
	write := func(w io.Writer) func() error {
		return func() error { _, err := w.Write([]byte{0}); return err }
	}
	switch spec.kind {
	case "fail", "short":
		fw := &testutil.FailWriter{Limit: spec.limit, Short: spec.kind == "short"}
		d.w, d.failAt, d.cause, d.got = fw, spec.limit, testutil.ErrInjected, fw.Bytes
		d.ref = write(fw)
		if fw.Short {
			d.cause = io.ErrShortWrite
			d.ref = func() error { return io.ErrShortWrite } // its Write says nothing
		}
	case "epipe":
		r, w := testutil.OSPipePair(t)
		r.Close()
		d.w, d.failAt, d.cause, d.ref, d.pipe = w, 0, onLinux(syscall.EPIPE), write(w), true
	case "pipe-epipe":
		p := newPipe(t)
		p.Reader().Close()
		d.w, d.failAt, d.cause, d.ref, d.pipe = p, 0, onLinux(syscall.EPIPE), write(p), true
	case "reset":
		// The peer resets the connection, and conn's read takes the reset:
		// from then on every write fails with EPIPE.
		conn, peer := testutil.TCPPair(t)
		if err := peer.SetLinger(0); err != nil {
			t.Fatal(err)
		}
		peer.Close()
		conn.SetReadDeadline(time.Now().Add(pipeOpTimeout))
		if n, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("reading a reset connection: %d, %v; want the reset", n, err)
		}
		conn.SetReadDeadline(time.Time{})
		d.w, d.failAt, d.cause, d.ref = conn, 0, onLinux(syscall.EPIPE), write(conn)
	case "devfull":
		f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		d.w, d.failAt, d.cause, d.ref = f, 0, syscall.ENOSPC, write(f)
	case "deadline":
		_, w := testutil.OSPipePair(t)
		if err := w.SetWriteDeadline(pastDeadline); err != nil {
			t.Fatal(err)
		}
		d.w, d.failAt, d.cause, d.ref, d.pipe = w, 0, os.ErrDeadlineExceeded, write(w), true
	default:
		s := testutil.OpenSink(t, testutil.Kind(spec.kind))
		d.w, d.file = s.W, s.File
		if !s.Kind.Discards() {
			d.got = s.Bytes
		}
	}
	return d
}

// errFuzzSource is the failing reader's error.
var errFuzzSource = errors.New("fuzz: source failed")

// failingReader yields data and then fails with errFuzzSource; off is what
// it gave.
type failingReader struct {
	data []byte
	off  int
}

func (r *failingReader) Read(b []byte) (int, error) {
	if r.off == len(r.data) {
		return 0, errFuzzSource
	}
	n := copy(b, r.data[r.off:])
	r.off += n
	return n, nil
}

// multiRun is one copy from a fresh source into fresh destinations.
type multiRun struct {
	n     int64
	err   error
	dests []*multiDest
	// rest checks that the source gave exactly n bytes (a file's offset,
	// a LimitedReader's N) and still holds the rest; it describes what
	// differs.
	rest func(n int64) string
}

func runMulti(t *testing.T, fn func(io.Reader, ...io.Writer) (int64, error), sk testutil.Kind, data []byte, avail int, specs []multiDestSpec) *multiRun {
	r := &multiRun{}
	var src io.Reader
	if sk == "" {
		fr := &failingReader{data: data[:avail]}
		src = fr
		r.rest = func(n int64) string {
			if int64(fr.off) != n {
				return fmt.Sprintf("the source gave %d bytes", fr.off)
			}
			return ""
		}
	} else {
		s := testutil.OpenSource(t, sk, data)
		src = s.R
		r.rest = func(n int64) string {
			if lr, ok := s.R.(*io.LimitedReader); ok && lr.N != int64(len(data))-n {
				return fmt.Sprintf("LimitedReader.N = %d of %d", lr.N, len(data))
			}
			if s.File != nil {
				if off := s.Offset(); off != n {
					return fmt.Sprintf("the source file's offset is %d", off)
				}
			}
			rest := s.Rest()
			if want := append(append([]byte(nil), data[n:]...), s.Extra...); !bytes.Equal(rest, want) {
				return fmt.Sprintf("the source holds %d bytes past those taken; want %d (same prefix: %d)", len(rest), len(want), commonPrefix(want, rest))
			}
			return ""
		}
	}
	ws := make([]io.Writer, len(specs))
	for i, spec := range specs {
		d := newMultiDest(t, spec, avail+1)
		r.dests = append(r.dests, d)
		ws[i] = d.w
	}
	r.n, r.err = fn(src, ws...)
	return r
}

// destErrors splits a CopyMulti error into its *DestErrors and the rest.
func destErrors(err error) (des []*splice.DestError, rest []error) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if de, ok := e.(*splice.DestError); ok {
			des = append(des, de)
		} else if e != nil {
			rest = append(rest, e)
		}
	}
	return des, rest
}

func checkCopyMulti(t *testing.T, c *splice.Copier, sk testutil.Kind, data []byte, avail int, specs []multiDestSpec) {
	name := fmt.Sprintf("%v → %v, %d bytes (%d before the source fails), DropFailed %v, DisableSplice %v, PipeSize %d",
		sourceName(sk), specs, len(data), avail, c.DropFailed, c.DisableSplice, c.PipeSize)

	// io.Copy over an io.MultiWriter of the same endpoints.
	base := runMulti(t, func(src io.Reader, dsts ...io.Writer) (int64, error) {
		return io.Copy(io.MultiWriter(dsts...), src)
	}, sk, data, avail, specs)

	var progress []int64
	c.Progress = func(n int64) { progress = append(progress, n) }
	got := runMulti(t, c.CopyMulti, sk, data, avail, specs)
	n, err := got.n, got.err

	// The model: the destinations that fail are those handed a byte past
	// what they take.
	fmin, fmax, survivors := avail, -1, false
	for _, d := range got.dests {
		if d.failAt < avail {
			fmin, fmax = min(fmin, d.failAt), max(fmax, d.failAt)
		} else {
			survivors = true
		}
	}
	chunk := int64(max(1<<20, splice.MaxPipeSize()))
	if sk == testutil.Buffer {
		chunk = int64(avail) // its WriteTo writes all it has at once
	}
	// A destination fails when it is handed a byte past what it takes: the
	// copy's bytes up to n were handed to every live one, and one that
	// takes exactly n may have failed at the next chunk before a byte of it
	// was taken from src.
	var lo, hi int64 // bounds on n
	srcErr, allFail := sk == "", false
	switch {
	case fmax < 0:
		lo, hi = int64(avail), int64(avail)
	case !c.DropFailed:
		lo, hi = int64(fmin), min(int64(avail), int64(fmin)+chunk)
		srcErr = false
	case survivors:
		lo, hi = int64(avail), int64(avail)
	default:
		lo, hi = int64(fmax), min(int64(avail), int64(fmax)+chunk)
		srcErr, allFail = false, true
	}
	if n < lo || n > hi {
		t.Fatalf("%s: CopyMulti = %d, %v; want %d to %d bytes", name, n, err, lo, hi)
	}

	// The error: a *DestError for each destination that failed, in Index
	// order, then src's.
	des, rest := destErrors(err)
	var failed []int
	for _, de := range des {
		failed = append(failed, de.Index)
	}
	wantRest := 0
	if srcErr {
		wantRest = 1
	}
	if len(rest) != wantRest || wantRest == 1 && rest[0] != errFuzzSource {
		t.Fatalf("%s: CopyMulti = %d, %v; want src's error: %v", name, n, err, srcErr)
	}
	if fmax >= 0 && !c.DropFailed && len(des) == 0 {
		t.Fatalf("%s: CopyMulti = %d, %v; want a *DestError", name, n, err)
	}
	for i, d := range got.dests {
		must, may := int64(d.failAt) < n, int64(d.failAt) == n && n < int64(avail)
		if knownBugEmptyIntoFailingPipe && avail == 0 && d.pipe {
			may = true
		}
		switch named := slices.Contains(failed, i); {
		case allFail && !named, must && !named:
			t.Errorf("%s: CopyMulti = %d, %v; want destination %d, which takes %d bytes, named", name, n, err, i, d.failAt)
		case named && !must && !may:
			t.Errorf("%s: CopyMulti = %d, %v names destination %d, which takes %d bytes", name, n, err, i, d.failAt)
		}
	}
	if !slices.IsSorted(failed) || len(slices.Compact(slices.Clone(failed))) != len(failed) {
		t.Errorf("%s: the *DestErrors name destinations %v; want them once each, in Index order", name, failed)
	}
	if len(des)+len(rest) == 1 && len(des) == 1 && err != error(des[0]) {
		t.Errorf("%s: a single failure came as %T, not as a bare *DestError", name, err)
	}
	if t.Failed() {
		return
	}
	for j, de := range des {
		i := failed[j]
		d := got.dests[i]
		if de.Index != i || de.Written != int64(d.failAt) {
			t.Errorf("%s: error %d is for destination %d after %d bytes; want %d after %d", name, j, de.Index, de.Written, i, d.failAt)
		}
		if d.cause != nil && !errors.Is(de, d.cause) {
			t.Errorf("%s: destination %d failed with %v; want it to match %v", name, i, de.Err, d.cause)
		}
		if want := errChain(d.ref()); errChain(de.Err) != want {
			t.Errorf("%s: destination %d failed with %q; its Write fails with %q", name, i, errChain(de.Err), want)
		}
	}

	// Every destination has the source's first bytes: n, or what it took.
	for i, d := range got.dests {
		want := n
		if slices.Contains(failed, i) {
			want = int64(d.failAt)
		}
		if d.file != nil {
			if off, err := d.file.Seek(0, io.SeekCurrent); off != want || err != nil {
				t.Errorf("%s: destination %d, a file, is at offset %d, %v; want %d", name, i, off, err, want)
			}
		}
		if d.got == nil {
			continue
		}
		if b := d.got(); !bytes.Equal(b, data[:want]) {
			t.Errorf("%s: destination %d got %d bytes; want the first %d (same prefix: %d)", name, i, len(b), want, commonPrefix(data[:want], b))
		}
	}

	// The source gave exactly n.
	if problem := got.rest(n); problem != "" {
		t.Errorf("%s: CopyMulti = %d, %v: %s", name, n, err, problem)
	}

	// Progress: each chunk's running total, the last n.
	for i, p := range progress {
		if p <= 0 || p > n || i > 0 && p <= progress[i-1] {
			t.Errorf("%s: Progress saw %v; want rising totals up to %d", name, progress, n)
			break
		}
	}
	if n > 0 && (len(progress) == 0 || progress[len(progress)-1] != n) {
		t.Errorf("%s: Progress saw %v; want the last %d", name, progress, n)
	}

	// io.Copy over an io.MultiWriter, where the doc says they agree.
	switch {
	case len(failed) == 0:
		if base.n != n || errChain(base.err) != errChain(err) {
			t.Errorf("%s: CopyMulti = %d, %v; io.Copy over an io.MultiWriter = %d, %v", name, n, err, base.n, base.err)
		}
	case !c.DropFailed && base.n < n:
		// io.Copy stops at the first destination to fail (in stream
		// order, then in Index order): it has taken base.n bytes, and
		// CopyMulti named it too, with the error io.Copy returns (which
		// a source's WriteTo may wrap: a *net.TCPConn's in a "writeto"
		// *net.OpError).
		found := false
		for j, de := range des {
			found = found || int64(got.dests[failed[j]].failAt) == base.n && strings.HasSuffix(errChain(base.err), errChain(de.Err))
		}
		if !found {
			t.Errorf("%s: io.Copy over an io.MultiWriter = %d, %v; CopyMulti = %d, %v names no destination that failed so", name, base.n, base.err, n, err)
		}
	}
}

// knownBugEmptyIntoFailingPipe: from an empty source, CopyMulti into pipes
// of which one fails (its reader gone, its write deadline passed) may name
// that pipe in a *DestError, where io.Copy over an io.MultiWriter writes
// nothing and returns nil: splice(2) and tee(2) at the source's end still
// check the output pipe. Copy no longer does (the pump asks whether the
// source has ended, see srcState), but CopyMulti's tee paths do not ask, and
// a pipe source that ends after the check cannot be told from one that will
// give bytes. Set it to false once CopyMulti asks too.
const knownBugEmptyIntoFailingPipe = true

// sourceName names a FuzzCopyMulti source kind.
func sourceName(k testutil.Kind) string {
	if k == "" {
		return "failing-reader"
	}
	return k.String()
}

// String names a destination for messages.
func (s multiDestSpec) String() string {
	switch s.kind {
	case "fail", "short":
		return s.kind + "@" + fmt.Sprint(s.limit)
	}
	return s.kind
}
