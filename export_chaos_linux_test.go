//go:build !splice_portable

package splice

import (
	"math"
	"sync/atomic"
	"syscall"
)

// RefusalStages are the kinds of system call InjectRefusals counts: a splice
// into an engine pipe, out of one, or between the caller's fds; a tee; a
// sendfile; a copy_file_range.
var RefusalStages = [...]string{"splice in", "splice out", "splice direct", "tee", "sendfile", "copy_file_range"}

// refusalStage returns p's index in RefusalStages.
func refusalStage(p *pump) int {
	switch {
	case p.op == opTee:
		return 3
	case p.op == opSendfile:
		return 4
	case p.op == opCopyFileRange:
		return 5
	case p.dst.engine:
		return 0
	case p.src.engine:
		return 1
	}
	return 2
}

// RefusalCount is how many system calls of one stage the pumps were about to
// make and how many of them InjectRefusals failed, with which errno.
type RefusalCount struct {
	Calls   int64
	Refused map[syscall.Errno]int64
}

// InjectRefusals makes a share rate (0 to 1) of the pumps' system calls fail,
// before they are made, with one of errnos, as a kernel or a sandbox refusing
// splice, tee, sendfile or copy_file_range would: whether the call with
// sequence number i (from 1, across every goroutine) fails, and with which
// errno, is a function of seed and i alone. counts reports the calls so far by
// stage (RefusalStages). Process-wide: set it before the copies start and
// restore it after they all end (a child process, not for parallel tests).
func InjectRefusals(seed uint64, rate float64, errnos ...syscall.Errno) (counts func() map[string]RefusalCount, restore func()) {
	var seq atomic.Uint64
	var calls [len(RefusalStages)]atomic.Int64
	refused := make([][len(RefusalStages)]atomic.Int64, len(errnos))
	threshold := uint64(math.MaxUint64)
	if rate < 1 {
		threshold = uint64(rate * (1 << 63) * 2)
	}
	testHookCall = func(p *pump) error {
		st := refusalStage(p)
		calls[st].Add(1)
		h := splitmix64(seed ^ splitmix64(seq.Add(1)))
		if rate <= 0 || len(errnos) == 0 || h >= threshold {
			return nil
		}
		i := int(splitmix64(h) % uint64(len(errnos)))
		refused[i][st].Add(1)
		return errnos[i]
	}
	return func() map[string]RefusalCount {
			m := make(map[string]RefusalCount, len(RefusalStages))
			for st, name := range RefusalStages {
				c := RefusalCount{Calls: calls[st].Load(), Refused: map[syscall.Errno]int64{}}
				for i, e := range errnos {
					if n := refused[i][st].Load(); n > 0 {
						c.Refused[e] += n
					}
				}
				m[name] = c
			}
			return m
		}, func() {
			testHookCall = nil
		}
}

// splitmix64 is SplitMix64's output function: a bijection of uint64 that
// scatters consecutive inputs.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
