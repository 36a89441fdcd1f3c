//go:build !splice_portable

package splice

import (
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice/internal/rw"
)

// Splice wraps splice(2): it moves up to n bytes from rfd to wfd, at least one of
// which must be a pipe, without copying them through user space. roff and woff
// are the file offsets to use (and advance) for a non-pipe fd, or nil to use and
// advance the fd's own offset; they must be nil for a pipe.
//
// It returns the number of bytes moved, 0 at end of input (or when n is 0). EINTR
// is retried; any other error is an *os.SyscallError wrapping the errno, so that
// errors.Is(err, syscall.EAGAIN) reports a non-blocking call that would block.
//
// Splice works on raw fds and knows nothing of Go's poller: it blocks the thread
// when the fds are blocking and returns EAGAIN when they (or flags) are not. Copy
// and the Pipe methods integrate with the poller; prefer them.
func Splice(rfd int, roff *int64, wfd int, woff *int64, n int, flags Flags) (int64, error) {
	m, err := ignoringEINTR(func() (int, error) { return rawSplice(rfd, roff, wfd, woff, n, int(flags)) })
	if err != nil {
		return 0, os.NewSyscallError("splice", err)
	}
	return int64(m), nil
}

// ignoringEINTR calls fn until it fails with anything but EINTR. Every raw call
// of the package goes through it (x/sys/unix does not retry).
func ignoringEINTR[T any](fn func() (T, error)) (T, error) {
	for {
		v, err := fn()
		if err != unix.EINTR {
			return v, err
		}
	}
}

// rawSplice is unix.Splice with the count as an int on every architecture
// (it is int64 on some and int on others).
func rawSplice(rfd int, roff *int64, wfd int, woff *int64, n int, flags int) (int, error) {
	m, err := unix.Splice(rfd, roff, wfd, woff, n, flags)
	return int(m), err
}

// The engine's splice paths: direct where a side is a pipe, through an
// enginePipe otherwise.

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
// TCP socket (a *net.TCPConn, or an *os.File of one), it splices
// tcpSpliceBudget bytes at most and reads and writes the rest. (Pipe's own
// ReadFrom and WriteTo always splice: the bytes dst refuses stay in the pipe.)
func (c *Copier) spliceDirect(s, d endpoint, src io.Reader, dst io.Writer, remain int64) (r moved) {
	// Where d is known to be no pipe, s must be one for the splice to work
	// (an *os.File pipe not named as os.Pipe names its ends, say).
	if !s.likelyPipe() && (d.kind == kindUnknown || d.isPipe()) {
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
	toTCP := d.isTCP()
	splicing := remain < 0 || remain >= smallChunk
	for remain != 0 {
		if splicing {
			if pm == nil {
				pm = getPump(s, d, opSplice, remain)
				pm.once = true
			}
			pm.remain = remain
			capped := false
			if left := tcpSpliceBudget - r.kernel; toTCP && (remain < 0 || remain > left) {
				pm.remain, capped = left, true
			}
			before := r.written
			if c.pumpOnce(pm, opSplice, &r) && !(capped && pm.remain == 0 && r.handled && !r.refused && r.err == nil) {
				return r
			}
			got := r.written - before
			if remain > 0 {
				remain -= got
			}
			if toTCP && r.kernel >= tcpSpliceBudget && remain != 0 {
				buf := rw.GetBuffer()
				defer rw.PutBuffer(buf)
				return c.readWriteRest(d, src, dst, buf[:], remain, r)
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

// throughPipe copies s to d through the engine's pipe (viaPipe), except a copy
// known to be smaller than smallChunk: that goes by read and write, one call
// each where the pipe takes two splices. In BenchmarkCopy (CopyN of 1 B to 4 KiB)
// this took Unix→file from 6-11% slower than io.Copy to 9-16% faster, TCP→TCP
// at 512 B from 19% slower to even, and left the other socket pairs even.
func (c *Copier) throughPipe(s, d endpoint, src io.Reader, dst io.Writer, remain int64) (r moved) {
	if remain < 0 || remain >= pipeMin {
		return c.viaPipe(s, d, dst, remain, 0, 0)
	}
	buf := smallBufPool.Get().(*[smallChunk]byte)
	defer smallBufPool.Put(buf)
	return c.readWriteRest(d, src, dst, buf[:], remain, moved{})
}

// pipeMin is the size from which throughPipe takes the engine's pipe; a
// variable so that BenchmarkSmallSocketCopy can set it to 1 (impl=pipe). In that
// benchmark at 4 KiB (Linux 6.18, 40 interleaved runs, median µs per copy
// for io.Copy / read and write / the engine's pipe) a LimitedReader from TCP to
// TCP took 12.8 / 12.2 / 12.7 and a CopyN 11.3 / 11.9 / 11.7: within the noise
// of each other, where a copy's cost is the loopback round trip.
var pipeMin int64 = smallChunk

// viaPipe splices from s into the engine's own pipe and from the pipe to d, for
// pairs of which neither side is a pipe. Progress totals count base bytes
// before the first; with no pipe of at least minSize bytes to be had, it moves
// nothing and returns r.handled == false. Each round takes what s has ready (at
// most a pipe's worth) and then drains it all into d, so a proxy forwards bytes
// as they come rather than waiting to fill the pipe.
//
// If d fails, the bytes still in the pipe are given back to s if it is a
// regular file (see unread), else drained and handed to Unwritten; taken counts
// them with written. If d refuses splice after bytes were taken, they are
// written to dst (d's io.Writer) through user space, and r.refused asks the
// caller to go on by read and write.
//
// Invariant: held counts the bytes in the pipe whenever user code (Progress,
// Unwritten, dst.Write) runs; the pipe is pooled only when held is 0 and no pump
// was inside the RawConn callbacks of s or d (which may be user code) when
// viaPipe was left: a panic or runtime.Goexit anywhere leaves nothing pooled
// that holds bytes.
func (c *Copier) viaPipe(s, d endpoint, dst io.Writer, remain, base int64, minSize int) moved {
	var written, taken, spliced int64 // spliced: into d, of written
	handled := func(err error) moved {
		return moved{written: written, taken: taken, kernel: spliced, handled: true, err: err}
	}
	refused := func() moved {
		r := handled(nil)
		r.refused = true
		return r
	}
	failed := func(f *fault) moved {
		r := handled(f.bySide(&s, &d))
		r.fault = f
		return r
	}
	cp := c.getPipe()
	if cp == nil {
		return moved{} // no pipe to be had (EMFILE, say): read and write
	}
	if cp.size < minSize {
		c.putPipe(cp, true) // empty: a pooled pipe is the size it got
		return moved{}
	}
	in, out := cp.in, cp.out
	in.src, out.dst = s, d
	var held int64
	running := false
	discard := false // the pipe holds bytes given back to s
	defer func() {
		in.src, out.dst = endpoint{}, endpoint{}
		c.putPipe(cp, held == 0 && !running && !discard)
	}()
	for remain != 0 {
		in.remain = int64(cp.size)
		if remain > 0 && remain < in.remain {
			in.remain = remain
		}
		running = true
		in.run() // once: takes what s has ready
		running = false
		// Count what s gave first: s's RawConn may fail after the kernel
		// filled the pipe.
		held += in.written
		taken += in.written
		if remain > 0 {
			remain -= in.written
		}
		inRefused, inFault := in.refused(), in.fault()
		if inFault != nil {
			f := *inFault
			f.dst = false // the engine's pipe never fails: s did
			inFault = &f
		}
		if held == 0 {
			switch {
			case inRefused && taken == 0:
				return moved{}
			case inRefused:
				return refused()
			case inFault != nil:
				return failed(inFault)
			case in.eof:
				return handled(nil)
			}
		}

		out.remain = held
		running = true
		out.run()
		running = false
		held -= out.written
		written += out.written
		spliced += out.written
		if held == 0 && out.errno == nil && out.dstErr == nil {
			if c.Progress != nil {
				c.Progress(base + written)
			}
			switch {
			case inRefused:
				return refused()
			case inFault != nil:
				return failed(inFault)
			}
			continue
		}
		// d failed with bytes in the pipe. From a file that can seek, they
		// are given back: its offset moves back over them, as sendfile
		// leaves it, and they go with the pipe, which is not pooled.
		// Otherwise they are taken out before any user code runs; without
		// Unwritten they are dropped with the pipe.
		if !out.refused() && s.unread(held) {
			taken -= held
			held = 0
			discard = true
		}
		var data []byte
		var derr error
		if held > 0 && (out.refused() || c.Unwritten != nil) {
			data, derr = cp.drain(held)
			held -= int64(len(data))
		}
		if c.Progress != nil && out.written > 0 {
			c.Progress(base + written)
		}
		if derr != nil {
			c.unwritten(data)
			return handled(derr)
		}
		if !out.refused() {
			c.unwritten(data)
			f := out.fault()
			if f == nil { // unreachable: out stops short only on a failure
				f = &fault{call: "splice", errno: unix.EIO}
			}
			f.dst = true // the engine's pipe never fails: d did
			return failed(f)
		}
		// d refuses splice (a device without splice support, say; or a
		// broken stdout, whose own Write raises SIGPIPE): write what the
		// pipe held through user space, then go on by read and write.
		n, werr := rw.Write(dst, data)
		written += int64(n)
		if n > 0 && c.Progress != nil {
			c.Progress(base + written)
		}
		if werr != nil {
			c.unwritten(data[n:])
			return handled(werr)
		}
		if inFault != nil {
			return failed(inFault)
		}
		return refused()
	}
	return handled(nil)
}

func (c *Copier) unwritten(data []byte) {
	if c.Unwritten != nil && len(data) > 0 {
		c.Unwritten(data)
	}
}
