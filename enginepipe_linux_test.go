//go:build !splice_portable

package splice_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// The engine's pipe budget. These tests read and set process-wide state (the
// budget, the idle list, the fd table): none runs in parallel.

func TestMaxPipesFor(t *testing.T) {
	const page, mib = 4096, 1 << 20
	for _, c := range []struct {
		nofile uint64
		pages  int64
		size   int
		want   int
	}{
		{1 << 20, 0, mib, 4096},      // root, a high fd limit: the cap
		{1 << 20, 16384, mib, 32},    // the kernel's default pipe-user-pages-soft: half of 64 MiB in 1 MiB pipes
		{1024, 0, mib, 128},          // an eighth of the fds
		{64, 0, mib, 16},             // at least 16
		{1024, 16384, 64 << 10, 128}, // pipe-max-size 64 KiB: the pages hold 512, the fds 128
		{1 << 20, 100, mib, 1},       // at least one
	} {
		if got := splice.MaxPipesFor(c.nofile, c.pages, page, c.size); got != c.want {
			t.Errorf("MaxPipesFor(nofile %d, pages %d, pipe %d) = %d, want %d", c.nofile, c.pages, c.size, got, c.want)
		}
	}
}

func TestSetMaxPipes(t *testing.T) {
	def := splice.SetMaxPipes(0)
	if def < 1 {
		t.Fatalf("default budget %d, want ≥ 1", def)
	}
	if prev := splice.SetMaxPipes(3); prev != def {
		t.Errorf("SetMaxPipes(3) returned %d, want the default %d", prev, def)
	}
	if prev := splice.SetMaxPipes(-1); prev != 3 {
		t.Errorf("SetMaxPipes(-1) returned %d, want 3", prev)
	}
	if prev := splice.SetMaxPipes(0); prev != def {
		t.Errorf("after SetMaxPipes(-1), SetMaxPipes(0) returned %d, want the default %d", prev, def)
	}
}

// tcpCopies starts n TCP → TCP copies of size bytes each (distinct data) and
// returns a function that starts the destinations' readers once called, then
// waits for every copy and checks its count and bytes.
func tcpCopies(t *testing.T, n, size int) (release func()) {
	t.Helper()
	type run struct {
		data   []byte
		dst    net.Conn
		copied chan copyResult
	}
	runs := make([]run, n)
	for i := range runs {
		srcW, srcR := testutil.TCPPair(t)
		dstW, dstR := testutil.TCPPair(t)
		data := testutil.Data(size, uint64(1000+i))
		runs[i] = run{data: data, dst: dstR, copied: make(chan copyResult, 1)}
		go func() {
			srcW.Write(data)
			srcW.CloseWrite()
		}()
		go func() {
			n, err := splice.Copy(dstW, srcR)
			dstW.CloseWrite()
			runs[i].copied <- copyResult{n, err}
		}()
	}
	return func() {
		t.Helper()
		var wg sync.WaitGroup
		got := make([][]byte, n)
		for i := range runs {
			wg.Go(func() {
				runs[i].dst.SetReadDeadline(time.Now().Add(time.Minute))
				got[i], _ = io.ReadAll(runs[i].dst)
			})
		}
		wg.Wait()
		for i, r := range runs {
			res := <-r.copied
			if res.err != nil || res.n != int64(size) {
				t.Errorf("copy %d: Copy = %d, %v; want %d, nil", i, res.n, res.err, size)
			}
			testutil.Equal(t, r.data, got[i])
		}
	}
}

type copyResult struct {
	n   int64
	err error
}

// waitPipes polls until cond holds of EnginePipes, or fails t after a minute.
func waitPipes(t *testing.T, what string, cond func(open, idle int) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		open, idle := splice.EnginePipes()
		if cond(open, idle) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s: %d engine pipes open, %d idle", what, open, idle)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPipeBudget: with a budget of 2 pipes, 6 TCP → TCP copies whose
// destinations are not read hold 2 pipes (the others go by read and write),
// never more, and every copy delivers its bytes. After them the idle pipes
// are closed once idle for the idle timeout: no engine pipe and no fd is left.
func TestPipeBudget(t *testing.T) {
	splice.DrainPipePool()
	checkFDs := testutil.CheckFDs(t)
	defer splice.SetMaxPipes(splice.SetMaxPipes(2))
	defer splice.SetPipeIdleTimeout(time.Hour)()
	if open, _ := splice.EnginePipes(); open != 0 {
		t.Fatalf("%d engine pipes open before the test, want 0", open)
	}
	t.Run("copies", func(t *testing.T) { // its cleanup closes the sockets
		// 4 MiB each: more than the pipe and both sockets' buffers
		// hold, so that the copies holding pipes are still running when
		// the pipes are counted.
		release := tcpCopies(t, 6, 4<<20)
		waitPipes(t, "the copies to take 2 pipes", func(open, _ int) bool { return open >= 2 })
		time.Sleep(50 * time.Millisecond) // room for a copy to take a third, wrongly
		if open, idle := splice.EnginePipes(); open != 2 || idle != 0 {
			t.Errorf("6 copies with a budget of 2: %d engine pipes open, %d idle; want 2, 0", open, idle)
		}
		release()
		if open, idle := splice.EnginePipes(); open != 2 || idle != 2 {
			t.Errorf("after the copies: %d engine pipes open, %d idle; want 2, both idle", open, idle)
		}
	})

	// The idle pipes go once idle for the timeout, and their fds with them.
	splice.SetPipeIdleTimeout(20 * time.Millisecond)
	waitPipes(t, "the idle pipes to close", func(open, _ int) bool { return open == 0 })
	checkFDs()
}

// TestPipeBudgetLowered: lowering the budget below the pipes open closes the
// idle ones at once, and those in use as they come back.
func TestPipeBudgetLowered(t *testing.T) {
	splice.DrainPipePool()
	defer splice.SetMaxPipes(splice.SetMaxPipes(8))
	defer splice.SetPipeIdleTimeout(time.Hour)()
	tcpCopies(t, 4, 1<<20)() // 4 pipes, idle afterwards
	if open, idle := splice.EnginePipes(); open != idle || open == 0 {
		t.Fatalf("after 4 copies: %d engine pipes open, %d idle; want as many idle as open, > 0", open, idle)
	}
	splice.SetMaxPipes(1)
	if open, idle := splice.EnginePipes(); open > 1 || idle > 1 {
		t.Errorf("budget lowered to 1: %d engine pipes open, %d idle; want ≤ 1", open, idle)
	}
	release := tcpCopies(t, 3, 4<<20)
	waitPipes(t, "a copy to take the pipe", func(open, idle int) bool { return open >= 1 && idle == 0 })
	time.Sleep(50 * time.Millisecond) // room for a copy to take a second, wrongly
	if open, _ := splice.EnginePipes(); open != 1 {
		t.Errorf("3 copies with a budget of 1: %d engine pipes open, want 1", open)
	}
	splice.SetMaxPipes(0) // back to the default: the copies may take more
	release()
	if open, idle := splice.EnginePipes(); open != idle || open < 1 || open > 3 {
		t.Errorf("after the copies: %d engine pipes open, %d idle; want 1 to 3, all idle", open, idle)
	}
}

// TestPipeBudgetSpentByFDs: when pipe2 fails (the fd limit reached), copies go
// by read and write, and the engine makes no pipe for a while after: the
// copies after the limit is lifted take none until the retry time has passed.
func TestPipeBudgetSpentByFDs(t *testing.T) {
	if !testutil.InChild(t) {
		testutil.RunChild(t) // lowers RLIMIT_NOFILE
		return
	}
	splice.DrainPipePool()
	defer splice.SetPipeRetryAfter(time.Hour)()
	srcW, srcR := testutil.TCPPair(t)
	dstW, dstR := testutil.TCPPair(t)
	data := testutil.Data(3<<20, 7)
	go func() {
		srcW.Write(data)
		srcW.CloseWrite()
	}()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(dstR)
		got <- b
	}()
	restore := testutil.ExhaustFDs(t)
	n, err := splice.Copy(dstW, srcR)
	restore()
	dstW.CloseWrite()
	if n != int64(len(data)) || err != nil {
		t.Errorf("Copy with no fd to spare = %d, %v; want %d, nil", n, err, len(data))
	}
	testutil.Equal(t, data, <-got)
	if open, _ := splice.EnginePipes(); open != 0 {
		t.Fatalf("%d engine pipes open after pipe2 failed, want 0", open)
	}
	// Within the retry time no pipe is made, though fds are to be had.
	release := tcpCopies(t, 2, 1<<20)
	release()
	if open, _ := splice.EnginePipes(); open != 0 {
		t.Errorf("%d engine pipes made within the retry time, want 0", open)
	}
	splice.SetPipeRetryAfter(0)
	tcpCopies(t, 1, 1<<20)()
	if open, _ := splice.EnginePipes(); open != 1 {
		t.Errorf("%d engine pipes made after the retry time, want 1", open)
	}
}

// TestPipeBudgetWriters: a Writer's own pipe (into a regular file) is not an
// engine pipe of the budget: closing a Writer, or dropping one unclosed,
// leaves the count as it was.
func TestPipeBudgetWriters(t *testing.T) {
	splice.DrainPipePool()
	if open, _ := splice.EnginePipes(); open != 0 {
		t.Fatalf("%d engine pipes open before the test, want 0", open)
	}
	data := testutil.Data(300<<10, 9)
	for i := range 4 {
		f := testutil.TempFile(t, nil)
		w, err := splice.NewWriter(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		} else if err := w.Flush(); err != nil { // dropped unclosed
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	time.Sleep(10 * time.Millisecond) // cleanups run on their own goroutine
	runtime.GC()
	if open, idle := splice.EnginePipes(); open != 0 || idle != 0 {
		t.Errorf("after 4 Writers into files: %d engine pipes open, %d idle; want 0, 0", open, idle)
	}
}

// TestShrunkPipeNotKept: a pipe given back empty but smaller than the default
// (a CopyMulti's shrunk, or one the kernel gave near the user's page budget) is
// closed, not kept to serve later copies at its size.
func TestShrunkPipeNotKept(t *testing.T) {
	splice.DrainPipePool()
	kept, err := splice.PoolShrunkPipe()
	if err != nil {
		t.Skipf("shrinking an engine pipe: %v", err)
	}
	if kept {
		t.Error("an engine pipe shrunk to 64 KiB was kept idle")
	}
	if open, idle := splice.EnginePipes(); open != 0 || idle != 0 {
		t.Errorf("%d engine pipes open, %d idle; want 0, 0", open, idle)
	}
}

// TestInitialUserNS: only the initial user namespace's uid map (every uid to
// itself) counts as such; root in a rootless container maps one range.
func TestInitialUserNS(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		uidMap string
		want   bool
	}{
		{"         0          0 4294967295\n", true},
		{"0 1000 1\n", false},              // unshare -r
		{"0 100000 65536\n", false},        // rootless podman
		{"0 0 4294967295\n1 2 3\n", false}, // not one identity range
	} {
		path := filepath.Join(dir, "uid_map")
		if err := os.WriteFile(path, []byte(c.uidMap), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := splice.InitialUserNS(path); got != c.want {
			t.Errorf("uid_map %q: InitialUserNS = %v, want %v", c.uidMap, got, c.want)
		}
	}
	if !splice.InitialUserNS(filepath.Join(dir, "missing")) {
		t.Error("no uid_map (no user namespaces): InitialUserNS = false, want true")
	}
}
