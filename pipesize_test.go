package splice_test

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/splicekit/splice"
)

func TestRoundPipeSize(t *testing.T) {
	t.Parallel()
	page := os.Getpagesize()
	for _, tc := range []struct{ n, want int }{
		{-1, 0},
		{0, page},
		{1, page},
		{page - 1, page},
		{page, page},
		{page + 1, 2 * page},
		{3 * page, 4 * page},
		{64 << 10, 64 << 10},
		{64<<10 + 1, 128 << 10},
		{1<<20 - 1, 1 << 20},
		{1 << 20, 1 << 20},
	} {
		if got := splice.RoundPipeSize(tc.n); got != tc.want {
			t.Errorf("roundPipeSize(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
	if strconv.IntSize == 64 {
		var big64 int64 = math.MaxInt32 + 1
		big := int(big64) // 2 GiB: the largest request the kernel rounds
		if got := splice.RoundPipeSize(big); got != big {
			t.Errorf("roundPipeSize(2 GiB) = %d, want %d", got, big)
		}
		if got := splice.RoundPipeSize(big + 1); got != 0 {
			t.Errorf("roundPipeSize(2 GiB + 1) = %d, want 0 (the kernel rejects it)", got)
		}
	}
}

func TestReadMaxPipeSize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"value", write("a", "4194304\n"), 4 << 20},
		{"missing", filepath.Join(dir, "none"), 1 << 20},
		{"garbage", write("b", "lots\n"), 1 << 20},
		{"below a page", write("c", "12\n"), 1 << 20},
		{"negative", write("d", "-1\n"), 1 << 20},
	} {
		if got := splice.ReadMaxPipeSize(tc.path); got != tc.want {
			t.Errorf("%s: readMaxPipeSize = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestMaxPipeSize(t *testing.T) {
	t.Parallel()
	got := splice.MaxPipeSize()
	if runtime.GOOS != "linux" {
		if got != 64<<10 {
			t.Errorf("MaxPipeSize() = %d on %s, want 65536", got, runtime.GOOS)
		}
		return
	}
	b, err := os.ReadFile("/proc/sys/fs/pipe-max-size")
	if err != nil {
		t.Skipf("cannot read pipe-max-size: %v", err)
	}
	want, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("MaxPipeSize() = %d, /proc/sys/fs/pipe-max-size says %d", got, want)
	}
}

func TestDefaultPipeSize(t *testing.T) {
	t.Parallel()
	max := splice.MaxPipeSize()
	want := splice.RoundPipeSize(min(1<<20, max))
	if got := splice.DefaultPipeSize(); got != want {
		t.Errorf("defaultPipeSize() = %d, want %d (1 MiB clamped to MaxPipeSize %d)", got, want, max)
	}
	if got := splice.ClampPipeSize(max * 4); got > max {
		t.Errorf("clampPipeSize(%d) = %d, above MaxPipeSize %d", max*4, got, max)
	}
}
