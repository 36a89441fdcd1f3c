//go:build !linux || splice_portable

package splice

// cacheFile stands for a file NoCache advises the kernel about; other systems
// get no advice (see Copier.NoCache).
type cacheFile struct{ k int64 }

func cacheFileOf(any, bool) (cacheFile, bool) { return cacheFile{}, false }

func (*cacheFile) drop(from, to int64)                 {}
func (*cacheFile) writeBack(from, to int64, wait bool) {}
