//go:build !splice_portable

package splice

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// A cacheFile is a regular file a NoCache copy reads or writes, and the offset
// at which the copy began in it.
type cacheFile struct {
	e     endpoint
	start int64
	k     int64 // how many times the copy writes each byte to it (CopyMulti to the same file twice)
}

// cacheFileOf returns v as a cacheFile if it is a regular file; asDst takes
// a file opened with O_APPEND to begin at its end.
func cacheFileOf(v any, asDst bool) (cacheFile, bool) {
	e, ok := endpointOf(v, asDst)
	if !ok || e.engine || e.probe() != nil || !e.isRegular() {
		return cacheFile{}, false
	}
	f := cacheFile{e: e, start: -1, k: 1}
	e.anyControl(func(fd uintptr) {
		off, err := unix.Seek(int(fd), 0, io.SeekCurrent)
		if err != nil {
			return
		}
		if fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0); asDst && err == nil && fl&unix.O_APPEND != 0 {
			var st unix.Stat_t
			if unix.Fstat(int(fd), &st) != nil {
				return
			}
			off = st.Size
		}
		f.start = off
	})
	return f, f.start >= 0
}

// drop advises the kernel to drop the cached pages of the copy's bytes from to
// to (offsets from the start of the copy), from the page that holds the first.
// Errors are ignored: advice never fails a copy.
func (f *cacheFile) drop(from, to int64) {
	if to <= from {
		return
	}
	page := int64(os.Getpagesize())
	off := (f.start + f.k*from) &^ (page - 1)
	end := f.start + f.k*to
	f.e.anyControl(func(fd uintptr) {
		unix.Fadvise(int(fd), off, end-off, unix.FADV_DONTNEED)
	})
}

// writeBack starts the write-back of the copy's bytes from to to; with wait,
// it waits for it to finish (for any already under way first).
func (f *cacheFile) writeBack(from, to int64, wait bool) {
	if to <= from {
		return
	}
	flags := unix.SYNC_FILE_RANGE_WRITE
	if wait {
		flags |= unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WAIT_AFTER
	}
	f.e.anyControl(func(fd uintptr) {
		unix.SyncFileRange(int(fd), f.start+f.k*from, f.k*(to-from), flags)
	})
}
