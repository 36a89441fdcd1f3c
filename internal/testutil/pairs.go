package testutil

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// acceptTimeout bounds how long a pair factory waits for its own connection
// to arrive, so that a broken loopback fails the test instead of hanging it.
const acceptTimeout = 10 * time.Second

// TCPPair returns the two ends of a TCP connection over 127.0.0.1: a is the
// dialing end, b the accepted one. The listener (on 127.0.0.1:0, never any
// other address) is closed before TCPPair returns; both conns are closed by
// t.Cleanup.
func TCPPair(t testing.TB) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("testutil: listen on 127.0.0.1: %v", err)
	}
	defer ln.Close()
	a, err = net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatalf("testutil: dial %v: %v", ln.Addr(), err)
	}
	t.Cleanup(func() { a.Close() })
	if err := ln.SetDeadline(time.Now().Add(acceptTimeout)); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	for {
		b, err = ln.AcceptTCP()
		if err != nil {
			t.Fatalf("testutil: accept on %v: %v", ln.Addr(), err)
		}
		// Another local process may race us to the port: keep only our
		// own connection.
		if b.RemoteAddr().String() == a.LocalAddr().String() {
			break
		}
		b.Close()
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// UnixPair returns the two ends of a Unix stream socket connection: a is the
// dialing end, b the accepted one. The socket lives in a fresh directory under
// os.TempDir (short, as sun_path holds about 100 bytes); the listener, which
// unlinks it, is closed before UnixPair returns, and the directory is removed
// by t.Cleanup, which also closes both conns. Skips where the platform has no
// Unix sockets.
func UnixPair(t testing.TB) (a, b *net.UnixConn) {
	t.Helper()
	if !supported(Unix) {
		t.Skipf("testutil: no unix stream sockets on this platform")
	}
	dir, err := os.MkdirTemp("", "su")
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	addr := &net.UnixAddr{Name: filepath.Join(dir, "s"), Net: "unix"}
	ln, err := net.ListenUnix("unix", addr)
	if err != nil {
		t.Fatalf("testutil: listen on %s: %v", addr.Name, err)
	}
	defer ln.Close()
	a, err = net.DialUnix("unix", nil, addr)
	if err != nil {
		t.Fatalf("testutil: dial %s: %v", addr.Name, err)
	}
	t.Cleanup(func() { a.Close() })
	if err := ln.SetDeadline(time.Now().Add(acceptTimeout)); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	// The directory is private to this call, so the only client is a.
	b, err = ln.AcceptUnix()
	if err != nil {
		t.Fatalf("testutil: accept on %s: %v", addr.Name, err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// OSPipePair returns both ends of a pipe from os.Pipe; t.Cleanup closes them.
func OSPipePair(t testing.TB) (r, w *os.File) {
	t.Helper()
	if !supported(OSPipe) {
		t.Skipf("testutil: no pipes on this platform")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("testutil: os.Pipe: %v", err)
	}
	t.Cleanup(func() {
		w.Close()
		r.Close()
	})
	return r, w
}

// BlockingPipePair returns both ends of a pipe created in blocking mode (with
// O_CLOEXEC, without O_NONBLOCK) and wrapped with os.NewFile, so that neither
// *os.File is registered with Go's poller: reads and writes block a thread,
// and deadlines are not supported. This is how a pipe inherited from a shell
// looks to a program. t.Cleanup closes both ends. Skips on non-Unix systems.
//
// A blocking *os.File cannot be unblocked by Close: a goroutine blocked in
// Read returns only when the last writer is closed, and one blocked in Write
// only when the reader is closed.
func BlockingPipePair(t testing.TB) (r, w *os.File) {
	t.Helper()
	r, w, err := blockingPipe()
	if err != nil {
		t.Skipf("testutil: blocking pipe unavailable: %v", err)
	}
	t.Cleanup(func() {
		w.Close()
		r.Close()
	})
	return r, w
}

// TempFile returns a regular file in t.TempDir() that holds data, opened
// O_RDWR at offset 0. t.Cleanup closes it.
func TempFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	f := createFile(t, "file", os.O_RDWR)
	if _, err := f.Write(data); err != nil {
		t.Fatalf("testutil: write %s: %v", f.Name(), err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatalf("testutil: seek %s: %v", f.Name(), err)
	}
	return f
}

// createFile creates a new empty file in t.TempDir() opened with mode
// (os.O_RDONLY, os.O_WRONLY or os.O_RDWR); t.Cleanup closes it.
func createFile(t testing.TB, name string, mode int) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.OpenFile(path, mode|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Socket is one end of a connection from [TCPPair] or [UnixPair].
type Socket interface {
	net.Conn
	CloseWrite() error
	SetReadBuffer(bytes int) error
	SetWriteBuffer(bytes int) error
}

// SmallSocketPair returns the two ends of a TCP (k is TCP) or Unix (k is Unix)
// connection with buffers of about buf bytes, conn's for sending and peer's for
// receiving, so that little fits between them; peer's reads give up after a
// minute, so that a test that forgets to close conn fails instead of hanging.
func SmallSocketPair(t testing.TB, k Kind, buf int) (conn, peer Socket) {
	t.Helper()
	if k == TCP {
		conn, peer = TCPPair(t)
	} else {
		conn, peer = UnixPair(t)
	}
	conn.SetWriteBuffer(buf)
	peer.SetReadBuffer(buf)
	peer.SetReadDeadline(time.Now().Add(time.Minute))
	return conn, peer
}
