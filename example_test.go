package splice_test

import (
	"fmt"
	"io"
	"log"
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
