//go:build !splice_portable

package splice

import (
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice/internal/rw"
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

// The tee(2) fan-out behind CopyMulti. A teeCopy moves src to its destinations in rounds. Each round takes a chunk
// of k bytes into the source pipe (sp): src itself if it is a pipe, else the
// engine pipe p0, filled from src by splice. Every destination but the
// consumer then secures the chunk: a pipe that can hold a chunk by a tee into
// it (completed at once through its own engine pipe if it comes short), any
// other destination by a tee into its own engine pipe. The consumer takes the
// chunk out of sp (by splice, or by read and its own Write), which frees sp
// for the next round; then each own pipe is emptied into its destination (by
// splice, or by read and Write). A round ends when every live destination has
// the chunk: the destinations move in lockstep, and a failure leaves every
// other one at the same byte.
//
// Invariants. At each round's start every pipe of the engine is empty. sp's
// first k bytes are the chunk until the consumer takes them; src is waited for
// only before (after, sp is entered through Control, so that a read deadline
// cannot cut a chunk some destinations have). An own pipe is
// empty whenever a tee into it starts, and no smaller than p0 (p0 is shrunk to
// the smallest own pipe) nor than the first pipe a round tees into from a
// source pipe, so the tee takes the whole chunk: tee copies page references
// buffer by buffer, and the chunk fills no more buffers than it did in a pipe
// no larger. A pipe that may hold bytes at the end (a destination failed, user
// code panicked) is closed, never pooled.

type teeDst struct {
	w      io.Writer
	e      endpoint
	direct bool        // a pipe: teed into directly
	psize  int         // its size, if direct
	user   bool        // its copy is read out of a pipe and written by w.Write
	p      *enginePipe // its own pipe; nil for the consumer
	held   int64       // bytes of the chunk in p
	got    int64       // bytes of the chunk it accepted
	dirty  bool        // p may hold bytes
	// The kernel refused to tee the chunk into p: the consumer's read hands it over.
	unsecured bool
}

type teeCopy struct {
	c      *Copier
	f      *fanout
	src    io.Reader // as given, for errors
	inner  io.Reader // src without its LimitedReader
	s      endpoint
	p0     *enginePipe // nil when src is a pipe
	sp     endpoint    // the source pipe: s, or p0's read end
	dsts   []teeDst
	last   int   // the consumer
	remain int64 // bytes still to take; negative: until EOF
	buf    *[rw.BufferSize]byte
	null   int  // /dev/null, to drop bytes from a pipe; -1 not open, -2 none
	p0Bad  bool // p0 was resized or may hold bytes
	rest   bool // the kernel refused a source call: read and write the rest
	chunk  int  // the most a chunk holds: p0's size, else the smallest own pipe's
}

// kernelMulti runs CopyMulti through the kernel where src and at least one
// destination are file descriptors. handled is false when it took nothing from
// src: the caller loops instead.
func (c *Copier) kernelMulti(f *fanout, src io.Reader) (n int64, handled bool, err error) {
	inner, lr := unwrapLimited(src)
	t := &teeCopy{c: c, f: f, src: src, inner: inner, remain: -1, null: -1, last: len(f.dsts) - 1}
	if lr != nil {
		t.remain = max(lr.N, 0)
	}
	if t.remain >= 0 && t.remain < smallChunk {
		// Known to be small: one read and a write each cost less than
		// setting up the pipes (as for Copy's throughPipe).
		return 0, false, nil
	}
	var ok bool
	if t.s, ok = endpointOf(inner, false); !ok || t.s.probe() != nil || !t.s.spliceable(false) {
		return 0, false, nil
	}
	fds, users := 0, -1
	t.dsts = make([]teeDst, len(f.dsts))
	for i, w := range f.dsts {
		d := &t.dsts[i]
		d.w, d.user = w, true
		if e, ok := endpointOf(w, true); ok && e.probe() == nil {
			e.learnAppend()
			if e.spliceable(true) {
				d.e, d.user, d.direct = e, false, e.isPipe()
				if d.direct {
					e.anyControl(func(fd uintptr) { d.psize, _ = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) })
				}
				fds++
			}
		}
		if d.user {
			users = i
		}
	}
	if fds == 0 {
		return 0, false, nil
	}
	if users >= 0 {
		t.last = users // it reads anyway: let it read the source pipe
	}
	if t.remain == 0 {
		return 0, true, nil
	}
	clean := false
	defer func() { t.release(clean) }()
	if !t.pipes() {
		clean = true // all empty
		return 0, false, nil
	}
	for !t.rest && t.remain != 0 && !f.done() && t.round() {
	}
	if lr != nil {
		lr.N -= f.total
	}
	clean = true
	if testHookMulti != nil {
		testHookMulti(t.paths())
	}
	if t.rest && !f.done() && f.srcErr == nil {
		if f.total == 0 && len(f.failed) == 0 {
			return 0, false, nil
		}
		n, err = f.loop(src, f.total)
		return n, true, err
	}
	return f.total, true, f.err()
}

// pipes takes the engine pipes the copy needs, and checks that the kernel
// allows tee(2). It reports false, taking none, if any is missing.
func (t *teeCopy) pipes() bool {
	min := 0
	for i := range t.dsts {
		if i == t.last {
			continue
		}
		d := &t.dsts[i]
		if d.p = t.c.getPipe(); d.p == nil {
			return false
		}
		if min == 0 || d.p.size < min {
			min = d.p.size
		}
	}
	if !t.s.isPipe() {
		if t.p0 = t.c.getPipe(); t.p0 == nil {
			return false
		}
		if min > 0 && t.p0.size > min {
			t.p0Bad = true
			got, err := unix.FcntlInt(uintptr(t.p0.w), unix.F_SETPIPE_SZ, min)
			if err != nil || got > min {
				return false
			}
			t.p0.size = got
		}
		t.sp = t.p0.out.src
		t.p0.in.src = t.s
		t.chunk = t.p0.size
	} else {
		t.sp = t.s
		t.chunk = min
	}
	for i := range t.dsts {
		if d := &t.dsts[i]; d.direct && d.psize < t.chunk {
			// A pipe that cannot hold a chunk would take every tee
			// short: through its own pipe.
			d.direct = false
		}
	}
	if min > 0 {
		// tee(2) of nothing returns before it looks at its fds: only a
		// sandbox's refusal stops it.
		var a, b *enginePipe
		for i := range t.dsts {
			if p := t.dsts[i].p; p != nil && a == nil {
				a = p
			} else if p != nil {
				b = p
			}
		}
		if b == nil {
			b = t.p0
		}
		if b == nil {
			b = a
		}
		probe := pump{src: a.out.src, dst: b.in.dst, op: opTee}
		if _, err := probe.call(a.r, b.w, 0); err != nil {
			return false
		}
	}
	return true
}

// round moves one chunk to every live destination. It reports whether the
// copy goes on.
func (t *teeCopy) round() bool {
	f := t.f
	for i := range t.dsts {
		t.dsts[i].got, t.dsts[i].unsecured = 0, false
	}
	k, first, srcErr := t.take()
	if k == 0 {
		return false
	}
	for i := range t.dsts {
		if i != t.last && i != first && !f.dead[i] && f.srcErr == nil {
			t.secure(i, k)
		}
	}
	if k = t.consume(k); k == 0 {
		return false // EOF, or src failed or refused, with the consumer alone
	}
	for i := range t.dsts {
		if d := &t.dsts[i]; i != t.last && !f.dead[i] && d.held > 0 {
			t.deliver(i)
		}
	}
	if t.remain > 0 {
		t.remain -= k
	}
	f.advance(k)
	if f.dead[t.last] {
		t.newConsumer()
	}
	if srcErr != nil && f.srcErr == nil {
		f.srcFailed(t.src, srcErr)
	}
	return f.srcErr == nil
}

// take puts the next chunk at the front of the source pipe and returns its
// size: 0 at EOF, when src failed (f.srcErr says how) or when the kernel
// refused (t.rest); -1 when the consumer is to learn it. first is the
// destination that has the chunk already (in its pipe, or in its own pipe), or
// -1. srcErr is how src failed after giving k bytes.
func (t *teeCopy) take() (k int64, first int, srcErr error) {
	limit := int64(maxChunk)
	if t.remain >= 0 && t.remain < limit {
		limit = t.remain
	}
	for {
		first = -1
		direct := false
		var r pumped
		if t.p0 != nil {
			pm := t.p0.in
			pm.remain = min(limit, int64(t.p0.size))
			r = run(pm, false)
		} else {
			if first, direct = t.first(); first < 0 {
				return -1, -1, nil
			}
			d := &t.dsts[first]
			dst := d.p.in.dst
			if direct {
				dst = d.e
			}
			pm := getPump(t.s, dst, opTee, limit)
			pm.once = true
			r = run(pm, true)
		}
		k = r.n
		switch {
		case k == 0 && r.refused && direct:
			// The kernel will not tee into that pipe: it goes through
			// its own.
			t.dsts[first].direct, t.dsts[first].psize = false, 0
			continue
		case k == 0 && r.refused:
			t.rest = true
			return 0, -1, nil
		case r.f != nil && direct && r.f.dst:
			t.dstFail(first, r.f) // tee into a pipe it fails: the chunk is still there
			if t.f.done() {
				return 0, -1, nil
			}
			continue
		case r.f != nil:
			r.f.dst = false // the engine's pipes never fail: src did
			srcErr = r.f.asLoop(&t.s, &t.s)
		}
		if first >= 0 {
			if d := &t.dsts[first]; direct {
				d.got = k
			} else {
				d.held = k
			}
		}
		if k == 0 {
			if srcErr != nil {
				t.f.srcFailed(t.src, srcErr)
			}
			return 0, -1, nil
		}
		return k, first, srcErr
	}
}

// secure gives destination i the chunk's k bytes: a tee into its pipe, or
// into its own pipe (to be delivered), completing a short tee into its pipe
// through its own: the own pipe takes the chunk and drops the part the pipe
// has.
func (t *teeCopy) secure(i int, k int64) {
	d := &t.dsts[i]
	if d.direct {
		pm := getPump(t.sp, d.e, opTee, k)
		pm.once, pm.try, pm.held = true, true, true
		r := run(pm, true)
		d.got = r.n
		switch {
		case d.got == k:
			return
		case r.refused:
			d.direct, d.psize = false, 0
		case r.f != nil && (r.f.poll == nil || r.f.dst):
			t.dstFail(i, r.f)
			return
		}
	}
	for a := d.got; ; {
		pm := getPump(t.sp, d.p.in.dst, opTee, k)
		pm.once, pm.held = true, true
		r := run(pm, true)
		g, flt := r.n, r.f
		if g == 0 && r.refused {
			// The kernel will not tee: the consumer's read hands this
			// destination the chunk, and the copy goes on by read and
			// write.
			d.unsecured, t.rest = true, true
			return
		}
		if flt != nil && t.p0 != nil {
			t.dstFail(i, flt) // the engine's pipes cannot fail: its part did
			return
		}
		if flt != nil || g <= a {
			// A source pipe that another reader drains or closes, or a
			// kernel that tees fewer bytes into an empty pipe than it
			// holds.
			t.dsts[i].dirty = true
			err := errSourceDrained
			if flt != nil {
				flt.dst = false
				err = flt.asLoop(&t.s, &t.s)
			}
			t.f.srcFailed(t.src, err)
			t.f.stop = true
			return
		}
		if !t.drop(d.p, a) {
			d.dirty = true
		}
		d.held = g - a
		if g == k && a == 0 {
			return // delivered after the consumer's part
		}
		if g == k {
			// Its pipe has the chunk's first a bytes: the rest goes now,
			// so that its copy of the chunk is whole before any other
			// destination's (the same pipe may be listed twice).
			t.deliver(i)
			return
		}
		if t.deliver(i); t.f.dead[i] {
			return
		}
		a = g
	}
}
