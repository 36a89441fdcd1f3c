package splice_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"sync"

	"github.com/splicekit/splice"
)

// Several workers report to one pipe at once: a Write of at most PIPE_BUF
// bytes (512 on every system) is atomic, so their lines never interleave.
func ExamplePipe_Write() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	var workers sync.WaitGroup
	for id := range 3 {
		workers.Go(func() {
			line := fmt.Sprintf("worker %d: done\n", id)
			if _, err := p.Write([]byte(line)); err != nil {
				log.Print(err)
			}
		})
	}
	go func() {
		workers.Wait()
		p.CloseWrite()
	}()

	var lines []string
	sc := bufio.NewScanner(p)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	slices.Sort(lines) // the order the workers finish in varies
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// worker 0: done
	// worker 1: done
	// worker 2: done
}

// A consumer of fixed-size records: Read returns what the pipe holds, so
// io.ReadFull collects each record whole, and io.EOF ends the stream.
func ExamplePipe_Read() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	go func() { // the producer: three 8-byte records
		for _, v := range []uint64{1, 1 << 20, 1 << 40} {
			binary.Write(p, binary.BigEndian, v)
		}
		p.CloseWrite()
	}()

	var rec [8]byte
	for {
		_, err := io.ReadFull(p, rec[:])
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(binary.BigEndian.Uint64(rec[:]))
	}
	// Output:
	// 1
	// 1048576
	// 1099511627776
}

// A log collector: producers write into the pipe, and WriteTo moves its
// contents into a file until the write end is closed (on Linux by splice,
// without copying them through the program).
func ExamplePipe_WriteTo() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	go func() {
		for i := range 3 {
			fmt.Fprintf(p, "event %d\n", i)
		}
		p.CloseWrite()
	}()
	logFile, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(logFile.Name())
	defer logFile.Close()

	n, err := p.WriteTo(logFile)
	if err != nil {
		log.Fatal(err)
	}
	saved, err := os.ReadFile(logFile.Name())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes: %q\n", n, saved)
	// Output: 24 bytes: "event 0\nevent 1\nevent 2\n"
}

// Size is the pipe's capacity: a buffer of that size takes whatever the pipe
// holds in one Read. It is a whole number of pages on every system.
func ExamplePipe_Size() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	buf := make([]byte, p.Size())
	fmt.Println("size >= 4096:", len(buf) >= 4096)
	fmt.Println("whole pages:", len(buf)%os.Getpagesize() == 0)
	// Output:
	// size >= 4096: true
	// whole pages: true
}

// CloseWrite is how a producer says it is done: once the pipe is drained its
// readers see io.EOF. The pipe stays open for reading until Close.
func ExamplePipe_CloseWrite() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	go func() {
		io.WriteString(p, "all there is\n")
		if err := p.CloseWrite(); err != nil {
			log.Print(err)
		}
	}()
	all, err := io.ReadAll(p) // returns at EOF
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", all)
	_, err = p.Write([]byte("too late"))
	fmt.Println(errors.Is(err, os.ErrClosed))
	// Output:
	// "all there is\n"
	// true
}
