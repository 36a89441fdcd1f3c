package splice

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Tee wraps tee(2): it duplicates up to n bytes from the pipe rfd into the pipe
// wfd without consuming them from rfd; a later read or splice of rfd sees the
// same bytes again. Only page references are copied, never the data.
//
// It returns the number of bytes duplicated, 0 when rfd is empty and has no
// writers left (or n is 0). EINTR is retried; other errors are *os.SyscallError.
// Like Splice it works on raw fds and blocks the thread unless the pipes are
// non-blocking or flags include NonBlock; (*Pipe).Tee integrates with the poller.
func Tee(rfd, wfd int, n int, flags Flags) (int64, error) {
	m, err := ignoringEINTR(func() (int, error) {
		// x/sys builds Tee's int64 from two registers on 32-bit systems,
		// the upper one garbage: the count is an int.
		m, err := unix.Tee(rfd, wfd, n, int(flags))
		return int(m), err
	})
	if err != nil {
		return 0, os.NewSyscallError("tee", err)
	}
	return int64(m), nil
}

// Tee duplicates up to n of the bytes buffered in p into dst, without consuming
// them: p's next Read or splice returns them again. It waits until p holds some
// bytes and dst has room, then duplicates as many as it can in one tee(2) call,
// honouring the read deadline of p.Reader() and the write deadline of dst.Writer().
// It returns 0 and io.EOF when p is empty and its write end is closed.
//
// Tee only ever duplicates bytes from the front of p; after Tee, a reader usually
// consumes the same number of bytes from p (Read, or splice to a destination) so
// that the next Tee sees new data.
func (p *Pipe) Tee(dst *Pipe, n int) (int64, error) {
	if n <= 0 {
		return 0, nil
	}
	if dst == p {
		return 0, &os.PathError{Op: "tee", Path: "pipe", Err: os.NewSyscallError("tee", unix.EINVAL)}
	}
	pm := getPump(p.end(false), dst.end(true), opTee, int64(n))
	defer putPump(pm)
	pm.once = true
	pm.run()
	if err := pm.err(); err != nil {
		return pm.written, p.closing("read", p.r, err)
	}
	if pm.eof {
		return 0, io.EOF
	}
	return pm.written, nil
}
