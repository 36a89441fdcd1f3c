//go:build !linux

package testutil

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
)

func sandboxSupported() error {
	return fmt.Errorf("testutil: seccomp sandboxes on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func errnoName(e syscall.Errno) string { return fmt.Sprintf("errno %d", int(e)) }

// Install returns an error that wraps errors.ErrUnsupported: seccomp is
// Linux's.
func (sb Sandbox) Install() error {
	if err := sb.validate(); err != nil {
		return err
	}
	return sandboxSupported()
}
