//go:build unix

package splice_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/splicekit/splice"
)

// A Pipe's ends are in Go's poller, so deadlines set on them apply to its
// reads, writes and splices: a consumer that gives up on an idle producer.
func ExamplePipe() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	if err := p.Reader().SetReadDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		log.Fatal(err)
	}
	_, err = p.WriteTo(io.Discard) // nothing is ever written
	fmt.Println(errors.Is(err, os.ErrDeadlineExceeded))
	// Output: true
}

// Close is how a consumer is shut down: a goroutine blocked reading the pipe
// wakes with an error matching os.ErrClosed.
func ExamplePipe_Close() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	stopped := make(chan error)
	go func() {
		_, err := io.Copy(io.Discard, p) // waits: nothing is written
		stopped <- err
	}()
	if err := p.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(errors.Is(<-stopped, os.ErrClosed))
	fmt.Println(errors.Is(p.Close(), os.ErrClosed)) // a second Close
	// Output:
	// true
	// true
}

// Reader is the read end as an *os.File, for what only an *os.File offers:
// here a read deadline, so that a consumer notices when its producer goes
// quiet (a missed heartbeat).
func ExamplePipe_Reader() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	if _, err := io.WriteString(p, "heartbeat\n"); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := p.Read(buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", buf[:n])
	if err := p.Reader().SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		log.Fatal(err)
	}
	_, err = p.Read(buf) // the producer is silent from now on
	fmt.Println("missed:", errors.Is(err, os.ErrDeadlineExceeded))
	// Output:
	// "heartbeat\n"
	// missed: true
}
