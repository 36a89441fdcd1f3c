package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// splice proxy: a TCP and Unix socket forwarding proxy. Each accepted
// connection gets one connection to the upstream, and the bytes go both ways
// by splice.Copy, which on Linux splices them through a pooled pipe instead of
// copying them through user space.
//
// Half-close is passed through: when one side ends its stream (EOF), the other
// side's write half is shut (CloseWrite), and the other direction relays the
// rest until its own EOF. The connection closes when both directions are done,
// or at once when either fails; a reset met on one side is passed on to the
// other as a reset.
//
// -max-conns makes excess connections wait, as HAProxy's maxconn does: with N
// connections open the proxy stops accepting until one ends. New clients
// queue in the kernel's listen backlog meanwhile: their connect succeeds, and
// their bytes wait there until the proxy accepts them. On SIGINT or SIGTERM
// the connections still waiting there are refused: accepted and reset, with a
// log line each (end=refused).
//
// Each connection, when it ends, gets one line on stderr:
//
//	splice proxy: PEER -> UPSTREAM up=BYTES down=BYTES time=DURATION end=HOW
//
// up counts the bytes from the client to the upstream, down the other way;
// HOW is eof (both directions done), idle, reset by client, reset by upstream,
// error on client: MESSAGE, error on upstream: MESSAGE, connect error: MESSAGE
// (or timeout), shutdown (cut when -grace ran out), or refused (waiting in the
// listen backlog at SIGINT or SIGTERM).
//
// -idle counts a byte as moved when a copy reports progress or when the
// kernel's counters of either socket change (TCP_INFO's bytes acknowledged
// and received, a Unix socket's queue lengths), so that a slow reader of a
// long one-way transfer is not cut while the copy waits in one long splice.
//
// A connection cut by -idle or by the end of -grace is reset (SO_LINGER 0)
// on its TCP sides, so that the peers see a reset, not a clean end of the
// stream. (A Unix socket peer sees a reset only if bytes it sent were left
// unread; else an end of stream.)
//
// On SIGINT or SIGTERM the proxy stops accepting, lets the open connections
// finish for -grace, then cuts what is left and exits with status 0 (a second
// signal cuts at once).
//
// A Unix socket path to listen on that is a socket nobody listens on
// (connecting is refused: a proxy that died) is removed and listened on
// again; any other file there is left alone and listening fails.

const proxyUsage = `usage: splice proxy -listen ADDR -to ADDR [flags]

Forward every connection accepted on -listen to -to, both directions by
splice(2). ADDR is host:port for TCP, or unix:/path for a Unix socket, on
either side. Half-close is passed through; one line per connection on stderr
(peer, upstream, bytes each way, duration, how it ended). With -max-conns,
excess connections wait in the listen backlog (the proxy stops accepting
until one ends). SIGINT/SIGTERM: stop accepting, refuse (reset) the
connections still waiting in the backlog, let open connections finish for
-grace, then cut (reset) them; exit 0. A connection cut by -idle is reset too.
A stale Unix socket file at -listen (connect refused) is replaced.

Log line: PEER -> UPSTREAM up=BYTES down=BYTES time=DURATION end=HOW, where
HOW is eof, idle, reset by client|upstream, error on client|upstream: MSG,
connect error: MSG, shutdown (cut after -grace), or refused (waiting in the
backlog at the signal).

Examples:

	splice proxy -listen :8080 -to 10.0.0.2:80
	splice proxy -listen unix:/run/app.sock -to 127.0.0.1:9000 -idle 5m -proxy-protocol v2

Flags:
`

func init() {
	register(&command{
		name:    "proxy",
		summary: "forward TCP or Unix socket connections, both ways by splice",
		usage:   proxyUsage,
		run:     runProxy,
	})
}

// proxyConfig is what the flags say.
type proxyConfig struct {
	listen, to     sockAddr
	idle           time.Duration // 0: no idle timeout
	connectTimeout time.Duration
	grace          time.Duration
	maxConns       int
	proxyProtocol  int // 0, 1 or 2
}

// sockAddr is a -listen or -to address: network "tcp" or "unix".
type sockAddr struct{ network, address string }

func parseSockAddr(s string) (sockAddr, error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" {
			return sockAddr{}, fmt.Errorf("%q: empty Unix socket path", s)
		}
		return sockAddr{"unix", path}, nil
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return sockAddr{}, fmt.Errorf("%q: want host:port or unix:/path", s)
	}
	if err := checkPort(port); err != nil {
		return sockAddr{}, fmt.Errorf("%q: %v", s, err)
	}
	return sockAddr{"tcp", s}, nil
}

// checkPort accepts a port number 0 to 65535 or a service name that the
// system knows.
func checkPort(port string) error {
	if port == "" {
		return errors.New("missing port")
	}
	if strings.Trim(port, "0123456789") == "" {
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
			return fmt.Errorf("port %s out of range 0-65535", port)
		}
		return nil
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("unknown port %q", port)
	}
	return nil
}

// addrString prints a socket address as the flags take it.
func addrString(a net.Addr) string {
	if a == nil {
		return "?"
	}
	if u, ok := a.(*net.UnixAddr); ok {
		if u.Name == "" {
			return "unix:@"
		}
		return "unix:" + u.Name
	}
	return a.String()
}

func runProxy(args []string) int {
	fs := flag.NewFlagSet("splice proxy", flag.ContinueOnError)
	// The flag package's output is held until Parse says whether it is the
	// help asked for (stdout, as GNU tools print --help) or an error (stderr).
	var flagOut bytes.Buffer
	fs.SetOutput(&flagOut)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), proxyUsage)
		fs.PrintDefaults()
	}
	listen := fs.String("listen", "", "`ADDR` to accept connections on (host:port or unix:/path); port 0 picks one, printed on start")
	to := fs.String("to", "", "`ADDR` of the upstream to forward to (host:port or unix:/path)")
	var cfg proxyConfig
	fs.DurationVar(&cfg.idle, "idle", 0, "cut (reset) a connection after this long with no byte in either direction (0: never)")
	fs.DurationVar(&cfg.connectTimeout, "connect-timeout", 10*time.Second, "give up connecting to the upstream after this long (0: when the system does)")
	fs.DurationVar(&cfg.grace, "grace", 10*time.Second, "on SIGINT/SIGTERM, let open connections finish for this long, then cut (reset) them")
	fs.IntVar(&cfg.maxConns, "max-conns", 0, "at most `N` connections at once; excess connections wait in the listen backlog, and are refused at SIGINT/SIGTERM (0: no limit)")
	pp := fs.String("proxy-protocol", "", "send a PROXY protocol header of this `VERSION` (v1 or v2) to the upstream")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		os.Stdout.Write(flagOut.Bytes())
		return exitOK
	}
	os.Stderr.Write(flagOut.Bytes())
	fs.SetOutput(os.Stderr)
	if err != nil {
		return exitUsage
	}
	bad := func(format string, args ...any) int {
		warnf("proxy", format, args...)
		fmt.Fprintln(os.Stderr, "Try 'splice proxy -h' for more information.")
		return exitUsage
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	if *listen == "" || *to == "" {
		return bad("-listen and -to are required")
	}
	if cfg.listen, err = parseSockAddr(*listen); err != nil {
		return bad("-listen %v", err)
	}
	if cfg.to, err = parseSockAddr(*to); err != nil {
		return bad("-to %v", err)
	}
	switch *pp {
	case "":
	case "v1", "1":
		cfg.proxyProtocol = 1
	case "v2", "2":
		cfg.proxyProtocol = 2
	default:
		return bad("-proxy-protocol %q: want v1 or v2", *pp)
	}
	switch {
	case cfg.idle < 0:
		return bad("-idle %v: must not be negative", cfg.idle)
	case cfg.connectTimeout < 0:
		return bad("-connect-timeout %v: must not be negative", cfg.connectTimeout)
	case cfg.grace < 0:
		return bad("-grace %v: must not be negative", cfg.grace)
	case cfg.maxConns < 0:
		return bad("-max-conns %d: must not be negative", cfg.maxConns)
	}

	// Invariant: signals are caught before the listening line is printed:
	// whoever reads it may signal at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ln, err := listenSock(cfg.listen)
	if err != nil {
		warnf("proxy", "%s: %s", *listen, strerror(err))
		return exitFailure
	}
	warnf("proxy", "listening on %s", addrString(ln.Addr()))

	p := newProxy(cfg)
	served := make(chan struct{})
	go func() {
		defer close(served)
		p.serve(ln)
	}()
	sig := <-sigs
	close(p.stop)
	dl, canDrain := ln.(interface{ SetDeadline(time.Time) error })
	if canDrain {
		dl.SetDeadline(time.Now()) // wakes serve's Accept
	} else {
		ln.Close()
	}
	<-served
	refused := 0
	if canDrain {
		refused = p.refuseQueued(ln, dl)
		ln.Close()
	}
	msg := fmt.Sprintf("%v: stopped accepting; %d connections open, grace %v", sig, p.openConns(), cfg.grace)
	if refused > 0 {
		msg += fmt.Sprintf("; refused %d waiting in the backlog", refused)
	}
	warnf("proxy", "%s", msg)
	finished := make(chan struct{})
	go func() {
		p.conns.Wait()
		close(finished)
	}()
	grace := time.NewTimer(cfg.grace)
	defer grace.Stop()
	select {
	case <-finished:
		return exitOK
	case <-grace.C:
	case <-sigs:
	}
	p.cutAll()
	<-finished
	return exitOK
}

// listenSock listens on a; a Unix socket path that is a stale socket (one
// that refuses connections: its proxy died) is removed and listened on again.
func listenSock(a sockAddr) (net.Listener, error) {
	ln, err := net.Listen(a.network, a.address)
	if err == nil || a.network != "unix" || strings.HasPrefix(a.address, "@") || !errors.Is(err, syscall.EADDRINUSE) {
		return ln, err
	}
	if fi, serr := os.Lstat(a.address); serr != nil || fi.Mode().Type() != os.ModeSocket {
		return nil, err
	}
	c, derr := net.DialTimeout("unix", a.address, time.Second)
	if derr == nil {
		c.Close()
		return nil, err // a live socket
	}
	if !errors.Is(derr, syscall.ECONNREFUSED) || os.Remove(a.address) != nil {
		return nil, err
	}
	warnf("proxy", "unix:%s: removed a stale socket", a.address)
	return net.Listen(a.network, a.address)
}

// refuseQueued accepts the connections left in ln's backlog after the proxy
// stopped accepting, and resets each with a log line; it returns how many.
// It takes what the kernel has queued within a short while, not a flood.
func (p *proxy) refuseQueued(ln net.Listener, dl interface{ SetDeadline(time.Time) error }) int {
	n := 0
	dl.SetDeadline(time.Now().Add(250 * time.Millisecond))
	for {
		c, err := ln.Accept()
		if err != nil {
			return n
		}
		n++
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
		p.logConn(c, nil, 0, 0, 0, endRefused)
	}
}

// logConn prints a connection's log line.
func (p *proxy) logConn(client, up net.Conn, upBytes, downBytes int64, d time.Duration, end string) {
	to := "unix:" + p.cfg.to.address
	if up != nil {
		to = addrString(up.RemoteAddr())
	} else if p.cfg.to.network == "tcp" {
		to = p.cfg.to.address
	}
	warnf("proxy", "%s -> %s up=%d down=%d time=%v end=%s",
		addrString(client.RemoteAddr()), to, upBytes, downBytes, d.Round(time.Microsecond), end)
}

// proxy is the running proxy: its settings and its open connections.
type proxy struct {
	cfg    proxyConfig
	dialer net.Dialer
	stop   chan struct{} // closed when the proxy stops accepting
	slots  chan struct{} // -max-conns: one token per open connection; nil for no limit

	conns sync.WaitGroup // one per open connection

	mu      sync.Mutex
	live    map[*conn]struct{} // the open connections
	cutting bool               // past the grace: every connection is cut, new ones too
}

func newProxy(cfg proxyConfig) *proxy {
	p := &proxy{
		cfg:    cfg,
		dialer: net.Dialer{Timeout: cfg.connectTimeout},
		stop:   make(chan struct{}),
		live:   map[*conn]struct{}{},
	}
	if cfg.maxConns > 0 {
		p.slots = make(chan struct{}, cfg.maxConns)
	}
	return p
}

func (p *proxy) openConns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.live)
}

// serve accepts connections until the proxy stops. With -max-conns it takes
// a slot before accepting, so that excess connections wait in the listen
// backlog.
func (p *proxy) serve(ln net.Listener) {
	var backoff time.Duration
	for {
		if p.slots != nil {
			select {
			case p.slots <- struct{}{}:
			case <-p.stop:
				return
			}
		}
		client, err := ln.Accept()
		if err != nil {
			p.release()
			select {
			case <-p.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE, ENFILE, ENOBUFS...: wait and retry, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			warnf("proxy", "accept: %s; retrying in %v", strerror(err), backoff)
			select {
			case <-time.After(backoff):
			case <-p.stop:
				return
			}
			continue
		}
		backoff = 0
		ctx, cancel := context.WithCancel(context.Background())
		c := &conn{p: p, client: client, start: time.Now(), ctx: ctx, cancel: cancel}
		// Invariant: a connection is in p.live from its Accept on, so
		// that the count printed when the proxy stops has it.
		p.mu.Lock()
		p.live[c] = struct{}{}
		cutting := p.cutting
		p.mu.Unlock()
		p.conns.Add(1)
		go p.handle(c, cutting)
	}
}

func (p *proxy) release() {
	if p.slots != nil {
		<-p.slots
	}
}

// cutAll cuts every open connection, and every one accepted from now on.
func (p *proxy) cutAll() {
	p.mu.Lock()
	p.cutting = true
	open := make([]*conn, 0, len(p.live))
	for c := range p.live {
		open = append(open, c)
	}
	p.mu.Unlock()
	for _, c := range open {
		c.cut(endShutdown, true)
	}
}
