//go:build linux && !amd64 && !386 && !arm64

package testutil

import (
	"errors"
	"fmt"
	"runtime"
)

func nativeABI() (abi, error) {
	return abi{}, fmt.Errorf("testutil: sandbox: the system call ABI of linux/%s is not known: %w", runtime.GOARCH, errors.ErrUnsupported)
}
