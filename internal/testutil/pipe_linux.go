package testutil

import (
	"os"

	"golang.org/x/sys/unix"
)

// rawPipe creates a blocking pipe with O_CLOEXEC set atomically.
func rawPipe(p *[2]int) error {
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return os.NewSyscallError("pipe2", err)
	}
	return nil
}
