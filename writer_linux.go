//go:build !splice_portable

package splice

import (
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The Writer's vmsplice path.
//
// The Writer's bytes take consecutive stream offsets and consecutive positions
// of ring, memory mapped outside Go's heap, wrapping at its end (or just
// before it: window may leave a short tail unused, a skip). sent counts the
// bytes of the Writer's that have entered the pipe; freed is a bound below which
// every offset is known to have left it (its consumer copied it out, or took
// the page references on: the hazard the Writer's doc comment warns of).
//
// The invariant, kept by window: a ring position is given to the Writer for
// offset x only when the offset of the byte it held is below freed, that is,
// once that byte has left the pipe (room says how far that goes); no other
// code writes the ring.
//
// freed is learnt from FIONREAD. A pipe is a FIFO, and FIONREAD counts every
// byte in it, so when q bytes are in the pipe after sent bytes of ours went in,
// those of ours among them are at most q and the latest: every offset below
// sent-q has left. Neither other writers on the pipe nor a consumer that
// resizes it (F_SETPIPE_SZ) can make that false; only an onward splice can. On
// the file path the Writer's own pipe is drained into the file before each
// flush returns (splice into a regular file copies), so freed is sent.
//
// With the ring twice the pipe's size, a consumer that keeps the pipe full
// (q ≤ the pipe's size) still leaves room for a pipe's worth: vmsplice, which
// waits for room in the pipe, is the Writer's only wait. A pipe grown past
// the ring's half is met by a bigger ring (window).
type vmWriter struct {
	dst  endpoint    // the pipe, or the regular file
	pipe *enginePipe // file path: the pipe vmsplice fills and the Writer drains into dst
	ring []byte
	off  int // ring position of the next byte to send
	skip int // the ring's tail left unused at the end of the last lap (window)
	sent int64
	// freed: every offset below it has left the pipe.
	freed int64
	chunk int // the most bytes handed to vmsplice at once

	// The state of a call in flight, and its callbacks: method values made
	// once, so that flushing allocates nothing.
	iov     [1]unix.Iovec
	p       []byte
	n       int
	errno   error
	onPipe  func(uintptr) bool
	onFile  func(uintptr) bool
	onFreed func(uintptr)
}

// writerHugePages: advise MADV_HUGEPAGE on the ring, so that a ring of 2 MiB
// (the default) is one huge page where transparent huge pages are enabled for
// madvise (the kernel aligns such a mapping). BenchmarkWriter, Linux 6.18, into
// a pipe read by another goroutine and by another process, 200 B and 256 KiB
// writes: 20-28% more throughput than without (p ≤ 0.015, 6 runs each);
// SPLICE_BENCH_NOHUGE=1 turns it off in the benchmark.
var writerHugePages = true

// writerChunkDiv sets the chunk into a pipe: the pipe's size divided by it,
// the size GNU yes found best. BenchmarkWriter found no better among 1, 2, 4,
// 8 and 16 (differences within the noise); into a file, where the Writer's own
// pipe is drained at once, the whole pipe measured best (0.98× bufio at 200 B
// writes, against 0.89× for a quarter).
const writerChunkDiv = 4

// testHookVmsplice, set by tests, runs before each vmsplice of a Writer's and
// may fail it.
var testHookVmsplice func() error

// newVMWriter returns the vmsplice path for dst, or nil when dst is to be
// copied to: no pipe or regular file, a file opened with O_APPEND (splice
// refuses it), vmsplice refused or copying on this kernel, or no memory.
func newVMWriter(dst io.Writer, pipeSize int) *vmWriter {
	switch dst.(type) {
	case *os.File, *Pipe:
	default:
		return nil
	}
	e, _ := endpointOf(dst, true)
	if e.probe() != nil || !(e.isPipe() || e.isRegular()) || !writable(&e) || !vmspliceMaps() {
		return nil
	}
	vm := &vmWriter{dst: e}
	vm.onPipe, vm.onFile, vm.onFreed = vm.pipeReady, vm.fileReady, vm.freedFrom
	want := pipeSize
	if want == 0 {
		want = clampPipeSize(defaultWriterPipeSize)
	}
	size := 0
	if e.isRegular() {
		if e.learnAppendAny(); e.append {
			return nil
		}
		cp, err := newEnginePipe(clampPipeSize(want), false)
		if err != nil {
			return nil
		}
		vm.pipe, size = cp, cp.size
	} else if size = vm.setPipeSize(want, pipeSize > 0); size <= 0 {
		return nil
	}
	if !vm.remap(size) {
		vm.release()
		return nil
	}
	return vm
}

// writable reports whether the endpoint's fd is open for writing (on a pipe's
// read end vmsplice would read, and the destination's own Write is to fail)
// and, for a pipe, not in packet mode (O_DIRECT: each write(2) a packet,
// which vmspliced pages are not).
func writable(e *endpoint) bool {
	ok := false
	e.anyControl(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		ok = err == nil && fl&unix.O_ACCMODE != unix.O_RDONLY && !(e.isPipe() && fl&unix.O_DIRECT != 0)
	})
	return ok
}

// setPipeSize sizes the destination pipe: to want when exact is set, else to at
// least want. It returns the size the kernel reports after, or 0 if the fd is
// no pipe after all.
func (vm *vmWriter) setPipeSize(want int, exact bool) int {
	size := 0
	vm.dst.anyControl(func(fd uintptr) {
		cur, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0)
		if err != nil {
			return
		}
		if cur < want || exact && cur != want {
			// Past pipe-max-size (EPERM without CAP_SYS_RESOURCE), the most
			// allowed; refused still (the user's quota, EBUSY when shrinking
			// under the bytes held), the buffer follows cur.
			if _, err := unix.FcntlInt(fd, unix.F_SETPIPE_SZ, want); err == unix.EPERM && want > clampPipeSize(want) {
				unix.FcntlInt(fd, unix.F_SETPIPE_SZ, clampPipeSize(want))
			}
			cur, err = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0)
		}
		if err == nil {
			size = cur
		}
	})
	return size
}

// remap gives vm a new ring for a pipe of the given size: fresh memory, none of
// which is in any pipe, so freed becomes sent. The old ring is unmapped, which
// is safe with its pages in a pipe: the pipe holds references to the pages,
// not to the mapping. It reports false if the memory cannot be had.
func (vm *vmWriter) remap(size int) bool {
	n := 2 * size
	if vm.pipe != nil {
		n = size // drained before each flush returns: no page of it stays in flight
	}
	ring, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return false
	}
	if writerHugePages {
		unix.Madvise(ring, unix.MADV_HUGEPAGE)
	}
	vm.unmap()
	vm.ring, vm.off, vm.skip, vm.freed = ring, 0, 0, vm.sent
	vm.chunk = max(size/writerChunkDiv, os.Getpagesize())
	if vm.pipe != nil {
		vm.chunk = size
	}
	return true
}

func (vm *vmWriter) unmap() {
	if vm.ring != nil {
		unix.Munmap(vm.ring)
		vm.ring = nil
	}
}

// release unmaps the ring and closes the Writer's own pipe.
func (vm *vmWriter) release() {
	vm.unmap()
	if vm.pipe != nil {
		vm.pipe.close()
		vm.pipe = nil
	}
}

// window returns where the next bytes go: at most a chunk, from ring[off] on,
// that the invariant lets the Writer write. It returns nil when no memory can
// be had for a bigger ring.
func (vm *vmWriter) window() []byte {
	switch tail := len(vm.ring) - vm.off; {
	case tail == 0:
		vm.off, vm.skip = 0, 0
	case tail < pipeBuf && len(vm.ring) > 2*pipeBuf:
		// Too short for a record of PIPE_BUF bytes: skipped, so that after
		// a Flush such a Write goes whole into one flush, as into bufio's
		// empty buffer.
		vm.off, vm.skip = 0, tail
	}
	lim := min(vm.chunk, len(vm.ring)-vm.off)
	if vm.pipe != nil {
		vm.freed = vm.sent
	}
	if room := vm.room(); room < int64(lim) {
		vm.learnFreed()
		room = vm.room()
		if room <= 0 {
			// The pipe holds a ring's worth: it was grown under the Writer, or
			// FIONREAD failed. Follow the pipe's size with fresh memory.
			if !vm.remap(max(vm.setPipeSize(0, false), len(vm.ring)/2)) {
				return nil
			}
			return vm.window()
		}
		lim = int(min(int64(lim), room))
	}
	return vm.ring[vm.off : vm.off+lim]
}

// room is how many bytes from ring[off] on the invariant lets the Writer
// write. Without a skip, the byte last at the position of offset x was x-R
// (R the ring's length), so x may be written when x-R < freed. A skip of t
// bytes at the end of the last lap puts the positions t ahead of the offsets
// for this lap: the byte last at x's position was x-R+t.
func (vm *vmWriter) room() int64 {
	return vm.freed + int64(len(vm.ring)) - int64(vm.skip) - vm.sent
}

// learnFreed asks the pipe how many bytes it holds (FIONREAD).
func (vm *vmWriter) learnFreed() {
	vm.dst.anyControl(vm.onFreed)
}

func (vm *vmWriter) freedFrom(fd uintptr) {
	if q, err := unix.IoctlGetInt(int(fd), unix.TIOCINQ); err == nil && q >= 0 {
		vm.freed = max(vm.freed, vm.sent-int64(q))
	}
}

// pipeBuf is PIPE_BUF on Linux: a write of at most this many bytes to a pipe is
// atomic.
const pipeBuf = 4096

// flush sends w's buffered bytes, which are ring[off:off+w.n], and gives w its
// next window; a failure of dst's own Write sticks in w.err. It reports false when it stopped before the end, vmsplice or
// splice having failed or been refused: w then writes the rest with dst.Write,
// which reports a failure as the destination's own writes do (and raises
// SIGPIPE for a broken stdout), and copies from then on.
func (vm *vmWriter) flush(w *Writer) bool {
	page := os.Getpagesize()
	for w.n > 0 {
		p := w.buf[:w.n]
		var n int
		var ok bool
		switch head := (page - int(uintptr(unsafe.Pointer(&p[0])))%page) % page; {
		case vm.pipe != nil:
			n, ok = vm.toFile(p)
		case len(p) <= pipeBuf:
			// A small flush is written: as bufio's, it is atomic among the
			// pipe's writers, and it shares the pipe's pages with the bytes
			// around it where a vmsplice would take a slot of the pipe of its
			// own. (Written bytes are copies: the FIFO argument holds.)
			n, ok = vm.write(w, p)
		case head > 0:
			// The part of a page before the flush's first whole one, and
			// (below) the part after its last, are written too: only whole
			// pages are vmspliced, so that a flush takes no more of the
			// pipe's slots than its bytes fill.
			n, ok = vm.write(w, p[:head])
		case len(p) >= page:
			n, ok = vm.toPipe(p[:len(p)&^(page-1)])
		default:
			n, ok = vm.write(w, p)
		}
		vm.sent += int64(n)
		vm.off += n
		w.buf, w.n = w.buf[n:], w.n-n
		if !ok {
			return false
		}
		if w.err != nil {
			return true
		}
	}
	if w.buf = vm.window(); w.buf == nil {
		return false
	}
	return true
}

// write writes p with dst's own Write; a failure sticks in w.err.
func (vm *vmWriter) write(w *Writer, p []byte) (int, bool) {
	n, err := w.dst.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	w.err = err
	return n, true
}

// vmsplice maps p into the pipe fd, without waiting.
func (vm *vmWriter) vmsplice(fd int, p []byte) (int, error) {
	if testHookVmsplice != nil {
		if err := testHookVmsplice(); err != nil {
			return 0, err
		}
	}
	vm.iov[0] = unix.Iovec{Base: &p[0]}
	vm.iov[0].SetLen(len(p))
	for {
		n, err := unix.Vmsplice(fd, vm.iov[:], unix.SPLICE_F_NONBLOCK)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// toPipe vmsplices p into the destination pipe, waiting in Go's poller (or, for
// a pipe outside it, in poll(2)) while the pipe is full.
func (vm *vmWriter) toPipe(p []byte) (int, bool) {
	vm.p, vm.n, vm.errno = p, 0, nil
	err := vm.dst.rawIO(true, vm.onPipe)
	vm.p = nil
	return vm.n, err == nil && vm.errno == nil
}

// pipeReady is toPipe's callback.
func (vm *vmWriter) pipeReady(fd uintptr) bool {
	for vm.n < len(vm.p) {
		m, err := vm.vmsplice(int(fd), vm.p[vm.n:])
		if err == unix.EAGAIN {
			if !vm.dst.isBlocking(int(fd)) {
				return false
			}
			if err = pollWait(int(fd), unix.POLLOUT); err == nil {
				continue
			}
		}
		if err == nil && m <= 0 {
			err = io.ErrNoProgress // never seen; copy rather than spin
		}
		if err != nil {
			vm.errno = err
			return true
		}
		vm.n += m
	}
	return true
}

// toFile vmsplices p into the Writer's own pipe and splices that into the
// file. A byte counts as sent once it is in the file; what the pipe holds when
// a splice fails is never sent, and the pipe is closed with it.
func (vm *vmWriter) toFile(p []byte) (int, bool) {
	in, err := vm.vmsplice(vm.pipe.w, p)
	if err != nil || in <= 0 {
		return 0, false
	}
	vm.p, vm.n, vm.errno = p[:in], 0, nil
	werr := vm.dst.rawIO(true, vm.onFile)
	vm.p = nil
	return vm.n, werr == nil && vm.errno == nil && vm.n == in
}

// fileReady is toFile's callback: it splices the pipe's len(vm.p) bytes into
// the file, which never waits.
func (vm *vmWriter) fileReady(fd uintptr) bool {
	for vm.n < len(vm.p) {
		m, err := ignoringEINTR(func() (int, error) {
			return rawSplice(vm.pipe.r, nil, int(fd), nil, len(vm.p)-vm.n, unix.SPLICE_F_NONBLOCK)
		})
		if err != nil || m == 0 {
			vm.errno = err
			return true
		}
		vm.n += m
	}
	return true
}
