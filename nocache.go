package splice

import (
	"io"
	"os"
)

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
	// idx maps dsts to the copy's destinations; written, in a CopyMulti,
	// tells how many bytes destination i took.
	idx     []int
	written func(i int) int64
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
dsts:
	for i, d := range dsts {
		for j := range nc.dsts {
			// (*os.File only: comparing interfaces may panic.)
			if f, ok := d.(*os.File); ok && f != nil && dsts[nc.idx[j]] == io.Writer(f) {
				nc.dsts[j].k++ // the same file again: it takes the bytes k times
				continue dsts
			}
		}
		if f, ok := cacheFileOf(d, true); ok {
			nc.dsts, nc.idx = append(nc.dsts, f), append(nc.idx, i)
		}
	}
	if !nc.hasSrc && len(nc.dsts) == 0 {
		return c, nil
	}
	copied := *c
	copied.NoCache = false
	copied.Progress = nc.progress
	copied.callMax = noCacheStep
	copied.nc = nc
	return &copied, nc
}

// progress is the copy's Progress: a round of advice every step, then the
// caller's Progress, if any.
func (nc *noCache) progress(total int64) {
	nc.step(total)
	if nc.user != nil {
		nc.user(total)
	}
}

// step runs a round of advice once a step has gone by since the last.
func (nc *noCache) step(total int64) {
	nc.last = max(nc.last, total)
	if total-nc.kicked >= noCacheStep {
		nc.round(total)
	}
}

// limit is the most bytes destination i (of nc.dsts) took: total, or less
// for one that failed in a CopyMulti.
func (nc *noCache) limit(i int, total int64) int64 {
	if nc.written != nil {
		return min(total, nc.written(nc.idx[i]))
	}
	return total
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
		d, kicked := &nc.dsts[i], nc.limit(i, nc.kicked)
		d.writeBack(nc.dropped, kicked, true)
		d.drop(nc.dropped, kicked)
		d.writeBack(nc.kicked, nc.limit(i, total), false)
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
		nc.dsts[i].writeBack(nc.dropped, nc.limit(i, total), true)
		nc.dsts[i].drop(nc.dropped, nc.limit(i, total))
	}
}

// stepReader hands a source file to another package's ReadFrom, which does
// the whole copy in one call, with a round of advice every step of it.
type stepReader struct {
	r  io.Reader
	nc *noCache
	n  int64
}

func (s *stepReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(max(n, 0))
	s.nc.step(s.n)
	return n, err
}

// stepWriter is stepReader for a destination file given to another package's
// WriteTo: it writes at most a step at a time.
type stepWriter struct {
	w  io.Writer
	nc *noCache
	n  int64
}

func (s *stepWriter) Write(p []byte) (int, error) {
	done := 0
	for len(p) > 0 {
		k := min(len(p), noCacheStep)
		m, err := s.w.Write(p[:k])
		done += m
		s.n += int64(max(m, 0))
		s.nc.step(s.n)
		if err != nil || m < k {
			return done, err
		}
		p = p[m:]
	}
	return done, nil
}
