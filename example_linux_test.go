//go:build !splice_portable

package splice_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
)

// Splice moves bytes between raw fds, one of them a pipe, without copying them
// through user space. Reach an *os.File's fd through its RawConn: Fd would switch
// the file to blocking mode.
func ExampleSplice() {
	f, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	f.WriteString("hello, splice\n")

	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		log.Fatal(err)
	}
	defer unix.Close(pipe[0])
	defer unix.Close(pipe[1])

	rc, err := f.SyscallConn()
	if err != nil {
		log.Fatal(err)
	}
	off := int64(7) // splice from offset 7; the file's own offset stays at its end
	var n int64
	rc.Control(func(fd uintptr) {
		n, err = splice.Splice(int(fd), &off, pipe[1], nil, 1<<20, splice.Move)
	})
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, n)
	unix.Read(pipe[0], buf)
	fmt.Printf("%d bytes, offset now %d: %s", n, off, buf)
	// Output: 7 bytes, offset now 14: splice
}

// Tee duplicates a pipe's contents into another pipe without consuming them.
func ExampleTee() {
	var a, b [2]int
	if err := unix.Pipe2(a[:], unix.O_CLOEXEC); err != nil {
		log.Fatal(err)
	}
	if err := unix.Pipe2(b[:], unix.O_CLOEXEC); err != nil {
		log.Fatal(err)
	}
	defer func() {
		for _, fd := range []int{a[0], a[1], b[0], b[1]} {
			unix.Close(fd)
		}
	}()
	unix.Write(a[1], []byte("twice"))
	n, err := splice.Tee(a[0], b[1], 100, 0)
	if err != nil {
		log.Fatal(err)
	}
	one, two := make([]byte, 5), make([]byte, 5)
	unix.Read(a[0], one)
	unix.Read(b[0], two)
	fmt.Println(n, string(one), string(two))
	// Output: 5 twice twice
}

// Vmsplice hands memory to a pipe without copying it. The memory is shared with
// the pipe until the consumer has read it: do not reuse it before then.
func ExampleVmsplice() {
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		log.Fatal(err)
	}
	defer unix.Close(pipe[0])
	defer unix.Close(pipe[1])
	header, body := []byte("HEADER "), []byte("body\n")
	n, err := splice.Vmsplice(pipe[1], [][]byte{header, body}, 0)
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, n)
	unix.Read(pipe[0], buf) // the consumer copies: now header and body may be reused
	fmt.Printf("%d: %s", n, buf)
	// Output: 12: HEADER body
}

// (*Pipe).Tee is the building block of a zero-copy fan-out: duplicate what is
// buffered into a second pipe, then consume it from the first.
func ExamplePipe_Tee() {
	src, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	copyPipe, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer copyPipe.Close()

	src.Write([]byte("one stream, two readers\n"))
	src.CloseWrite()
	for {
		n, err := src.Tee(copyPipe, 1<<20)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		io.CopyN(os.Stdout, src, n) // consume what was duplicated
	}
	copyPipe.CloseWrite()
	copyPipe.WriteTo(os.Stdout)
	// Output:
	// one stream, two readers
	// one stream, two readers
}

// Plan tells which path Copy takes for a pair, without moving data.
func ExamplePlan() {
	f, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	fmt.Println(splice.Plan(p, f))
	fmt.Println(splice.Plan(f, f))
	fmt.Println(splice.Plan(io.Discard, f))
	// Output:
	// splice
	// copy_file_range
	// read/write
}

// A generator, like yes(1), feeding another process through a pipe: the
// process reads it with read(2), so the Writer may map its buffer into the
// pipe; Method tells whether it does.
func ExampleWriter_generator() {
	r, pw, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command("wc", "-c")
	cmd.Stdin = r
	var count strings.Builder
	cmd.Stdout = &count
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	r.Close()

	w, err := splice.NewWriter(pw)
	if err != nil {
		log.Fatal(err)
	}
	for range 1 << 20 {
		w.WriteString("y\n")
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	pw.Close()
	if err := cmd.Wait(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.TrimSpace(count.String()), "bytes")
	// Output: 2097152 bytes
}

// NonBlock makes a raw call return EAGAIN instead of blocking the thread: here
// a tee from a pipe that holds nothing yet.
func ExampleFlags() {
	var a, b [2]int
	if err := unix.Pipe2(a[:], unix.O_CLOEXEC); err != nil {
		log.Fatal(err)
	}
	if err := unix.Pipe2(b[:], unix.O_CLOEXEC); err != nil {
		log.Fatal(err)
	}
	defer func() {
		for _, fd := range []int{a[0], a[1], b[0], b[1]} {
			unix.Close(fd)
		}
	}()
	_, err := splice.Tee(a[0], b[1], 1<<20, splice.NonBlock)
	fmt.Println(errors.Is(err, syscall.EAGAIN))
	// Output: true
}

// A pipe sized to its job: shrunk to a page, its producer is held back as
// soon as a page is waiting; grown, both sides wake up less often. The kernel
// rounds a size up to a power of two pages, refuses to shrink a pipe below what
// it holds, and refuses unprivileged growth past MaxPipeSize or the user's quota.
func ExamplePipe_SetSize() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	page := os.Getpagesize()

	granted, err := p.SetSize(page + 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rounded up to two pages:", granted == 2*page)

	if _, err := p.Write(make([]byte, 2*page)); err != nil {
		log.Fatal(err)
	}
	_, err = p.SetSize(page) // two pages are buffered
	fmt.Println("busy:", errors.Is(err, syscall.EBUSY), p.Size() == 2*page)

	_, err = p.SetSize(splice.MaxPipeSize())
	if err != nil && !errors.Is(err, syscall.EPERM) { // EPERM: the quota is spent
		log.Fatal(err)
	}
	fmt.Println("at least as big:", p.Size() >= 2*page)
	// Output:
	// rounded up to two pages: true
	// busy: true true
	// at least as big: true
}

// Buffered tells a producer how far its consumer lags behind: the bytes written
// into the pipe and not read yet.
func ExamplePipe_Buffered() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Write(make([]byte, 42)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Buffered())
	if _, err := p.Read(make([]byte, 10)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Buffered())
	// Output:
	// 42
	// 32
}

// Writer is the write end as an *os.File: here for a write deadline, so that
// a producer gives up on a consumer that stopped reading instead of waiting
// forever. The Write returns what fit in the pipe, and the deadline's error.
func ExamplePipe_Writer() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	if err := p.Writer().SetWriteDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		log.Fatal(err)
	}
	n, err := p.Write(make([]byte, 4*p.Size())) // nobody reads
	fmt.Println(errors.Is(err, os.ErrDeadlineExceeded), n == p.Size())
	// Output: true true
}
