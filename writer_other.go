//go:build !linux || splice_portable

package splice

import "io"

// vmWriter is the vmsplice path, which only Linux has.
type vmWriter struct{}

func newVMWriter(io.Writer, int) *vmWriter { return nil }

func (*vmWriter) window() []byte     { return nil }
func (*vmWriter) flush(*Writer) bool { return false }
func (*vmWriter) release()           {}
