package main

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// peerReset reports whether c is a TCP connection that the kernel has closed
// under the proxy (state TCP_CLOSE, as after a reset from the peer) while the
// proxy still holds it open.
func peerReset(c net.Conn) bool {
	info, ok := tcpInfo(c)
	return ok && info.State == unix.BPF_TCP_CLOSE
}

func tcpInfo(c net.Conn) (*unix.TCPInfo, bool) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, false
	}
	var info *unix.TCPInfo
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || ierr != nil {
		return nil, false
	}
	return info, true
}

// sockCounters returns what the kernel says of the bytes moving through c:
// for TCP the bytes the peer acknowledged and the bytes received (both only
// grow); for a Unix socket the bytes in its send and receive queues (they
// change as the peer reads and writes). Any change between two calls means
// bytes moved, also where the proxy's copy is blocked in a long splice and
// its Progress is not called.
func sockCounters(c net.Conn) (sent, received uint64) {
	if info, ok := tcpInfo(c); ok {
		return info.Bytes_acked, info.Bytes_received
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, 0
	}
	rc.Control(func(fd uintptr) {
		if n, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ); err == nil {
			sent = uint64(n)
		}
		if n, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil {
			received = uint64(n)
		}
	})
	return sent, received
}
