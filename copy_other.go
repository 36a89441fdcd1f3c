//go:build !linux || splice_portable

package splice

import (
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
)

// kernelCopy hands the pairs for which this system's standard library has a
// kernel path to the method that takes it, as io.Copy does: a regular file to
// a TCP socket goes to the socket's ReadFrom (sendfile(2); TransmitFile on
// Windows), and on FreeBSD a regular file to another to the destination's
// ReadFrom (copy_file_range(2)). A failing kernel call takes no byte from the
// file that dst did not accept; where the kernel refuses the pair, those
// methods loop over read and write themselves, out of Unwritten's reach. Every
// other pair takes the read/write path.
func (c *Copier) kernelCopy(dst io.Writer, src io.Reader, n int64, limited bool) (int64, bool, error) {
	inner, _ := unwrapLimited(src)
	f, ok := inner.(*os.File)
	if !ok || !isRegular(f) {
		return 0, false, nil
	}
	var rf io.ReaderFrom
	switch d := dst.(type) {
	case *net.TCPConn:
		rf = d
	case *os.File:
		if runtime.GOOS != "freebsd" || !isRegular(d) {
			return 0, false, nil
		}
		rf = d
	default:
		return 0, false, nil
	}
	if limited {
		src = io.LimitReader(src, n)
	}
	written, err := rf.ReadFrom(src)
	c.delegated(0, written)
	return written, true, err
}

func isRegular(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode().IsRegular()
}

func (c *Copier) plan(dst io.Writer, src io.Reader) Method { return MethodReadWrite }

// closedAsCopyFileRange is Linux's: other systems' os.File.ReadFrom takes no
// copy_file_range locks that blame the destination.
func closedAsCopyFileRange(dst io.Writer, src io.Reader, err error) error { return err }

// maxPipes is what SetMaxPipes last set: the portable engine makes no pipes.
var maxPipes atomic.Int64

func setMaxPipes(n int) int { return int(maxPipes.Swap(int64(max(n, 0)))) }
