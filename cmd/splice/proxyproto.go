package main

import (
	"encoding/binary"
	"net"
	"strconv"
)

// The PROXY protocol header, as HAProxy's proxy-protocol.txt specifies it
// (versions 1 and 2): sent to the upstream before any byte of the client's,
// it tells the upstream who the client is and which address it connected to.
// src is the client's address, dst the proxy's own address on the accepted
// connection.

// proxyV2Sig is the 12-byte signature that opens a version 2 header.
const proxyV2Sig = "\r\n\r\n\x00\r\nQUIT\n"

// Version 2's command, address family and transport bytes.
const (
	proxyV2Local = 0x20 // version 2, command LOCAL: no address block
	proxyV2Proxy = 0x21 // version 2, command PROXY
	proxyV2TCP4  = 0x11 // AF_INET, STREAM
	proxyV2TCP6  = 0x21 // AF_INET6, STREAM
	proxyV2Unix  = 0x31 // AF_UNIX, STREAM

	proxyV2UnixPath = 108 // the size of each path in the AF_UNIX address block
)

// tcpPair returns src and dst as TCP addresses of one family: both IPv4
// (v4 true) when both are IPv4 or IPv4-mapped, else both 16-byte IPv6.
func tcpPair(src, dst net.Addr) (s, d *net.TCPAddr, v4, ok bool) {
	s, ok1 := src.(*net.TCPAddr)
	d, ok2 := dst.(*net.TCPAddr)
	if !ok1 || !ok2 || s.IP == nil || d.IP == nil {
		return nil, nil, false, false
	}
	return s, d, s.IP.To4() != nil && d.IP.To4() != nil, true
}

// proxyHeaderV1 returns the version 1 (text) header for a connection from src
// to dst: "PROXY TCP4 src dst sport dport\r\n", TCP6 for IPv6, and
// "PROXY UNKNOWN\r\n" for anything else (a Unix socket client).
func proxyHeaderV1(src, dst net.Addr) []byte {
	s, d, v4, ok := tcpPair(src, dst)
	if !ok {
		return []byte("PROXY UNKNOWN\r\n")
	}
	// net.IP.String prints an IPv4-mapped address as a.b.c.d; the spec
	// wants an IPv6 address in the TCP6 line.
	fam, sip, dip := "TCP6", ip6String(s.IP), ip6String(d.IP)
	if v4 {
		fam, sip, dip = "TCP4", s.IP.To4().String(), d.IP.To4().String()
	}
	b := []byte("PROXY " + fam + " " + sip + " " + dip + " ")
	b = strconv.AppendInt(b, int64(s.Port), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(d.Port), 10)
	return append(b, "\r\n"...)
}

// ip6String prints ip in IPv6 notation, also when it is IPv4-mapped.
func ip6String(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return "::ffff:" + v4.String()
	}
	return ip.String()
}

// proxyHeaderV2 returns the version 2 (binary) header for a connection from
// src to dst: family TCP4, TCP6 or UNIX with the addresses, or the LOCAL
// command with no address block for anything else.
func proxyHeaderV2(src, dst net.Addr) []byte {
	b := []byte(proxyV2Sig)
	if s, d, v4, ok := tcpPair(src, dst); ok {
		fam, n, sip, dip := byte(proxyV2TCP6), 36, []byte(s.IP.To16()), []byte(d.IP.To16())
		if v4 {
			fam, n, sip, dip = proxyV2TCP4, 12, s.IP.To4(), d.IP.To4()
		}
		b = append(b, proxyV2Proxy, fam)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
		b = append(b, sip...)
		b = append(b, dip...)
		b = binary.BigEndian.AppendUint16(b, uint16(s.Port))
		return binary.BigEndian.AppendUint16(b, uint16(d.Port))
	}
	su, ok1 := src.(*net.UnixAddr)
	du, ok2 := dst.(*net.UnixAddr)
	if !ok1 && !ok2 {
		return append(b, proxyV2Local, 0, 0, 0)
	}
	b = append(b, proxyV2Proxy, proxyV2Unix)
	b = binary.BigEndian.AppendUint16(b, 2*proxyV2UnixPath)
	b = appendUnixPath(b, su)
	return appendUnixPath(b, du)
}

// appendUnixPath appends a's path as a NUL-padded 108-byte field, as
// sun_path holds it: all zeros for an unnamed socket ("@" or ""), a NUL then
// the name for an abstract one (Go's "@name"), a path too long cut to fit
// with its NUL kept.
func appendUnixPath(b []byte, a *net.UnixAddr) []byte {
	var field [proxyV2UnixPath]byte
	switch {
	case a == nil || a.Name == "" || a.Name == "@":
	case a.Name[0] == '@':
		copy(field[1:], a.Name[1:]) // abstract: no NUL at the end
	default:
		copy(field[:proxyV2UnixPath-1], a.Name)
	}
	return append(b, field[:]...)
}
