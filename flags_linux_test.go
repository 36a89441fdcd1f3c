//go:build !splice_portable

package splice_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
)

// The portable constants must be the kernel's values.
func TestFlagsMatchKernel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    splice.Flags
		want int
	}{
		{splice.Move, unix.SPLICE_F_MOVE},
		{splice.NonBlock, unix.SPLICE_F_NONBLOCK},
		{splice.More, unix.SPLICE_F_MORE},
		{splice.Gift, unix.SPLICE_F_GIFT},
	} {
		if int(tc.f) != tc.want {
			t.Errorf("%v = %#x, want %#x", tc.f, int(tc.f), tc.want)
		}
	}
}
