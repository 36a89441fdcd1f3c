//go:build !linux || splice_portable

package splice_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/splicekit/splice"
)

// Outside Linux, splice(2) does not exist: Splice returns an error matching
// errors.ErrUnsupported, and portable code moves the bytes another way (Copy
// does that by itself).
func ExampleSplice() {
	_, err := splice.Splice(0, nil, 1, nil, 4096, splice.Move)
	fmt.Println(errors.Is(err, errors.ErrUnsupported))
	// Output: true
}

// Outside Linux, tee(2) does not exist: Tee returns an error matching
// errors.ErrUnsupported (CopyMulti fans out by read and write instead).
func ExampleTee() {
	_, err := splice.Tee(0, 1, 4096, 0)
	fmt.Println(errors.Is(err, errors.ErrUnsupported))
	// Output: true
}

// Outside Linux, vmsplice(2) does not exist: Vmsplice returns an error matching
// errors.ErrUnsupported (a Writer is an ordinary buffered writer there).
func ExampleVmsplice() {
	_, err := splice.Vmsplice(1, [][]byte{[]byte("data")}, 0)
	fmt.Println(errors.Is(err, errors.ErrUnsupported))
	// Output: true
}

// (*Pipe).Tee needs tee(2): outside Linux it reports errors.ErrUnsupported,
// and a fan-out reads the pipe once and writes each copy (as CopyMulti does).
func ExamplePipe_Tee() {
	src, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	dst, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer dst.Close()
	_, err = src.Tee(dst, 4096)
	fmt.Println(errors.Is(err, errors.ErrUnsupported))
	// Output: true
}

// Pipes cannot be resized outside Linux: SetSize reports errors.ErrUnsupported
// and returns the size the pipe has.
func ExamplePipe_SetSize() {
	p, err := splice.NewPipe()
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	size, err := p.SetSize(1 << 20)
	fmt.Println(errors.Is(err, errors.ErrUnsupported), size == p.Size())
	// Output: true true
}

// Outside Linux every pair is copied by read and write (or by the standard
// library's own kernel paths, which Plan does not report).
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
	fmt.Println(splice.Plan(io.Discard, f))
	// Output:
	// read/write
	// read/write
}

// Flags are defined on every system, so code that passes them builds
// everywhere; outside Linux the calls that take them report
// errors.ErrUnsupported at run time.
func ExampleFlags() {
	_, err := splice.Tee(0, 1, 4096, splice.NonBlock)
	fmt.Println(splice.NonBlock, errors.Is(err, errors.ErrUnsupported))
	// Output: SPLICE_F_NONBLOCK true
}
