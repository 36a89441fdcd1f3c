package splice_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"

	"github.com/splicekit/splice"
)

// A Pipe is a kernel buffer with Go methods: write into it, and move its contents
// to any writer. When the writer is an fd (here os.Stdout), WriteTo splices: the
// bytes go from one kernel buffer to the other without entering user space.
func ExampleNewPipe() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	go func() {
		io.Copy(p, strings.NewReader("hello from the kernel's buffer\n"))
		p.CloseWrite()
	}()
	if _, err := p.WriteTo(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output: hello from the kernel's buffer
}

// ReadFrom fills a pipe from a reader: from a file it splices, and an
// *io.LimitedReader around the file is honoured exactly.
func ExamplePipe_ReadFrom() {
	f, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	f.WriteString("first line\nsecond line\n")
	f.Seek(0, io.SeekStart)

	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	lr := &io.LimitedReader{R: f, N: 11}
	n, err := p.ReadFrom(lr)
	if err != nil {
		log.Fatal(err)
	}
	p.CloseWrite()
	got, err := io.ReadAll(p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes, %d left to read: %q\n", n, lr.N, got)
	// Output: 11 bytes, 0 left to read: "first line\n"
}

// Copy is io.Copy: here from a file into a pipe (one splice on Linux) and out of
// the pipe to standard output.
func ExampleCopy() {
	f, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	f.WriteString("copied without passing through the program\n")
	f.Seek(0, io.SeekStart)

	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	n, err := splice.Copy(p, f)
	p.CloseWrite()
	fmt.Println(n, err)
	splice.Copy(os.Stdout, p)
	// Output:
	// 43 <nil>
	// copied without passing through the program
}

// CopyN is io.CopyN: exactly n bytes, or io.EOF if the source ends first.
func ExampleCopyN() {
	var b strings.Builder
	n, err := splice.CopyN(&b, strings.NewReader("0123456789"), 4)
	fmt.Println(n, err, b.String())
	n, err = splice.CopyN(&b, strings.NewReader("xy"), 4)
	fmt.Println(n, err, b.String())
	// Output:
	// 4 <nil> 0123
	// 2 EOF 0123xy
}

// A Copier reports progress, and hands back what a failing destination did not
// take. (A source with a WriteTo method, such as *strings.Reader, keeps the bytes
// its destination refused: Copy calls that method, as io.Copy does.)
func ExampleCopier() {
	var got []string
	c := &splice.Copier{
		Progress:  func(n int64) { got = append(got, fmt.Sprint("progress ", n)) },
		Unwritten: func(b []byte) { got = append(got, fmt.Sprintf("unwritten %q", b)) },
	}
	dst := &limitedWriter{room: 5}
	n, err := c.Copy(dst, io.LimitReader(strings.NewReader("hello, world"), 100))
	fmt.Println(n, err)
	fmt.Println(strings.Join(got, "\n"))
	// Output:
	// 5 full
	// progress 5
	// unwritten ", world"
}

// limitedWriter accepts room bytes, then fails.
type limitedWriter struct{ room int }

func (w *limitedWriter) Write(b []byte) (int, error) {
	if len(b) <= w.room {
		w.room -= len(b)
		return len(b), nil
	}
	n := w.room
	w.room = 0
	return n, errors.New("full")
}

// CopyMulti is tee(1) in one call: here the standard input (a pipe, as in
// `producer | prog`) goes to the standard output and to a file. On Linux
// the bytes are teed in the kernel and never enter the program.
func ExampleCopyMulti() {
	// Stand-in for os.Stdin: a pipe that a producer writes.
	stdin, producer, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	defer stdin.Close()
	go func() {
		io.WriteString(producer, "one line, two places\n")
		producer.Close()
	}()
	file, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(file.Name())
	defer file.Close()

	n, err := splice.CopyMulti(stdin, os.Stdout, file)
	if err != nil {
		log.Fatal(err)
	}
	saved, _ := os.ReadFile(file.Name())
	fmt.Printf("%d bytes, and the file says %q\n", n, saved)
	// Output:
	// one line, two places
	// 21 bytes, and the file says "one line, two places\n"
}

// A recording proxy: what a client sends is forwarded upstream and saved to
// a file at the same time. With DropFailed a failing recording (a full disk)
// does not cut the connection: the forwarding goes on, and the error says
// which destination failed.
func ExampleCopier_CopyMulti() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer upstream.Close()
	go func() { // a client sends a request and closes its side
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
		c.Close()
	}()
	got := make(chan string)
	go func() { // the upstream server reads it all
		c, err := upstream.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		got <- string(b)
	}()

	client, err := ln.Accept()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	server, err := net.Dial("tcp", upstream.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	record, err := os.CreateTemp("", "splice-record")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(record.Name())
	defer record.Close()

	c := &splice.Copier{DropFailed: true}
	n, err := c.CopyMulti(client, server, record)
	server.(*net.TCPConn).CloseWrite()
	var de *splice.DestError
	if errors.As(err, &de) {
		log.Printf("destination %d failed after %d bytes: %v", de.Index, de.Written, de.Err)
	}
	saved, _ := os.ReadFile(record.Name())
	fmt.Printf("forwarded %d bytes: %q\nrecorded %q\n", n, <-got, saved)
	// Output:
	// forwarded 18 bytes: "GET / HTTP/1.0\r\n\r\n"
	// recorded "GET / HTTP/1.0\r\n\r\n"
}

// A feed that wants the biggest pipe it may have asks for no more than
// MaxPipeSize: above it, an unprivileged SetSize fails.
func ExampleMaxPipeSize() {
	want := min(4<<20, splice.MaxPipeSize())
	fmt.Println("size >= 4096:", want >= 4096)
	// Output: size >= 4096: true
}

// Flags print as the kernel names them, for logs and error messages.
func ExampleFlags_String() {
	fmt.Println(splice.Move | splice.More)
	fmt.Println(splice.NonBlock)
	fmt.Println(splice.Flags(0))
	fmt.Println(splice.Gift | 0x40) // a bit this package has no name for
	// Output:
	// SPLICE_F_MOVE|SPLICE_F_MORE
	// SPLICE_F_NONBLOCK
	// 0
	// SPLICE_F_GIFT|0x40
}

// A Method prints as the system call it stands for: what a server would put in
// a debug log line next to Plan's answer. A reader with no fd behind it is read
// and written on every system.
func ExampleMethod_String() {
	for m := splice.MethodReadWrite; m <= splice.MethodVmsplice; m++ {
		fmt.Println(m)
	}
	fmt.Println("plan:", splice.Plan(io.Discard, strings.NewReader("in memory")))
	// Output:
	// read/write
	// splice
	// copy_file_range
	// sendfile
	// vmsplice
	// plan: read/write
}

// A server deciding whether to report a response as zero-copy: a destination
// without an fd (here a buffer) is always reached by read and write.
func ExampleMethod() {
	var body strings.Builder
	switch m := splice.Plan(&body, strings.NewReader("hello")); m {
	case splice.MethodReadWrite:
		fmt.Println("through the program:", m)
	default:
		fmt.Println("zero-copy:", m)
	}
	// Output: through the program: read/write
}
