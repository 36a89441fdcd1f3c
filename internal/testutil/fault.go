package testutil

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Endpoints that fail on purpose, and a way to run one test in a child
// process, for tests of how a copy fails: the error it returns and where every
// byte went.

// ErrInjected is the error that [FailWriter] and [FailReaderFrom] fail with.
var ErrInjected = errors.New("testutil: injected write failure")

// WriterFunc is an io.Writer that calls itself: a writer with any behaviour
// (an impossible count, a short write) and no other method, so that a copy
// treats it as a plain writer.
type WriterFunc func(p []byte) (int, error)

// Write calls f(p).
func (f WriterFunc) Write(p []byte) (int, error) { return f(p) }

// FailWriter accepts the first Limit bytes written to it and then fails: a
// Write that does not fit under Limit accepts what fits and returns
// ErrInjected, or, with Short set, the short count and a nil error (which
// io.Copy reports as io.ErrShortWrite); once full, every Write accepts nothing
// and fails the same way.
// It has no ReadFrom method. Use it by pointer; it is safe for concurrent use.
type FailWriter struct {
	Limit int
	Short bool

	mu  sync.Mutex
	buf bytes.Buffer
}

// Write accepts p, or as much of it as fits under Limit.
func (w *FailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(len(p), max(w.Limit-w.buf.Len(), 0))
	w.buf.Write(p[:n])
	if n == len(p) {
		return n, nil
	}
	if w.Short {
		return n, nil
	}
	return n, ErrInjected
}

// Bytes returns a copy of every byte the writer accepted, in order.
func (w *FailWriter) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}

// FailReaderFrom is a [FailWriter] with a ReadFrom method, like a buffer that
// fills up: ReadFrom never reads more from r than the room left under Limit,
// keeps every byte it read, and returns ErrInjected (whatever Short says) once
// it holds Limit bytes; it returns nil if r ends first. So a copy that hands
// the work to it loses nothing: what it did not take is still in r.
type FailReaderFrom struct {
	FailWriter
}

// ReadFrom reads from r until r ends or the writer is full.
func (w *FailReaderFrom) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	buf := make([]byte, 32<<10)
	for {
		w.mu.Lock()
		room := max(w.Limit-w.buf.Len(), 0)
		w.mu.Unlock()
		if room == 0 {
			return n, ErrInjected
		}
		m, err := r.Read(buf[:min(room, len(buf))])
		w.mu.Lock()
		w.buf.Write(buf[:m])
		w.mu.Unlock()
		n += int64(m)
		switch {
		case err == io.EOF:
			return n, nil
		case err != nil:
			return n, err
		}
	}
}

// childEnv names, for a test binary started by RunChild, the test it is to
// run as the child.
const childEnv = "SPLICE_TESTUTIL_CHILD"

// InChild reports whether this process was started by [RunChild] to run t.
func InChild(t testing.TB) bool { return os.Getenv(childEnv) == t.Name() }

// RunChild runs the test t again, alone, in a child process, in which
// [InChild](t) reports true: a test that changes process-wide state (a
// resource limit, say) does that part in the child, as
//
//	if !testutil.InChild(t) {
//		testutil.RunChild(t)
//		return
//	}
//	// process-wide changes here, sequentially
//
// The child is the running test binary with -test.run selecting t by its full
// name, -test.count=1, -test.v, -test.short when t runs under -short, and a
// -test.timeout within t's deadline. RunChild fails t with the child's output
// if the child fails or runs no test, skips t with the child's reason if the
// child skipped t, and logs the child's output otherwise.
func RunChild(t testing.TB) {
	t.Helper()
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	cmd, args := childCommand(t, strings.Join(parts, "/"), childEnv+"="+t.Name(), "-test.v")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start).Round(time.Millisecond)
	switch {
	case err != nil:
		t.Fatalf("testutil: child %s failed after %v: %v\n%s", strings.Join(args, " "), elapsed, err, out)
	case bytes.Contains(out, []byte("testing: warning: no tests to run")):
		t.Fatalf("testutil: child %s ran no test\n%s", strings.Join(args, " "), out)
	}
	if reason, ok := skipReason(string(out), t.Name()); ok {
		t.Skipf("testutil: in the child: %s", reason)
	}
	t.Logf("testutil: child passed in %v:\n%s", elapsed, out)
}

// skipReason returns the message the child logged when it skipped the test
// named name, if it did.
func skipReason(out, name string) (string, bool) {
	var last string
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "--- SKIP: "+name+" ") {
			return last, true
		}
		if line != "" && !strings.HasPrefix(line, "---") && !strings.HasPrefix(line, "===") {
			last = line
		}
	}
	return "", false
}
