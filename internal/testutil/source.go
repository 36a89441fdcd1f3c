package testutil

import (
	"bytes"
	"errors"
	"io"
	"os"
	"runtime"
	"testing"
	"time"
)

// extraLen is the length of [Source.Extra] for Limited kinds: not a multiple
// of any page or buffer size, and small enough to sit in any socket or pipe
// buffer, so the feeder can finish without the test reading it.
const extraLen = 4099

// extraSeed seeds the generator of [Source.Extra].
const extraSeed = 0xe7e7a

// restTimeout bounds [Source.Rest] on endpoints that support deadlines.
const restTimeout = 10 * time.Second

// Source is a source endpoint built by [OpenSource].
type Source struct {
	// Kind is the kind of the endpoint.
	Kind Kind

	// R is the reader to hand to the code under test. Its dynamic type is
	// what the Kind documents: *os.File, *splice.Pipe, *net.TCPConn,
	// *net.UnixConn, *io.LimitedReader (Limited kinds, N == len(data)),
	// *bytes.Buffer or a struct{ io.Reader }.
	R io.Reader

	// File is the regular file under R for File and LimitedFile; nil for
	// other kinds.
	File *os.File

	// Extra holds, for Limited kinds, the bytes that follow the data in the
	// underlying endpoint and must stay unread by a copy that honours the
	// limit; nil for other kinds.
	Extra []byte

	t    testing.TB
	rest io.Reader // the endpoint under R, bypassing any limit
	feed *task     // the goroutine feeding the peer end, or nil
}

// NewSource returns an io.Reader of kind k that yields exactly data and then
// io.EOF. It is OpenSource(t, k, data).R.
func NewSource(t testing.TB, k Kind, data []byte) io.Reader {
	t.Helper()
	return OpenSource(t, k, data).R
}

// OpenSource builds a source endpoint of kind k whose reader yields exactly
// data and then io.EOF (for Limited kinds: up to the limit). It skips the
// test if k is unavailable on this platform, and fails it if k is not a
// source kind.
//
// For pipe and socket kinds a goroutine writes data (and Extra) to the peer
// end and then closes it. The feeder's errors, such as EPIPE when the test
// closes its end early, do not fail the test; [Source.Wait] returns them.
// Everything OpenSource opened is closed, and the feeder has returned, once
// t's cleanups have run. data must not be modified until then.
func OpenSource(t testing.TB, k Kind, data []byte) *Source {
	t.Helper()
	if !supported(k) {
		t.Skipf("testutil: %v endpoints are unavailable on %s", k, runtime.GOOS)
	}
	s := &Source{Kind: k, t: t}
	if k.Limited() {
		s.Extra = Data(extraLen, extraSeed)
	}
	switch k {
	case File, LimitedFile:
		path := writeFile(t, "src", data, s.Extra)
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("testutil: %v", err)
		}
		t.Cleanup(func() { f.Close() })
		s.File, s.rest = f, f

	case OSPipe, LimitedOSPipe, BlockingPipe:
		var r, w *os.File
		if k == BlockingPipe {
			r, w = BlockingPipePair(t)
		} else {
			r, w = OSPipePair(t)
		}
		s.rest = r
		s.start(func() error {
			defer w.Close()
			return writeAll(w, data, s.Extra)
		}, func() {
			// Closing the read end fails a pending write with EPIPE,
			// also on a blocking pipe, whose Close cannot interrupt a
			// write(2) in progress on the write end itself.
			r.Close()
			w.Close()
		})

	case Pipe:
		p := newPipe(t)
		s.R, s.rest = p, p.Reader()
		s.start(func() error {
			err := writeAll(p.Writer(), data)
			if cerr := p.CloseWrite(); err == nil {
				err = cerr
			}
			return err
		}, func() {
			// Unblock a pending write without closing under the
			// feeder's feet, which could race with its CloseWrite.
			err := p.Writer().SetWriteDeadline(pastDeadline)
			if err != nil && !errors.Is(err, os.ErrClosed) {
				p.Reader().Close() // no deadlines: fail the write with EPIPE
			}
		})

	case TCP, LimitedTCP, Unix, LimitedUnix:
		var conn, peer interface {
			io.ReadWriteCloser
			CloseWrite() error
		}
		if k == TCP || k == LimitedTCP {
			conn, peer = TCPPair(t)
		} else {
			conn, peer = UnixPair(t)
		}
		s.rest = conn
		s.start(func() error {
			err := writeAll(peer, data, s.Extra)
			if cerr := peer.CloseWrite(); err == nil {
				err = cerr
			}
			return err
		}, func() {
			conn.Close()
			peer.Close()
		})

	case Reader:
		br := bytes.NewReader(data)
		s.R, s.rest = struct{ io.Reader }{br}, br

	case Buffer:
		buf := bytes.NewBuffer(bytes.Clone(data))
		s.rest = buf

	default:
		t.Fatalf("testutil: %q is not a source kind", k)
	}
	switch {
	case k.Limited():
		s.R = &io.LimitedReader{R: s.rest, N: int64(len(data))}
	case s.R == nil:
		s.R = s.rest
	}
	return s
}

// start runs feed in a goroutine and registers a cleanup that calls abort,
// which must make any pending write in feed fail, and then waits for feed.
func (s *Source) start(feed func() error, abort func()) {
	g := goTask(feed)
	s.feed = g
	// Not s: a finished test keeps its cleanups until its parent ends, and
	// s may hold the data.
	t, kind := s.t, s.Kind
	t.Cleanup(func() {
		abort()
		if !g.wait(cleanupTimeout) {
			t.Errorf("testutil: %v source: feeding goroutine still running %v after its endpoints were closed", kind, cleanupTimeout)
		}
	})
}

// Wait waits for the goroutine that feeds the source to finish writing data
// (and Extra) and to close its end, and returns the first error it met. It
// returns nil at once for kinds without such a goroutine (File, LimitedFile,
// Reader, Buffer). Call it after the source has been read to the end or
// closed: a feeder blocked on a full pipe or socket buffer does not return
// otherwise.
func (s *Source) Wait() error {
	if s.feed == nil {
		return nil
	}
	<-s.feed.done
	return s.feed.err
}

// Rest reads and returns every byte still unread in the endpoint under R,
// bypassing any limit, up to EOF. After a copy that consumed exactly the data,
// it returns Extra's bytes (none for kinds that are not Limited); a copy that
// over-read leaves it short. A read error fails the test (with t.Errorf) and
// Rest returns what it read before it. The result is never nil.
func (s *Source) Rest() []byte {
	s.t.Helper()
	if d, ok := s.rest.(interface{ SetReadDeadline(time.Time) error }); ok {
		// Best effort: regular files and blocking pipes have no deadlines.
		_ = d.SetReadDeadline(time.Now().Add(restTimeout))
	}
	b, err := io.ReadAll(s.rest)
	if err != nil {
		s.t.Errorf("testutil: %v source: reading the rest: %v", s.Kind, err)
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

// Offset returns the current file offset of File, for File and LimitedFile
// sources, so a test can compare it with what io.Copy leaves. For other kinds
// it fails the test and returns -1.
func (s *Source) Offset() int64 {
	s.t.Helper()
	if s.File == nil {
		s.t.Errorf("testutil: %v source has no file offset", s.Kind)
		return -1
	}
	off, err := s.File.Seek(0, io.SeekCurrent)
	if err != nil {
		s.t.Errorf("testutil: %v", err)
		return -1
	}
	return off
}
