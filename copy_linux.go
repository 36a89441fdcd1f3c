//go:build !splice_portable

package splice

import (
	"io"

	"github.com/splicekit/splice/internal/rw"
)

// The splice copy engine.
//
// kernelCopy picks a kernel path for a pair of fds (see choose) and runs it with
// pumps (pump_linux.go). Its promise, as internal/poll's: handled == false means
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
	m := choose(&s, &d)
	if m == MethodSendfile && c.pipeSize() >= sendfilePipeMin {
		// A copy of more than sendfileMax bytes (what the file holds past
		// its offset, up to any limit) splices all but its first
		// sendfileMax bytes through the engine's pipe: Plan names the path
		// of its bulk.
		size := s.remaining()
		if _, lr := unwrapLimited(src); lr != nil && lr.N < size {
			size = lr.N
		}
		if size > sendfileMax {
			m = MethodSplice
		}
	}
	return m
}

// testHookPath, set by tests, learns the kernel path each copy ran, whether it
// handled the copy (false: the kernel refused before any byte moved), and how
// many bytes the kernel moved (the rest went by read and write). key is the
// destination of a Copy, or pipeMethods{p} for p's ReadFrom and WriteTo.
var testHookPath func(key any, m Method, handled bool, kernel int64)

// moved is the outcome of a path.
type moved struct {
	written int64  // bytes dst accepted
	taken   int64  // bytes consumed from src: written, plus any handed to Unwritten
	kernel  int64  // bytes moved by the kernel path, not by read and write
	handled bool   // false: no byte was taken from src, the caller may take another path
	refused bool   // with handled: the kernel refused part way, go on by read and write
	err     error  // how the path ended, shaped by the side to blame; nil when refused
	fault   *fault // with err, when a kernel call failed: for ioCopyErr
	piped   bool   // the engine's pipe carried bytes after sendfile: the method was splice
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
	_, toPipe := dst.(*Pipe) // whose ReadFrom splices directly: Copy does too
	switch {
	case remain == 0:
	case s.isSocket() && s.stream && d.kind == kindUnknown && !d.recordSocket():
		// From a stream socket to an *os.File that is no record socket,
		// without fstat(2), which costs a file system's time: from TCP,
		// one splice per chunk where the file is a pipe (anything else
		// refuses it at once, having moved nothing), else the engine's
		// pipe, which serves whatever the file is, as the standard
		// library's does. A copy known to be small reads and writes
		// (throughPipe). From a Unix socket, the engine's pipe is the
		// faster way into pipes too (measured: see below).
		m = MethodSplice
		if s.tcp != nil && (remain < 0 || remain >= smallChunk || d.likelyPipe()) {
			tried |= 1 << opSplice
			r = c.spliceDirect(s, d, inner, dst, remain)
		}
		if !r.handled {
			tried |= triedVia
			r = c.throughPipe(s, d, inner, dst, remain)
		}
	case s.kind == kindUnknown || d.kind == kindUnknown:
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
			r = c.sendfile(s, d, dst, remain)
		case m == MethodSplice && s.uc != nil && d.isPipe() && !toPipe && tried&triedVia == 0:
			// From a Unix socket into a pipe *os.File, the engine's 1 MiB
			// pipe lets the socket drain ahead of the pipe's reader: in
			// BenchmarkCopy unix-pipe (Linux 6.x, a 64 KiB os.Pipe) one
			// splice per chunk took 29-34% longer than io.Copy at 1 and 64
			// MiB, which splices through a pipe of its own too. (From TCP,
			// whose buffers are bigger, one splice per chunk is as fast.)
			r = c.throughPipe(s, d, inner, dst, remain)
		case (s.isPipe() || d.isPipe()) && !tried.has(opSplice):
			r = c.spliceDirect(s, d, inner, dst, remain)
		case m == MethodSplice && !s.isPipe() && !d.isPipe() && tried&triedVia == 0:
			r = c.throughPipe(s, d, inner, dst, remain)
		}
	}
	if r.piped {
		m = MethodSplice
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
	if r.refused {
		// The kernel refused after bytes had moved: go on reading and writing
		// from exactly where it stopped.
		if remain >= 0 {
			remain -= r.taken
		}
		more, ferr := c.finish(dst, inner, remain, r.written, lr)
		return r.written + more, true, ferr
	}
	if r.err != nil && limited {
		src = io.LimitReader(src, n) // io.CopyN's own reader, for the shape
	}
	return r.written, true, ioCopyErr(dst, src, &s, &d, r.fault, r.kernel, r.err)
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
	maybePipe := func(e *endpoint) bool { return e.kind == kindUnknown || e.isPipe() }
	maybeFile := func(e *endpoint) bool { return e.kind == kindUnknown || e.isRegular() }
	try := func(op pumpOp) (r moved) {
		*tried |= 1 << op
		switch op {
		case opSplice:
			return c.spliceDirect(*s, *d, src, dst, remain)
		case opSendfile:
			r = c.sendfile(*s, *d, dst, remain)
		default:
			r = c.direct(*s, *d, op, remain)
		}
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
		// Never splice into a socket that keeps message boundaries: a
		// destination not named as a pipe is asked whether it is one
		// (getsockopt, which, unlike fstat, takes no file system's time).
		if d.kind == kindUnknown && !d.likelyPipe() && d.recordSocket() {
			return MethodReadWrite, moved{}
		}
		// Nor from one: a splice takes of a record only what fits in the
		// pipe, and the kernel drops the rest.
		if s.kind == kindUnknown && !s.likelyPipe() && s.recordSocket() {
			return MethodReadWrite, moved{}
		}
		if !d.spliceable(true) {
			return MethodReadWrite, moved{}
		}
		if r := try(opSplice); r.handled {
			return MethodSplice, r
		}
	}
	return MethodReadWrite, moved{}
}

// finish copies the rest of src (remain bytes, or to EOF if remain < 0) by read
// and write, after base bytes went by another path. lr, if not nil, is the
// caller's LimitedReader around src: its N is kept exact.
func (c *Copier) finish(dst io.Writer, src io.Reader, remain, base int64, lr *io.LimitedReader) (int64, error) {
	switch {
	case lr != nil && remain == lr.N:
		return c.readWrite(dst, lr, base)
	case remain >= 0:
		l := &io.LimitedReader{R: src, N: remain}
		n, err := c.readWrite(dst, l, base)
		if lr != nil {
			lr.N -= remain - l.N
		}
		return n, err
	}
	return c.readWrite(dst, src, base)
}

// direct runs one pump from s to d: splice where one of them is a pipe, sendfile
// from a regular file to a socket, copy_file_range between regular files.
// Nothing is ever stranded: every byte the system call takes from s is in d.
// r.handled == false promises that no byte moved (the kernel refused at once); a
// refusal after bytes moved sets r.refused, and the caller goes on by read and
// write from there.
func (c *Copier) direct(s, d endpoint, op pumpOp, remain int64) moved {
	return c.directAfter(s, d, op, remain, moved{})
}

// directAfter is direct after r, the outcome of an earlier path of the same
// copy: Progress totals and the promise of r.handled include it.
func (c *Copier) directAfter(s, d endpoint, op pumpOp, remain int64, r moved) moved {
	pm := getPump(s, d, op, remain)
	defer putPump(pm)
	pm.once, pm.max = c.Progress != nil, c.callMax
	for !c.pumpOnce(pm, op, &r) {
	}
	return r
}

// sendfileMax is the size up to which a copy from a regular file to a stream
// socket goes by sendfile(2); the rest of a bigger one splices through the
// engine's pipe. sendfile goes through the kernel's own pipe of 16 pages, and so
// hands the socket 64 KiB at a time; the engine's 1 MiB pipe hands it up to a
// megabyte, for a second system call per chunk. In BenchmarkFileToSocket (Linux
// 6.18, 2 vCPUs, medians of 6 interleaved runs, GiB/s sendfile vs pipe) sendfile
// led at 64 KiB (TCP 3.3 vs 2.9, Unix 6.0 vs 4.9), the two met at 128 KiB (TCP
// 4.2 vs 5.2, Unix 8.1 vs 8.5), and the pipe led from 192 KiB (TCP 7.0 vs 1.0,
// bimodal; Unix 8.9 vs 7.1) to 1 GiB: Unix by 16-110% (9.3 vs 7.2 at 256 KiB,
// 12.0 vs 9.5 at 1 GiB), TCP by 0-37% (1.5 vs 1.2 at 256 MiB), where loopback TCP
// bounds both. (In BenchmarkCopy's harness, whose drainers block on their own
// threads, this switch and sendfile alone were within the noise: see README.)
var sendfileMax int64 = 128 << 10

// sendfilePipeMin is the smallest engine pipe worth switching to: four times
// sendfile's own, a judgement rather than a measured crossover. (In a one-off
// timing, not a committed benchmark, a 64 MiB file → Unix copy through a 4 KiB
// pipe took 2.6 times as long as sendfile alone.)
const sendfilePipeMin = 256 << 10

// sendfile copies from s, a regular file (or an *os.File likely to be one), to
// d, a stream socket: its first sendfileMax bytes by sendfile(2), and, if the
// copy goes on, the rest by splice(2) through the engine's pipe (by sendfile
// still where no pipe of sendfilePipeMin can be had, or splice is refused). The
// switch needs no fstat(2): a file that sendfile took is one splice takes too,
// and a sendfile that moved all it was asked says the file may go on.
func (c *Copier) sendfile(s, d endpoint, dst io.Writer, remain int64) moved {
	first := remain
	if remain < 0 || remain > sendfileMax {
		first = sendfileMax
	}
	r := c.direct(s, d, opSendfile, first)
	if !r.handled || r.refused || r.err != nil || r.written < first || first == remain {
		return r // done, failed, refused, or at EOF
	}
	if remain > 0 {
		remain -= r.written
	}
	var more moved
	if c.pipeSize() >= sendfilePipeMin {
		more = c.viaPipe(s, d, dst, remain, r.written, sendfilePipeMin)
	}
	if !more.handled {
		return c.directAfter(s, d, opSendfile, remain, r)
	}
	more.piped = more.kernel > 0
	more.written += r.written
	more.taken += r.taken
	more.kernel += r.kernel
	return more
}

// pipeSize is the size of the engine pipes c asks for.
func (c *Copier) pipeSize() int {
	if c.PipeSize > 0 {
		return clampPipeSize(c.PipeSize)
	}
	return defaultPipeSize()
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
		r.handled, r.refused = true, true
		return true
	}
	r.handled = true
	if f := pm.fault(); f != nil {
		r.fault, r.err = f, f.bySide(&pm.src, &pm.dst)
		return true
	}
	if pm.written > 0 && c.Progress != nil {
		c.Progress(r.written)
	}
	return pm.eof || pm.remain == 0
}

// readWriteRest copies the rest of src (remain bytes, or to EOF if remain is
// negative) by read and write through buf, adding to r, which holds what the
// copy moved before.
func (c *Copier) readWriteRest(d endpoint, src io.Reader, dst io.Writer, buf []byte, remain int64, r moved) moved {
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
