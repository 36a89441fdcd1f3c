//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// raiseSIGPIPE makes the process die of SIGPIPE as a C program does when it
// writes to a broken pipe. Go's runtime dies of it only for a write to fd 1
// or 2 (kill(2) of one's own SIGPIPE is caught and dropped), so fd 1 is made,
// for one write, a pipe without a reader. It returns only if SIGPIPE is
// ignored, with fd 1 as it was.
func raiseSIGPIPE() {
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	r.Close()
	defer w.Close()
	rc, err := w.SyscallConn()
	if err != nil {
		return
	}
	saved := -1
	var dupErr error
	err = rc.Control(func(fd uintptr) {
		if saved, dupErr = unix.Dup(1); dupErr == nil {
			dupErr = unix.Dup2(int(fd), 1)
		}
	})
	if saved >= 0 {
		defer func() {
			unix.Dup2(saved, 1)
			unix.Close(saved)
		}()
	}
	if err != nil || dupErr != nil {
		return
	}
	os.Stdout.Write([]byte{0})
}
