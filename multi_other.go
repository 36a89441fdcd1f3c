//go:build !linux || splice_portable

package splice

import "io"

// kernelMulti is Linux's tee(2) fan-out: elsewhere CopyMulti loops.
func (c *Copier) kernelMulti(f *fanout, src io.Reader) (int64, bool, error) { return 0, false, nil }
