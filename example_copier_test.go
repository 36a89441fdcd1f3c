package splice_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/splicekit/splice"
)

// One Copier may serve many copies, from several goroutines at once: here
// a cat(1) that concatenates files onto the standard output.
func ExampleCopier_Copy() {
	dir, err := os.MkdirTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var names []string
	for i, text := range []string{"first file\n", "second file\n"} {
		name := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			log.Fatal(err)
		}
		names = append(names, name)
	}

	copier := &splice.Copier{PipeSize: 256 << 10}
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			log.Fatal(err)
		}
		_, err = copier.Copy(os.Stdout, f)
		f.Close()
		if err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// first file
	// second file
}

// A file server answering a Range request: seek to the first byte, then copy
// exactly the length asked for.
func ExampleCopier_CopyN() {
	f, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.WriteString("HEADER|the bytes asked for|TRAILER"); err != nil {
		log.Fatal(err)
	}

	var sent int64
	copier := &splice.Copier{Progress: func(written int64) { sent = written }}
	if _, err := f.Seek(7, io.SeekStart); err != nil { // Range: bytes=7-25
		log.Fatal(err)
	}
	n, err := copier.CopyN(os.Stdout, f, 19)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\n%d bytes, %d reported\n", n, sent)
	// Output:
	// the bytes asked for
	// 19 bytes, 19 reported
}

// A progress bar for a long copy: Progress is called with the running total
// after each chunk (or once, at the end, where the kernel copies a whole file
// in one call), and the user interface reads the total on its own schedule.
func ExampleCopier_progress() {
	dir, err := os.MkdirTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	image := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(image, bytes.Repeat([]byte("data"), 1<<20), 0o600); err != nil {
		log.Fatal(err)
	}
	src, err := os.Open(image)
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		log.Fatal(err)
	}
	dst, err := os.Create(image + ".bak")
	if err != nil {
		log.Fatal(err)
	}
	defer dst.Close()

	var done atomic.Int64 // read by the progress bar's goroutine
	c := &splice.Copier{Progress: func(written int64) { done.Store(written) }}
	if _, err := c.Copy(dst, src); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d of %d bytes: %d%%\n", done.Load(), fi.Size(), done.Load()*100/fi.Size())
	// Output: 4194304 of 4194304 bytes: 100%
}

// A log shipper that must not lose lines: when the collector fails, Unwritten
// gets the bytes already taken from the source that the collector did not
// accept, and they go to a spool file, followed by the rest of the source.
func ExampleCopier_unwritten() {
	logs, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(logs.Name())
	defer logs.Close()
	const lines = "line 1\nline 2\nline 3\nline 4\n"
	if _, err := logs.WriteString(lines); err != nil {
		log.Fatal(err)
	}
	if _, err := logs.Seek(0, io.SeekStart); err != nil {
		log.Fatal(err)
	}

	var spool bytes.Buffer
	c := &splice.Copier{Unwritten: func(b []byte) { spool.Write(b) }}
	collector := &limitedWriter{room: 10} // fails after 10 bytes
	n, err := c.Copy(collector, logs)
	fmt.Println("shipped", n, "bytes, then:", err)
	if _, err := c.Copy(&spool, logs); err != nil { // what the source still holds
		log.Fatal(err)
	}
	fmt.Printf("spooled %q\n", spool.String())
	fmt.Println("nothing lost:", lines[:n]+spool.String() == lines)
	// Output:
	// shipped 10 bytes, then: full
	// spooled "e 2\nline 3\nline 4\n"
	// nothing lost: true
}

// A recorder that saves a stream to disk while showing it to a live viewer:
// with DropFailed, the viewer going away does not stop the recording. The
// error names the destination that failed, and how far it got.
func ExampleCopier_dropFailed() {
	stream, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(stream.Name())
	defer stream.Close()
	if _, err := stream.WriteString("frame 1\nframe 2\nframe 3\n"); err != nil {
		log.Fatal(err)
	}
	if _, err := stream.Seek(0, io.SeekStart); err != nil {
		log.Fatal(err)
	}
	recording, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(recording.Name())
	defer recording.Close()
	viewer := &limitedWriter{room: 8} // sees one frame, then disconnects

	c := &splice.Copier{DropFailed: true}
	n, err := c.CopyMulti(stream, recording, viewer)
	fmt.Println(n, "bytes;", err)
	saved, err := os.ReadFile(recording.Name())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("recorded %q\n", saved)
	// Output:
	// 24 bytes; splice: destination 1 failed after 8 bytes: full
	// recorded "frame 1\nframe 2\nframe 3\n"
}

// A backup tool copying files that will not be read again soon: NoCache keeps
// them from pushing everything else out of the page cache. The copy itself is
// the same as without it (and on systems other than Linux NoCache does nothing).
func ExampleCopier_noCache() {
	dir, err := os.MkdirTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	data := bytes.Repeat([]byte("database page\n"), 100_000)
	if err := os.WriteFile(filepath.Join(dir, "db"), data, 0o600); err != nil {
		log.Fatal(err)
	}

	src, err := os.Open(filepath.Join(dir, "db"))
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, "db.backup"))
	if err != nil {
		log.Fatal(err)
	}
	defer dst.Close()
	backup := &splice.Copier{NoCache: true}
	n, err := backup.Copy(dst, src)
	if err != nil {
		log.Fatal(err)
	}
	if err := dst.Sync(); err != nil {
		log.Fatal(err)
	}
	saved, err := os.ReadFile(dst.Name())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "bytes backed up, identical:", bytes.Equal(saved, data))
	// Output: 1400000 bytes backed up, identical: true
}

// One leg of a TCP proxy, from the client to the upstream server: on Linux
// the bytes go through a pipe of PipeSize bytes between the two sockets and
// never enter the program. A smaller pipe holds less memory per connection
// (the kernel rounds the size, and clamps it to MaxPipeSize).
func ExampleCopier_pipeSize() {
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer upstream.Close()
	proxy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer proxy.Close()

	request := bytes.Repeat([]byte("upload\n"), 100_000)
	go func() { // the client uploads, then closes its side
		c, err := net.Dial("tcp", proxy.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		c.Write(request)
	}()
	received := make(chan [32]byte)
	go func() { // the upstream server reads everything
		c, err := upstream.Accept()
		if err != nil {
			close(received)
			return
		}
		defer c.Close()
		h := sha256.New()
		io.Copy(h, c)
		received <- [32]byte(h.Sum(nil))
	}()

	client, err := proxy.Accept()
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	server, err := net.Dial("tcp", upstream.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer server.Close()
	leg := &splice.Copier{PipeSize: 128 << 10}
	n, err := leg.Copy(server, client)
	if err != nil {
		log.Fatal(err)
	}
	server.(*net.TCPConn).CloseWrite() // pass the client's EOF on
	fmt.Println("proxied", n, "bytes, intact:", <-received == sha256.Sum256(request))
	// Output: proxied 700000 bytes, intact: true
}

// DisableSplice forces the read/write path, for a file system or device that
// mishandles splice (some FUSE file systems do), or as a baseline to compare
// the zero-copy paths with.
func ExampleCopier_disableSplice() {
	f, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.WriteString("read and written, as io.Copy does\n"); err != nil {
		log.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		log.Fatal(err)
	}

	plain := &splice.Copier{DisableSplice: true}
	if _, err := plain.Copy(os.Stdout, f); err != nil {
		log.Fatal(err)
	}
	// Output: read and written, as io.Copy does
}

// A DestError tells which destination of a CopyMulti failed, after how many
// bytes, and why: here a mirror whose disk is full, while the standard output
// got everything.
func ExampleDestError() {
	mirror := &limitedWriter{room: 6}
	_, err := splice.CopyMulti(strings.NewReader("a line\nanother line\n"), os.Stdout, mirror)
	var de *splice.DestError
	if errors.As(err, &de) {
		fmt.Printf("destination %d failed after %d bytes: %v\n", de.Index, de.Written, de.Err)
	}
	// Output:
	// a line
	// another line
	// destination 1 failed after 6 bytes: full
}

// Error names the destination, as its position in CopyMulti's list, and what
// it accepted before it failed.
func ExampleDestError_Error() {
	err := &splice.DestError{Index: 2, Written: 4096, Err: io.ErrShortWrite}
	fmt.Println(err)
	// Output: splice: destination 2 failed after 4096 bytes: short write
}

// Unwrap lets errors.Is and errors.As see the destination's own error: here a
// destination closed before the copy, as a file closed by another goroutine.
func ExampleDestError_Unwrap() {
	closed, err := os.CreateTemp("", "splice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(closed.Name())
	closed.Close()

	_, err = splice.CopyMulti(strings.NewReader("data\n"), os.Stdout, closed)
	fmt.Println(errors.Is(err, os.ErrClosed))
	var pe *os.PathError
	fmt.Println(errors.As(err, &pe) && pe.Path == closed.Name())
	// Output:
	// data
	// true
	// true
}
