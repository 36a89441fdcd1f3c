//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hang bounds every wait of these tests: long enough never to fire on a
// loaded machine, short enough to report a hang.
const hang = 60 * time.Second

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// proxyProc is a running "splice proxy".
type proxyProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string // the listening address it printed

	mu    sync.Mutex
	lines []string
	more  chan struct{} // closed and renewed on each line
	eof   bool
	exit  chan struct{} // closed when the process has exited
	state *os.ProcessState
}

// startProxy runs "splice proxy args..." and waits for its listening line.
func startProxy(t *testing.T, args ...string) *proxyProc {
	t.Helper()
	cmd := splice(t, append([]string{"proxy"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proxyProc{t: t, cmd: cmd, more: make(chan struct{}), exit: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.more)
			p.more = make(chan struct{})
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.eof = true
		close(p.more)
		p.mu.Unlock()
		cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exit)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exit:
		default:
			cmd.Process.Kill()
			<-p.exit
		}
	})
	line := p.waitLine("listening on ")
	p.addr = line[strings.Index(line, "listening on ")+len("listening on "):]
	return p
}

// waitLine waits for a line of stderr that contains sub and was not returned
// before, and returns it.
func (p *proxyProc) waitLine(sub string) string {
	p.t.Helper()
	lines := p.waitLines(sub, 1)
	return lines[0]
}

// waitLines waits for n lines containing sub and returns them; each line is
// returned once.
func (p *proxyProc) waitLines(sub string, n int) []string {
	p.t.Helper()
	deadline := time.After(hang)
	var got []string
	for {
		p.mu.Lock()
		for i, l := range p.lines {
			if len(got) < n && strings.Contains(l, sub) {
				got = append(got, l)
				p.lines[i] = "" // taken
			}
		}
		more, eof := p.more, p.eof
		p.mu.Unlock()
		if len(got) == n {
			return got
		}
		if eof {
			p.t.Fatalf("splice proxy ended without printing %d lines with %q (got %q); stderr:\n%s", n, sub, got, p.stderr())
		}
		select {
		case <-more:
		case <-deadline:
			p.t.Fatalf("no %d lines with %q from splice proxy in %v (got %q); stderr:\n%s", n, sub, hang, got, p.stderr())
		}
	}
}

// stderr returns what is left of the proxy's stderr (lines not yet taken).
func (p *proxyProc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, l := range p.lines {
		if l != "" {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// signal sends sig to the proxy.
func (p *proxyProc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for the proxy to exit and returns its exit status.
func (p *proxyProc) wait() int {
	p.t.Helper()
	select {
	case <-p.exit:
	case <-time.After(hang):
		p.t.Fatalf("splice proxy did not exit in %v; stderr:\n%s", hang, p.stderr())
	}
	return p.state.ExitCode()
}

// stop sends SIGTERM and checks that the proxy exits with status 0.
func (p *proxyProc) stop() {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	if st := p.wait(); st != 0 {
		p.t.Fatalf("splice proxy exit status %d after SIGTERM, want 0; stderr:\n%s", st, p.stderr())
	}
}

// fds returns the number of open sockets and pipes of the proxy process.
func (p *proxyProc) fds() (sockets, pipes int) {
	p.t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, e := range ents {
		link, _ := os.Readlink(filepath.Join(dir, e.Name()))
		switch {
		case strings.HasPrefix(link, "socket:"):
			sockets++
		case strings.HasPrefix(link, "pipe:"):
			pipes++
		}
	}
	return sockets, pipes
}

// logField returns the value of key=... in a connection's log line ("end"
// takes the rest of the line).
func logField(t *testing.T, line, key string) string {
	t.Helper()
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		t.Fatalf("no %s= in log line %q", key, line)
	}
	v := line[i+len(key)+2:]
	if key != "end" {
		v, _, _ = strings.Cut(v, " ")
	}
	return v
}

func logInt(t *testing.T, line, key string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(logField(t, line, key), 10, 64)
	if err != nil {
		t.Fatalf("log line %q: %s: %v", line, key, err)
	}
	return n
}

// pattern is the deterministic content of the tests' streams: byte i of
// stream seed is a function of both.
func pattern(seed uint64, n int) []byte {
	b := make([]byte, n)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// listenTCP returns a loopback TCP listener closed at the end of the test.
func listenTCP(t *testing.T) *net.TCPListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener)
}

// serveConns runs handle on every connection ln accepts, until the test ends.
func serveConns(t *testing.T, ln net.Listener, handle func(net.Conn)) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

func dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	network, addr = splitFlagAddr(network, addr)
	c, err := net.DialTimeout(network, addr, hang)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(hang))
	return c
}

// splitFlagAddr turns an address as the proxy prints it into Dial's arguments.
func splitFlagAddr(network, addr string) (string, string) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return "unix", path
	}
	return network, addr
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

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

// parsedHeader is a PROXY protocol header as the test's upstream reads it.
type parsedHeader struct {
	Version          int
	Family           string // TCP4, TCP6, UNIX, UNKNOWN (v1) or LOCAL (v2)
	Src, Dst         string // addresses, Unix paths
	SrcPort, DstPort int
}

// readProxyHeader parses a PROXY header from r, by the spec, independently of
// proxyproto.go.
func readProxyHeader(r *bufio.Reader) (parsedHeader, error) {
	var h parsedHeader
	sig, err := r.Peek(12)
	if err != nil {
		return h, err
	}
	if string(sig[:6]) == "PROXY " {
		h.Version = 1
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasSuffix(line, "\r\n") || len(line) > 107 {
			return h, fmt.Errorf("bad v1 line %q: %v", line, err)
		}
		f := strings.Fields(strings.TrimSuffix(line, "\r\n"))
		h.Family = f[1]
		if h.Family == "UNKNOWN" {
			return h, nil
		}
		if len(f) != 6 {
			return h, fmt.Errorf("bad v1 line %q", line)
		}
		h.Src, h.Dst = f[2], f[3]
		h.SrcPort, _ = strconv.Atoi(f[4])
		h.DstPort, _ = strconv.Atoi(f[5])
		return h, nil
	}
	if !bytes.Equal(sig, []byte{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A}) {
		return h, fmt.Errorf("no PROXY signature: %q", sig)
	}
	var fixed [16]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return h, err
	}
	if fixed[12]>>4 != 2 {
		return h, fmt.Errorf("v2 header of version %d", fixed[12]>>4)
	}
	h.Version = 2
	body := make([]byte, binary.BigEndian.Uint16(fixed[14:]))
	if _, err := io.ReadFull(r, body); err != nil {
		return h, err
	}
	if fixed[12]&0xF == 0 {
		h.Family = "LOCAL"
		return h, nil
	}
	switch fixed[13] {
	case 0x11:
		if len(body) < 12 {
			return h, fmt.Errorf("TCP4 block of %d bytes", len(body))
		}
		h.Family = "TCP4"
		h.Src, h.Dst = net.IP(body[0:4]).String(), net.IP(body[4:8]).String()
		h.SrcPort, h.DstPort = int(binary.BigEndian.Uint16(body[8:])), int(binary.BigEndian.Uint16(body[10:]))
	case 0x21:
		if len(body) < 36 {
			return h, fmt.Errorf("TCP6 block of %d bytes", len(body))
		}
		h.Family = "TCP6"
		h.Src, h.Dst = net.IP(body[0:16]).String(), net.IP(body[16:32]).String()
		h.SrcPort, h.DstPort = int(binary.BigEndian.Uint16(body[32:])), int(binary.BigEndian.Uint16(body[34:]))
	case 0x31:
		if len(body) < 216 {
			return h, fmt.Errorf("UNIX block of %d bytes", len(body))
		}
		h.Family = "UNIX"
		h.Src = string(bytes.TrimRight(body[:108], "\x00"))
		h.Dst = string(bytes.TrimRight(body[108:216], "\x00"))
	default:
		return h, fmt.Errorf("v2 family/transport byte %#x", fixed[13])
	}
	return h, nil
}

// TestProxyProtocol checks the PROXY headers field by field, over TCP4, TCP6
// and a Unix socket client, and that the stream follows intact.
func TestProxyProtocol(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "pp.sock")
	for _, tc := range []struct {
		version, listen string
		family          string
	}{
		{"v1", "127.0.0.1:0", "TCP4"},
		{"v2", "127.0.0.1:0", "TCP4"},
		{"v1", "[::1]:0", "TCP6"},
		{"v2", "[::1]:0", "TCP6"},
		{"v1", "unix:" + sock + "1", "UNKNOWN"},
		{"v2", "unix:" + sock + "2", "UNIX"},
		{"v2", "unix:@" + sock + "3", "UNIX"}, // abstract
	} {
		t.Run(tc.version+"-"+tc.family+"-"+tc.listen[len(tc.listen)-1:], func(t *testing.T) {
			if tc.family == "TCP6" {
				if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				} else {
					ln.Close()
				}
			}
			type result struct {
				h    parsedHeader
				body []byte
				err  error
			}
			results := make(chan result, 1)
			up := listenTCP(t)
			serveConns(t, up, func(c net.Conn) {
				c.SetDeadline(time.Now().Add(hang))
				r := bufio.NewReader(c)
				h, err := readProxyHeader(r)
				body, _ := io.ReadAll(r)
				results <- result{h, body, err}
			})
			p := startProxy(t, "-listen", tc.listen, "-to", up.Addr().String(), "-proxy-protocol", tc.version)
			c := dial(t, "tcp", p.addr)
			payload := pattern(5, 70<<10)
			c.Write(payload)
			c.(interface{ CloseWrite() error }).CloseWrite()
			io.Copy(io.Discard, c)
			res := <-results
			if res.err != nil {
				t.Fatal(res.err)
			}
			want := parsedHeader{Version: int(tc.version[1] - '0'), Family: tc.family}
			switch tc.family {
			case "TCP4", "TCP6":
				la, ra := c.LocalAddr().(*net.TCPAddr), c.RemoteAddr().(*net.TCPAddr)
				want.Src, want.SrcPort = la.IP.String(), la.Port
				want.Dst, want.DstPort = ra.IP.String(), ra.Port
			case "UNIX":
				want.Dst = strings.TrimPrefix(p.addr, "unix:")
				if abstract, ok := strings.CutPrefix(want.Dst, "@"); ok {
					want.Dst = "\x00" + abstract // sun_path
				}
			}
			if res.h != want {
				t.Errorf("PROXY header: got %+v, want %+v", res.h, want)
			}
			if !bytes.Equal(res.body, payload) {
				t.Errorf("after the header: got %d bytes, want the %d sent, sha256 differs", len(res.body), len(payload))
			}
			p.waitLine("end=eof")
			p.stop()
		})
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

// TestProxyHeaderEdges: headers for addresses the tests' sockets do not
// produce: mixed families, IPv4-mapped, no address, an overlong Unix path.
func TestProxyHeaderEdges(t *testing.T) {
	v4 := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}
	v6 := &net.TCPAddr{IP: net.ParseIP("2001:db8::2"), Port: 65535}
	long := &net.UnixAddr{Name: "/" + strings.Repeat("x", 200), Net: "unix"}
	for _, tc := range []struct {
		name     string
		src, dst net.Addr
		v1       string
		v2       parsedHeader
	}{
		{"mixed", v4, v6, "PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1 65535\r\n",
			parsedHeader{Version: 2, Family: "TCP6", Src: "192.0.2.1", Dst: "2001:db8::2", SrcPort: 1, DstPort: 65535}},
		{"v4", v4, v4, "PROXY TCP4 192.0.2.1 192.0.2.1 1 1\r\n",
			parsedHeader{Version: 2, Family: "TCP4", Src: "192.0.2.1", Dst: "192.0.2.1", SrcPort: 1, DstPort: 1}},
		{"none", nil, nil, "PROXY UNKNOWN\r\n", parsedHeader{Version: 2, Family: "LOCAL"}},
		{"nil-ip", &net.TCPAddr{}, v4, "PROXY UNKNOWN\r\n", parsedHeader{Version: 2, Family: "LOCAL"}},
		{"unix-long", long, &net.UnixAddr{Name: "@", Net: "unix"}, "PROXY UNKNOWN\r\n",
			parsedHeader{Version: 2, Family: "UNIX", Src: long.Name[:107]}},
		{"unix-abstract", &net.UnixAddr{Name: "@a", Net: "unix"}, &net.UnixAddr{Name: "@" + strings.Repeat("y", 107), Net: "unix"}, "PROXY UNKNOWN\r\n",
			parsedHeader{Version: 2, Family: "UNIX", Src: "\x00a", Dst: "\x00" + strings.Repeat("y", 107)}},
		{"unix-unnamed", &net.UnixAddr{Name: "", Net: "unix"}, &net.UnixAddr{Name: "/p", Net: "unix"}, "PROXY UNKNOWN\r\n",
			parsedHeader{Version: 2, Family: "UNIX", Dst: "/p"}},
	} {
		if got := string(proxyHeaderV1(tc.src, tc.dst)); got != tc.v1 {
			t.Errorf("%s: v1 header %q, want %q", tc.name, got, tc.v1)
		}
		h, err := readProxyHeader(bufio.NewReader(bytes.NewReader(proxyHeaderV2(tc.src, tc.dst))))
		if err != nil || h != tc.v2 {
			t.Errorf("%s: v2 header parsed as %+v (err %v), want %+v", tc.name, h, err, tc.v2)
		}
	}
}
