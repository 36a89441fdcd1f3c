//go:build unix

package testutil

import (
	"os"
	"syscall"
)

const haveBlockingPipe = true

// blockingPipe returns a pipe whose fds are blocking, so that os.NewFile does
// not register them with the poller.
func blockingPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := rawPipe(&p); err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}

// openDevNull opens /dev/null for writing with syscall.Open, so that the fd
// stays blocking and the *os.File is not registered with the poller.
func openDevNull() (*os.File, error) {
	fd, err := syscall.Open("/dev/null", syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/dev/null", Err: err}
	}
	return os.NewFile(uintptr(fd), "/dev/null"), nil
}
