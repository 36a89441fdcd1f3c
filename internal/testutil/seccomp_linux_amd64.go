package testutil

import "golang.org/x/sys/unix"

// x32SyscallBit is __X32_SYSCALL_BIT of <asm/unistd.h>: x32 ABI calls carry
// AUDIT_ARCH_X86_64 too, with this bit set in their number.
const x32SyscallBit = 0x40000000

func nativeABI() (abi, error) {
	return abi{
		arch:     unix.AUDIT_ARCH_X86_64,
		x32Bit:   x32SyscallBit,
		syscalls: withSyscalls(map[string]uintptr{"pipe": unix.SYS_PIPE}),
	}, nil
}
