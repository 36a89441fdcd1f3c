//go:build linux

package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"net"
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
)

// hang bounds every wait of these tests: long enough never to fire on a
// loaded machine, short enough to report a hang.
const hang = 60 * time.Second

// The proxy tests' harness: the proxy as a subprocess, its log, peers.

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
