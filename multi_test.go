package splice_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// multiOutcome is everything a CopyMulti leaves that its caller can observe.
type multiOutcome struct {
	N      int64
	Err    error
	Bytes  []string // per destination: length and SHA-256 of what arrived
	LimitN int64    // LimitedReader.N afterwards, or -1
	SrcOff int64    // the source file's offset afterwards, or -1
	DstOff []int64  // per destination: a file's offset afterwards, or -1
	Rest   string   // what remained unread in the source, for Limited kinds
}

type multiFunc func(src io.Reader, dsts ...io.Writer) (int64, error)

// ioMulti is the baseline: io.Copy over an io.MultiWriter.
func ioMulti(src io.Reader, dsts ...io.Writer) (int64, error) {
	return io.Copy(io.MultiWriter(dsts...), src)
}

// observeMulti runs fn from a fresh source of kind sk holding data to fresh
// sinks of kinds dks, and returns what it left.
func observeMulti(t *testing.T, fn multiFunc, sk testutil.Kind, dks []testutil.Kind, data []byte) multiOutcome {
	t.Helper()
	src := testutil.OpenSource(t, sk, data)
	sinks := make([]*testutil.Sink, len(dks))
	ws := make([]io.Writer, len(dks))
	for i, dk := range dks {
		sinks[i] = testutil.OpenSink(t, dk)
		ws[i] = sinks[i].W
	}
	n, err := fn(src.R, ws...)
	o := multiOutcome{N: n, Err: err, LimitN: -1, SrcOff: -1}
	if lr, ok := src.R.(*io.LimitedReader); ok {
		o.LimitN = lr.N
	}
	if src.File != nil {
		o.SrcOff = src.Offset()
	}
	if sk.Limited() {
		o.Rest = digest(src.Rest())
	}
	for _, s := range sinks {
		off := int64(-1)
		if s.File != nil {
			off, _ = s.File.Seek(0, io.SeekCurrent)
		}
		o.DstOff = append(o.DstOff, off)
		b := "discarded"
		if !s.Kind.Discards() {
			b = digest(s.Bytes())
		}
		o.Bytes = append(o.Bytes, b)
	}
	return o
}

// multiCombos are the destination lists the matrix copies into: one to five
// destinations, every sink kind, pipes only, mixed, and none of them an fd.
var multiCombos = [][]testutil.Kind{
	{testutil.OSPipe},
	{testutil.File},
	{testutil.TCP},
	{testutil.Writer},
	{testutil.OSPipe, testutil.Pipe},
	{testutil.File, testutil.TCP},
	{testutil.Buffer, testutil.Writer},
	{testutil.OSPipe, testutil.Pipe, testutil.BlockingPipe},
	{testutil.File, testutil.OSPipe, testutil.Unix},
	{testutil.TCP, testutil.Writer, testutil.DevNull, testutil.Pipe},
	{testutil.File, testutil.TCP, testutil.Buffer, testutil.OSPipe, testutil.Unix},
}

func comboName(dks []testutil.Kind) string {
	var b strings.Builder
	for i, k := range dks {
		if i > 0 {
			b.WriteByte('+')
		}
		b.WriteString(k.String())
	}
	return b.String()
}

// TestCopyMultiMatchesIOCopy copies every source kind into each destination
// list of multiCombos at the boundary sizes, through CopyMulti and a Copier
// with splice disabled, and requires each to leave exactly what io.Copy over
// an io.MultiWriter leaves: every destination's bytes and offset, the count,
// the error, LimitedReader.N, the source's offset and unread bytes.
func TestCopyMultiMatchesIOCopy(t *testing.T) {
	t.Parallel()
	_, sandboxed := testutil.Sandboxed()
	sizes := []int{0, 1, 4097, 65537, 1<<20 - 1, 1<<20 + 1, testutil.BigSize}
	if testing.Short() || raceEnabled || sandboxed {
		sizes = []int{0, 1, 4097, 65537}
	}
	fns := []struct {
		name string
		fn   multiFunc
	}{
		{"CopyMulti", splice.CopyMulti},
		{"DisableSplice", (&splice.Copier{DisableSplice: true}).CopyMulti},
		{"DropFailed", (&splice.Copier{DropFailed: true}).CopyMulti},
		// One-page pipes: a chunk per page, short tees into the pipes.
		{"PipeSize=4096", (&splice.Copier{PipeSize: 4096}).CopyMulti},
		{"NoCache", (&splice.Copier{NoCache: true}).CopyMulti},
	}
	for _, sk := range testutil.SourceKinds() {
		for _, dks := range multiCombos {
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%v-%s/%d", sk, comboName(dks), size), func(t *testing.T) {
					t.Parallel()
					data := testutil.Data(size, uint64(size)*13+5)
					want := observeMulti(t, ioMulti, sk, dks, data)
					if want.Err != nil && !sandboxed {
						t.Fatalf("io.Copy(io.MultiWriter) failed: %v", want.Err)
					}
					for _, f := range fns {
						got := observeMulti(t, f.fn, sk, dks, data)
						if sandboxed {
							// io.Copy may fail where the sandbox
							// refuses its kernel paths: every byte
							// must arrive all the same.
							want.N, want.Err = int64(size), nil
						}
						if diff := cmp.Diff(want, got, cmpopts.EquateErrors()); diff != "" {
							t.Errorf("%s differs from io.Copy(io.MultiWriter) (-io.Copy +%s):\n%s", f.name, f.name, diff)
						}
					}
				})
			}
		}
	}
}

// TestCopyMultiSameDestinationTwice lists one pipe twice: as with
// io.MultiWriter, it gets every chunk twice, one after the other.
func TestCopyMultiSameDestinationTwice(t *testing.T) {
	for _, size := range []int{1, 4097, 1<<20 + 1, testutil.BigSize} {
		for _, c := range []*splice.Copier{nil, {DisableSplice: true}} {
			t.Run(fmt.Sprintf("%d/disable=%v", size, c != nil), func(t *testing.T) {
				data := testutil.Data(size, 99)
				src := testutil.OpenSource(t, testutil.File, data)
				sink := testutil.OpenSink(t, testutil.OSPipe)
				n, err := c.CopyMulti(src.R, sink.W, sink.W)
				if n != int64(size) || err != nil {
					t.Fatalf("CopyMulti = %d, %v; want %d, nil", n, err, size)
				}
				checkTwice(t, data, sink.Bytes())
			})
		}
	}
}

// checkTwice checks that got is data with every chunk of it repeated: c1 c1
// c2 c2 ..., for some cutting of data into chunks.
func checkTwice(t *testing.T, data, got []byte) { t.Helper(); checkRepeated(t, data, got, 2) }

// checkRepeated checks that got is data with every chunk of it repeated k
// times in a row, for some cutting of data into chunks.
func checkRepeated(t *testing.T, data, got []byte, k int) {
	t.Helper()
	if len(got) != k*len(data) {
		t.Fatalf("got %d bytes; want %d times %d", len(got), k, len(data))
	}
	for pos, at := 0, 0; pos < len(data); {
		// The chunk is the longest run of got that continues data
		// from pos and is then repeated.
		n := 0
		for pos+n < len(data) && got[at+n] == data[pos+n] {
			n++
		}
		for n > 0 && !repeats(got[at:], data[pos:pos+n], k) {
			n--
		}
		if n == 0 {
			t.Fatalf("at output byte %d (data byte %d): no chunk repeated %d times", at, pos, k)
		}
		pos, at = pos+n, at+k*n
	}
}

// repeats reports whether b starts with k copies of c.
func repeats(b, c []byte, k int) bool {
	if len(b) < k*len(c) {
		return false
	}
	for i := 0; i < k; i++ {
		if string(b[i*len(c):(i+1)*len(c)]) != string(c) {
			return false
		}
	}
	return true
}

// TestCopyMultiNoDestination is io.Copy(io.Discard, src).
func TestCopyMultiNoDestination(t *testing.T) {
	for _, sk := range testutil.SourceKinds() {
		t.Run(sk.String(), func(t *testing.T) {
			data := testutil.Data(70000, 3)
			src := testutil.OpenSource(t, sk, data)
			n, err := splice.CopyMulti(src.R)
			if n != int64(len(data)) || err != nil {
				t.Fatalf("CopyMulti() = %d, %v; want %d, nil", n, err, len(data))
			}
		})
	}
}

// TestCopyMultiNilDestination fails with the nil destination's index, taking
// nothing from src.
func TestCopyMultiNilDestination(t *testing.T) {
	data := testutil.Data(100, 3)
	src := testutil.OpenSource(t, testutil.File, data)
	sink := testutil.OpenSink(t, testutil.OSPipe)
	n, err := splice.CopyMulti(src.R, sink.W, nil)
	var de *splice.DestError
	if n != 0 || !errors.As(err, &de) || de.Index != 1 || de.Written != 0 {
		t.Fatalf("CopyMulti(src, pipe, nil) = %d, %v; want 0, a *DestError for index 1", n, err)
	}
	if off := src.Offset(); off != 0 {
		t.Errorf("source offset %d; want 0", off)
	}
}
