// The filter is assembled by golang.org/x/net/bpf, a well-kept assembler for
// classic BPF from the Go project, rather than from hand-packed sock_filter
// words: the program reads as the instructions it is, and the assembler
// rejects a malformed one before the kernel does.

package testutil

import (
	"errors"
	"fmt"
	"maps"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// abi is what a filter needs to know of this GOARCH's system call ABI.
type abi struct {
	arch     uint32             // AUDIT_ARCH_* of seccomp_data.arch
	x32Bit   uint32             // amd64: __X32_SYSCALL_BIT, set in x32 ABI numbers; else 0
	syscalls map[string]uintptr // the calls of knownSyscalls this ABI has
}

// commonSyscalls are the calls of knownSyscalls that every Linux ABI has;
// nativeABI (one per GOARCH) adds the others.
var commonSyscalls = map[string]uintptr{
	"splice":          unix.SYS_SPLICE,
	"tee":             unix.SYS_TEE,
	"vmsplice":        unix.SYS_VMSPLICE,
	"sendfile":        unix.SYS_SENDFILE,
	"copy_file_range": unix.SYS_COPY_FILE_RANGE,
	"pipe2":           unix.SYS_PIPE2,
}

// withSyscalls returns commonSyscalls plus an ABI's own.
func withSyscalls(own map[string]uintptr) map[string]uintptr {
	m := maps.Clone(commonSyscalls)
	maps.Copy(m, own)
	return m
}

// seccompData is struct seccomp_data of <linux/seccomp.h>, what a seccomp
// filter reads: its loads are 32-bit words in the host's byte order.
type seccompData struct {
	nr   int32
	arch uint32
	_    uint64    // instruction_pointer
	_    [6]uint64 // args
}

func sandboxSupported() error {
	_, err := nativeABI()
	return err
}

func errnoName(e syscall.Errno) string {
	if name := unix.ErrnoName(e); name != "" {
		return name
	}
	return fmt.Sprintf("errno %d", int(e))
}

// program returns sb's filter:
//
//	arch != native ABI           -> kill the process
//	nr has the x32 bit (amd64)   -> kill the process
//	nr is one of sb.Syscalls     -> fail with sb.Errno
//	otherwise                    -> allow
//
// A filter must check the architecture first: the same number names
// different calls in another ABI (int 0x80 on amd64), through which a
// refused call could otherwise slip.
func (sb Sandbox) program() ([]bpf.Instruction, error) {
	if err := sb.validate(); err != nil {
		return nil, err
	}
	a, err := nativeABI()
	if err != nil {
		return nil, err
	}
	var nrs []uint32
	for _, name := range sb.Syscalls {
		if nr, ok := a.syscalls[name]; ok {
			nrs = append(nrs, uint32(nr))
		}
	}
	if len(nrs) == 0 {
		return nil, fmt.Errorf("testutil: sandbox: %s has none of %v", runtime.GOARCH, sb.Syscalls)
	}
	var d seccompData
	kill := bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: uint32(unsafe.Offsetof(d.arch)), Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: a.arch, SkipTrue: 1},
		kill,
		bpf.LoadAbsolute{Off: uint32(unsafe.Offsetof(d.nr)), Size: 4},
	}
	if a.x32Bit != 0 {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: a.x32Bit, SkipFalse: 1},
			kill)
	}
	// Each match jumps over the matches after it and the allow, to the
	// refusal at the end.
	for i, nr := range nrs {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: nr, SkipTrue: uint8(len(nrs) - i)})
	}
	prog = append(prog,
		bpf.RetConstant{Val: unix.SECCOMP_RET_ALLOW},
		bpf.RetConstant{Val: unix.SECCOMP_RET_ERRNO | uint32(sb.Errno)&unix.SECCOMP_RET_DATA})
	return prog, nil
}

// Install installs sb's filter on every thread of this process (and so on
// every thread and child it will start), for the rest of its life: there is
// no way back. It sets no_new_privs first, which lets an unprivileged process
// install a filter (and makes set-user-ID programs it runs lose their
// privileges). Use it in a child process, as [RunInSandbox] does.
//
// Where seccomp filters cannot be used (a kernel without
// CONFIG_SECCOMP_FILTER or without thread synchronization, an outer sandbox
// that forbids them, a GOARCH whose ABI Install does not know) the error
// wraps errors.ErrUnsupported.
func (sb Sandbox) Install() error {
	insts, err := sb.program()
	if err != nil {
		return err
	}
	raw, err := bpf.Assemble(insts)
	if err != nil {
		return fmt.Errorf("testutil: sandbox: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}

	// no_new_privs belongs to the thread that installs the filter; TSYNC
	// gives both to every other thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return unavailable("prctl(PR_SET_NO_NEW_PRIVS)", err)
	}
	tid, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(filter)
	if errno != 0 {
		return unavailable("seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC)", errno)
	}
	if tid != 0 {
		// With TSYNC, a thread that cannot take the filter (one under a
		// filter of its own, not an ancestor of ours) fails the call with
		// its id, and no thread is filtered.
		return fmt.Errorf("testutil: sandbox: thread %d cannot take the filter", tid)
	}
	current.Store(&Sandbox{Errno: sb.Errno, Syscalls: append([]string(nil), sb.Syscalls...)})
	return nil
}

// unavailable wraps the error of a call that installs a filter. The errnos
// that say seccomp filters cannot be had here also wrap
// errors.ErrUnsupported: ENOSYS (no seccomp(2)), EINVAL (no
// CONFIG_SECCOMP_FILTER, no TSYNC: the program itself was checked by the
// assembler), EPERM and EACCES (no_new_privs was just set, so an outer
// sandbox refuses).
func unavailable(call string, err error) error {
	switch {
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL), errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("testutil: sandbox: %s: %w (%w)", call, err, errors.ErrUnsupported)
	}
	return fmt.Errorf("testutil: sandbox: %s: %w", call, err)
}
