//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The proxy's usage, and bytes through it: curl, many connections, half-close, resets.

func TestProxyUsage(t *testing.T) {
	t.Parallel()
	busy := listenTCP(t)
	dir := t.TempDir()
	// A live Unix socket, and a file that is no socket: both keep their path.
	live := filepath.Join(dir, "live.sock")
	liveLn, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { liveLn.Close() })
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		status int
		msg    string // in stderr
		stdout string // in stdout
	}{
		{[]string{"-h"}, exitOK, "", "Examples:"},
		{[]string{"-listen", "127.0.0.1:0", "-help"}, exitOK, "", "-max-conns N"},
		{nil, exitUsage, "-listen and -to are required", ""},
		{[]string{"-listen", "127.0.0.1:0"}, exitUsage, "-listen and -to are required", ""},
		{[]string{"-listen", "127.0.0.1:0", "-to", "nohostport"}, exitUsage, "want host:port or unix:/path", ""},
		{[]string{"-listen", "unix:", "-to", "127.0.0.1:1"}, exitUsage, "empty Unix socket path", ""},
		{[]string{"-listen", "127.0.0.1:0", "-to", "127.0.0.1:1", "-proxy-protocol", "v3"}, exitUsage, `"v3": want v1 or v2`, ""},
		{[]string{"-listen", "127.0.0.1:0", "-to", "127.0.0.1:1", "-idle", "-1s"}, exitUsage, "must not be negative", ""},
		{[]string{"-listen", "127.0.0.1:0", "-to", "127.0.0.1:1", "-max-conns", "x"}, exitUsage, "invalid value", ""},
		{[]string{"-listen", "127.0.0.1:0", "-to", "127.0.0.1:1", "-nosuch"}, exitUsage, "flag provided but not defined", ""},
		{[]string{"-listen", "127.0.0.1:0", "-to", "127.0.0.1:1", "extra"}, exitUsage, `unexpected argument "extra"`, ""},
		{[]string{"-listen", "127.0.0.1:0", "-to", "127.0.0.1:99999"}, exitUsage, `-to "127.0.0.1:99999": port 99999 out of range 0-65535`, ""},
		{[]string{"-listen", ":99999", "-to", "127.0.0.1:1"}, exitUsage, `-listen ":99999": port 99999 out of range 0-65535`, ""},
		{[]string{"-listen", "127.0.0.1:0", "-to", "127.0.0.1:"}, exitUsage, `-to "127.0.0.1:": missing port`, ""},
		{[]string{"-listen", "127.0.0.1:0", "-to", "127.0.0.1:nosuchservice"}, exitUsage, `unknown port "nosuchservice"`, ""},
		{[]string{"-listen", busy.Addr().String(), "-to", "127.0.0.1:1"}, exitFailure,
			"splice proxy: " + busy.Addr().String() + ": Address already in use\n", ""},
		{[]string{"-listen", "unix:/nonexistent/dir/sock", "-to", "127.0.0.1:1"}, exitFailure,
			"splice proxy: unix:/nonexistent/dir/sock: No such file or directory\n", ""},
		{[]string{"-listen", "unix:" + live, "-to", "127.0.0.1:1"}, exitFailure,
			"splice proxy: unix:" + live + ": Address already in use\n", ""},
		{[]string{"-listen", "unix:" + plain, "-to", "127.0.0.1:1"}, exitFailure,
			"splice proxy: unix:" + plain + ": Address already in use\n", ""},
	} {
		var stdout, stderr bytes.Buffer
		cmd := splice(t, append([]string{"proxy"}, tc.args...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Each case ends at once; one that runs on (a proxy started on
		// a bad address) is killed and fails.
		kill := time.AfterFunc(hang, func() { cmd.Process.Kill() })
		err := cmd.Wait()
		kill.Stop()
		status := 0
		if ee, ok := err.(*exec.ExitError); ok {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if status != tc.status || !strings.Contains(stderr.String(), tc.msg) || !strings.Contains(stdout.String(), tc.stdout) {
			t.Errorf("splice proxy %q: exit status %d, stdout:\n%s\nstderr:\n%s\nwant status %d, %q in stdout and %q in stderr",
				tc.args, status, stdout.String(), stderr.String(), tc.status, tc.stdout, tc.msg)
		}
		if tc.stdout != "" && stderr.Len() != 0 {
			t.Errorf("splice proxy %q: want nothing on stderr, got:\n%s", tc.args, stderr.String())
		}
		if tc.status == exitUsage && stdout.Len() != 0 {
			t.Errorf("splice proxy %q: want nothing on stdout, got:\n%s", tc.args, stdout.String())
		}
	}
	if b, err := os.ReadFile(plain); err != nil || string(b) != "keep" {
		t.Errorf("the file at a -listen path: %q, %v; want it left alone", b, err)
	}
	if c, err := net.DialTimeout("unix", live, hang); err != nil {
		t.Errorf("the live socket at a -listen path: %v; want it left alone", err)
	} else {
		c.Close()
	}
}

// TestProxyStaleSocket: a socket file left by a listener that is gone (its
// connect refused) does not keep the proxy from listening there.
func TestProxyStaleSocket(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("no stale socket at %s: %v", path, err)
	}
	up := listenTCP(t)
	serveConns(t, up, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(hang))
		io.Copy(c, c)
	})
	p := startProxy(t, "-listen", "unix:"+path, "-to", up.Addr().String())
	c := dial(t, "tcp", p.addr)
	msg := pattern(8, 1000)
	c.Write(msg)
	c.(interface{ CloseWrite() error }).CloseWrite()
	if b, err := io.ReadAll(c); err != nil || !bytes.Equal(b, msg) {
		t.Errorf("through the socket that replaced a stale one: got %d bytes, %v; want the %d sent", len(b), err, len(msg))
	}
	p.waitLine("end=eof")
	p.stop()
}

// TestProxyCurl downloads files of several sizes with curl through the proxy
// from a net/http server in the test.
func TestProxyCurl(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skipf("curl not installed (apt-get install -y curl): %v", err)
	}
	sizes := []int{0, 1, 64<<10 + 1, 4 << 20, 64 << 20}
	if testing.Short() || raceEnabled() {
		sizes = sizes[:4]
	}
	files := map[string][]byte{}
	for i, n := range sizes {
		files["/"+strconv.Itoa(n)] = pattern(uint64(i), n)
	}
	ln := listenTCP(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	p := startProxy(t, "-listen", "127.0.0.1:0", "-to", ln.Addr().String())
	dir := t.TempDir()
	for _, n := range sizes {
		out := filepath.Join(dir, strconv.Itoa(n))
		var stderr bytes.Buffer
		cmd := exec.Command(curl, "-sS", "--fail", "--no-keepalive", "-m", strconv.Itoa(int(hang/time.Second)), "-o", out,
			"http://"+p.addr+"/"+strconv.Itoa(n))
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("curl %d bytes: %v\n%s", n, err, stderr.String())
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if sum(got) != sum(files["/"+strconv.Itoa(n)]) {
			t.Fatalf("curl %d bytes through the proxy: got %d bytes, sha256 differs", n, len(got))
		}
		line := p.waitLine("end=")
		if end := logField(t, line, "end"); end != "eof" {
			t.Errorf("log line %q: end=%s, want eof", line, end)
		}
		if down := logInt(t, line, "down"); down <= int64(n) {
			t.Errorf("log line %q: down=%d, want more than the body's %d", line, down, n)
		}
	}
	p.stop()
}

// echoSeeded is an upstream that reads an 8-byte seed and a 4-byte length,
// then the client's half-close, and answers pattern(seed, length).
func echoSeeded(c net.Conn) {
	c.SetDeadline(time.Now().Add(hang))
	var hdr [12]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	if n, err := io.Copy(io.Discard, c); err != nil || n != 0 {
		return
	}
	c.Write(pattern(binary.BigEndian.Uint64(hdr[:8]), int(binary.BigEndian.Uint32(hdr[8:]))))
}

// fetchSeeded asks echoSeeded for n bytes through c and checks them.
func fetchSeeded(c net.Conn, seed uint64, n int) error {
	var hdr [12]byte
	binary.BigEndian.PutUint64(hdr[:8], seed)
	binary.BigEndian.PutUint32(hdr[8:], uint32(n))
	if _, err := c.Write(hdr[:]); err != nil {
		return err
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		return err
	}
	got, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if sum(got) != sum(pattern(seed, n)) {
		return fmt.Errorf("seed %d: got %d bytes, want %d, sha256 differs", seed, len(got), n)
	}
	return nil
}

// TestProxyConcurrent runs 200 connections at once, twice, each checking its
// own bytes, and checks that the proxy holds no socket but its listener after
// each round. (Its pipes are the library's pool, a sync.Pool that the
// collector empties when it runs: their count says nothing of a leak.)
func TestProxyConcurrent(t *testing.T) {
	t.Parallel()
	const conns, size = 200, 128 << 10
	up := listenTCP(t)
	serveConns(t, up, echoSeeded)
	p := startProxy(t, "-listen", "127.0.0.1:0", "-to", up.Addr().String())
	for round := range 2 {
		errs := make(chan error, conns)
		for i := range conns {
			go func() {
				c, err := net.DialTimeout("tcp", p.addr, hang)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(hang))
				errs <- fetchSeeded(c, uint64(round*conns+i), size+i)
			}()
		}
		for range conns {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for _, line := range p.waitLines("end=", conns) {
			if end := logField(t, line, "end"); end != "eof" {
				t.Errorf("log line %q: end=%s, want eof", line, end)
			}
		}
		sockets, pipes := p.fds()
		if sockets != 1 {
			t.Errorf("after round %d the proxy holds %d sockets; want 1, the listener", round, sockets)
		}
		t.Logf("after round %d: %d pipe fds (pooled engine pipes, stderr)", round, pipes)
	}
	p.stop()
}

// TestProxyHalfClose passes a half-close each way: the upstream reads to EOF
// before it answers; and the upstream sends first and half-closes, then reads
// the client's answer to EOF.
func TestProxyHalfClose(t *testing.T) {
	t.Parallel()
	for _, listen := range []string{"127.0.0.1:0", "unix:" + filepath.Join(t.TempDir(), "proxy.sock")} {
		t.Run(strings.SplitN(listen, ":", 2)[0], func(t *testing.T) {
			request, answer := pattern(1, 300<<10+7), pattern(2, 200<<10+3)

			// Client half-closes first.
			up := listenTCP(t)
			got := make(chan []byte, 1)
			serveConns(t, up, func(c net.Conn) {
				c.SetDeadline(time.Now().Add(hang))
				b, _ := io.ReadAll(c)
				got <- b
				c.Write(answer)
			})
			p := startProxy(t, "-listen", listen, "-to", up.Addr().String())
			c := dial(t, "tcp", p.addr)
			if _, err := c.Write(request); err != nil {
				t.Fatal(err)
			}
			c.(interface{ CloseWrite() error }).CloseWrite()
			back, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(<-got, request) || !bytes.Equal(back, answer) {
				t.Fatalf("client half-close: the upstream or the client got the wrong bytes")
			}
			line := p.waitLine("end=")
			if logField(t, line, "end") != "eof" || logInt(t, line, "up") != int64(len(request)) || logInt(t, line, "down") != int64(len(answer)) {
				t.Errorf("log line %q: want up=%d down=%d end=eof", line, len(request), len(answer))
			}
			p.stop()

			// Upstream half-closes first.
			up2 := listenTCP(t)
			got2 := make(chan []byte, 1)
			serveConns(t, up2, func(c net.Conn) {
				c.SetDeadline(time.Now().Add(hang))
				c.Write(answer)
				c.(*net.TCPConn).CloseWrite()
				b, _ := io.ReadAll(c)
				got2 <- b
			})
			p = startProxy(t, "-listen", listen, "-to", up2.Addr().String())
			c = dial(t, "tcp", p.addr)
			back, err = io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write(request); err != nil {
				t.Fatal(err)
			}
			c.(interface{ CloseWrite() error }).CloseWrite()
			if !bytes.Equal(back, answer) || !bytes.Equal(<-got2, request) {
				t.Fatalf("upstream half-close: the upstream or the client got the wrong bytes")
			}
			line = p.waitLine("end=")
			if logField(t, line, "end") != "eof" {
				t.Errorf("log line %q: want end=eof", line)
			}
			p.stop()
		})
	}
}

// TestProxyReset has the upstream die mid-transfer (a reset), then the
// client: the other side sees the connection cut, and the log line names
// the side.
func TestProxyReset(t *testing.T) {
	t.Parallel()
	t.Run("upstream", func(t *testing.T) {
		t.Parallel()
		up := listenTCP(t)
		sent := make(chan struct{})
		serveConns(t, up, func(c net.Conn) {
			c.Write(pattern(3, 256<<10))
			<-sent // the client has the bytes: reset now
			c.(*net.TCPConn).SetLinger(0)
		})
		p := startProxy(t, "-listen", "127.0.0.1:0", "-to", up.Addr().String())
		c := dial(t, "tcp", p.addr)
		first := make([]byte, 256<<10)
		if _, err := io.ReadFull(c, first); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, pattern(3, 256<<10)) {
			t.Fatal("the bytes before the reset differ from those sent")
		}
		close(sent)
		n, err := io.Copy(io.Discard, c)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("client after the upstream's reset: read %d more bytes, err %v; want ECONNRESET", n, err)
		}
		line := p.waitLine("end=")
		if end := logField(t, line, "end"); end != "reset by upstream" {
			t.Errorf("log line %q: want end=reset by upstream", line)
		}
		p.stop()
	})
	t.Run("client", func(t *testing.T) {
		t.Parallel()
		up := listenTCP(t)
		upErr := make(chan error, 1)
		serveConns(t, up, func(c net.Conn) {
			c.SetDeadline(time.Now().Add(hang))
			_, err := io.Copy(io.Discard, c)
			upErr <- err
		})
		p := startProxy(t, "-listen", "127.0.0.1:0", "-to", up.Addr().String())
		c := dial(t, "tcp", p.addr)
		c.Write(pattern(4, 100<<10))
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
		if err := <-upErr; !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("upstream after the client's reset: err %v, want ECONNRESET", err)
		}
		line := p.waitLine("end=")
		if end := logField(t, line, "end"); end != "reset by client" {
			t.Errorf("log line %q: want end=reset by client", line)
		}
		p.stop()
	})
}
