package testutil

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// Data returns n deterministic pseudo-random bytes generated from seed by a
// PCG generator: the same (n, seed) always gives the same bytes, on every
// platform and Go release, different seeds give different bytes, and
// Data(n, seed) is a prefix of Data(m, seed) for n <= m. It costs about a
// millisecond per 4 MiB. The result is never nil.
func Data(n int, seed uint64) []byte {
	b := make([]byte, n)
	g := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], g.Uint64())
	}
	if i < n {
		v := g.Uint64()
		for ; i < n; i++ {
			b[i] = byte(v)
			v >>= 8
		}
	}
	return b
}

// BigSize is the largest size in [Sizes]: several MiB and odd, so a copy of
// it spans many pipe buffers and ends with a partial page.
const BigSize = 4<<20 + 3

// Sizes returns sorted, unique data sizes that straddle the boundaries a copy
// engine cares about: 0, 1, 42, the page size ±1, 64 KiB ±1 (the default pipe
// size), pipeSize ±1, and [BigSize]. Pass the size of the pipe the code under
// test uses; sizes derived from a pipeSize below 2 are left out.
func Sizes(pipeSize int) []int {
	page := os.Getpagesize()
	sizes := []int{
		0, 1, 42,
		page - 1, page, page + 1,
		64<<10 - 1, 64 << 10, 64<<10 + 1,
		BigSize,
	}
	if pipeSize >= 2 {
		sizes = append(sizes, pipeSize-1, pipeSize, pipeSize+1)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes)
}

// Equal reports whether got equals want, byte for byte (a nil slice equals an
// empty one). On a mismatch it fails the test with t.Errorf, naming the
// lengths, the first differing offset with a few bytes of each side around
// it, and the SHA-256 of both; it never prints the data in full.
func Equal(t testing.TB, want, got []byte) bool {
	t.Helper()
	if bytes.Equal(want, got) {
		return true
	}
	off := 0
	for off < len(want) && off < len(got) && want[off] == got[off] {
		off++
	}
	var where string
	switch {
	case off == len(got):
		where = "got is a prefix of want"
	case off == len(want):
		where = "want is a prefix of got"
	default:
		where = "bytes differ"
	}
	t.Errorf("data mismatch: len(want)=%d len(got)=%d; %s at offset %d\n"+
		"  want[%d:] = %x\n"+
		"   got[%d:] = %x\n"+
		"  sha256(want) = %x\n"+
		"  sha256(got)  = %x",
		len(want), len(got), where, off,
		off, window(want, off), off, window(got, off),
		sha256.Sum256(want), sha256.Sum256(got))
	return false
}

// window returns at most 16 bytes of b from off.
func window(b []byte, off int) []byte {
	if off >= len(b) {
		return nil
	}
	return b[off:min(off+16, len(b))]
}
