package splice_test

import (
	"testing"

	"github.com/splicekit/splice"
)

func TestFlagsString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    splice.Flags
		want string
	}{
		{0, "0"},
		{splice.Move, "SPLICE_F_MOVE"},
		{splice.NonBlock | splice.More, "SPLICE_F_NONBLOCK|SPLICE_F_MORE"},
		{splice.Move | splice.NonBlock | splice.More | splice.Gift, "SPLICE_F_MOVE|SPLICE_F_NONBLOCK|SPLICE_F_MORE|SPLICE_F_GIFT"},
		{splice.Gift | 0x30, "SPLICE_F_GIFT|0x30"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("Flags(%#x).String() = %q, want %q", int(tc.f), got, tc.want)
		}
	}
}
