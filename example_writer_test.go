package splice_test

import (
	"bufio"
	"fmt"
	"log"
	"log/slog"
	"os"
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
