package splice

import (
	"io"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice/internal/rw"
)

// The splice copy engine.
//
// kernelCopy picks a kernel path for a pair of fds (see choose) and runs it with
// pumps (fd_linux.go). Its promise, as internal/poll's: handled == false means
// that no byte was taken from src, so the caller may copy the pair with read and
// write instead. Once bytes have moved, a refusal of the kernel path continues
// the copy on the read/write path from exactly where it stopped, and a failure of
// dst returns the count dst accepted, with the bytes taken from src but not
// delivered handed to Copier.Unwritten.

// choose returns the method for a pair of endpoints.
func choose(s, d *endpoint) Method {
	if !s.spliceable(false) || !d.spliceable(true) {
		return MethodReadWrite
	}
	if s.isRegular() && d.isRegular() {
		return MethodCopyFileRange
	}
	if s.isRegular() && d.isSocket() {
		return MethodSendfile
	}
	return MethodSplice
}

func (c *Copier) plan(dst io.Writer, src io.Reader) Method {
	if c.DisableSplice {
		return MethodReadWrite
	}
	inner, _ := unwrapLimited(src)
	s, ok := endpointOf(inner, false)
	if !ok || s.probe() != nil {
		return MethodReadWrite
	}
	d, ok := endpointOf(dst, true)
	if !ok || d.probe() != nil {
		return MethodReadWrite
	}
	d.learnAppend()
	return choose(&s, &d)
}

// testHookPath, set by tests, learns the kernel path each copy ran, whether it
// handled the copy (false: the kernel refused before any byte moved), and how
// many bytes the kernel moved (the rest went by read and write). key is the
// destination of a Copy, or pipeMethods{p} for p's ReadFrom and WriteTo.
var testHookPath func(key any, m Method, handled bool, kernel int64)

// moved is the outcome of a path.
type moved struct {
	written int64 // bytes dst accepted
	taken   int64 // bytes consumed from src: written, plus any handed to Unwritten
	kernel  int64 // bytes moved by the kernel path, not by read and write
	handled bool  // false: no byte was taken from src, the caller may take another path
	err     error // errRefused: the kernel refused part way, go on by read and write
}

// kernelCopy copies src to dst (at most n bytes if limited) through the kernel.
func (c *Copier) kernelCopy(dst io.Writer, src io.Reader, n int64, limited bool) (written int64, handled bool, err error) {
	inner, lr := unwrapLimited(src)
	remain := int64(-1) // no limit
	if limited {
		remain = max(n, 0)
	}
	if lr != nil && (remain < 0 || lr.N < remain) {
		remain = max(lr.N, 0)
	}
	s, ok := endpointOf(inner, false)
	if !ok {
		return 0, false, nil
	}
	d, ok := endpointOf(dst, true)
	if !ok {
		return 0, false, nil
	}
	var m Method
	var tried triedOps
	var r moved
	switch {
	case remain == 0:
	case s.isSocket() && s.stream && d.mode == 0:
		// From a stream socket to an *os.File, the engine's pipe serves
		// whatever the file is, as the standard library's does: no fstat.
		m = MethodSplice
		r = c.throughPipe(s, d, inner, dst, remain)
		tried |= triedVia
	case s.mode == 0 || d.mode == 0:
		m, r = c.guess(&s, &d, inner, dst, remain, &tried)
	}
	if !r.handled {
		if s.probe() != nil || d.probe() != nil {
			return 0, false, nil
		}
		m = choose(&s, &d)
		switch {
		case m == MethodReadWrite:
		case remain == 0:
			r.handled = true // nothing to move, as io.Copy from an exhausted LimitedReader
		case m == MethodCopyFileRange && !tried.has(opCopyFileRange):
			r = c.direct(s, d, opCopyFileRange, remain)
		case m == MethodSendfile && !tried.has(opSendfile):
			r = c.direct(s, d, opSendfile, remain)
		case (s.isPipe() || d.isPipe()) && !tried.has(opSplice):
			r = c.spliceDirect(s, d, inner, dst, remain)
		case m == MethodSplice && !s.isPipe() && !d.isPipe() && tried&triedVia == 0:
			r = c.throughPipe(s, d, inner, dst, remain)
		}
	}
	if testHookPath != nil {
		testHookPath(dst, m, r.handled, r.kernel)
	}
	if !r.handled {
		return 0, false, nil
	}
	if lr != nil {
		lr.N -= r.taken
	}
	if r.err == errRefused {
		// The kernel refused after bytes had moved: go on reading and writing
		// from exactly where it stopped.
		if remain >= 0 {
			remain -= r.taken
		}
		more, ferr := c.finish(dst, inner, remain, r.written, lr)
		return r.written + more, true, ferr
	}
	return r.written, true, r.err
}

// triedOps records the paths the kernel refused for a pair: direct system calls
// by op, and triedVia for the engine's pipe.
type triedOps uint8

const triedVia triedOps = 1 << 7

func (t triedOps) has(op pumpOp) bool { return t&(1<<op) != 0 }

// guess copies a pair that has an *os.File of unknown type by trying, before
// paying for fstat(2), the system call that the likely types call for: sendfile
// from a file to a socket, copy_file_range between two files, splice where
// either side may be a pipe (and first where one is likely a pipe). A refusal
// moves no byte and costs one system call, and is remembered in tried; so is a
// first call that moves nothing from a file (an empty file, or one of procfs,
// which copy_file_range and sendfile report as empty), which is left to the
// paths after fstat. r.handled == false promises that no byte moved.
func (c *Copier) guess(s, d *endpoint, src io.Reader, dst io.Writer, remain int64, tried *triedOps) (Method, moved) {
	maybePipe := func(e *endpoint) bool { return e.mode == 0 || e.isPipe() }
	maybeFile := func(e *endpoint) bool { return e.mode == 0 || e.isRegular() }
	try := func(op pumpOp) (r moved) {
		*tried |= 1 << op
		if op == opSplice {
			return c.spliceDirect(*s, *d, src, dst, remain)
		}
		r = c.direct(*s, *d, op, remain)
		if r.handled && r.written == 0 && r.err == nil {
			r.handled = false
		}
		return r
	}
	switch {
	case s.isSocket() || !d.spliceable(true):
		return MethodReadWrite, moved{} // datagram sockets: fstat first
	case d.isSocket() && !s.likelyPipe():
		if r := try(opSendfile); r.handled {
			return MethodSendfile, r
		}
	case maybeFile(s) && maybeFile(d) && !s.likelyPipe() && !d.likelyPipe():
		if r := try(opCopyFileRange); r.handled {
			return MethodCopyFileRange, r
		}
	}
	if maybePipe(s) || maybePipe(d) {
		if r := try(opSplice); r.handled {
			return MethodSplice, r
		}
	}
	return MethodReadWrite, moved{}
}

// errRefused is how direct and viaPipe report that the kernel refused the path
// after some bytes had moved; kernelCopy finishes the copy by read and write.
var errRefused = &os.SyscallError{Syscall: "splice", Err: unix.EINVAL}

// finish copies the rest of src (remain bytes, or to EOF if remain < 0) by read
// and write, after base bytes went by another path. lr, if not nil, is the
// caller's LimitedReader around src: its N is kept exact.
func (c *Copier) finish(dst io.Writer, src io.Reader, remain, base int64, lr *io.LimitedReader) (int64, error) {
	fc := c.fallback(base)
	switch {
	case lr != nil && remain == lr.N:
		return fc.Copy(dst, lr)
	case remain >= 0:
		l := &io.LimitedReader{R: src, N: remain}
		n, err := fc.Copy(dst, l)
		if lr != nil {
			lr.N -= remain - l.N
		}
		return n, err
	}
	return fc.Copy(dst, src)
}

// direct runs one pump from s to d: splice where one of them is a pipe, sendfile
// from a regular file to a socket, copy_file_range between regular files.
// Nothing is ever stranded: every byte the system call takes from s is in d.
// r.handled == false promises that no byte moved (the kernel refused at once); a
// refusal after bytes moved returns errRefused, and the caller goes on by read
// and write from there.
func (c *Copier) direct(s, d endpoint, op pumpOp, remain int64) (r moved) {
	pm := getPump(s, d, op, remain)
	defer putPump(pm)
	pm.once = c.Progress != nil
	for !c.pumpOnce(pm, op, &r) {
	}
	return r
}

// pumpOnce runs pm once and adds its outcome to r. It reports whether the
// transfer is over: done, failed or refused.
func (c *Copier) pumpOnce(pm *pump, op pumpOp, r *moved) (done bool) {
	pm.run()
	r.written += pm.written
	r.taken += pm.written
	r.kernel += pm.written
	if pm.refused() {
		if r.taken == 0 {
			return true // not handled
		}
		r.handled, r.err = true, errRefused
		return true
	}
	r.handled = true
	if err := pm.err(op.String()); err != nil {
		r.err = err
		return true
	}
	if pm.written > 0 && c.Progress != nil {
		c.Progress(r.written)
	}
	return pm.eof || pm.remain == 0
}

// smallChunk is the size under which a pipe's bytes move faster by read(2) and
// write(2) than by splice(2). BenchmarkPipeChunk, on Linux 6.18: out of a pipe,
// one splice took 13-27% longer than read+write at 1 byte (to a Unix socket) and
// 4-8 KiB (to a pipe), and 26-38% less from 16 KiB; into a pipe from a socket,
// splice was as fast or faster at every size.
const smallChunk = 8 << 10

var smallBufPool = sync.Pool{New: func() any { return new([smallChunk]byte) }}

// tcpSpliceBudget is how many bytes a copy from a pipe to a TCP socket splices
// (at most: each splice is cut to what is left of it) before it goes on by
// read and write, with io.Copy's buffer size. In BenchmarkCopy pipe-tcp, with
// its sizes set to 32 KiB-8 MiB (Linux 6.18, loopback, the writer keeping a
// 64 KiB pipe full), CopyN by splice alone took 43-47% less time than io.Copy at
// 32-64 KiB, the same at 128-256 KiB, and 14-50% more from 512 KiB to 8 MiB.
// The likely reason: a splice to a socket frees the pipe's slots only when the
// send returns, and over loopback the send runs the receiving side too, so the
// pipe's writer waits out every send, where a read frees the pipe at once.
const tcpSpliceBudget = 64 << 10

// spliceDirect splices from s to d, one of which is a pipe. When s is likely a
// pipe, it moves chunks under smallChunk by read and write, through src and dst,
// and splices the big ones: after a splice that moved less than smallChunk it
// reads, and after a read that filled smallChunk it splices again. A copy
// starts by splicing unless it is known to be smaller than smallChunk. To a
// *net.TCPConn, it splices tcpSpliceBudget bytes at most and reads and writes
// the rest. (Pipe's own ReadFrom and WriteTo always splice: the bytes dst refuses
// stay in the pipe.)
func (c *Copier) spliceDirect(s, d endpoint, src io.Reader, dst io.Writer, remain int64) (r moved) {
	if !s.likelyPipe() {
		return c.direct(s, d, opSplice, remain)
	}
	var pm *pump
	var small *[smallChunk]byte
	defer func() {
		if pm != nil {
			putPump(pm)
		}
		if small != nil {
			smallBufPool.Put(small)
		}
	}()
	hooks := rw.Hooks{Progress: c.Progress, Unwritten: c.Unwritten}
	splicing := remain < 0 || remain >= smallChunk
	for remain != 0 {
		if splicing {
			if pm == nil {
				pm = getPump(s, d, opSplice, remain)
				pm.once = true
			}
			pm.remain = remain
			capped := false
			if left := tcpSpliceBudget - r.kernel; d.tcp != nil && (remain < 0 || remain > left) {
				pm.remain, capped = left, true
			}
			before := r.written
			if c.pumpOnce(pm, opSplice, &r) && !(capped && pm.remain == 0 && r.handled && r.err == nil) {
				return r
			}
			got := r.written - before
			if remain > 0 {
				remain -= got
			}
			if d.tcp != nil && r.kernel >= tcpSpliceBudget && remain != 0 {
				buf := rw.GetBuffer()
				defer rw.PutBuffer(buf)
				return c.readWrite(d, src, dst, buf[:], remain, r)
			}
			splicing = got >= smallChunk
			continue
		}
		if small == nil {
			// Take no byte from src that a closed dst could not accept.
			if err := d.checkOpen("write"); err != nil {
				r.handled, r.err = true, err
				return r
			}
			small = smallBufPool.Get().(*[smallChunk]byte)
		}
		nr, done := readWriteChunk(&hooks, dst, src, small[:], &remain, &r)
		if done {
			return r
		}
		if nr > 0 {
			splicing = nr == smallChunk
		}
	}
	r.handled = true
	return r
}

// readWrite copies the rest of src (remain bytes, or to EOF if remain is
// negative) by read and write through buf, adding to r, which holds what the
// copy moved before.
func (c *Copier) readWrite(d endpoint, src io.Reader, dst io.Writer, buf []byte, remain int64, r moved) moved {
	// Take no byte from src that a closed dst could not accept.
	if err := d.checkOpen("write"); err != nil {
		r.handled, r.err = true, err
		return r
	}
	hooks := rw.Hooks{Progress: c.Progress, Unwritten: c.Unwritten}
	read, written, err := hooks.Loop(dst, src, buf, remain, r.written)
	r.handled = true
	r.taken += read
	r.written += written
	r.err = err
	return r
}

// readWriteChunk moves one chunk, of at most len(buf) and remain (if not
// negative) bytes, by read and write, and adds it to r and takes it from remain.
// done reports that the copy has ended: at EOF, or with r.err set.
func readWriteChunk(hooks *rw.Hooks, dst io.Writer, src io.Reader, buf []byte, remain *int64, r *moved) (nr int, done bool) {
	if *remain >= 0 && *remain < int64(len(buf)) {
		buf = buf[:*remain]
	}
	nr, nw, rerr, werr := hooks.Step(dst, src, buf, r.written)
	r.handled = true
	r.taken += int64(nr)
	r.written += int64(nw)
	if *remain > 0 {
		*remain -= int64(nr)
	}
	switch {
	case werr != nil:
		r.err = werr
		return nr, true
	case rerr == io.EOF:
		return nr, true
	case rerr != nil:
		r.err = rerr
		return nr, true
	}
	return nr, false
}

// throughPipe copies s to d through the engine's pipe (viaPipe), except a copy
// known to be smaller than smallChunk: that goes by read and write, one call
// each where the pipe takes two splices. In BenchmarkCopy (CopyN of 1 B to 4 KiB)
// this took Unix→file from 6-11% slower than io.Copy to 9-16% faster, TCP→TCP
// at 512 B from 19% slower to even, and left the other socket pairs even.
func (c *Copier) throughPipe(s, d endpoint, src io.Reader, dst io.Writer, remain int64) (r moved) {
	if remain < 0 || remain >= smallChunk {
		return c.viaPipe(s, d, dst, remain)
	}
	buf := smallBufPool.Get().(*[smallChunk]byte)
	defer smallBufPool.Put(buf)
	return c.readWrite(d, src, dst, buf[:], remain, moved{})
}

func (op pumpOp) String() string {
	switch op {
	case opTee:
		return "tee"
	case opSendfile:
		return "sendfile"
	case opCopyFileRange:
		return "copy_file_range"
	}
	return "splice"
}

// viaPipe splices from s into the engine's own pipe and from the pipe to d, for
// pairs of which neither side is a pipe. Each round takes what s has ready (at
// most a pipe's worth) and then drains it all into d, so a proxy forwards bytes
// as they come rather than waiting to fill the pipe.
//
// If d fails, the bytes still in the pipe are drained and handed to Unwritten;
// taken counts them with written. If d refuses splice after bytes were taken,
// they are written to dst (d's io.Writer) through user space, and errRefused
// asks the caller to go on by read and write.
func (c *Copier) viaPipe(s, d endpoint, dst io.Writer, remain int64) moved {
	var written, taken, spliced int64 // spliced: into d, of written
	handled := func(err error) moved {
		return moved{written: written, taken: taken, kernel: spliced, handled: true, err: err}
	}
	cp := c.getPipe()
	if cp == nil {
		return moved{} // no pipe to be had (EMFILE, say): read and write
	}
	in, out := cp.in, cp.out
	in.src, out.dst = s, d
	empty := true // the pipe holds no bytes: it may be reused
	defer func() {
		in.src, out.dst = endpoint{}, endpoint{}
		c.putPipe(cp, empty)
	}()
	for remain != 0 {
		in.remain = int64(cp.size)
		if remain > 0 && remain < in.remain {
			in.remain = remain
		}
		in.run() // once: takes what s has ready, or fails having taken nothing
		if in.refused() {
			if taken == 0 {
				return moved{}
			}
			return handled(errRefused)
		}
		if err := in.err("splice"); err != nil {
			return handled(err)
		}
		if in.eof {
			return handled(nil)
		}
		got := in.written
		taken += got
		if remain > 0 {
			remain -= got
		}

		out.remain = got
		out.run()
		written += out.written
		spliced += out.written
		if out.errno == nil && out.dstErr == nil {
			if c.Progress != nil {
				c.Progress(written)
			}
			continue
		}
		// d failed with bytes in the pipe.
		if c.Progress != nil && out.written > 0 {
			c.Progress(written)
		}
		stranded := got - out.written
		if out.refused() {
			// d refuses splice (a device without splice support, say):
			// write what the pipe holds through user space, then go on by
			// read and write.
			data, derr := cp.drain(stranded)
			if derr != nil {
				empty = false
				return handled(derr)
			}
			n, werr := rw.Write(dst, data)
			written += int64(n)
			if werr != nil {
				c.unwritten(data[n:])
				return handled(werr)
			}
			return handled(errRefused)
		}
		if c.Unwritten == nil {
			empty = false // the bytes are dropped with the pipe
		} else if data, derr := cp.drain(stranded); derr != nil {
			empty = false
		} else {
			c.Unwritten(data)
		}
		return handled(out.err("splice"))
	}
	return handled(nil)
}

func (c *Copier) unwritten(data []byte) {
	if c.Unwritten != nil && len(data) > 0 {
		c.Unwritten(data)
	}
}

// copyPipe is the engine's own pipe: raw non-blocking fds that never enter Go's
// poller (the pumps know when it is ready), and the two pumps that fill and
// drain it.
type copyPipe struct {
	r, w    int
	size    int
	in, out *pump
	cleanup runtime.Cleanup
}

// pipePool holds copyPipes of defaultPipeSize, empty. A pipe that may hold bytes
// is closed instead of being put back. A pooled pipe dropped by the pool is
// closed by its cleanup.
var pipePool sync.Pool

// newCopyPipe makes a pipe, sized to size on a best-effort basis.
func newCopyPipe(size int) (*copyPipe, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	cp := &copyPipe{r: fds[0], w: fds[1], in: newPump(), out: newPump()}
	got, err := unix.FcntlInt(uintptr(cp.w), unix.F_SETPIPE_SZ, size)
	if err != nil {
		// Refused (EPERM past the user's quota): keep what the kernel gave.
		got, err = unix.FcntlInt(uintptr(cp.w), unix.F_GETPIPE_SZ, 0)
		if err != nil {
			got = 1 << 16
		}
	}
	cp.size = got
	cp.in.dst = endpoint{raw: true, fd: cp.w, mode: unix.S_IFIFO, blocking: no}
	cp.in.once = true
	cp.out.src = endpoint{raw: true, fd: cp.r, mode: unix.S_IFIFO, blocking: no}
	cp.cleanup = runtime.AddCleanup(cp, closeFDs, fds)
	return cp, nil
}

func closeFDs(fds [2]int) {
	unix.Close(fds[0])
	unix.Close(fds[1])
}

// close closes the pipe now rather than when it is collected.
func (cp *copyPipe) close() {
	cp.cleanup.Stop()
	closeFDs([2]int{cp.r, cp.w})
}

// getPipe returns an empty pipe: a pooled one for the default size, a new one
// for a Copier with its own PipeSize. It returns nil if no pipe can be made.
func (c *Copier) getPipe() *copyPipe {
	if c.pooledSize() {
		if cp, ok := pipePool.Get().(*copyPipe); ok {
			return cp
		}
	}
	size := defaultPipeSize()
	if c.PipeSize > 0 {
		size = clampPipeSize(c.PipeSize)
	}
	cp, err := newCopyPipe(size)
	if err != nil {
		return nil
	}
	return cp
}

// putPipe pools cp if it is empty and of the pooled size, else closes it.
func (c *Copier) putPipe(cp *copyPipe, empty bool) {
	if empty && c.pooledSize() {
		pipePool.Put(cp)
		return
	}
	cp.close()
}

func (c *Copier) pooledSize() bool {
	return c.PipeSize <= 0 || clampPipeSize(c.PipeSize) == defaultPipeSize()
}

// drain reads n bytes out of the pipe, which holds at least that many.
func (cp *copyPipe) drain(n int64) ([]byte, error) {
	buf := make([]byte, n)
	for got := 0; got < len(buf); {
		m, err := unix.Read(cp.r, buf[got:])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return buf[:got], os.NewSyscallError("read", err)
		case m == 0:
			return buf[:got], io.ErrUnexpectedEOF
		}
		got += m
	}
	return buf, nil
}
