package splice

import (
	"io"
	"sync"
)

// spliceOutcomes records, per Pipe, how its ReadFrom and WriteTo calls went:
// {spliced, refused}.
var (
	spliceOutcomesMu sync.Mutex
	spliceOutcomes   = map[*Pipe][2]int{}
)

func init() {
	testHookSplice = func(p *Pipe, handled bool) {
		spliceOutcomesMu.Lock()
		defer spliceOutcomesMu.Unlock()
		c := spliceOutcomes[p]
		if handled {
			c[0]++
		} else {
			c[1]++
		}
		spliceOutcomes[p] = c
	}
}

// SpliceOutcomes reports how many of p's ReadFrom and WriteTo calls spliced and
// how many found the kernel refusing and fell back to read and write. Calls that
// never tried to splice (the other side has no fd) count in neither.
func SpliceOutcomes(p *Pipe) (spliced, refused int) {
	spliceOutcomesMu.Lock()
	defer spliceOutcomesMu.Unlock()
	c := spliceOutcomes[p]
	return c[0], c[1]
}

// methods records, per destination, the kernel paths Copy ran and whether each
// handled the copy.
var (
	methodsMu sync.Mutex
	methods   = map[any][]MethodRun{}
)

// MethodRun is one kernelCopy: the method it chose and whether it handled the copy.
type MethodRun struct {
	Method  Method
	Handled bool
}

func init() {
	testHookMethod = func(dst io.Writer, m Method, handled bool) {
		methodsMu.Lock()
		defer methodsMu.Unlock()
		if runs, ok := methods[dst]; ok {
			methods[dst] = append(runs, MethodRun{m, handled})
		}
	}
}

// WatchMethods starts recording the kernel paths that copies to dst run (only
// watched destinations are recorded, so that benchmarks measure no bookkeeping).
func WatchMethods(dst io.Writer) {
	methodsMu.Lock()
	defer methodsMu.Unlock()
	methods[dst] = []MethodRun{}
}

// MethodsRun returns the kernel paths that copies to dst ran.
func MethodsRun(dst io.Writer) []MethodRun {
	methodsMu.Lock()
	defer methodsMu.Unlock()
	if len(methods[dst]) == 0 {
		return nil
	}
	return append([]MethodRun(nil), methods[dst]...)
}

// DrainPipePool closes the pooled pipes, for the leak check.
func DrainPipePool() {
	for {
		cp, ok := pipePool.Get().(*copyPipe)
		if !ok {
			return
		}
		cp.close()
	}
}

// InjectErrno makes the nth (from 1) system call of the given pump stage fail with
// errno, once; stage is "direct" (a pump between the caller's fds), "in" (into
// the engine's pipe) or "out" (out of it). Not for parallel tests.
func InjectErrno(stage string, nth int, errno error) (restore func()) {
	var mu sync.Mutex
	calls := 0
	testHookCall = func(p *pump) error {
		var s string
		switch {
		case p.dst.raw:
			s = "in"
		case p.src.raw:
			s = "out"
		default:
			s = "direct"
		}
		if s != stage {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == nth {
			return errno
		}
		return nil
	}
	return func() { testHookCall = nil }
}
