//go:build !linux

package main

import "net"

// peerReset reports whether the kernel closed c under the proxy; where the
// kernel does not tell, it reports false and the errno decides.
func peerReset(c net.Conn) bool { return false }

// sockCounters reports the kernel's byte counters of c where the kernel has
// them; here it has none, and -idle goes by the copies' progress alone.
func sockCounters(c net.Conn) (sent, received uint64) { return 0, 0 }
