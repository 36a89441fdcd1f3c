package splice

import "io"

// NoCache: the page cache left behind a copy (see Copier.NoCache).

// noCacheStep is how many bytes a NoCache copy moves between two rounds of
// advice: the most its files keep in the cache, about, apart from read-ahead
// (a destination keeps two steps: one being written back, one being written).
const noCacheStep = 8 << 20

// No POSIX_FADV_SEQUENTIAL on the source: in BenchmarkNoCache (Linux 6.18,
// ext4 on a virtual disk whose read-ahead is already 8 MiB) it gained nothing
// file → file and file → TCP (within 3%: three runs of 2 GiB file → file, one
// of 512 MiB file → TCP) and kept up to 1.7 times the source's pages in the
// cache.

// noCache advises the kernel about a copy's regular files as the copy goes.
type noCache struct {
	src     cacheFile
	hasSrc  bool
	dsts    []cacheFile
	user    func(int64) // the caller's Progress
	last    int64       // the last total seen
	kicked  int64       // write-back started up to here: the end of the last round
	dropped int64       // destinations dropped up to here
	// srcFrom is where the next round drops the source from: noCacheLag
	// steps before the end of the last round, a range it drops again, since
	// pages spliced on to a socket or a pipe stay in use (and in the cache)
	// until the other side is done with them.
	srcFrom int64
}

// noCacheLag is how many steps behind its end a round drops the source's
// pages again: enough for a socket's buffers (tcp_rmem's 32 MiB and
// tcp_wmem's 4 MiB at most, on the machine measured) to have let them go. In
// BenchmarkNoCache's file → TCP copy of 2 GiB over loopback, a lag of one
// step left 170-230 MiB of the source cached at the peak, and four 48-61 MiB
// (pages in flight and read ahead, which no advice can drop).
const noCacheLag = 6

// withNoCache returns a Copier like c that reports to a noCache for the
// regular files among src and dsts, and that noCache; nc is nil when neither
// side is a regular file (or on systems without the advice), and the copy is
// then c's own.
func (c *Copier) withNoCache(src io.Reader, dsts ...io.Writer) (cc *Copier, nc *noCache) {
	nc = &noCache{user: c.Progress}
	inner, _ := unwrapLimited(src)
	nc.src, nc.hasSrc = cacheFileOf(inner, false)

	for _, d := range dsts {
		if f, ok := cacheFileOf(d, true); ok {
			nc.dsts = append(nc.dsts, f)
		}
	}
	if !nc.hasSrc && len(nc.dsts) == 0 {
		return c, nil
	}
	copied := *c
	copied.NoCache = false
	copied.Progress = nc.progress
	copied.callMax = noCacheStep
	return &copied, nc
}

// progress is the copy's Progress: a round of advice every step, then the
// caller's Progress, if any.
func (nc *noCache) progress(total int64) {
	nc.last = max(nc.last, total)
	if total-nc.kicked >= noCacheStep {
		nc.round(total)
	}
	if nc.user != nil {
		nc.user(total)
	}
}

// round drops the source's pages copied in the last noCacheLag steps, waits
// for the write-back of the step before the last and drops those pages, and
// starts the write-back of the bytes written since the last round.
func (nc *noCache) round(total int64) {
	if nc.hasSrc {
		nc.src.drop(nc.srcFrom, total)
		nc.srcFrom = max(total-noCacheLag*noCacheStep, 0)
	}
	for i := range nc.dsts {
		nc.dsts[i].writeBack(nc.dropped, nc.kicked, true)
		nc.dsts[i].drop(nc.dropped, nc.kicked)
		nc.dsts[i].writeBack(nc.kicked, total, false)
	}
	nc.dropped, nc.kicked = nc.kicked, total
}

// finish advises what the rounds have not, once the copy has ended (written
// bytes, or fewer if it panicked out of the caller's Progress). Source pages
// still in flight to a socket or a pipe (its buffer, at most) stay cached.
func (nc *noCache) finish(written int64) {
	total := max(written, nc.last)
	if nc.hasSrc {
		nc.src.drop(nc.srcFrom, total)
	}
	for i := range nc.dsts {
		nc.dsts[i].writeBack(nc.dropped, total, true)
		nc.dsts[i].drop(nc.dropped, total)
	}
}
