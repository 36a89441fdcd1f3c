//go:build !linux || splice_portable

package splice

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/splicekit/splice/fallback"
)

// unsupported returns the error of a system call this GOOS lacks.
func unsupported(call string) error {
	return fmt.Errorf("splice: %s(2) is not available on %s: %w", call, runtime.GOOS, errors.ErrUnsupported)
}

// Splice wraps splice(2), which exists only on Linux: here it returns an error
// matching errors.ErrUnsupported.
func Splice(rfd int, roff *int64, wfd int, woff *int64, n int, flags Flags) (int64, error) {
	return 0, unsupported("splice")
}

// Tee wraps tee(2), which exists only on Linux: here it returns an error matching
// errors.ErrUnsupported.
func Tee(rfd, wfd int, n int, flags Flags) (int64, error) {
	return 0, unsupported("tee")
}

// Vmsplice wraps vmsplice(2), which exists only on Linux: here it returns an error
// matching errors.ErrUnsupported.
func Vmsplice(fd int, bufs [][]byte, flags Flags) (int, error) {
	return 0, unsupported("vmsplice")
}

// NewPipe returns a new pipe made by os.Pipe.
func NewPipe() (*Pipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &Pipe{r: r, w: w}, nil
}

// ReadFrom implements io.ReaderFrom by reading from src and writing to the pipe.
func (p *Pipe) ReadFrom(src io.Reader) (int64, error) {
	if lr, ok := src.(*io.LimitedReader); ok && lr.N <= 0 {
		return 0, nil
	}
	if p.owns(src) {
		return 0, &os.PathError{Op: "readfrom", Path: "pipe", Err: errors.ErrUnsupported}
	}
	// Fail before taking bytes from src that could not be written.
	rc, err := p.w.SyscallConn()
	if err == nil {
		err = rc.Control(func(uintptr) {})
	}
	if err != nil {
		return 0, &os.PathError{Op: "write", Path: p.w.Name(), Err: os.ErrClosed}
	}
	return fallback.ReadWrite(p.w, src)
}

// WriteTo implements io.WriterTo by reading from the pipe and writing to dst.
func (p *Pipe) WriteTo(dst io.Writer) (int64, error) {
	if p.owns(dst) {
		return 0, &os.PathError{Op: "writeto", Path: "pipe", Err: errors.ErrUnsupported}
	}
	return fallback.ReadWrite(dst, p.r)
}

// Tee needs tee(2): here it returns an error matching errors.ErrUnsupported.
func (p *Pipe) Tee(dst *Pipe, n int) (int64, error) { return 0, unsupported("tee") }

// Size returns 64 KiB, what pipes grow to on Darwin and the BSDs (and the
// default capacity of a Linux pipe, where the portable build is tested): this
// system does not report a pipe's capacity.
func (p *Pipe) Size() int {
	if p.closed.Load() {
		return 0
	}
	return otherMaxPipeSize
}

// SetSize needs F_SETPIPE_SZ: here it returns Size and an error matching
// errors.ErrUnsupported.
func (p *Pipe) SetSize(n int) (int, error) {
	return p.Size(), fmt.Errorf("splice: F_SETPIPE_SZ is not available on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// Buffered returns 0: this system has no portable way to count a pipe's bytes.
func (p *Pipe) Buffered() int { return 0 }
