package testutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// OpenFDs returns the process's open file descriptors, each with its
// /proc/self/fd link target (a path, "pipe:[N]", "socket:[N]",
// "anon_inode:[eventpoll]", ...). The fd used to read the listing is not
// included. On systems other than Linux it returns an error that wraps
// errors.ErrUnsupported.
func OpenFDs() (map[int]string, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	fds := make(map[int]string, len(names))
	for _, name := range names {
		fd, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // closed since the listing, like the listing's own fd
		}
		if err != nil {
			return nil, err
		}
		fds[fd] = target
	}
	return fds, nil
}

// fdMode describes how fd is open, from the "flags:" line of its fdinfo, as
// " (O_WRONLY, nonblocking)": enough to tell a pipe from Go's splice pool or
// a poller-registered fd from a blocking one in a leak report.
func fdMode(fd int) string {
	info, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(info)) {
		v, ok := strings.CutPrefix(line, "flags:")
		if !ok {
			continue
		}
		flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
		if err != nil {
			return ""
		}
		mode := map[uint64]string{unix.O_RDONLY: "O_RDONLY", unix.O_WRONLY: "O_WRONLY", unix.O_RDWR: "O_RDWR"}[flags&unix.O_ACCMODE]
		blocking := "blocking"
		if flags&unix.O_NONBLOCK != 0 {
			blocking = "nonblocking"
		}
		return fmt.Sprintf(" (%s, %s)", mode, blocking)
	}
	return ""
}
