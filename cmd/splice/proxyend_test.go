//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// How proxied connections end: idle, connect failures, -max-conns, signals, blame.

// TestProxyIdle cuts a connection with no traffic after -idle, and keeps one
// where a one-way download trickles a byte at a time, well within -idle.
func TestProxyIdle(t *testing.T) {
	t.Parallel()
	const idle = time.Second
	up := listenTCP(t)
	const trickle = 40
	serveConns(t, up, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(hang))
		var cmd [1]byte
		if _, err := io.ReadFull(c, cmd[:]); err != nil {
			return
		}
		if cmd[0] == 'q' { // quiet: wait for the cut
			io.Copy(io.Discard, c)
			return
		}
		for i := range trickle {
			time.Sleep(idle / 20)
			if _, err := c.Write([]byte{byte(i)}); err != nil {
				return
			}
		}
	})
	p := startProxy(t, "-listen", "127.0.0.1:0", "-to", up.Addr().String(), "-idle", idle.String())

	// The quiet connection and the trickling one run at once.
	quietDone := make(chan struct{})
	go func() {
		defer close(quietDone)
		c, err := net.DialTimeout("tcp", p.addr, hang)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(hang))
		start := time.Now()
		c.Write([]byte{'q'})
		n, err := io.Copy(io.Discard, c)
		if n != 0 || !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("quiet connection: read %d bytes, err %v; want ECONNRESET (a cut, not an end)", n, err)
		}
		if d := time.Since(start); d < idle {
			t.Errorf("quiet connection cut after %v, before -idle %v", d, idle)
		}
	}()

	c := dial(t, "tcp", p.addr)
	c.Write([]byte{'t'})
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	c.Close() // else the proxy waits for the client's EOF, and cuts it idle
	want := make([]byte, trickle)
	for i := range want {
		want[i] = byte(i)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("trickling connection got %v, want %v", got, want)
	}
	<-quietDone
	p.waitLine("end=idle")
	line := p.waitLine("end=")
	if end := logField(t, line, "end"); end != "eof" {
		t.Errorf("log line %q: want end=eof (a trickle is no idle connection)", line)
	}
	p.stop()
}

// TestProxyIdleSlowReader: a one-way download that a slow client reads
// steadily (a small chunk every 50 ms, never -idle apart) is not cut, though
// the proxy's copy waits in one long splice for more than -idle: the
// kernel's counters show the bytes moving.
func TestProxyIdleSlowReader(t *testing.T) {
	t.Parallel()
	const (
		idle  = time.Second
		size  = 3 << 19 // 1.5 MiB: a 1 MiB pipe round takes 1.6 s to drain
		chunk = 32 << 10
		every = 50 * time.Millisecond
	)
	data := pattern(9, size)
	up := listenTCP(t)
	serveConns(t, up, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(hang))
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
	})
	p := startProxy(t, "-listen", "127.0.0.1:0", "-to", up.Addr().String(), "-idle", idle.String())
	c := dial(t, "tcp", p.addr)
	c.(*net.TCPConn).SetReadBuffer(chunk)
	var got []byte
	buf := make([]byte, chunk)
	var err error
	for err == nil {
		time.Sleep(every)
		var n int
		n, err = io.ReadAtLeast(c, buf, 1)
		got = append(got, buf[:n]...)
	}
	c.Close()
	if err != io.EOF || !bytes.Equal(got, data) {
		t.Errorf("slow reader: got %d bytes of %d, err %v; want all of them, then EOF", len(got), size, err)
	}
	line := p.waitLine("end=")
	if end := logField(t, line, "end"); end != "eof" || logInt(t, line, "down") != size {
		t.Errorf("log line %q: want down=%d end=eof", line, size)
	}
	p.stop()
}

// blackhole returns a TCP listener that never accepts and whose accept
// queue is full, so that the kernel drops further SYNs: a connect to it
// hangs until its timeout.
func blackhole(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	// Fill the queue: backlog 0 admits one connection; then connects hang.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			if i == 0 {
				t.Skipf("cannot fill the accept queue of a listener: %v", err)
			}
			return addr
		}
		t.Cleanup(func() { c.Close() })
		if i > 8 {
			t.Skipf("the kernel admits more than %d connections to a listener with backlog 0", i)
		}
	}
}

// TestProxyConnect: an upstream that refuses, and one that never answers
// (cut after -connect-timeout).
func TestProxyConnect(t *testing.T) {
	t.Parallel()
	closed := listenTCP(t)
	refused := closed.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		name, to, end string
	}{
		{"refused", refused, "connect error: Connection refused"},
		{"timeout", blackhole(t), "connect error: timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxy(t, "-listen", "127.0.0.1:0", "-to", tc.to, "-connect-timeout", "500ms")
			c := dial(t, "tcp", p.addr)
			n, err := io.Copy(io.Discard, c)
			if err != nil || n != 0 {
				t.Errorf("client: read %d bytes, err %v; want EOF", n, err)
			}
			line := p.waitLine("end=")
			if end := logField(t, line, "end"); end != tc.end {
				t.Errorf("log line %q: want end=%s", line, tc.end)
			}
			if !strings.Contains(line, " -> "+tc.to+" ") {
				t.Errorf("log line %q does not name the upstream %s", line, tc.to)
			}
			p.stop()
		})
	}
}

// TestProxyMaxConns: with -max-conns 2, a third connection waits until one
// of the first two ends, then goes through.
func TestProxyMaxConns(t *testing.T) {
	t.Parallel()
	up := listenTCP(t)
	accepted := make(chan net.Conn, 3)
	serveConns(t, up, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(hang))
		accepted <- c
		io.Copy(c, c) // echo to EOF
	})
	p := startProxy(t, "-listen", "127.0.0.1:0", "-to", up.Addr().String(), "-max-conns", "2")
	c1, c2 := dial(t, "tcp", p.addr), dial(t, "tcp", p.addr)
	for range 2 {
		select {
		case <-accepted:
		case <-time.After(hang):
			t.Fatal("the first two connections did not reach the upstream")
		}
	}
	c3 := dial(t, "tcp", p.addr) // queued in the backlog
	c3.Write([]byte("third"))
	select {
	case <-accepted:
		t.Fatal("a third connection reached the upstream with -max-conns 2")
	case <-time.After(500 * time.Millisecond):
	}
	c1.Close()
	select {
	case <-accepted:
	case <-time.After(hang):
		t.Fatal("the third connection did not go through after the first ended")
	}
	c3.(*net.TCPConn).CloseWrite()
	if b, err := io.ReadAll(c3); err != nil || string(b) != "third" {
		t.Errorf("third connection: got %q, %v; want %q", b, err, "third")
	}
	c2.Close()
	p.waitLines("end=", 3)
	p.stop()
}

// TestProxyMaxConnsStop: connections waiting in the backlog (-max-conns)
// when SIGTERM comes are refused with a reset and a log line each, while
// the open one finishes.
func TestProxyMaxConnsStop(t *testing.T) {
	t.Parallel()
	up := listenTCP(t)
	accepted := make(chan struct{}, 3)
	serveConns(t, up, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(hang))
		accepted <- struct{}{}
		io.Copy(c, c)
	})
	p := startProxy(t, "-listen", "127.0.0.1:0", "-to", up.Addr().String(), "-max-conns", "1")
	c1 := dial(t, "tcp", p.addr)
	select {
	case <-accepted:
	case <-time.After(hang):
		t.Fatal("the first connection did not reach the upstream")
	}
	queued := []net.Conn{dial(t, "tcp", p.addr), dial(t, "tcp", p.addr)}
	for _, c := range queued {
		c.Write([]byte("waiting"))
	}
	p.signal(syscall.SIGTERM)
	p.waitLine("stopped accepting; 1 connections open, grace 10s; refused 2 waiting in the backlog")
	for i, c := range queued {
		if n, err := io.Copy(io.Discard, c); n != 0 || !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("queued connection %d: read %d bytes, err %v; want ECONNRESET", i, n, err)
		}
	}
	c1.Write([]byte("first"))
	c1.(*net.TCPConn).CloseWrite()
	if b, err := io.ReadAll(c1); err != nil || string(b) != "first" {
		t.Errorf("open connection: got %q, %v; want %q", b, err, "first")
	}
	if st := p.wait(); st != 0 {
		t.Errorf("exit status %d, want 0", st)
	}
	for _, line := range p.waitLines("end=refused", 2) {
		if logInt(t, line, "up") != 0 || logInt(t, line, "down") != 0 {
			t.Errorf("log line %q: want up=0 down=0", line)
		}
	}
	p.waitLine("end=eof")
}

// TestProxySignalAtOnce: a signal sent as soon as the listening line is out
// stops the proxy cleanly (exit 0), not by the signal's default action.
func TestProxySignalAtOnce(t *testing.T) {
	t.Parallel()
	for range 2 {
		p := startProxy(t, "-listen", "127.0.0.1:0", "-to", "127.0.0.1:1")
		p.signal(syscall.SIGTERM)
		if st := p.wait(); st != 0 {
			t.Fatalf("exit status %d (%v) after SIGTERM at once, want 0", st, p.state)
		}
		p.waitLine("stopped accepting; 0 connections open")
	}
}

// TestProxyBlame: which side a copy error is blamed on.
func TestProxyBlame(t *testing.T) {
	unixOp := func(op string, errno syscall.Errno) error {
		return &net.OpError{Op: op, Net: "unix", Err: os.NewSyscallError(op, errno)}
	}
	spliced := &net.OpError{Op: "readfrom", Net: "tcp", Err: os.NewSyscallError("splice", syscall.ECONNRESET)}
	for _, tc := range []struct {
		name               string
		err                error
		dstReset, srcReset bool
		src                bool
	}{
		{"unix read EIO", unixOp("read", syscall.EIO), false, false, true},
		{"unix write EIO", unixOp("write", syscall.EIO), false, false, false},
		{"unix read reset", unixOp("read", syscall.ECONNRESET), false, false, true},
		{"unix write EPIPE", unixOp("write", syscall.EPIPE), false, false, false},
		{"spliced, src reset", spliced, false, true, true},
		{"spliced, dst reset", spliced, true, false, false},
		{"spliced, kernel silent", spliced, false, false, true},
		{"other", errors.New("x"), false, false, false},
	} {
		if got := blameSource(tc.err, tc.dstReset, tc.srcReset); got != tc.src {
			t.Errorf("%s: blameSource = %v, want %v", tc.name, got, tc.src)
		}
	}
}

// TestProxyGraceful stops the proxy with a transfer in flight: it stops
// accepting at once, the transfer completes, and the proxy exits 0; and
// with a short -grace, the transfer is cut and the proxy exits 0.
func TestProxyGraceful(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		grace string
		sig   os.Signal
		end   string
	}{
		{"complete", "1m", syscall.SIGTERM, "eof"},
		{"cut", "300ms", syscall.SIGINT, "shutdown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := pattern(6, 4<<20)
			release := make(chan struct{})
			up := listenTCP(t)
			serveConns(t, up, func(c net.Conn) {
				c.SetDeadline(time.Now().Add(hang))
				c.Write(data[:1<<20])
				select {
				case <-release:
				case <-time.After(hang):
				}
				c.Write(data[1<<20:])
			})
			defer close(release)
			p := startProxy(t, "-listen", "127.0.0.1:0", "-to", up.Addr().String(), "-grace", tc.grace)
			c := dial(t, "tcp", p.addr)
			first := make([]byte, 1<<20)
			if _, err := io.ReadFull(c, first); err != nil {
				t.Fatal(err)
			}
			p.signal(tc.sig)
			p.waitLine("stopped accepting; 1 connections open")
			if c2, err := net.DialTimeout("tcp", p.addr, hang); err == nil {
				c2.Close()
				t.Errorf("a new connection was accepted after SIGTERM")
			}
			if tc.end == "eof" {
				release <- struct{}{}
			}
			rest, err := io.ReadAll(c)
			c.Close()
			got := append(first, rest...)
			switch tc.end {
			case "eof":
				if err != nil || sum(got) != sum(data) {
					t.Errorf("transfer in flight: got %d bytes of %d (err %v), sha256 differs", len(got), len(data), err)
				}
			case "shutdown":
				if len(got) != 1<<20 || !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("cut transfer: got %d bytes, err %v; want the %d sent before the cut, then ECONNRESET", len(got), err, 1<<20)
				}
			}
			if st := p.wait(); st != 0 {
				t.Errorf("exit status %d, want 0", st)
			}
			line := p.waitLine("end=")
			if end := logField(t, line, "end"); end != tc.end {
				t.Errorf("log line %q: want end=%s", line, tc.end)
			}
		})
	}
}

// TestProxyUnix forwards to a Unix socket upstream (an HTTP server, through
// curl if installed, else a Go client) and from a Unix socket listener.
func TestProxyUnix(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	upPath := filepath.Join(dir, "up.sock")
	ln, err := net.Listen("unix", upPath)
	if err != nil {
		t.Fatal(err)
	}
	body := pattern(7, 3<<20+5)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	for _, listen := range []string{"127.0.0.1:0", "unix:" + filepath.Join(dir, "proxy.sock")} {
		p := startProxy(t, "-listen", listen, "-to", "unix:"+upPath)
		network, addr := splitFlagAddr("tcp", p.addr)
		client := &http.Client{
			Timeout: hang,
			Transport: &http.Transport{
				DisableKeepAlives: true,
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, network, addr)
				},
			},
		}
		resp, err := client.Get("http://proxy/file")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || sum(got) != sum(body) {
			t.Fatalf("unix upstream via %s: got %d bytes of %d (err %v), sha256 differs", listen, len(got), len(body), err)
		}
		line := p.waitLine("end=")
		if !strings.Contains(line, " -> unix:"+upPath+" ") || logField(t, line, "end") != "eof" {
			t.Errorf("log line %q: want the upstream unix:%s and end=eof", line, upPath)
		}
		p.stop()
	}
}
