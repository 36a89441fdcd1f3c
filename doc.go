// Package splice moves bytes between file descriptors without copying them
// through user space, over the Linux splice(2), tee(2) and vmsplice(2) system
// calls, with a portable read/write fallback so that the same code builds and
// works on every GOOS.
//
// # The model
//
// A pipe is a kernel buffer: a ring of slots, each holding a reference to a page
// and the offset and length of the bytes in it. The three calls work on that ring:
//
//   - splice moves bytes between a pipe and any other fd. Into a pipe from a file
//     it takes references to the file's page-cache pages; out of a pipe to a socket
//     or file it hands those references on. The bytes themselves are not copied.
//   - tee duplicates the references in one pipe into another pipe, without
//     consuming them: one stream, several readers, no copy.
//   - vmsplice maps user memory into a pipe: the pipe refers to the caller's pages.
//
// Because the pipe holds the bytes between calls, a partial write, a signal or a
// failing destination leaves them in the pipe rather than lost: they can be
// drained, retried or handed back.
//
// # When each is safe
//
// splice and tee are always safe: the pages they pass are the kernel's (page
// cache, socket buffers) or were copied in by write(2). vmsplice is different:
// the pipe refers to the caller's memory until the pipe's consumer has copied it
// out, so the caller must not modify or reuse that memory before then. A consumer
// that reads the pipe with read(2), or splices it into a regular file, copies; one
// that splices onward to a socket may keep referring to the pages after the pipe
// is drained. Vmsplice's doc comment says more.
//
// # What this package offers
//
// Copy and CopyN are drop-in replacements for io.Copy and io.CopyN: same count,
// same errors, same LimitedReader.N and file offsets, and no bytes through user
// space wherever both sides are file descriptors, but where read(2) and write(2)
// measured faster: small chunks and copies, and pipe to TCP streams past their
// first 64 KiB (Copy's doc comment has the details). They splice directly where
// either side is a pipe, through a pooled pipe between sockets and files, and use
// sendfile(2) from files to sockets and copy_file_range(2) between files; Plan
// tells which. Where they wait, they wait on one side at a time, holding no lock
// of the other, so that closing either side from another goroutine never waits.
// Where the kernel refuses a path (a seccomp sandbox, say), they go on by read
// and write, never through the standard library's own zero-copy paths. Copier
// adds progress reports, hands back every byte a failing destination did not
// take, and sizes or disables the pipe.
//
// CopyMulti is io.Copy into an io.MultiWriter without the copies: on Linux it
// tees one stream into every destination (a pipe directly, any other fd
// through a pipe of its own), so that a stream saved to disk while it is sent
// on, or a feed fanned out to several consumers, never enters the program. The
// destinations move in lockstep, a failing one is named by a DestError, and
// with Copier.DropFailed the others go on without it.
//
// Writer is bufio.Writer for output into a pipe that nothing needs to copy: a
// logger feeding a log shipper, a generator feeding another process. Its buffer
// is memory mapped outside Go's heap, and vmsplice maps each full part of it
// into the pipe instead of copying it there; a part is written again only once
// the pipe shows that its bytes have left. Into a regular file it goes through a
// pipe of its own; into anything else, or where vmsplice is refused, it is an
// ordinary buffered writer. The pipe's consumer must copy what it reads (read(2)
// or splice into a file): Writer's doc comment says why.
//
// Splice, Tee and Vmsplice are thin wrappers over the system calls on raw fds,
// with EINTR retried and errors wrapped as *os.SyscallError. Pipe is a kernel pipe
// as a Go type: both ends are registered with Go's poller, so its reads, writes,
// splices and tees park goroutines instead of threads and honour deadlines, and
// its ReadFrom and WriteTo splice whenever the other side is an fd (an *os.File, a
// *net.TCPConn or *net.UnixConn, another Pipe, any syscall.Conn), falling back to
// read and write where the kernel refuses. MaxPipeSize and Pipe.SetSize size pipes.
//
// On systems other than Linux, Splice, Tee and Vmsplice return errors matching
// errors.ErrUnsupported, Pipe is an os.Pipe that moves bytes by read and write,
// CopyMulti loops over a pooled buffer with the same accounting and errors, and
// Writer is an ordinary buffered writer.
package splice
