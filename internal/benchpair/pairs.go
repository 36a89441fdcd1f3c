package benchpair

import (
	"net"
	"os"
	"path/filepath"
	"time"
)

// acceptTimeout bounds how long a pair factory waits for its own connection,
// so that a broken loopback fails instead of hanging.
const acceptTimeout = 10 * time.Second

// tcpPair returns the two ends of a TCP connection over 127.0.0.1, as
// internal/testutil.TCPPair does: a dials, b is accepted; tb's cleanups close
// both.
func tcpPair(tb TB) (a, b *net.TCPConn) {
	tb.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatalf("listen on 127.0.0.1: %v", err)
	}
	defer ln.Close()
	a, err = net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		tb.Fatalf("dial %v: %v", ln.Addr(), err)
	}
	tb.Cleanup(func() { a.Close() })
	if err := ln.SetDeadline(time.Now().Add(acceptTimeout)); err != nil {
		tb.Fatalf("%v", err)
	}
	for {
		b, err = ln.AcceptTCP()
		if err != nil {
			tb.Fatalf("accept on %v: %v", ln.Addr(), err)
		}
		// Another local process may race us to the port: keep only our
		// own connection.
		if b.RemoteAddr().String() == a.LocalAddr().String() {
			break
		}
		b.Close()
	}
	tb.Cleanup(func() { b.Close() })
	return a, b
}

// unixPair returns the two ends of a Unix stream socket connection, as
// internal/testutil.UnixPair does, in a fresh directory under os.TempDir
// (short, as sun_path holds about 100 bytes); tb's cleanups close both and
// remove the directory.
func unixPair(tb TB) (a, b *net.UnixConn) {
	tb.Helper()
	dir, err := os.MkdirTemp("", "su")
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	addr := &net.UnixAddr{Name: filepath.Join(dir, "s"), Net: "unix"}
	ln, err := net.ListenUnix("unix", addr)
	if err != nil {
		tb.Fatalf("listen on %s: %v", addr.Name, err)
	}
	defer ln.Close()
	a, err = net.DialUnix("unix", nil, addr)
	if err != nil {
		tb.Fatalf("dial %s: %v", addr.Name, err)
	}
	tb.Cleanup(func() { a.Close() })
	if err := ln.SetDeadline(time.Now().Add(acceptTimeout)); err != nil {
		tb.Fatalf("%v", err)
	}
	// The directory is private to this call, so the only client is a.
	b, err = ln.AcceptUnix()
	if err != nil {
		tb.Fatalf("accept on %s: %v", addr.Name, err)
	}
	tb.Cleanup(func() { b.Close() })
	return a, b
}

// tempFile returns a new empty regular file in tb.TempDir(), open for
// reading and writing; a cleanup closes it.
func tempFile(tb TB) *os.File {
	tb.Helper()
	f, err := os.CreateTemp(tb.TempDir(), "file")
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}
