//go:build !unix

package testutil

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

const haveBlockingPipe = false

func blockingPipe() (r, w *os.File, err error) {
	return nil, nil, fmt.Errorf("blocking pipes on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// openDevNull opens the platform's null device for writing.
func openDevNull() (*os.File, error) {
	return os.OpenFile(os.DevNull, os.O_WRONLY, 0)
}
