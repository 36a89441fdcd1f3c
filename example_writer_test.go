package splice_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/splicekit/splice"
)

// flushingWriter serializes a splice.Writer, which is not safe for concurrent
// use, between a logger and a goroutine that flushes it every interval.
type flushingWriter struct {
	mu   sync.Mutex
	w    *splice.Writer
	stop chan struct{}
	done chan struct{}
}

func newFlushingWriter(w *splice.Writer, interval time.Duration) *flushingWriter {
	fw := &flushingWriter{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(fw.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fw.mu.Lock()
				fw.w.Flush()
				fw.mu.Unlock()
			case <-fw.stop:
				return
			}
		}
	}()
	return fw
}

func (fw *flushingWriter) Write(p []byte) (int, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.w.Write(p)
}

// Close stops the flusher, then flushes and releases the Writer.
func (fw *flushingWriter) Close() error {
	close(fw.stop)
	<-fw.done
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.w.Close()
}

// A log/slog JSON handler writing through a Writer into a pipe, whose
// consumer (here a goroutine; usually a log shipper) reads it with read(2):
// the log lines are mapped into the pipe, not copied. The Writer is flushed
// every 100 ms, so that lines reach the shipper promptly, and on exit.
func ExampleWriter_slog() {
	r, pw, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	shipped := make(chan struct{})
	go func() { // the consumer: reads (copies) every line
		defer close(shipped)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			fmt.Println(sc.Text())
		}
	}()

	w, err := splice.NewWriter(pw)
	if err != nil {
		log.Fatal(err)
	}
	out := newFlushingWriter(w, 100*time.Millisecond)
	logger := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // keep the example's output stable
			}
			return a
		},
	}))
	for i := range 3 {
		logger.Info("request", "id", i, "path", "/index.html")
	}
	if err := out.Close(); err != nil { // flush on exit
		log.Fatal(err)
	}
	pw.Close()
	<-shipped
	// Output:
	// {"level":"INFO","msg":"request","id":0,"path":"/index.html"}
	// {"level":"INFO","msg":"request","id":1,"path":"/index.html"}
	// {"level":"INFO","msg":"request","id":2,"path":"/index.html"}
}

// A dump into a regular file: on Linux the Writer maps its buffer into a pipe
// of its own and splices that into the file; elsewhere it is a bufio.Writer.
// The file holds the same bytes either way.
func ExampleNewWriter() {
	dump, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(dump.Name())
	defer dump.Close()

	w, err := splice.NewWriter(dump)
	if err != nil {
		log.Fatal(err)
	}
	for id := range 3 {
		fmt.Fprintf(w, "INSERT INTO t VALUES (%d);\n", id)
	}
	if err := w.Close(); err != nil { // flushes; the file stays open
		log.Fatal(err)
	}
	saved, err := os.ReadFile(dump.Name())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(saved))
	// Output:
	// INSERT INTO t VALUES (0);
	// INSERT INTO t VALUES (1);
	// INSERT INTO t VALUES (2);
}

// NewWriterSize trades memory for fewer system calls: a producer feeding many
// consumers may give each pipe 256 KiB rather than the default 1 MiB (on the
// vmsplice path the buffer is twice the pipe's size). The consumer here reads
// the pipe with read(2), as a Writer's consumer must.
func ExampleNewWriterSize() {
	r, pw, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	sum := make(chan [32]byte)
	go func() { // the consumer copies what it reads
		h := sha256.New()
		io.Copy(h, r)
		sum <- [32]byte(h.Sum(nil))
	}()

	w, err := splice.NewWriterSize(pw, 256<<10)
	if err != nil {
		log.Fatal(err)
	}
	record := bytes.Repeat([]byte("0123456789abcdef"), 64)
	want := sha256.New()
	for range 1000 {
		if _, err := w.Write(record); err != nil {
			log.Fatal(err)
		}
		want.Write(record)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	pw.Close()
	fmt.Println("consumer got every byte:", <-sum == [32]byte(want.Sum(nil)))
	// Output: consumer got every byte: true
}

// A request/response protocol over a pipe: Flush hands the reply over before
// the program waits for the peer, which would otherwise wait for it forever.
func ExampleWriter_Flush() {
	r, pw, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	peer := make(chan string)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		peer <- line
	}()

	w, err := splice.NewWriter(pw)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	w.WriteString("PONG\n")
	fmt.Println("buffered:", w.Buffered())
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("buffered: %d, peer got %q\n", w.Buffered(), <-peer)
	// Output:
	// buffered: 5
	// buffered: 0, peer got "PONG\n"
}

// A pipe whose consumer splices it on (a proxy, socat, pv, splice.Copy to a
// socket) must not receive mapped memory: hiding the *os.File behind another
// type makes the Writer copy, as Method reports. Sockets are always written
// with Write.
func ExampleWriter_Method() {
	r, pw, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	w, err := splice.NewWriter(struct{ io.Writer }{pw})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	fmt.Println("pipe to a proxy:", w.Method())

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	sw, err := splice.NewWriter(conn)
	if err != nil {
		log.Fatal(err)
	}
	defer sw.Close()
	fmt.Println("socket:", sw.Method())
	// Output:
	// pipe to a proxy: read/write
	// socket: read/write
}

// Write takes any bytes, so the Writer serves encoders: here fixed-size binary
// records of a trace file.
func ExampleWriter_Write() {
	var trace bytes.Buffer
	w, err := splice.NewWriter(&trace)
	if err != nil {
		log.Fatal(err)
	}
	type event struct {
		At   uint32
		Kind uint16
	}
	for i, kind := range []uint16{1, 7, 3} {
		if err := binary.Write(w, binary.BigEndian, event{At: uint32(i * 10), Kind: kind}); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", trace.Bytes())
	// Output: 00 00 00 00 00 01 00 00 00 0a 00 07 00 00 00 14 00 03
}

// WriteString writes a string without converting it to a []byte first: here
// an access log.
func ExampleWriter_WriteString() {
	var accessLog strings.Builder
	w, err := splice.NewWriter(&accessLog)
	if err != nil {
		log.Fatal(err)
	}
	for _, path := range []string{"/", "/index.html", "/favicon.ico"} {
		if _, err := w.WriteString("GET " + path + " 200\n"); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Print(accessLog.String())
	// Output:
	// GET / 200
	// GET /index.html 200
	// GET /favicon.ico 200
}

// WriteByte writes one byte: here the NUL that ends each name of a list for
// xargs -0, as find -print0 writes it.
func ExampleWriter_WriteByte() {
	var list bytes.Buffer
	w, err := splice.NewWriter(&list)
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"a.txt", "name with spaces.txt"} {
		w.WriteString(name)
		if err := w.WriteByte(0); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", list.String())
	// Output: "a.txt\x00name with spaces.txt\x00"
}

// Buffered counts the bytes written to the Writer that dst has not received
// yet: what a Flush would hand over, or what a crash would lose.
func ExampleWriter_Buffered() {
	var dst bytes.Buffer
	w, err := splice.NewWriterSize(&dst, 4096) // a destination without an fd: a 4096-byte buffer
	if err != nil {
		log.Fatal(err)
	}
	w.Write(make([]byte, 1000))
	fmt.Println(w.Buffered(), dst.Len())
	w.Write(make([]byte, 4000)) // fills the buffer: 4096 bytes go to dst
	fmt.Println(w.Buffered(), dst.Len())
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Buffered(), dst.Len())
	// Output:
	// 1000 0
	// 904 4096
	// 0 5000
}

// Available is the room left before the Writer hands its buffer over: a
// framer that must not split a message across two hand-overs flushes first
// when the message does not fit.
func ExampleWriter_Available() {
	var dst bytes.Buffer
	w, err := splice.NewWriterSize(&dst, 4096) // a destination without an fd: a 4096-byte buffer
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		msg := make([]byte, 1500)
		if w.Available() < len(msg) {
			if err := w.Flush(); err != nil {
				log.Fatal(err)
			}
		}
		w.Write(msg)
		fmt.Println(w.Available(), dst.Len())
	}
	// Output:
	// 2596 0
	// 1096 0
	// 2596 3000
}

// Close flushes and releases the Writer's buffer, but never closes dst: the
// caller may go on writing to it directly.
func ExampleWriter_Close() {
	f, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	w, err := splice.NewWriter(f)
	if err != nil {
		log.Fatal(err)
	}
	w.WriteString("body\n")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	_, err = w.WriteString("lost")
	fmt.Println("after Close:", errors.Is(err, os.ErrClosed))
	if _, err := f.WriteString("trailer\n"); err != nil { // f is still open
		log.Fatal(err)
	}
	saved, err := os.ReadFile(f.Name())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", saved)
	// Output:
	// after Close: true
	// "body\ntrailer\n"
}
