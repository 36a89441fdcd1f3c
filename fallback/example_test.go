package fallback_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/splicekit/splice/fallback"
)

// Copy is io.Copy without a fresh 32 KiB buffer per call: for a server that
// copies many small bodies.
func ExampleCopy() {
	body := strings.NewReader("a small response body\n")
	n, err := fallback.Copy(os.Stdout, body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "bytes")
	// Output:
	// a small response body
	// 22 bytes
}

// CopyN is io.CopyN: reading the body of a length-prefixed message, and
// io.EOF when the stream ends inside it.
func ExampleCopyN() {
	stream := strings.NewReader("5:hello3:ab")
	var body bytes.Buffer
	for {
		var size int64
		if _, err := fmt.Fscanf(stream, "%d:", &size); err != nil {
			break
		}
		body.Reset()
		n, err := fallback.CopyN(&body, stream, size)
		fmt.Printf("%d of %d bytes %q, %v\n", n, size, body.String(), err)
		if err != nil {
			break
		}
	}
	// Output:
	// 5 of 5 bytes "hello", <nil>
	// 2 of 3 bytes "ab", EOF
}

// chunkWriter writes to w and records the largest Write it was given. Its
// ReadFrom uses ReadWrite: fallback.Copy, like io.Copy, calls ReadFrom, which
// must not come back to itself.
type chunkWriter struct {
	w       io.Writer
	writes  int
	largest int
}

func (c *chunkWriter) Write(b []byte) (int, error) {
	c.writes++
	c.largest = max(c.largest, len(b))
	return c.w.Write(b)
}

func (c *chunkWriter) ReadFrom(src io.Reader) (int64, error) {
	return fallback.ReadWrite(c, src)
}

// ReadWrite is the loop to implement ReadFrom and WriteTo with: it never calls
// them. Every Write it makes is at most BufferSize bytes.
func ExampleReadWrite() {
	var dst bytes.Buffer
	cw := &chunkWriter{w: &dst}
	// A source without a WriteTo method: Copy calls cw.ReadFrom.
	src := io.LimitReader(strings.NewReader(strings.Repeat("x", 100_000)), 1<<20)
	n, err := fallback.Copy(cw, src)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, dst.Len(), cw.writes, cw.largest == fallback.BufferSize)
	// Output: 100000 100000 4 true
}

// failAfter accepts room bytes, then fails.
type failAfter struct{ room int }

func (f *failAfter) Write(b []byte) (int, error) {
	n := min(len(b), f.room)
	f.room -= n
	if n < len(b) {
		return n, errors.New("disk full")
	}
	return n, nil
}

// A Copier reports progress and hands back the bytes a failing destination
// did not take, so that they can be retried elsewhere.
func ExampleCopier() {
	var retry bytes.Buffer
	c := &fallback.Copier{
		Progress:  func(written int64) { fmt.Println("written", written) },
		Unwritten: func(b []byte) { retry.Write(b) },
	}
	// struct{ io.Reader } hides strings.Reader's WriteTo, so that the
	// Copier's own loop runs and sees every byte.
	src := struct{ io.Reader }{strings.NewReader("0123456789")}
	n, err := c.Copy(&failAfter{room: 4}, src)
	fmt.Println(n, err, retry.String())
	// Output:
	// written 4
	// 4 disk full 456789
}

// Progress while checksumming an upload: after every chunk, the running total.
func ExampleCopier_Copy() {
	const size = 70_000
	upload := io.LimitReader(bytes.NewReader(make([]byte, size)), size) // as from a request body
	c := &fallback.Copier{Progress: func(written int64) {
		fmt.Printf("%d%%\n", written*100/size)
	}}
	h := sha256.New()
	if _, err := c.Copy(h, upload); err != nil {
		log.Fatal(err)
	}
	fmt.Println("checksum ok:", [32]byte(h.Sum(nil)) == sha256.Sum256(make([]byte, size)))
	// Output:
	// 46%
	// 93%
	// 100%
	// checksum ok: true
}

// CopyN with a hash as destination: checking a fixed-size block of a stream.
func ExampleCopier_CopyN() {
	stream := strings.NewReader("BLOCK-ONE|BLOCK-TWO|")
	var c fallback.Copier // the zero Copier is CopyN with a pooled buffer
	h := sha256.New()
	if _, err := c.CopyN(h, stream, 10); err != nil {
		log.Fatal(err)
	}
	want := sha256.Sum256([]byte("BLOCK-ONE|"))
	fmt.Println("first block intact:", bytes.Equal(h.Sum(nil), want[:]))
	fmt.Println("left in the stream:", stream.Len())
	// Output:
	// first block intact: true
	// left in the stream: 10
}

// spoolWriter writes to w and keeps in spool what w refused. Its ReadFrom
// runs the Copier's loop, so that the hooks see every byte.
type spoolWriter struct {
	w     io.Writer
	spool bytes.Buffer
}

func (s *spoolWriter) Write(b []byte) (int, error) { return s.w.Write(b) }

func (s *spoolWriter) ReadFrom(src io.Reader) (int64, error) {
	c := &fallback.Copier{Unwritten: func(b []byte) { s.spool.Write(b) }}
	return c.ReadWrite(s.w, src)
}

// Copier.ReadWrite is ReadWrite with the Copier's hooks: here inside a
// ReadFrom method that spools what its destination refused.
func ExampleCopier_ReadWrite() {
	sw := &spoolWriter{w: &failAfter{room: 3}}
	// A source without a WriteTo method: io.Copy calls sw.ReadFrom.
	n, err := io.Copy(sw, io.LimitReader(strings.NewReader("abcdefgh"), 100))
	fmt.Println(n, err, sw.spool.String())
	// Output: 3 disk full defgh
}
