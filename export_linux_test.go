package splice

import "sync"

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
