package splice_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// FuzzPipe runs a fuzzer-chosen sequence of operations on two Pipes (Write,
// Read, ReadFrom a file, a TCP socket, a plain reader or a limited file,
// WriteTo a file, a TCP socket, a plain writer, a failing or short-writing
// writer, Tee from one into the other, SetSize, deadlines in the past and
// cleared, CloseWrite, Close) and checks each against a model of the pipe:
// the bytes it holds, in order, and, on Linux, the kernel's ring of page
// buffers, from which it knows how many bytes a write(2) or a tee(2) moves
// before the pipe is full. After every operation the count, the error, the
// bytes read out or delivered, Size and Buffered match the model; at the end
// each open pipe holds exactly the model's bytes.
//
// No operation may block for good. One that the model says cannot finish (a
// Write into a full pipe, a Read of an empty one, a WriteTo with the write
// end open) runs in a goroutine of its own until that goroutine is parked in
// Go's poller, and is then woken by a deadline in the past or by Close: it
// must return what it moved (on Linux, exactly what fit) and
// os.ErrDeadlineExceeded or os.ErrClosed. Where the model cannot know the
// ring (after a splice in from a socket, say, until the pipe is next empty),
// a parked operation is woken the same way and the model learns the count
// from it; the bytes are checked all the same.
//
// Under the portable build (and on other systems) the model is that of an
// os.Pipe: Size is 64 KiB, Buffered 0, Tee and SetSize unsupported.
//
// Where the package departs from its doc (the knownBug constants, each found
// by this target and reported), the model accepts what it does, so that
// fuzzing goes on to find other faults; set one to false to check its fix.
func FuzzPipe(f *testing.F) {
	// Each operation is three bytes: the op (low four bits), which pipe
	// (bit 4: 0 or 1; a Tee goes from it into the other), a variant (bits
	// 5-7), and a 16-bit argument: a size (see pipeFuzz.size) or a limit.
	op := func(code, pipe, variant int, arg uint16) []byte {
		return []byte{byte(code | pipe<<4 | variant<<5), byte(arg >> 8), byte(arg)}
	}
	// about is the argument for about n bytes (n > 0).
	about := func(n int) uint16 { return uint16(math.Ceil(math.Sqrt(float64(n << 12)))) }
	seq := func(ops ...[]byte) []byte { return bytes.Join(ops, nil) }
	// Arguments relative to the pipe's state.
	const roomP1, held, heldP1 = 4, 6, 7
	var (
		write, read, readFrom, writeTo   = opPipeWrite, opPipeRead, opPipeReadFrom, opPipeWriteTo
		tee, setSize, closeWrite, closeP = opPipeTee, opPipeSetSize, opPipeCloseWrite, opPipeClose
		rdl, wdl                         = opPipeReadDeadline, opPipeWriteDeadline
	)
	for i, ops := range [][]byte{
		// Write, Read, a Write past the room woken by a deadline, then
		// one woken by Close.
		seq(op(write, 0, 0, about(3000)), op(read, 0, 0, about(2000)), op(write, 0, 0, roomP1),
			op(read, 0, 0, held), op(write, 0, 1, about(70000))),
		// Small writes that merge into one page, writes that fill the
		// ring, one woken with what fit after the merge.
		seq(op(write, 0, 0, about(1)), op(write, 0, 0, about(100)), op(write, 0, 0, 3),
			op(write, 0, 0, 13), op(read, 0, 0, about(5000)), op(write, 0, 0, about(9000)), op(read, 0, 0, held)),
		// Tee between the pipes, both ways; a Tee blocked on an empty
		// pipe, on a full one, on a full one after Close of the source.
		seq(op(write, 0, 0, about(20000)), op(tee, 0, 0, held), op(tee, 0, 0, about(5000)),
			op(read, 1, 0, held), op(tee, 1, 0, about(100)), op(write, 1, 0, 3),
			op(tee, 0, 0, held), op(read, 1, 0, about(5000)), op(tee, 0, 0, held), op(tee, 0, 2, held)),
		// ReadFrom every source kind: within the room, past it, drained.
		seq(op(readFrom, 0, 0, about(5000)), op(readFrom, 0, 1, about(5000)), op(readFrom, 0, 2, about(5000)),
			op(readFrom, 0, 3, about(5000)), op(read, 0, 0, held), op(readFrom, 0, 0, about(90000)),
			op(read, 0, 0, held), op(readFrom, 0, 4, about(200000)), op(readFrom, 0, 5, about(300000)),
			op(readFrom, 0, 6, about(100000)), op(readFrom, 0, 7, about(9000)), op(readFrom, 0, 2, about(90000))),
		// WriteTo every destination kind, with the write end open, then
		// closed; failing and short-writing destinations.
		seq(op(write, 0, 0, about(30000)), op(writeTo, 0, 3, about(10000)), op(writeTo, 0, 4, about(5000)),
			op(writeTo, 0, 0, 0), op(write, 0, 0, about(7000)), op(writeTo, 0, 1, 0),
			op(write, 0, 0, about(7000)), op(writeTo, 0, 2, 0), op(write, 0, 0, about(9000)),
			op(closeWrite, 0, 0, 0), op(writeTo, 0, 3, about(4096)), op(writeTo, 0, 2, 0)),
		// Deadlines in the past, then cleared: operations fail at once.
		seq(op(write, 0, 0, about(500)), op(rdl, 0, 0, 0), op(read, 0, 0, about(100)),
			op(writeTo, 0, 2, 0), op(tee, 0, 0, about(100)), op(tee, 1, 0, about(100)), op(wdl, 0, 0, 0),
			op(write, 0, 0, about(10)), op(readFrom, 0, 0, about(10)), op(tee, 1, 0, about(100)),
			op(rdl, 0, 1, 0), op(wdl, 0, 1, 0), op(read, 0, 0, held)),
		// SetSize: grow, shrink below what the ring holds (EBUSY), to one
		// page, a write woken in a one-page pipe, invalid sizes.
		seq(op(setSize, 0, 0, 12), op(write, 0, 0, about(200000)), op(setSize, 0, 0, 3),
			op(read, 0, 0, held), op(setSize, 0, 0, 3), op(write, 0, 0, about(5000)),
			op(setSize, 0, 0, 0), op(setSize, 0, 0, 14), op(setSize, 0, 0, 1000), op(read, 0, 0, held)),
		// CloseWrite and Close: EOF, then os.ErrClosed from everything.
		seq(op(write, 0, 0, about(10)), op(closeWrite, 0, 0, 0), op(read, 0, 0, heldP1),
			op(read, 0, 0, about(1)), op(tee, 0, 0, about(1)), op(write, 0, 0, about(1)),
			op(readFrom, 0, 2, about(100)), op(closeWrite, 0, 0, 0),
			op(closeP, 0, 0, 0), op(read, 0, 0, about(1)), op(write, 0, 0, about(1)),
			op(readFrom, 0, 2, about(100)), op(writeTo, 0, 0, 0), op(tee, 0, 0, about(1)),
			op(tee, 1, 0, about(1)), op(setSize, 0, 0, 12), op(closeP, 0, 0, 0), op(rdl, 0, 0, 0)),
		// Blocked operations woken by Close.
		seq(op(read, 0, 1, about(10)), op(write, 1, 0, 3), op(write, 1, 1, about(10))),
		seq(op(write, 1, 0, 3), op(tee, 0, 0, about(10)), op(write, 0, 0, about(10)), op(tee, 0, 1, about(10))),
		seq(op(write, 0, 0, about(10)), op(writeTo, 0, 1, 0), op(writeTo, 0, 5, 0), op(readFrom, 1, 2, about(90000))),
		// An empty source into a full pipe, a source that fills it exactly.
		seq(op(write, 0, 0, 3), op(readFrom, 0, 0, 0), op(readFrom, 0, 1, 0), op(read, 0, 0, held),
			op(readFrom, 0, 0, 9)),
	} {
		f.Add(uint64(i), ops)
	}
	f.Fuzz(func(t *testing.T, seed uint64, ops []byte) {
		h := newPipeFuzz(t, seed)
		for i := 0; i+3 <= len(ops) && i < 3*maxPipeOps; i += 3 {
			h.step(i/3, ops[i], int(ops[i+1])<<8|int(ops[i+2]))
			if t.Failed() {
				return
			}
		}
		h.finish()
	})
}

// The operations FuzzPipe runs (an op byte's low four bits, modulo opPipeOps).
const (
	opPipeWrite         = iota // variant 4: drained by a concurrent reader; 1: a blocked one woken by Close
	opPipeRead                 // variant 1: a blocked one woken by Close
	opPipeReadFrom             // variant&3: file, TCP, plain reader, limited file; 4: drained; an odd argument: woken by Close
	opPipeWriteTo              // variant: file, TCP, plain writer, failing, short-writing; 5-7: file, TCP, writer woken by Close
	opPipeTee                  // variant&3 1: a blocked one woken by Close; 2: by Close of the source, then the deadline
	opPipeSetSize              // the argument is the size
	opPipeReadDeadline         // variant 1: clear it; else set it in the past
	opPipeWriteDeadline        // variant 1: clear it; else set it in the past
	opPipeCloseWrite
	opPipeClose
	opPipeOps
)

const (
	maxPipeOps    = 64      // operations per execution
	pipeBudget    = 4 << 20 // bytes generated per execution (an eighth under -short)
	pipeOpTimeout = 30 * time.Second
	// portableRoom is the room any pipe has, on any system (Windows sizes
	// its pipes otherwise), where the model does not know the ring.
	portableRoom = 512
)

var (
	pageSize = os.Getpagesize()
	// linuxPipes: the kernel's pipes, whatever the build: a read returns
	// min(len(b), buffered) bytes, and the ring holds at least two pages
	// (what a user over pipe-user-pages-soft gets).
	linuxPipes = runtime.GOOS == "linux"
	// pastDeadline is a deadline that has passed.
	pastDeadline = time.Unix(1, 0)
)

// pipeBuf is a buffer of the kernel's pipe ring: len bytes at off in a page,
// and whether a write(2) may append to it (anonymous pages may; page-cache,
// socket and teed pages may not).
type pipeBuf struct {
	off, len int
	merge    bool
}

// pipeModel is what a Pipe should hold and answer.
type pipeModel struct {
	p    *splice.Pipe
	name string
	data []byte // the bytes it holds, in order

	size  int // what Size reports
	slots int // buffers the ring holds; a lower bound unless capKnown
	// capKnown: size and slots are the kernel's (the Linux engine reports
	// F_GETPIPE_SZ); exact: bufs is the kernel's ring.
	capKnown, exact bool
	bufs            []pipeBuf
	used            int // an upper bound on the buffers in use when !exact

	writeClosed, closed bool
	rdl, wdl            bool // a read or write deadline in the past is set
}

func (m *pipeModel) usedUB() int {
	if m.exact {
		return len(m.bufs)
	}
	return min(m.used, len(m.data))
}

// freeLB is a lower bound on the free buffers of the ring.
func (m *pipeModel) freeLB() int { return max(m.slots-m.usedUB(), 0) }

// fits reports whether a write(2) of n bytes (or a splice of n bytes of a
// file's pages, with extra buffers to spare) surely fits at once.
func (m *pipeModel) fits(n, extra int) bool {
	if n == 0 {
		return true
	}
	if !linuxPipes {
		return len(m.data)+n <= portableRoom
	}
	if m.exact && extra == 0 {
		return m.write(n, false) == n
	}
	return (n+pageSize-1)/pageSize+extra <= m.freeLB()
}

// write runs pipe_write's arithmetic for a non-blocking write(2) of n bytes
// on the exact ring and returns how many it takes: the last n%page bytes
// merge into the last buffer if that may take them whole, the rest fill new
// pages while there are free slots. With apply set, the ring keeps them.
func (m *pipeModel) write(n int, apply bool) int {
	bufs := m.bufs
	if !apply {
		bufs = append([]pipeBuf(nil), bufs...)
	}
	w := 0
	if chars := n % pageSize; chars != 0 && len(bufs) > 0 {
		if last := &bufs[len(bufs)-1]; last.merge && last.off+last.len+chars <= pageSize {
			last.len += chars
			w = chars
		}
	}
	for w < n && len(bufs) < m.slots {
		c := min(pageSize, n-w)
		bufs = append(bufs, pipeBuf{len: c, merge: true})
		w += c
	}
	if apply {
		m.bufs = bufs
	}
	return w
}

// pushWrite appends b, written by write(2).
func (m *pipeModel) pushWrite(b []byte) {
	if m.exact {
		if w := m.write(len(b), true); w != len(b) {
			panic(fmt.Sprintf("pushWrite: %d of %d bytes fit", w, len(b)))
		}
	} else {
		m.used = m.usedUB() + (len(b)+pageSize-1)/pageSize + 1
	}
	m.data = append(m.data, b...)
}

// pushOther appends b, put there by a path the model does not follow (a
// splice, a loop of writes), in at most slots buffers.
func (m *pipeModel) pushOther(b []byte, slots int) {
	if len(b) == 0 {
		return
	}
	m.used = m.usedUB() + slots
	m.exact, m.bufs = false, nil
	m.data = append(m.data, b...)
}

// consume takes k bytes from the front, as read(2) and splice(2) do.
func (m *pipeModel) consume(k int) {
	m.data = m.data[k:]
	if m.exact {
		for k > 0 {
			b := &m.bufs[0]
			c := min(k, b.len)
			b.off += c
			b.len -= c
			k -= c
			if b.len == 0 {
				m.bufs = m.bufs[1:]
			}
		}
	}
	if len(m.data) == 0 {
		m.empty()
	} else {
		m.used = min(m.used, len(m.data))
	}
}

// empty records that the pipe holds nothing: the ring is known again.
func (m *pipeModel) empty() {
	m.data, m.bufs, m.used = nil, nil, 0
	m.exact = m.capKnown
}

// tee runs link_pipe's arithmetic: a tee(2) of up to n bytes from m into q
// copies m's buffers one by one, the last cut to what is left of n, while q
// has free slots, and q's copies never merge. It returns the bytes and q's
// new buffers; both rings must be exact.
func (m *pipeModel) tee(q *pipeModel, n int) (int, []pipeBuf) {
	k, bufs := 0, append([]pipeBuf(nil), q.bufs...)
	for _, b := range m.bufs {
		if k == n || len(bufs) == q.slots {
			break
		}
		b.len = min(b.len, n-k)
		b.merge = false
		bufs = append(bufs, b)
		k += b.len
	}
	return k, bufs
}

// pipeFuzz is one execution of FuzzPipe.
type pipeFuzz struct {
	t         *testing.T
	pipes     [2]*pipeModel
	seed      uint64
	streams   uint64 // data streams handed out
	budget    int
	deadlines bool // the pipes support deadlines (not so on every system)
	stack     []byte
	op        string // the operation running, for messages
}

func newPipeFuzz(t *testing.T, seed uint64) *pipeFuzz {
	h := &pipeFuzz{t: t, seed: seed, budget: pipeBudget, stack: make([]byte, 64<<10)}
	if testing.Short() {
		h.budget = pipeBudget / 8
	}
	for i := range h.pipes {
		p := newPipe(t)
		m := &pipeModel{p: p, name: "p" + strconv.Itoa(i), size: p.Size(), capKnown: spliceSupported && linuxPipes}
		switch {
		case m.capKnown:
			m.slots = m.size / pageSize
		case linuxPipes:
			m.slots = 2
		}
		m.empty()
		h.pipes[i] = m
	}
	h.deadlines = h.pipes[0].p.Reader().SetReadDeadline(time.Time{}) == nil
	return h
}

// data returns n fresh bytes of a stream of their own, within the budget.
func (h *pipeFuzz) data(n int) []byte {
	n = min(n, h.budget)
	h.budget -= n
	h.streams++
	return testutil.Data(n, h.seed*1000003+h.streams)
}

// size decodes an argument into a byte count: 0-15 name one relative to m's
// state (its room, what it holds, its size, a page, each ±1); anything else
// is v²/4096, from 0 to 1 MiB, most of them small.
func (h *pipeFuzz) size(m *pipeModel, v int) int {
	if v < 16 {
		room, held := m.size-len(m.data), len(m.data)
		return max([...]int{0, 1, room - 1, room, room + 1, held - 1, held, held + 1,
			m.size - 1, m.size, m.size + 1, pageSize - 1, pageSize, pageSize + 1, 2 * m.size, 3*pageSize + 1}[v], 0)
	}
	return int(int64(v) * int64(v) >> 12) // int64: v² overflows a 32-bit int
}

// pipeSize decodes SetSize's argument: 0-15 name sizes at the edges, anything
// else is v*64, up to 4 MiB.
func (h *pipeFuzz) pipeSize(m *pipeModel, v int) int {
	if v < 16 {
		return [...]int{0, 1, pageSize - 1, pageSize, pageSize + 1, 2 * pageSize, len(m.data), len(m.data) + 1,
			m.size / 2, m.size, 2 * m.size, 64 << 10, 1 << 20, splice.MaxPipeSize(), splice.MaxPipeSize() + 1, 4 * pageSize}[v]
	}
	return v * 64
}

func (h *pipeFuzz) step(i int, b byte, arg int) {
	pi := int(b >> 4 & 1)
	m, q := h.pipes[pi], h.pipes[1-pi]
	variant := int(b >> 5)
	code := int(b&0x0f) % opPipeOps
	switch code {
	case opPipeWrite:
		n := h.size(m, arg)
		h.op = fmt.Sprintf("op %d: %s.Write(%d bytes) [variant %d]", i, m.name, n, variant)
		h.write(m, h.data(n), variant)
	case opPipeRead:
		n := h.size(m, arg)
		h.op = fmt.Sprintf("op %d: %s.Read(%d bytes) [variant %d]", i, m.name, n, variant)
		h.read(m, n, variant)
	case opPipeReadFrom:
		n := h.size(m, arg)
		h.op = fmt.Sprintf("op %d: %s.ReadFrom(%d bytes) [variant %d]", i, m.name, n, variant)
		h.readFrom(m, h.data(n), variant, arg&1 == 1)
	case opPipeWriteTo:
		h.op = fmt.Sprintf("op %d: %s.WriteTo [variant %d, limit %d]", i, m.name, variant, arg)
		h.writeTo(m, variant, arg)
	case opPipeTee:
		n := h.size(m, arg)
		h.op = fmt.Sprintf("op %d: %s.Tee(%s, %d) [variant %d]", i, m.name, q.name, n, variant)
		h.tee(m, q, n, variant)
	case opPipeSetSize:
		n := h.pipeSize(m, arg)
		h.op = fmt.Sprintf("op %d: %s.SetSize(%d)", i, m.name, n)
		h.setSize(m, n)
	case opPipeReadDeadline, opPipeWriteDeadline:
		read, clear := code == opPipeReadDeadline, variant&1 == 1
		h.op = fmt.Sprintf("op %d: %s deadline (read %v, clear %v)", i, m.name, read, clear)
		h.deadline(m, read, clear)
	case opPipeCloseWrite:
		h.op = fmt.Sprintf("op %d: %s.CloseWrite", i, m.name)
		err := m.p.CloseWrite()
		h.check("CloseWrite", 0, err, 0, ifThen(m.closed || m.writeClosed, os.ErrClosed))
		m.writeClosed = true
	case opPipeClose:
		h.op = fmt.Sprintf("op %d: %s.Close", i, m.name)
		err := m.p.Close()
		h.check("Close", 0, err, 0, ifThen(m.closed, os.ErrClosed))
		m.closed = true
	}
	h.checkState()
}

func ifThen(c bool, err error) error {
	if c {
		return err
	}
	return nil
}

// check compares an operation's count and error with the model's: want nil
// is no error, io.EOF is io.EOF itself, any other error is matched with
// errors.Is.
func (h *pipeFuzz) check(what string, n int64, err error, wantN int64, want error) bool {
	h.t.Helper()
	ok := n == wantN
	switch want {
	case nil, io.EOF:
		ok = ok && err == want
	default:
		ok = ok && errors.Is(err, want)
	}
	if !ok {
		h.t.Errorf("%s: %s = %d, %v; want %d, %v", h.op, what, n, err, wantN, want)
	}
	return ok
}

// checkState compares Size and Buffered of both pipes with the model.
func (h *pipeFuzz) checkState() {
	h.t.Helper()
	for _, m := range h.pipes {
		size, buffered := m.size, len(m.data)
		if !spliceSupported {
			size, buffered = 64<<10, 0
		}
		if m.closed {
			size, buffered = 0, 0
		}
		if got := m.p.Size(); got != size {
			h.t.Errorf("after %s: %s.Size() = %d; want %d", h.op, m.name, got, size)
		}
		if got := m.p.Buffered(); got != buffered {
			h.t.Errorf("after %s: %s.Buffered() = %d; want %d", h.op, m.name, got, buffered)
		}
	}
}

// checkBytes compares bytes an operation moved with those the model expects.
func (h *pipeFuzz) checkBytes(what string, want, got []byte) {
	h.t.Helper()
	if !bytes.Equal(want, got) {
		h.t.Errorf("%s: %s: %d bytes, want %d (same prefix: %d bytes)", h.op, what, len(got), len(want), commonPrefix(want, got))
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

type opResult struct {
	n   int64
	err error
}

// call runs op in a goroutine and waits for it; an operation the model says
// cannot block that still has not returned after pipeOpTimeout fails the
// test (the pipes are closed to unblock it).
func (h *pipeFuzz) call(op func() (int64, error)) opResult {
	h.t.Helper()
	r, _ := h.blocking(op, nil, nil)
	return r
}

// blocking runs op in a goroutine of its own. Once ready reports true (nil:
// at once) and the goroutine is parked in Go's poller, it calls wake (which
// must make op return) and reports woke. An op that neither returns nor
// parks within pipeOpTimeout fails the test.
func (h *pipeFuzz) blocking(op func() (int64, error), ready func() bool, wake func()) (r opResult, woke bool) {
	h.t.Helper()
	ids, done := make(chan uint64, 1), make(chan opResult, 1)
	go func() {
		ids <- goid()
		n, err := op()
		done <- opResult{n, err}
	}()
	id := <-ids
	timeout := time.NewTimer(pipeOpTimeout)
	defer timeout.Stop()
	for pause := time.Microsecond; ; pause = min(2*pause, time.Millisecond) {
		if wake == nil || woke {
			select {
			case r := <-done:
				return r, woke
			case <-timeout.C:
			}
		} else {
			select {
			case r := <-done:
				return r, woke
			case <-timeout.C:
			case <-time.After(pause):
				if (ready == nil || ready()) && h.parked(id) {
					wake()
					woke = true
					timeout.Reset(pipeOpTimeout)
				}
				continue
			}
		}
		// Timed out: close everything to unblock it, and fail.
		for _, m := range h.pipes {
			m.p.Close()
		}
		select {
		case r = <-done:
		case <-time.After(pipeOpTimeout):
		}
		h.t.Fatalf("%s: the operation neither returned nor blocked within %v (woken %v; after Close it returned %d, %v)", h.op, pipeOpTimeout, woke, r.n, r.err)
	}
}

// parked reports whether goroutine id is parked in Go's poller.
func (h *pipeFuzz) parked(id uint64) bool {
	n := runtime.Stack(h.stack, true)
	for n == len(h.stack) {
		h.stack = make([]byte, 2*len(h.stack))
		n = runtime.Stack(h.stack, true)
	}
	head := fmt.Appendf(nil, "goroutine %d ", id)
	for _, g := range bytes.Split(h.stack[:n], []byte("\n\n")) {
		if line, _, _ := bytes.Cut(g, []byte("\n")); bytes.HasPrefix(line, head) {
			_, status, _ := bytes.Cut(line, []byte("["))
			return bytes.HasPrefix(status, []byte("IO wait"))
		}
	}
	return false
}

// goid returns the calling goroutine's id, from its stack's header.
func goid() uint64 {
	var buf [64]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	b, _, _ = bytes.Cut(b, []byte(" "))
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("goid: " + err.Error())
	}
	return id
}

// drain starts a reader that takes exactly n bytes from m; the function it
// returns waits for them (complete: all must come) or stops it with a read
// deadline, and returns what it read.
func (h *pipeFuzz) drain(m *pipeModel, n int) func(complete bool) []byte {
	buf := make([]byte, n)
	done := make(chan int, 1)
	go func() {
		k, _ := io.ReadFull(m.p, buf)
		done <- k
	}()
	return func(complete bool) []byte {
		h.t.Helper()
		if !complete {
			m.p.Reader().SetReadDeadline(pastDeadline)
		}
		var k int
		select {
		case k = <-done:
		case <-time.After(pipeOpTimeout):
			m.p.Reader().SetReadDeadline(pastDeadline)
			k = <-done
			h.t.Errorf("%s: the reader got %d of %d bytes in %v", h.op, k, n, pipeOpTimeout)
		}
		m.p.Reader().SetReadDeadline(time.Time{})
		return buf[:k]
	}
}

// wakeBy returns a wake function: a deadline in the past on m's read or
// write end, or Close.
func (h *pipeFuzz) wakeBy(m *pipeModel, closing, read bool) (wake func(), want error) {
	switch {
	case closing:
		return func() { m.p.Close() }, os.ErrClosed
	case read:
		return func() { m.p.Reader().SetReadDeadline(pastDeadline) }, os.ErrDeadlineExceeded
	}
	return func() { m.p.Writer().SetWriteDeadline(pastDeadline) }, os.ErrDeadlineExceeded
}

// woken updates the model after an operation woken by wakeBy.
func (h *pipeFuzz) woken(m *pipeModel, closing, read bool) {
	h.t.Helper()
	var err error
	switch {
	case closing:
		m.closed = true
	case read:
		err = m.p.Reader().SetReadDeadline(time.Time{})
	default:
		err = m.p.Writer().SetWriteDeadline(time.Time{})
	}
	if err != nil {
		h.t.Errorf("%s: clearing the deadline: %v", h.op, err)
	}
}

func (h *pipeFuzz) write(m *pipeModel, b []byte, variant int) {
	n := int64(len(b))
	write := func() (int64, error) { k, err := m.p.Write(b); return int64(k), err }
	switch {
	case m.closed || m.writeClosed:
		r := h.call(write)
		h.check("Write", r.n, r.err, 0, os.ErrClosed)
	case m.wdl:
		r := h.call(write)
		h.check("Write", r.n, r.err, 0, os.ErrDeadlineExceeded)
	case variant&4 != 0 && !m.rdl:
		// A concurrent reader makes room: Write waits for it and writes all.
		want := append(append([]byte(nil), m.data...), b...)
		finish := h.drain(m, len(want))
		r := h.call(write)
		ok := h.check("Write with a reader", r.n, r.err, n, nil)
		h.checkBytes("the reader got", want, finish(ok))
		m.empty()
	case m.fits(len(b), 0):
		r := h.call(write)
		h.check("Write", r.n, r.err, n, nil)
		m.pushWrite(b)
	case !h.deadlines:
		// Nothing could wake it.
	default:
		fit := -1
		if m.exact {
			fit = m.write(len(b), false)
		}
		closing := variant&1 == 1
		wake, wantErr := h.wakeBy(m, closing, false)
		r, woke := h.blocking(write, nil, wake)
		switch {
		case !woke:
			if fit >= 0 {
				h.t.Errorf("%s: Write = %d, %v without waiting; want it to wait after %d bytes", h.op, r.n, r.err, fit)
			} else if h.check("Write", r.n, r.err, n, nil) {
				m.pushWrite(b)
			}
			return
		case fit >= 0:
			h.check("Write woken", r.n, r.err, int64(fit), wantErr)
		case r.n < 0 || r.n >= n || !errors.Is(r.err, wantErr):
			h.t.Errorf("%s: Write woken = %d, %v; want fewer than %d bytes and %v", h.op, r.n, r.err, n, wantErr)
		}
		if r.n >= 0 && r.n <= n {
			if fit >= 0 && int(r.n) == fit {
				m.pushWrite(b[:fit])
			} else {
				m.pushOther(b[:r.n], int(r.n+int64(pageSize)-1)/pageSize+1)
			}
		}
		h.woken(m, closing, false)
	}
}

func (h *pipeFuzz) read(m *pipeModel, n, variant int) {
	buf := make([]byte, n)
	read := func() (int64, error) { k, err := m.p.Read(buf); return int64(k), err }
	switch {
	case m.closed:
		r := h.call(read)
		h.check("Read", r.n, r.err, 0, os.ErrClosed)
	case n == 0:
		r := h.call(read)
		h.check("Read", r.n, r.err, 0, nil)
	case m.rdl:
		r := h.call(read)
		h.check("Read", r.n, r.err, 0, os.ErrDeadlineExceeded)
	case len(m.data) > 0:
		r := h.call(read)
		want := min(n, len(m.data))
		switch {
		case linuxPipes:
			h.check("Read", r.n, r.err, int64(want), nil)
		case r.n < 1 || r.n > int64(want) || r.err != nil:
			h.t.Errorf("%s: Read = %d, %v; want 1 to %d bytes, nil", h.op, r.n, r.err, want)
		}
		if r.n >= 0 && r.n <= int64(want) {
			h.checkBytes("Read", m.data[:r.n], buf[:r.n])
			m.consume(int(r.n))
		}
	case m.writeClosed:
		r := h.call(read)
		h.check("Read", r.n, r.err, 0, io.EOF)
	case !h.deadlines:
	default:
		closing := variant&1 == 1
		wake, wantErr := h.wakeBy(m, closing, true)
		r, woke := h.blocking(read, nil, wake)
		if !woke {
			h.t.Errorf("%s: Read of an empty pipe = %d, %v; want it to wait", h.op, r.n, r.err)
		}
		h.check("Read woken", r.n, r.err, 0, wantErr)
		h.woken(m, closing, true)
	}
}

// ReadFrom's source kinds, by variant&3.
var pipeSources = [...]testutil.Kind{testutil.File, testutil.TCP, testutil.Reader, testutil.LimitedFile}

func (h *pipeFuzz) readFrom(m *pipeModel, data []byte, variant int, closing bool) {
	kind := pipeSources[variant&3]
	src := testutil.OpenSource(h.t, kind, data)
	n := int64(len(data))
	readFrom := func() (int64, error) { return m.p.ReadFrom(src.R) }
	// slots bounds the buffers the bytes take: a page each (and one more
	// for a chunk that ends mid-page) from a file or by write(2); a socket's
	// may be as small as a byte.
	slots := func(k int64) int {
		if kind == testutil.TCP {
			return int(k)
		}
		return int(k+int64(pageSize)-1)/pageSize + 1
	}
	// after checks what a ReadFrom that moved k bytes left in src.
	after := func(k int64, complete bool) {
		if lr, ok := src.R.(*io.LimitedReader); ok && (spliceSupported || complete) && lr.N != n-k {
			h.t.Errorf("%s: LimitedReader.N = %d after %d of %d bytes", h.op, lr.N, k, n)
		}
		if complete {
			h.checkBytes("bytes left in the source", src.Extra, src.Rest())
		}
	}
	switch {
	case kind.Limited() && n == 0:
		// An exhausted LimitedReader: nothing to do, even once closed, as
		// for io.Copy into an *os.File.
		r := h.call(readFrom)
		h.check("ReadFrom", r.n, r.err, 0, nil)
		after(0, true)
	case m.closed || m.writeClosed:
		r := h.call(readFrom)
		h.check("ReadFrom", r.n, r.err, 0, os.ErrClosed)
		// It fails before it takes a byte from src.
		h.checkBytes("bytes left in the source", append(append([]byte(nil), data...), src.Extra...), src.Rest())
	case m.wdl:
		// It fails when it first writes; a loop that reads first finds an
		// empty source at EOF before that.
		r := h.call(readFrom)
		want := error(os.ErrDeadlineExceeded)
		if n == 0 && r.err == nil {
			want = nil
		}
		h.check("ReadFrom", r.n, r.err, 0, want)
	case variant&4 != 0 && !m.rdl:
		want := append(append([]byte(nil), m.data...), data...)
		finish := h.drain(m, len(want))
		r := h.call(readFrom)
		ok := h.check("ReadFrom with a reader", r.n, r.err, n, nil)
		h.checkBytes("the reader got", want, finish(ok))
		m.empty()
		after(n, ok)
	case m.fits(len(data), 1) && (kind != testutil.TCP || len(data) <= m.freeLB()):
		r := h.call(readFrom)
		if h.check("ReadFrom", r.n, r.err, n, nil) {
			m.pushOther(data, slots(n))
			after(n, true)
		}
	case !h.deadlines:
	default:
		wake, wantErr := h.wakeBy(m, closing, false)
		free := m.freeLB()
		r, woke := h.blocking(readFrom, nil, wake)
		if woke && closing && !spliceSupported && knownBugPortableReadFromClose && errors.Is(r.err, syscall.EPIPE) {
			r.err = os.ErrClosed
		}
		if woke && r.n == n && kind == testutil.TCP && errors.Is(r.err, wantErr) {
			// All of it fit (a socket's pages fill more than a page a
			// slot), and it waited for the socket's end.
			r.err = nil
		}
		switch {
		case !woke || r.err == nil && kind == testutil.TCP:
			// It did not wait, or waited for the socket and then found
			// room.
			if h.check("ReadFrom", r.n, r.err, n, nil) {
				m.pushOther(data, slots(n))
				after(n, true)
			}
		case r.n < 0 || r.n >= n || !errors.Is(r.err, wantErr):
			h.t.Errorf("%s: ReadFrom woken = %d, %v; want fewer than %d bytes and %v", h.op, r.n, r.err, n, wantErr)
		case kind != testutil.TCP && r.n < min(n, int64(free*pageSize)):
			h.t.Errorf("%s: ReadFrom woken = %d, %v; want at least the %d free pages filled", h.op, r.n, r.err, free)
		}
		if woke && r.err != nil && r.n >= 0 && r.n < n {
			m.pushOther(data[:r.n], slots(r.n))
			after(r.n, false)
		}
		if woke {
			h.woken(m, closing, false)
		}
	}
}

// pipeDst is a WriteTo destination: what it received so far, and all of it
// once the WriteTo is over.
type pipeDst struct {
	w        io.Writer
	failAt   int // the bytes it accepts before it fails; -1: never
	failErr  error
	received func() int
	bytes    func() []byte
	file     *os.File
}

// lockedBuffer is a bytes.Buffer that a WriteTo writes while the test reads
// its length.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// newPipeDst builds WriteTo's destination of the variant's kind: a file, a
// TCP socket, a plain writer, a FailWriter failing or writing short after
// limit bytes.
func (h *pipeFuzz) newPipeDst(kind, limit int) *pipeDst {
	t := h.t
	d := &pipeDst{failAt: -1}
	switch kind {
	case 0:
		f := testutil.TempFile(t, nil)
		d.w, d.file = f, f
		d.received = func() int {
			fi, err := f.Stat()
			if err != nil {
				return -1
			}
			return int(fi.Size())
		}
		d.bytes = func() []byte {
			b, err := os.ReadFile(f.Name())
			if err != nil {
				t.Errorf("%s: reading the file back: %v", h.op, err)
			}
			return b
		}
	case 1:
		conn, peer := testutil.TCPPair(t)
		got := new(lockedBuffer)
		done := make(chan error, 1)
		go func() {
			_, err := io.Copy(got, peer)
			done <- err
		}()
		var once sync.Once
		d.w, d.received = conn, got.Len
		d.bytes = func() []byte {
			once.Do(func() {
				conn.CloseWrite()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("%s: the TCP peer: %v", h.op, err)
					}
				case <-time.After(pipeOpTimeout):
					peer.Close()
					<-done
					t.Errorf("%s: the TCP peer saw no EOF in %v", h.op, pipeOpTimeout)
				}
			})
			return got.Bytes()
		}
	case 2:
		got := new(lockedBuffer)
		d.w, d.received, d.bytes = struct{ io.Writer }{got}, got.Len, got.Bytes
	default:
		fw := &testutil.FailWriter{Limit: limit, Short: kind == 4}
		d.w, d.failAt, d.failErr = fw, limit, testutil.ErrInjected
		if fw.Short {
			d.failErr = io.ErrShortWrite
		}
		d.received = func() int { return len(fw.Bytes()) }
		d.bytes = fw.Bytes
	}
	return d
}

func (h *pipeFuzz) writeTo(m *pipeModel, variant, limit int) {
	kind := variant
	if variant >= 5 {
		kind = variant - 5
	}
	if kind >= 3 {
		limit = h.size(m, limit)
	}
	d := h.newPipeDst(kind, limit)
	writeTo := func() (int64, error) { return m.p.WriteTo(d.w) }
	held := int64(len(m.data))
	switch {
	case m.closed:
		r := h.call(writeTo)
		h.check("WriteTo", r.n, r.err, 0, os.ErrClosed)
	case m.rdl:
		r := h.call(writeTo)
		h.check("WriteTo", r.n, r.err, 0, os.ErrDeadlineExceeded)
	case d.failAt >= 0 && d.failAt < len(m.data):
		// dst fails before the pipe runs dry: it keeps what dst refused.
		lossy := !spliceSupported && knownBugPortableWriteToLoses
		if lossy && !m.writeClosed && !h.deadlines {
			return // what it lost could not be read back
		}
		r := h.call(writeTo)
		h.check("WriteTo into a failing writer", r.n, r.err, int64(d.failAt), d.failErr)
		h.checkBytes("the writer got", m.data[:d.failAt], d.bytes())
		if lossy {
			h.resync(m, m.data[d.failAt:])
		} else {
			m.consume(d.failAt)
		}
	case m.writeClosed:
		r := h.call(writeTo)
		h.check("WriteTo", r.n, r.err, held, nil)
		h.checkDst(d, m.data, held)
		m.empty()
	case !h.deadlines:
	default:
		// With its write end open the pipe never ends: once dst has
		// every byte and WriteTo waits, wake it.
		closing := variant >= 5
		wake, wantErr := h.wakeBy(m, closing, true)
		r, woke := h.blocking(writeTo, func() bool { return d.received() == len(m.data) }, wake)
		if !woke {
			h.t.Errorf("%s: WriteTo with the write end open = %d, %v; want it to wait", h.op, r.n, r.err)
		}
		h.check("WriteTo woken", r.n, r.err, held, wantErr)
		h.checkDst(d, m.data, held)
		m.empty()
		h.woken(m, closing, true)
	}
}

// checkDst compares what dst received with want, and a file's offset with n.
func (h *pipeFuzz) checkDst(d *pipeDst, want []byte, n int64) {
	h.t.Helper()
	if d.file != nil {
		if off, err := d.file.Seek(0, io.SeekCurrent); off != n || err != nil {
			h.t.Errorf("%s: the file's offset is %d, %v; want %d", h.op, off, err, n)
		}
	}
	h.checkBytes("the destination got", want, d.bytes())
}

// resync reads what m still holds, which must be a suffix of want (a lossy
// operation dropped its front), and empties the model.
func (h *pipeFuzz) resync(m *pipeModel, want []byte) {
	h.t.Helper()
	var got []byte
	readAll := func() (int64, error) {
		var err error
		got, err = io.ReadAll(m.p)
		return int64(len(got)), err
	}
	if m.writeClosed {
		h.call(readAll)
	} else {
		wake, _ := h.wakeBy(m, false, true)
		h.blocking(readAll, nil, wake)
		h.woken(m, false, true)
	}
	if lost := len(want) - len(got); lost < 0 || lost > 32<<10 || !bytes.Equal(got, want[lost:]) {
		h.t.Errorf("%s: the pipe holds %d bytes; want the last up to 32 KiB short of %d", h.op, len(got), len(want))
	}
	m.empty()
}

func (h *pipeFuzz) tee(m, q *pipeModel, n, variant int) {
	tee := func() (int64, error) { return m.p.Tee(q.p, n) }
	direct := func(want error) {
		r := h.call(tee)
		h.check("Tee", r.n, r.err, 0, want)
	}
	// tee(2) waits for bytes in m, then for a free slot in q (even at m's
	// EOF); the pump, when neither is ready, waits for q first, and while
	// it waits for one side only that side's deadline applies (Pipe's doc).
	qRoom := q.freeLB() > 0
	qFull := q.exact && !qRoom
	switch {
	case !spliceSupported:
		direct(errors.ErrUnsupported)
	case n <= 0:
		direct(nil)
	case m.closed:
		direct(os.ErrClosed)
	case m.rdl:
		direct(os.ErrDeadlineExceeded)
	case q.closed || q.writeClosed:
		direct(os.ErrClosed)
	case q.wdl:
		direct(os.ErrDeadlineExceeded)
	case len(m.data) == 0 && m.writeClosed && qRoom:
		direct(io.EOF)
	case len(m.data) == 0 && qRoom:
		// It waits for bytes in m.
		if !h.deadlines {
			return
		}
		closing := variant&1 == 1
		wake, wantErr := h.wakeBy(m, closing, true)
		r, woke := h.blocking(tee, nil, wake)
		if !woke {
			h.t.Errorf("%s: Tee from an empty pipe = %d, %v; want it to wait", h.op, r.n, r.err)
		}
		h.check("Tee woken", r.n, r.err, 0, wantErr)
		h.woken(m, closing, true)
	case len(m.data) == 0:
		// q may be full too: it waits for whichever is not ready; both
		// deadlines wake it.
		if !h.deadlines {
			return
		}
		r, woke := h.blocking(tee, nil, func() {
			m.p.Reader().SetReadDeadline(pastDeadline)
			q.p.Writer().SetWriteDeadline(pastDeadline)
		})
		switch {
		case qFull && !woke:
			h.t.Errorf("%s: Tee into a full pipe = %d, %v; want it to wait", h.op, r.n, r.err)
		case m.writeClosed && !qFull && r.err == io.EOF:
			h.check("Tee", r.n, r.err, 0, io.EOF)
		default:
			h.check("Tee woken", r.n, r.err, 0, os.ErrDeadlineExceeded)
		}
		if woke {
			h.woken(m, false, true)
			h.woken(q, false, false)
		}
	default:
		h.teeSome(m, q, n, variant)
	}
}

// teeSome runs a Tee from m, which holds bytes, into q.
func (h *pipeFuzz) teeSome(m, q *pipeModel, n, variant int) {
	tee := func() (int64, error) { return m.p.Tee(q.p, n) }
	// The bytes it may duplicate: exactly what link_pipe takes if both
	// rings are known, else at least one buffer's worth where q surely has
	// a free slot.
	kmin, kmax := 1, min(n, len(m.data))
	var bufs []pipeBuf
	if m.exact && q.exact {
		kmin, bufs = m.tee(q, n)
		kmax = kmin
	}
	if q.freeLB() == 0 {
		kmin = 0
	}
	var r opResult
	var woke bool
	var wantErr error
	switch {
	case kmin > 0:
		r = h.call(tee)
	case !h.deadlines:
		return
	default:
		// q may be full: Tee waits for room in q. Wake it by q's
		// deadline, by closing q, or by closing m first (Tee goes on
		// waiting for q, and then fails by q's deadline).
		closeQ, closeM := variant&3 == 1, variant&3 == 2
		var wake func()
		wake, wantErr = h.wakeBy(q, closeQ, false)
		if closeM {
			w := wake
			wake = func() {
				if err := m.p.Close(); err != nil {
					h.t.Errorf("%s: Close of the source: %v", h.op, err)
				}
				w()
			}
		}
		r, woke = h.blocking(tee, nil, wake)
		if woke {
			m.closed = m.closed || closeM
			h.woken(q, closeQ, false)
		}
		if woke && closeQ && knownBugTeeDstClose && errors.Is(r.err, syscall.EPIPE) {
			r.err = os.ErrClosed
		}
		if woke && closeM && knownBugClosedTeeDeadline && errors.Is(r.err, os.ErrClosed) {
			r.err = os.ErrDeadlineExceeded
		}
	}
	switch {
	case woke && kmax == 0:
		h.check("Tee into a full pipe, woken", r.n, r.err, 0, wantErr)
	case woke && r.err != nil:
		if !h.check("Tee woken", r.n, r.err, 0, wantErr) {
			return
		}
	case kmin == kmax:
		if !h.check("Tee", r.n, r.err, int64(kmin), nil) {
			return
		}
	case r.n < int64(max(kmin, 1)) || r.n > int64(kmax) || r.err != nil:
		h.t.Errorf("%s: Tee = %d, %v; want %d to %d bytes, nil", h.op, r.n, r.err, max(kmin, 1), kmax)
		return
	}
	if r.n <= 0 || q.closed {
		return
	}
	b := m.data[:r.n]
	if bufs != nil && int(r.n) == kmin {
		q.bufs = bufs
		q.data = append(q.data, b...)
	} else {
		q.pushOther(b, min(int(r.n), m.usedUB()))
	}
}

// knownBugTeeDstClose: a Tee waiting for room in dst and woken by dst's
// Close may fail with EPIPE (dst's read end is closed first) instead of an
// error matching os.ErrClosed, as Pipe's doc says: Tee shapes the error by
// p's state only. Reported; set it to false once Tee applies dst's too.
const knownBugTeeDstClose = true

// knownBugClosedTeeDeadline: a Tee waiting for room in dst, after Close of
// its source and then dst's deadline, fails with os.ErrClosed (p.closing
// replaces every error once p is closed). Pipe's doc said "fails with
// os.ErrClosed when that side becomes ready, or with that side's deadline";
// it now says os.ErrClosed in both cases, which this tolerance accepts.
const knownBugClosedTeeDeadline = true

// knownBugPortableReadFromClose: the portable ReadFrom, waiting for room and
// woken by Close, fails with EPIPE (Close closes the read end first), not
// with an error matching os.ErrClosed as Pipe's doc says: it does not shape
// its error with p.closing as Write and the Linux ReadFrom do. Reported; set
// it to false once fixed.
const knownBugPortableReadFromClose = true

// knownBugPortableWriteToLoses: the portable WriteTo reads a chunk (up to 32
// KiB) from the pipe before it writes it, so what a failing dst refused of
// that chunk is lost, where Pipe's doc (the same on every system) says "When
// dst fails, WriteTo leaves the bytes it did not deliver in the pipe".
// Reported; set it to false once the doc or the code changes.
// Pipe's doc now says so ("on Linux; elsewhere ... lost").
const knownBugPortableWriteToLoses = true

// roundPipe is the kernel's round_pipe_size: a power of two pages.
func roundPipe(n int) int {
	size := pageSize
	for size < n {
		size *= 2
	}
	return size
}

func (h *pipeFuzz) setSize(m *pipeModel, n int) {
	got, err := m.p.SetSize(n)
	old := m.size
	if m.closed || !spliceSupported {
		old = 0
		if !m.closed {
			old = 64 << 10
		}
	}
	switch {
	case !spliceSupported:
		h.check("SetSize", int64(got), err, int64(old), errors.ErrUnsupported)
	case n <= 0:
		h.check("SetSize", int64(got), err, int64(old), syscall.EINVAL)
	case m.closed:
		h.check("SetSize", int64(got), err, 0, os.ErrClosed)
	default:
		w := roundPipe(n)
		slots := w / pageSize
		occupiedLB := m.usedUB()
		if !m.exact {
			occupiedLB = min(len(m.data), 1)
		}
		switch {
		case err == nil:
			// Granted: it must hold what the ring holds.
			if !h.check("SetSize", int64(got), err, int64(w), nil) || slots < occupiedLB {
				h.t.Errorf("%s: granted %d bytes (%d slots) for a ring of at least %d buffers", h.op, got, slots, occupiedLB)
			}
			m.size, m.slots = w, slots
		case errors.Is(err, syscall.EBUSY) && slots < m.usedUB():
			// Refused: shrinking below the buffers in use.
			h.check("SetSize", int64(got), err, int64(old), syscall.EBUSY)
		case errors.Is(err, syscall.EPERM) && w > m.size:
			// Refused: growth past pipe-max-size or the user's quota.
			h.check("SetSize", int64(got), err, int64(old), syscall.EPERM)
		default:
			h.t.Errorf("%s: SetSize = %d, %v; want %d, nil (the ring holds %d to %d buffers of %d)", h.op, got, err, w, occupiedLB, m.usedUB(), m.slots)
		}
	}
}

func (h *pipeFuzz) deadline(m *pipeModel, read, clear bool) {
	t := pastDeadline
	if clear {
		t = time.Time{}
	}
	var err error
	if read {
		err = m.p.Reader().SetReadDeadline(t)
	} else {
		err = m.p.Writer().SetWriteDeadline(t)
	}
	switch {
	case m.closed || !read && m.writeClosed:
		// As os.File says it: "use of closed file".
		if err == nil {
			h.t.Errorf("%s: setting a deadline on a closed end succeeded", h.op)
		}
	case !h.deadlines:
		if !errors.Is(err, os.ErrNoDeadline) {
			h.t.Errorf("%s: %v; want os.ErrNoDeadline", h.op, err)
		}
	case err != nil:
		h.t.Errorf("%s: %v", h.op, err)
	case read:
		m.rdl = !clear
	default:
		m.wdl = !clear
	}
}

// finish reads what every open pipe holds, to EOF, and requires the model's
// bytes, then closes it.
func (h *pipeFuzz) finish() {
	h.op = "finish"
	for _, m := range h.pipes {
		if m.closed {
			continue
		}
		if m.rdl {
			if err := m.p.Reader().SetReadDeadline(time.Time{}); err != nil {
				h.t.Errorf("%s: %v", m.name, err)
			}
		}
		if !m.writeClosed {
			if err := m.p.CloseWrite(); err != nil {
				h.t.Errorf("%s.CloseWrite: %v", m.name, err)
			}
		}
		var got []byte
		r := h.call(func() (int64, error) {
			var err error
			got, err = io.ReadAll(m.p)
			return int64(len(got)), err
		})
		h.check("ReadAll of "+m.name, r.n, r.err, int64(len(m.data)), nil)
		h.checkBytes(m.name+" held", m.data, got)
		if err := m.p.Close(); err != nil {
			h.t.Errorf("%s.Close: %v", m.name, err)
		}
	}
}
