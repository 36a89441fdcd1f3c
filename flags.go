package splice

import (
	"strconv"
	"strings"
)

// Flags are the flags of splice(2), tee(2) and vmsplice(2). Their values are the
// kernel's, so they may be passed through unchanged; they are defined on every
// GOOS so that portable code compiles.
type Flags int

const (
	// Move is SPLICE_F_MOVE: a hint to move pages instead of copying them.
	// Since Linux 2.6.21 it is a no-op, kept for completeness.
	Move Flags = 0x1
	// NonBlock is SPLICE_F_NONBLOCK: do not block on the pipe(s) involved.
	// The other fd may still block unless it is itself non-blocking.
	NonBlock Flags = 0x2
	// More is SPLICE_F_MORE: more data will follow in a later call, as
	// MSG_MORE for sockets (TCP may hold back a partial segment).
	More Flags = 0x4
	// Gift is SPLICE_F_GIFT, meaningful for Vmsplice only: the pages are given to
	// the kernel, and the caller must never touch that memory again. Memory that
	// Go's garbage collector manages can never be gifted safely.
	Gift Flags = 0x8
)

// String returns the flags as the kernel names them, e.g. "SPLICE_F_MOVE|SPLICE_F_MORE".
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	names := [...]string{"SPLICE_F_MOVE", "SPLICE_F_NONBLOCK", "SPLICE_F_MORE", "SPLICE_F_GIFT"}
	var parts []string
	for i, name := range names {
		if f&(1<<i) != 0 {
			parts = append(parts, name)
			f &^= 1 << i
		}
	}
	if f != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(f), 16))
	}
	return strings.Join(parts, "|")
}
