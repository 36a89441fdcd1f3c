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
	fmt.Println(n, err, lr.N, p.Buffered())
	// Output: 11 <nil> 0 11
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
