package splice

import (
	"os"

	"golang.org/x/sys/unix"
)

// iovMax is IOV_MAX on Linux: the most iovecs one vmsplice(2) accepts.
const iovMax = 1024

// Vmsplice wraps vmsplice(2). When fd is the write end of a pipe, it maps the
// pages of bufs into the pipe instead of copying them: the pipe then refers to
// that memory, and the caller must neither modify nor release bufs until the
// pipe's consumer has read those bytes — the memory is shared, so later writes
// to it show up in what the consumer reads. A consumer that splices onward to a
// socket may keep references even after the pipe is drained; only a consumer
// that copies (read(2), or splice into a regular file) ends the sharing. When fd
// is the read end, vmsplice copies the pipe's bytes into bufs, like readv(2).
//
// At most IOV_MAX (1024) buffers are passed per call. Each buffer takes at least
// one slot of the pipe's ring (a page reference), so many small buffers fill a
// pipe long before its byte capacity. Like any write to a pipe, it may transfer
// fewer bytes than offered, and returns the count. EINTR is
// retried; other errors are *os.SyscallError. The Gift flag gives the pages to
// the kernel; memory from Go's heap must never be gifted.
func Vmsplice(fd int, bufs [][]byte, flags Flags) (int, error) {
	if len(bufs) > iovMax {
		bufs = bufs[:iovMax]
	}
	var small [8]unix.Iovec
	iov := small[:0]
	if len(bufs) > len(small) {
		iov = make([]unix.Iovec, 0, len(bufs))
	}
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		iov = append(iov, v)
	}
	if len(iov) == 0 {
		return 0, nil
	}
	n, err := ignoringEINTR(func() (int, error) { return unix.Vmsplice(fd, iov, int(flags)) })
	if err != nil {
		return 0, os.NewSyscallError("vmsplice", err)
	}
	return n, nil
}
