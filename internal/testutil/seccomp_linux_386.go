package testutil

import "golang.org/x/sys/unix"

func nativeABI() (abi, error) {
	return abi{
		arch: unix.AUDIT_ARCH_I386,
		// Go's sendfile on 386 is sendfile64.
		syscalls: withSyscalls(map[string]uintptr{"sendfile64": unix.SYS_SENDFILE64, "pipe": unix.SYS_PIPE}),
	}, nil
}
