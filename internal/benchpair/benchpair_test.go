package benchpair

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// testSizes straddle what the harness cares about: one byte, a page and a
// byte, 64 KiB and a byte, and (not with -short) past BufSize, where an
// iteration wraps Data.
func testSizes() []int64 {
	sizes := []int64{1, 4097, 64<<10 + 1}
	if !testing.Short() {
		sizes = append(sizes, BufSize+4099)
	}
	return sizes
}

func impls() []string {
	if HasRaw() {
		return []string{IOCopy, SpliceCopy, Raw}
	}
	return []string{IOCopy, SpliceCopy}
}

// TestCopyMovesExactBytes runs three verified iterations of every pair, size
// and implementation: the drainer (or a read-back of a file sink) checks that
// every iteration delivered exactly the source's bytes, and Iterate fails if a
// copy moved any other count.
func TestCopyMovesExactBytes(t *testing.T) {
	for _, p := range Pairs {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			for _, size := range testSizes() {
				for _, impl := range impls() {
					t.Run(fmt.Sprintf("size=%d/impl=%s", size, impl), func(t *testing.T) {
						c := &Copy{Src: p.Src, Dst: p.Dst, Size: size, Impl: impl, Verify: true}
						c.Start(t)
						for range 3 {
							c.Iterate()
						}
					})
				}
			}
		})
	}
}

func multiDsts() [][]string {
	if HasRaw() { // Linux: every kind
		return [][]string{{"pipe", "pipe"}, {"pipe", "file", "tcp"}, {"file", "unix", "pipe"}}
	}
	return [][]string{{"file", "tcp"}, {"tcp", "tcp", "file"}}
}

func TestMultiMovesExactBytes(t *testing.T) {
	impls := []string{IOMultiWriter, SpliceCopyMulti}
	if HasRaw() {
		impls = append(impls, Raw)
	}
	for _, dsts := range multiDsts() {
		for _, size := range testSizes() {
			for _, impl := range impls {
				t.Run(fmt.Sprintf("%v/size=%d/impl=%s", dsts, size, impl), func(t *testing.T) {
					t.Parallel()
					m := &Multi{Dsts: dsts, Size: size, Impl: impl, Verify: true}
					m.Start(t)
					for range 3 {
						m.Iterate()
					}
				})
			}
		}
	}
}

// TestVerifyFileDetects makes sure the check of a file sink can fail: a
// flipped byte, a short file.
func TestVerifyFileDetects(t *testing.T) {
	const size = BufSize + 10
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := fill(f, size); err != nil {
		t.Fatal(err)
	}
	if err := verifyFile(f, size); err != nil {
		t.Fatalf("intact file: %v", err)
	}
	if _, err := f.WriteAt([]byte{^Data()[5]}, BufSize+5); err != nil {
		t.Fatal(err)
	}
	if err := verifyFile(f, size); err == nil {
		t.Errorf("a flipped byte at %d passed", BufSize+5)
	}
	if err := verifyFile(f, size+1); err == nil {
		t.Errorf("a file one byte short passed")
	}
}

func TestRun(t *testing.T) {
	var order []string
	err := Run(func(tb TB) {
		dir := tb.TempDir()
		if dir2 := tb.TempDir(); dir2 != dir {
			t.Errorf("TempDir: %q, then %q", dir, dir2)
		}
		tb.Cleanup(func() { order = append(order, "first") })
		tb.Cleanup(func() {
			order = append(order, "second")
			if _, err := os.Stat(dir); err != nil {
				t.Errorf("TempDir removed before a later cleanup ran: %v", err)
			}
		})
		tb.Fatalf("failed with %d", 42)
		order = append(order, "after Fatalf")
	})
	if err == nil || err.Error() != "failed with 42" {
		t.Errorf("Run = %v, want failed with 42", err)
	}
	if got := fmt.Sprint(order); got != "[second first]" {
		t.Errorf("order %s, want [second first]", got)
	}
	if err := Run(func(tb TB) {}); err != nil {
		t.Errorf("Run of nothing = %v", err)
	}
	// A failing set-up under Run: an unknown kind.
	err = Run(func(tb TB) {
		c := &Copy{Src: "nosuch", Dst: "file", Size: 1, Impl: IOCopy}
		c.Start(tb)
	})
	if err == nil {
		t.Errorf("Copy with an unknown kind started")
	}
	if errors.Unwrap(err) != nil {
		t.Logf("%v", err)
	}
}
