package testutil

import "runtime"

// Kind names an endpoint kind that [NewSource] or [NewSink] can build.
type Kind string

// The endpoint kinds. Each comment says what the test is handed as a source
// (an io.Reader that yields exactly the data, then io.EOF) and as a sink (an
// io.Writer whose received bytes the harness collects).
const (
	// File is a regular file in t.TempDir(). Source: an *os.File holding the
	// data, opened O_RDONLY at offset 0. Sink: an empty *os.File opened
	// O_WRONLY|O_CREATE|O_TRUNC; the received bytes are re-read from disk.
	File Kind = "file"

	// OSPipe is a pipe from os.Pipe (non-blocking, registered with the
	// poller). Source: the read end, while a goroutine writes the data to the
	// write end and closes it. Sink: the write end, while a goroutine drains
	// the read end.
	OSPipe Kind = "ospipe"

	// Pipe is a *splice.Pipe in the same arrangement as OSPipe: the test is
	// handed the *splice.Pipe itself, as the io.Reader (source) or the
	// io.Writer (sink); the harness uses the other end through
	// Reader()/Writer().
	Pipe Kind = "pipe"

	// TCP is a *net.TCPConn over 127.0.0.1. Source: a conn whose peer writes
	// the data and then calls CloseWrite. Sink: a conn whose peer reads
	// until EOF.
	TCP Kind = "tcp"

	// Unix is a *net.UnixConn stream socket, arranged like TCP.
	Unix Kind = "unix"

	// BlockingPipe is a pipe created blocking (O_CLOEXEC, no O_NONBLOCK) and
	// wrapped with os.NewFile, so its *os.File is not registered with the
	// poller, like a pipe a shell hands to a program as stdin or stdout.
	// It is arranged like OSPipe. Unix systems only.
	BlockingPipe Kind = "blockpipe"

	// DevNull is sink only: the null device opened as a blocking, non-pollable
	// *os.File. It discards what it is given (see [Kind.Discards]): the sink
	// reports no bytes, so tests check the copy's count instead.
	DevNull Kind = "devnull"

	// LimitedFile is source only: an *io.LimitedReader{R: file, N: len(data)}
	// over a regular file that holds the data followed by [Source.Extra],
	// trailing bytes that the copy must leave unread.
	LimitedFile Kind = "limited-file"

	// LimitedOSPipe is source only: an *io.LimitedReader over the read end of
	// an os.Pipe whose writer sends the data followed by [Source.Extra].
	LimitedOSPipe Kind = "limited-ospipe"

	// LimitedTCP is source only: an *io.LimitedReader over a *net.TCPConn
	// whose peer sends the data followed by [Source.Extra].
	LimitedTCP Kind = "limited-tcp"

	// LimitedUnix is source only: an *io.LimitedReader over a *net.UnixConn
	// whose peer sends the data followed by [Source.Extra].
	LimitedUnix Kind = "limited-unix"

	// Reader is source only: struct{ io.Reader }{bytes.NewReader(data)},
	// which hides bytes.Reader's WriterTo.
	Reader Kind = "reader"

	// Writer is sink only: struct{ io.Writer }{&bytes.Buffer{}}, which hides
	// bytes.Buffer's ReaderFrom.
	Writer Kind = "writer"

	// Buffer is a *bytes.Buffer: as a source it has WriteTo, as a sink it has
	// ReadFrom.
	Buffer Kind = "buffer"
)

// String returns the kind's name, which is short enough for a subtest name.
func (k Kind) String() string { return string(k) }

// Discards reports whether a sink of this kind throws its bytes away, so that
// the function returned by [NewSink] reports none and a test can only check
// the number of bytes the copy says it wrote.
func (k Kind) Discards() bool { return k == DevNull }

// Limited reports whether a source of this kind is an *io.LimitedReader with
// trailing bytes ([Source.Extra]) behind the limit.
func (k Kind) Limited() bool {
	switch k {
	case LimitedFile, LimitedOSPipe, LimitedTCP, LimitedUnix:
		return true
	}
	return false
}

// HasFD reports whether an endpoint of this kind is backed by a file
// descriptor, directly or under an *io.LimitedReader, so that a kernel copy
// path (splice, sendfile, copy_file_range) may apply. Reader, Writer and
// Buffer are the only kinds without one.
func (k Kind) HasFD() bool {
	switch k {
	case Reader, Writer, Buffer:
		return false
	}
	return true
}

// SourceKinds returns every kind that [NewSource] can build on this GOOS, in
// a fixed order.
func SourceKinds() []Kind {
	return available([]Kind{
		File, OSPipe, Pipe, TCP, Unix, BlockingPipe,
		LimitedFile, LimitedOSPipe, LimitedTCP, LimitedUnix,
		Reader, Buffer,
	})
}

// SinkKinds returns every kind that [NewSink] can build on this GOOS, in a
// fixed order.
func SinkKinds() []Kind {
	return available([]Kind{
		File, OSPipe, Pipe, TCP, Unix, BlockingPipe, DevNull,
		Writer, Buffer,
	})
}

func available(kinds []Kind) []Kind {
	out := kinds[:0]
	for _, k := range kinds {
		if supported(k) {
			out = append(out, k)
		}
	}
	return out
}

// supported reports whether kind k can be built on this GOOS.
func supported(k Kind) bool {
	switch k {
	case BlockingPipe:
		return haveBlockingPipe
	case Unix, LimitedUnix:
		switch runtime.GOOS {
		case "windows", "plan9", "js", "wasip1":
			return false
		}
	case TCP, LimitedTCP:
		switch runtime.GOOS {
		case "js", "wasip1":
			return false
		}
	case OSPipe, LimitedOSPipe, Pipe:
		switch runtime.GOOS {
		case "js", "wasip1":
			return false
		}
	}
	return true
}
