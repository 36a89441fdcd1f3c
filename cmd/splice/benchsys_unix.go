//go:build unix

package main

import (
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// processCPU is the process's CPU time so far, user and system, all threads.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// kernelRelease is uname's release ("6.1.0-27-amd64"), or "".
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return strings.TrimRight(string(u.Release[:]), "\x00")
}
