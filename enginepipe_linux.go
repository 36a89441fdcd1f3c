//go:build !splice_portable

package splice

import (
	"io"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// An enginePipe is the engine's own pipe: raw non-blocking fds that never enter Go's
// poller (the pumps know when it is ready), and the two pumps that fill and
// drain it.
type enginePipe struct {
	r, w    int
	size    int
	in, out *pump
	cleanup runtime.Cleanup
}

// pipePool holds enginePipes of defaultPipeSize, empty. A pipe that may hold bytes
// is closed instead of being put back. A pooled pipe dropped by the pool is
// closed by its cleanup.
var pipePool sync.Pool

// newEnginePipe makes a pipe, sized to size on a best-effort basis.
func newEnginePipe(size int) (*enginePipe, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	cp := &enginePipe{r: fds[0], w: fds[1], in: newPump(), out: newPump()}
	got, err := unix.FcntlInt(uintptr(cp.w), unix.F_SETPIPE_SZ, size)
	if err != nil {
		// Refused (EPERM past the user's quota): keep what the kernel gave.
		got, err = unix.FcntlInt(uintptr(cp.w), unix.F_GETPIPE_SZ, 0)
		if err != nil {
			got = 1 << 16
		}
	}
	cp.size = got
	cp.in.dst = endpoint{engine: true, fd: cp.w, kind: kindPipe, blocking: no}
	cp.in.once = true
	cp.out.src = endpoint{engine: true, fd: cp.r, kind: kindPipe, blocking: no}
	cp.cleanup = runtime.AddCleanup(cp, closeFDs, fds)
	return cp, nil
}

func closeFDs(fds [2]int) {
	unix.Close(fds[0])
	unix.Close(fds[1])
}

// close closes the pipe now rather than when it is collected.
func (cp *enginePipe) close() {
	cp.cleanup.Stop()
	closeFDs([2]int{cp.r, cp.w})
}

// testHookGetPipe, set by tests, counts the engine pipes copies take.
var testHookGetPipe func()

// getPipe returns an empty pipe: a pooled one for the default size, a new one
// for a Copier with its own PipeSize. It returns nil if no pipe can be made.
func (c *Copier) getPipe() *enginePipe {
	if testHookGetPipe != nil {
		testHookGetPipe()
	}
	if c.pooledSize() {
		if cp, ok := pipePool.Get().(*enginePipe); ok {
			return cp
		}
	}
	size := defaultPipeSize()
	if c.PipeSize > 0 {
		size = clampPipeSize(c.PipeSize)
	}
	cp, err := newEnginePipe(size)
	if err != nil {
		return nil
	}
	return cp
}

// putPipe pools cp if it is empty and of the pooled size, else closes it.
func (c *Copier) putPipe(cp *enginePipe, empty bool) {
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
func (cp *enginePipe) drain(n int64) ([]byte, error) {
	return cp.readFull(make([]byte, n))
}

// readFull reads len(buf) bytes out of the pipe, which holds at least that many.
func (cp *enginePipe) readFull(buf []byte) ([]byte, error) {
	for got := 0; got < len(buf); {
		m, err := ignoringEINTR(func() (int, error) { return unix.Read(cp.r, buf[got:]) })
		switch {
		case err != nil:
			return buf[:got], os.NewSyscallError("read", err)
		case m == 0:
			return buf[:got], io.ErrUnexpectedEOF
		}
		got += m
	}
	return buf, nil
}
