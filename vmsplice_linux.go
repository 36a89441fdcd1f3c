//go:build !splice_portable

package splice

import (
	"os"
	"sync/atomic"

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

// vmspliceState caches the probe: 0 not known, 1 pages mapped, 2 copied.
var vmspliceState atomic.Int32

// vmspliceMaps reports whether vmsplice maps pages into a pipe on this kernel,
// as every kernel since 2.6.17 does (zero copy), rather than copying them in
// (as a kernel that made it a wrapper of pwritev2 would). It probes at first
// use: one page, vmspliced into a scratch pipe, then changed, then read back;
// the change shows through if the page is mapped. Only a conclusive answer is
// kept: a refusal (a sandbox) reads as false, and is asked again next time.
func vmspliceMaps() bool {
	switch vmspliceState.Load() {
	case 1:
		return true
	case 2:
		return false
	}
	maps, ok := probeVmsplice()
	if ok {
		if maps {
			vmspliceState.Store(1)
		} else {
			vmspliceState.Store(2)
		}
	}
	return maps
}

// testHookProbe, set by tests, stands for the probe.
var testHookProbe func() (maps, ok bool)

func probeVmsplice() (maps, ok bool) {
	if testHookProbe != nil {
		return testHookProbe()
	}
	var fds [2]int
	if unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK) != nil {
		return false, false
	}
	defer closeFDs(fds)
	page, err := unix.Mmap(-1, 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return false, false
	}
	defer unix.Munmap(page)
	// A fork between the vmsplice and the change would make the page
	// copy-on-write and the change miss the pipe: a copying kernel, wrongly.
	unix.Madvise(page, unix.MADV_DONTFORK)
	page[0] = 'a'
	if _, err := Vmsplice(fds[1], [][]byte{page[:1]}, NonBlock); err != nil {
		return false, false
	}
	page[0] = 'b'
	var got [1]byte
	if n, err := unix.Read(fds[0], got[:]); n != 1 || err != nil {
		return false, false
	}
	return got[0] == 'b', true
}
