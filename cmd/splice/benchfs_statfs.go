//go:build linux || darwin || freebsd

package main

import "golang.org/x/sys/unix"

// tempFree is the number of bytes free to an unprivileged user in the file
// system that holds dir, from statfs(2).
func tempFree(dir string) (uint64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
