//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PROXY protocol headers, as the upstream parses them.

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
