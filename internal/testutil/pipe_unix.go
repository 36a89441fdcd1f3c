//go:build unix && !linux

package testutil

import (
	"os"
	"syscall"
)

// rawPipe creates a blocking pipe and marks both ends close-on-exec. Not every
// Unix has pipe2, so the fds are created under syscall.ForkLock, as package
// os does, to keep them from leaking into a concurrently forked child.
func rawPipe(p *[2]int) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := syscall.Pipe(p[:]); err != nil {
		return os.NewSyscallError("pipe", err)
	}
	syscall.CloseOnExec(p[0])
	syscall.CloseOnExec(p[1])
	return nil
}
