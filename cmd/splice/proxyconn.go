package main

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sk "github.com/splicekit/splice"
)

// One proxied connection: both directions, the idle timer, how it ends.

// How a connection ended, as its log line says.
const (
	endEOF      = "eof"
	endIdle     = "idle"
	endShutdown = "shutdown"
	endRefused  = "refused"
)

// conn is one proxied connection.
type conn struct {
	p      *proxy
	client net.Conn
	start  time.Time
	ctx    context.Context    // the dial's
	cancel context.CancelFunc // cancels the dial to the upstream

	// last is when a byte last moved either way, as time since start.
	last atomic.Int64

	mu        sync.Mutex
	upstream  net.Conn // nil until dialed
	idleTimer *time.Timer
	counters  [4]uint64 // both sockets' kernel counters at the last idle check
	done      bool      // the relay is over: the idle timer must not rearm
	end       string    // how it ended: the first cause set wins
}

func (p *proxy) handle(c *conn, cutting bool) {
	defer p.conns.Done()
	defer p.release()
	defer c.cancel()
	defer func() {
		p.mu.Lock()
		delete(p.live, c)
		p.mu.Unlock()
	}()
	if cutting {
		c.cut(endShutdown, true)
	}

	var upBytes, downBytes int64
	defer func() {
		c.mu.Lock()
		c.done = true
		if c.idleTimer != nil {
			c.idleTimer.Stop()
		}
		up, end := c.upstream, c.end
		c.mu.Unlock()
		c.client.Close()
		if up != nil {
			up.Close()
		}
		p.logConn(c.client, up, upBytes, downBytes, time.Since(c.start), end)
	}()

	up, err := p.dialer.DialContext(c.ctx, p.cfg.to.network, p.cfg.to.address)
	if err != nil {
		c.setEnd("connect error: " + dialError(err))
		return
	}
	c.mu.Lock()
	c.upstream = up
	cut := c.end != ""
	c.mu.Unlock()
	if cut {
		return
	}
	if h := p.header(c.client); h != nil {
		if _, err := up.Write(h); err != nil {
			c.fail(err, up, nil, "upstream", "")
			return
		}
	}

	copier := &sk.Copier{}
	if idle := p.cfg.idle; idle > 0 {
		copier.Progress = func(int64) { c.last.Store(int64(time.Since(c.start))) }
		c.last.Store(int64(time.Since(c.start)))
		c.mu.Lock()
		c.counters = c.sockCounters()
		c.idleTimer = time.AfterFunc(idle, c.checkIdle)
		c.mu.Unlock()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		upBytes = c.relay(copier, up, c.client, "upstream", "client")
	}()
	downBytes = c.relay(copier, c.client, up, "client", "upstream")
	wg.Wait()
	c.setEnd(endEOF)
}

// header returns the PROXY protocol header to send for client, or nil.
func (p *proxy) header(client net.Conn) []byte {
	switch p.cfg.proxyProtocol {
	case 1:
		return proxyHeaderV1(client.RemoteAddr(), client.LocalAddr())
	case 2:
		return proxyHeaderV2(client.RemoteAddr(), client.LocalAddr())
	}
	return nil
}

// sockCounters returns the kernel's counters of both of c's sockets; c.mu
// held.
func (c *conn) sockCounters() [4]uint64 {
	var k [4]uint64
	k[0], k[1] = sockCounters(c.client)
	if c.upstream != nil {
		k[2], k[3] = sockCounters(c.upstream)
	}
	return k
}

// checkIdle cuts c if no byte moved for -idle, else rearms its timer for
// the rest. A byte moved if a copy reported progress, or if the kernel's
// counters of either socket changed since the last check: a copy blocked in
// one long splice into a slow reader reports no progress for a while, though
// bytes move.
func (c *conn) checkIdle() {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	now := time.Since(c.start)
	if k := c.sockCounters(); k != c.counters {
		c.counters = k
		c.last.Store(int64(now))
	}
	quiet := now - time.Duration(c.last.Load())
	if left := c.p.cfg.idle - quiet; left > 0 {
		c.idleTimer.Reset(left)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.cut(endIdle, true)
}

// relay copies src to dst until src's EOF, then shuts dst's write half, and
// returns the bytes dst accepted. On a failure it cuts the connection.
func (c *conn) relay(copier *sk.Copier, dst, src net.Conn, dstName, srcName string) int64 {
	n, err := copier.Copy(dst, src)
	if err != nil {
		c.fail(err, dst, src, dstName, srcName)
		return n
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite() // a failure shows in the other direction
	}
	return n
}

// setEnd records how c ended, unless something did already; it reports
// whether it did.
func (c *conn) setEnd(end string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.end != "" {
		return false
	}
	c.end = end
	return true
}

// cut ends c now: the dial is cancelled and both sides closed, so that both
// directions' copies return. With reset, TCP sides are reset (SO_LINGER 0),
// so that a peer in the middle of a stream sees it cut, not ended.
func (c *conn) cut(end string, reset bool) {
	c.setEnd(end)
	c.cancel()
	c.mu.Lock()
	up := c.upstream
	c.mu.Unlock()
	for _, s := range []net.Conn{c.client, up} {
		if s == nil {
			continue
		}
		if tc, ok := s.(*net.TCPConn); ok && reset {
			tc.SetLinger(0)
		}
		s.Close()
	}
}

// fail ends c after err, met copying src to dst (src nil: writing to dst),
// unless c was cut already (then err is only the cut seen from inside). A
// reset is passed on to the other side as a reset.
func (c *conn) fail(err error, dst, src net.Conn, dstName, srcName string) {
	c.mu.Lock()
	if c.end != "" {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	other, name := src, dstName
	if src != nil && blameSource(err, peerReset(dst), peerReset(src)) {
		other, name = dst, srcName
	}
	reset := errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
	end := "error on " + name + ": " + strerror(err)
	if reset {
		end = "reset by " + name
	}
	if !c.setEnd(end) {
		return
	}
	if reset && other != nil {
		if tc, ok := other.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	c.cut(end, false)
}

// blameSource reports whether err, met copying src to dst, is src's doing.
// The side to blame is the one whose socket the peer reset, where the kernel
// tells (TCP); else the failing call, where the error names it (a *net.OpError
// "read" is src's, "write" dst's: a spliced copy names its ReadFrom or
// WriteTo instead); else the errno (ECONNRESET: src); else dst.
func blameSource(err error, dstReset, srcReset bool) bool {
	switch {
	case srcReset && !dstReset:
		return true
	case dstReset && !srcReset:
		return false
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if oe, ok := e.(*net.OpError); ok {
			switch oe.Op {
			case "read":
				return true
			case "write":
				return false
			}
		}
	}
	return errors.Is(err, syscall.ECONNRESET)
}

// dialError renders a dial failure: the errno's message, or "timeout".
func dialError(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return strerror(err)
}
