//go:build !linux

package testutil

import (
	"errors"
	"fmt"
	"runtime"
)

// OpenFDs returns the process's open file descriptors, each with its
// /proc/self/fd link target. On systems other than Linux it returns an error
// that wraps errors.ErrUnsupported.
func OpenFDs() (map[int]string, error) {
	return nil, fmt.Errorf("testutil: listing open fds on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func fdMode(fd int) string { return "" }
