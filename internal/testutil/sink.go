package testutil

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Sink is a sink endpoint built by [OpenSink].
type Sink struct {
	// Kind is the kind of the endpoint.
	Kind Kind

	// W is the writer to hand to the code under test. Its dynamic type is
	// what the Kind documents: *os.File, *splice.Pipe, *net.TCPConn,
	// *net.UnixConn, *bytes.Buffer or a struct{ io.Writer }.
	W io.Writer

	// File is W for File sinks (so a test can check its offset before
	// calling Bytes); nil for other kinds.
	File *os.File

	t      testing.TB
	finish func() ([]byte, error)
	once   sync.Once
	got    []byte
	err    error
}

// NewSink returns a writer of kind k, and a function that finishes the sink
// and returns every byte that arrived. It is OpenSink(t, k) as (s.W, s.Bytes).
func NewSink(t testing.TB, k Kind) (w io.Writer, got func() []byte) {
	t.Helper()
	s := OpenSink(t, k)
	return s.W, s.Bytes
}

// OpenSink builds a sink endpoint of kind k. It skips the test if k is
// unavailable on this platform, and fails it if k is not a sink kind.
//
// For pipe and socket kinds a goroutine drains the peer end into memory.
// Everything OpenSink opened is closed, and the drainer has returned, once t's
// cleanups have run; the sink is finished then if the test has not called
// [Sink.Bytes].
func OpenSink(t testing.TB, k Kind) *Sink {
	t.Helper()
	if !supported(k) {
		t.Skipf("testutil: %v endpoints are unavailable on %s", k, runtime.GOOS)
	}
	s := &Sink{Kind: k, t: t}
	switch k {
	case File:
		path := filepath.Join(t.TempDir(), "sink")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			t.Fatalf("testutil: %v", err)
		}
		t.Cleanup(func() { f.Close() })
		s.W, s.File = f, f
		s.finish = func() ([]byte, error) {
			f.Close()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("testutil: file sink: %v", err)
			}
			return b, err
		}

	case DevNull:
		f, err := openDevNull()
		if err != nil {
			t.Fatalf("testutil: %v", err)
		}
		t.Cleanup(func() { f.Close() })
		s.W = f
		s.finish = func() ([]byte, error) {
			f.Close()
			return nil, nil
		}

	case OSPipe, BlockingPipe:
		var r, w *os.File
		if k == BlockingPipe {
			r, w = BlockingPipePair(t)
		} else {
			r, w = OSPipePair(t)
		}
		s.W = w
		s.drain(r,
			func() { w.Close() },
			// Closing a blocking read end does not interrupt a read(2) in
			// progress; only closing every writer does, which closeWrite
			// already tried. For a pollable pipe it does.
			func() { r.Close() },
			func() { r.Close() })

	case Pipe:
		p := newPipe(t)
		s.W = p
		s.drain(p.Reader(),
			func() { p.CloseWrite() },
			func() {
				err := p.Reader().SetReadDeadline(pastDeadline)
				if err != nil && !errors.Is(err, os.ErrClosed) {
					p.Close()
				}
			},
			func() { p.Close() })

	case TCP, Unix:
		var conn, peer interface {
			io.ReadWriteCloser
			CloseWrite() error
		}
		if k == TCP {
			conn, peer = TCPPair(t)
		} else {
			conn, peer = UnixPair(t)
		}
		s.W = conn
		s.drain(peer,
			func() { conn.CloseWrite() },
			func() { peer.Close() },
			func() {
				conn.Close()
				peer.Close()
			})

	case Writer, Buffer:
		buf := new(bytes.Buffer)
		if k == Writer {
			s.W = struct{ io.Writer }{buf}
		} else {
			s.W = buf
		}
		s.finish = func() ([]byte, error) {
			return append([]byte{}, buf.Bytes()...), nil
		}

	default:
		t.Fatalf("testutil: %q is not a sink kind", k)
	}
	// A finished test keeps its cleanups until its parent ends: this one
	// lets go of the sink once it has run, so that hundreds of parallel
	// subtests do not keep every sink's bytes.
	held := s
	t.Cleanup(func() {
		held.Bytes()
		held = nil
	})
	return s
}

// drain starts a goroutine that reads r to EOF, and sets s.finish to call
// closeWrite (which must make the drainer see EOF), wait for the drainer, and
// call closeAll. If the drainer does not return in time, finish calls abort,
// which must make its pending read fail, and waits again.
func (s *Sink) drain(r io.Reader, closeWrite, abort, closeAll func()) {
	var got []byte
	g := goTask(func() error {
		var err error
		got, err = io.ReadAll(r)
		return err
	})
	s.finish = func() ([]byte, error) {
		closeWrite()
		if !g.wait(cleanupTimeout) {
			abort()
			if !g.wait(cleanupTimeout) {
				s.t.Errorf("testutil: %v sink: draining goroutine still running after its endpoints were closed", s.Kind)
				closeAll()
				return []byte{}, nil
			}
			s.t.Errorf("testutil: %v sink: draining goroutine did not see EOF within %v after the write end was closed", s.Kind, cleanupTimeout)
		}
		closeAll()
		return got, g.err
	}
}

// Bytes finishes the sink and returns every byte that arrived, in order. It
// closes the write side the harness owns (W itself for File, pipe and socket
// kinds; the test must not write to it afterwards), waits for the draining
// goroutine, and re-reads File sinks from disk. Later calls return the same
// bytes. The result is never nil, except for kinds that Discard, for which it
// is always nil.
func (s *Sink) Bytes() []byte {
	s.once.Do(func() {
		s.got, s.err = s.finish()
		if s.got == nil && !s.Kind.Discards() {
			s.got = []byte{}
		}
	})
	return s.got
}

// Err finishes the sink like [Sink.Bytes] and returns the error, if any, that
// the draining goroutine or the final close met.
func (s *Sink) Err() error {
	s.Bytes()
	return s.err
}
