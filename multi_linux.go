//go:build !splice_portable

package splice

import (
	"errors"
	"io"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice/internal/rw"
)

// The delivering half of the tee(2) fan-out behind CopyMulti (tee_linux.go):
// the consumer's part, the own pipes emptied into their destinations, bytes
// dropped from a pipe's front; and the choices between rounds (first,
// newConsumer).

// consume takes the chunk out of the source pipe into the consumer, by splice
// or by read and Write; with k < 0, as much as it takes at once. A destination
// that the kernel refused to tee into this round gets its part of the chunk
// from the same read. It returns the chunk's size.
func (t *teeCopy) consume(k int64) int64 {
	d := &t.dsts[t.last]
	alive := !t.f.dead[t.last]
	readers := false
	for i := range t.dsts {
		readers = readers || t.dsts[i].unsecured
	}
	if alive && !d.user && !readers {
		remain := k
		if k < 0 {
			remain = maxChunk
			if t.remain >= 0 {
				remain = t.remain
			}
		}
		var r pumped
		if t.p0 != nil {
			pm := t.p0.out
			pm.dst, pm.remain, pm.once = d.e, remain, k < 0
			r = run(pm, false)
			pm.dst, pm.once = endpoint{}, false
			if r.f != nil {
				r.f.dst = true // the engine's pipe never fails
			}
		} else {
			pm := getPump(t.s, d.e, opSplice, remain)
			pm.once, pm.held = k < 0, k >= 0
			r = run(pm, true)
		}
		d.got = r.n
		if k < 0 {
			k = d.got
		}
		if r.f == nil && !r.refused && d.got < k {
			// EOF with bytes of the chunk missing.
			t.f.srcFailed(t.src, errSourceDrained)
			t.f.stop = true
			return d.got
		}
		switch {
		case d.got == k && k > 0:
			return k
		case k == 0 && r.refused:
			t.rest = true
			return 0
		case k == 0 && r.f != nil && r.f.dst:
			t.dstFail(t.last, r.f) // alone, it failed before it took a byte
			return 0
		case k == 0:
			if r.f != nil {
				t.f.srcFailed(t.src, r.f.asLoop(&t.s, &d.e))
			}
			return 0
		case r.refused:
			d.user = true // the rest by read and Write
		case r.f != nil && !r.f.dst:
			t.f.srcFailed(t.src, r.f.asLoop(&t.s, &d.e))
			t.f.stop = true
			return d.got
		default:
			t.dstFail(t.last, r.f)
			alive = false
		}
	}
	// By read and Write: the consumer (from where its splice stopped), and
	// the destinations the kernel would not tee into (from where their tee
	// stopped).
	if !alive && !readers {
		t.dropSource(k - d.got)
		return k
	}
	buf := t.buffer()
	for off := d.got; k < 0 || off < k; {
		m := int64(len(buf))
		if k >= 0 {
			m = min(m, k-off)
		} else if t.remain >= 0 {
			m = min(m, t.remain)
		}
		data, err := t.readSource(buf[:m], k >= 0)
		if k < 0 {
			k = int64(len(data))
		}
		if err != nil && len(data) == 0 {
			if err != io.EOF {
				t.f.srcFailed(t.src, err)
			}
			t.f.stop = true
			return off
		}
		for i := range t.dsts {
			if r := &t.dsts[i]; !t.f.dead[i] && (i == t.last || r.unsecured) && off+int64(len(data)) > r.got {
				n, werr := rw.Write(r.w, data[r.got-off:])
				r.got += int64(n)
				if werr != nil {
					t.f.fail(i, r.got, werr)
				}
			}
		}
		off += int64(len(data))
	}
	return k
}

// readSource reads up to len(buf) bytes of the chunk out of the source pipe;
// with held, the pipe holds them all (else it waits for them, as src.Read).
func (t *teeCopy) readSource(buf []byte, held bool) ([]byte, error) {
	switch {
	case t.p0 != nil:
		return t.p0.readFull(buf)
	case !held:
		n, err := t.inner.Read(buf)
		return buf[:n], err
	}
	// Through the fd, so that no read deadline, which applies to waiting
	// and there is nothing to wait for, can fail it (as Pipe.consume).
	var n int
	var rerr error
	if err := t.s.anyControl(func(fd uintptr) {
		n, rerr = ignoringEINTR(func() (int, error) { return unix.Read(int(fd), buf) })
	}); err != nil {
		return nil, t.s.pollErr("read", err)
	}
	switch {
	case rerr == unix.EAGAIN || rerr == nil && n == 0:
		return nil, errSourceDrained
	case rerr != nil:
		return nil, t.s.syscallErr("read", "read", rerr)
	}
	return buf[:n], nil
}

// errSourceDrained is the error of a CopyMulti whose source pipe another
// reader emptied of bytes that some destinations had already been given.
var errSourceDrained = errors.New("splice: CopyMulti's source pipe was read from elsewhere during the copy")

// dropSource drops n bytes from the front of the source pipe, which every
// live destination has.
func (t *teeCopy) dropSource(n int64) {
	if n <= 0 {
		return
	}
	if t.p0 != nil {
		if !t.drop(t.p0, n) {
			t.p0Bad = true
		}
		return
	}
	buf := t.buffer()
	for n > 0 {
		data, err := t.readSource(buf[:min(int64(len(buf)), n)], true)
		n -= int64(len(data))
		if err != nil {
			t.f.srcFailed(t.src, err)
			t.f.stop = true
			return
		}
	}
}

// deliver empties destination i's own pipe into it, by splice or by read and
// Write.
func (t *teeCopy) deliver(i int) {
	d := &t.dsts[i]
	if !d.user {
		out := d.p.out
		out.dst, out.remain = d.e, d.held
		out.run()
		out.dst = endpoint{}
		d.held -= out.written
		d.got += out.written
		if d.held == 0 {
			return
		}
		if !out.refused() {
			flt := out.fault()
			if flt == nil { // unreachable: out stops short only on a failure
				flt = &fault{call: "splice", errno: unix.EIO}
			}
			flt.dst = true
			t.dstFail(i, flt)
			return
		}
		d.user = true // it refuses splice: read and write
	}
	buf := t.buffer()
	for d.held > 0 {
		data, err := d.p.readFull(buf[:min(int64(len(buf)), d.held)])
		d.held -= int64(len(data))
		if err != nil {
			d.dirty = true
			t.f.fail(i, d.got, err)
			return
		}
		n, werr := rw.Write(d.w, data)
		d.got += int64(n)
		if werr != nil {
			t.f.fail(i, d.got, werr)
			return
		}
	}
}

// dstFail records destination i's failure, f, as its Write would report it.
func (t *teeCopy) dstFail(i int, f *fault) {
	d := &t.dsts[i]
	if d.held > 0 {
		d.dirty = true
	}
	f.dst = true
	err := f.asLoop(&t.s, &d.e)
	if p, ok := d.w.(*Pipe); ok {
		err = p.closing("write", p.w, err) // as p.Write reports it
	}
	t.f.fail(i, d.got, err)
}

// first picks the destination whose tee takes the chunk from a source pipe: a
// pipe no larger than any own pipe (its chunk then fits in each), else the
// destination with the smallest own pipe. It returns -1 when only the consumer
// is left.
func (t *teeCopy) first() (i int, direct bool) {
	i, size := -1, 0
	for j := range t.dsts {
		d := &t.dsts[j]
		if j == t.last || t.f.dead[j] || d.p == nil {
			continue
		}
		if i < 0 || d.p.size < size || d.p.size == size && !d.direct && t.dsts[i].direct {
			i, size = j, d.p.size
		}
	}
	for j := range t.dsts {
		d := &t.dsts[j]
		if j != t.last && !t.f.dead[j] && d.direct && d.psize == size {
			return j, true
		}
	}
	return i, false
}

// newConsumer hands the consumer's part to another live destination, after
// the consumer failed.
func (t *teeCopy) newConsumer() {
	for _, user := range []bool{true, false} {
		for j := len(t.dsts) - 1; j >= 0; j-- {
			if !t.f.dead[j] && t.dsts[j].user == user {
				t.last = j
				return
			}
		}
	}
}

// drop drops n bytes from the front of cp, which holds at least that many,
// by splice into /dev/null, else by read. It reports whether it could.
func (t *teeCopy) drop(cp *enginePipe, n int64) bool {
	if n <= 0 {
		return true
	}
	if t.null < 0 {
		fd, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			fd = -2
		}
		t.null = fd
	}
	for n > 0 && t.null >= 0 {
		m, err := ignoringEINTR(func() (int, error) {
			return rawSplice(cp.r, nil, t.null, nil, int(min(n, maxChunk)), unix.SPLICE_F_NONBLOCK)
		})
		if err != nil || m == 0 {
			break
		}
		n -= int64(m)
	}
	buf := t.buffer()
	for n > 0 {
		data, err := cp.readFull(buf[:min(int64(len(buf)), n)])
		n -= int64(len(data))
		if err != nil {
			return false
		}
	}
	return true
}

func (t *teeCopy) buffer() []byte {
	if t.buf == nil {
		t.buf = rw.GetBuffer()
	}
	return t.buf[:]
}

// testHookMulti, set by tests, learns how each destination of a CopyMulti got
// its bytes (see paths).
var testHookMulti func(paths []string)

// paths names how each destination got its bytes, for testHookMulti.
func (t *teeCopy) paths() []string {
	out := make([]string, len(t.dsts))
	for i := range t.dsts {
		d := &t.dsts[i]
		switch {
		case i == t.last && d.user:
			out[i] = "read/write"
		case i == t.last:
			out[i] = "splice"
		case d.direct:
			out[i] = "tee"
		case d.user:
			out[i] = "tee+read/write"
		default:
			out[i] = "tee+splice"
		}
	}
	return out
}

// release returns the pipes to the pool, or closes those that may hold bytes.
func (t *teeCopy) release(clean bool) {
	if t.p0 != nil {
		t.p0.in.src = endpoint{}
		t.p0.out.dst = endpoint{}
		t.c.putPipe(t.p0, clean && !t.p0Bad)
	}
	for i := range t.dsts {
		if d := &t.dsts[i]; d.p != nil {
			d.p.out.dst = endpoint{}
			t.c.putPipe(d.p, clean && !d.dirty && d.held == 0)
		}
	}
	if t.buf != nil {
		rw.PutBuffer(t.buf)
	}
	if t.null >= 0 {
		unix.Close(t.null)
	}
}
