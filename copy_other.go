//go:build !linux

package splice

import (
	"io"
	"net"
	"os"
)

// kernelCopy hands a copy from a regular file to a TCP socket to the socket's
// ReadFrom, which sends it with sendfile(2) (TransmitFile on Windows) where the
// system has it, as io.Copy does: a failing sendfile takes no byte from the
// file that the socket did not accept. Every other pair takes the read/write
// path.
func (c *Copier) kernelCopy(dst io.Writer, src io.Reader, n int64, limited bool) (int64, bool, error) {
	tcp, ok := dst.(*net.TCPConn)
	if !ok {
		return 0, false, nil
	}
	inner, _ := unwrapLimited(src)
	f, ok := inner.(*os.File)
	if !ok {
		return 0, false, nil
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return 0, false, nil
	}
	if limited {
		src = io.LimitReader(src, n)
	}
	written, err := tcp.ReadFrom(src)
	c.delegated(0, written)
	return written, true, err
}

func (c *Copier) plan(dst io.Writer, src io.Reader) Method { return MethodReadWrite }
