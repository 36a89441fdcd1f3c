package splice_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// A source pipe's read deadline fires while the consumer (a slow pipe) waits
// for room: the other destination must hold exactly the returned count.
func TestZZReviewSrcDeadlineMidChunk(t *testing.T) {
	data := testutil.Data(4<<20, 1)
	sr, sw := testutil.OSPipePair(t)
	go func() { sw.Write(data) }() // keeps writing; closed by cleanup
	sr.SetReadDeadline(time.Now().Add(300 * time.Millisecond))

	path := filepath.Join(t.TempDir(), "f")
	f, _ := os.Create(path)
	defer f.Close()
	pr, pw := testutil.OSPipePair(t)
	got := make(chan []byte)
	go func() { // slow reader: 4 KiB every 20 ms
		var b []byte
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				got <- b
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	n, err := splice.CopyMulti(sr, f, pw)
	t.Logf("CopyMulti = %d, %v", n, err)
	pw.Close()
	fileBytes, _ := os.ReadFile(path)
	pipeBytes := <-got
	t.Logf("file got %d, pipe got %d, count %d", len(fileBytes), len(pipeBytes), n)
	if int64(len(fileBytes)) != n || int64(len(pipeBytes)) != n {
		t.Errorf("destinations got %d and %d bytes; count %d", len(fileBytes), len(pipeBytes), n)
	}
	testutil.Equal(t, data[:len(fileBytes)], fileBytes)
	io.Copy(io.Discard, sr)
}
