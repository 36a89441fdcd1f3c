package testutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/splicekit/splice"
)

// cleanupTimeout bounds how long a cleanup waits for a harness goroutine
// after unblocking it; a goroutine still running then is reported (and left
// to the leak check, which prints its stack). Long enough never to fire on a
// loaded machine: it only bounds a hang.
const cleanupTimeout = 30 * time.Second

// task is a goroutine started by the harness: a source's feeder or a sink's
// drainer. err is written before done is closed and read only after.
type task struct {
	done chan struct{}
	err  error
}

func goTask(fn func() error) *task {
	g := &task{done: make(chan struct{})}
	go func() {
		defer close(g.done)
		g.err = fn()
	}()
	return g
}

// wait waits up to d for the goroutine to return and reports whether it did.
func (g *task) wait(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-g.done:
		return true
	case <-timer.C:
		return false
	}
}

// writeAll writes each non-empty part to w in order.
func writeAll(w io.Writer, parts ...[]byte) error {
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates path in a fresh t.TempDir() holding the parts, and
// returns the path.
func writeFile(t testing.TB, name string, parts ...[]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	err = writeAll(f, parts...)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("testutil: write %s: %v", path, err)
	}
	return path
}

// newPipe returns a *splice.Pipe that t.Cleanup closes; it skips the test
// where the platform has no such pipe.
func newPipe(t testing.TB) *splice.Pipe {
	t.Helper()
	p, err := splice.NewPipe()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("testutil: splice.NewPipe: %v", err)
	}
	if err != nil {
		t.Fatalf("testutil: splice.NewPipe: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// pastDeadline is a deadline that has always passed: setting it unblocks a
// pending Read or Write on a pollable endpoint.
var pastDeadline = time.Unix(1, 0)
