//go:build !splice_portable

package splice_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

// accounted checks the no-loss invariant after a copy that failed part way:
// src gave data[:taken] away, of which data[:n] went to dst and the rest to
// Unwritten, and data[taken:] is still unread in src.
func accounted(t *testing.T, data []byte, n int64, unwritten, rest []byte) {
	t.Helper()
	taken := n + int64(len(unwritten))
	if taken > int64(len(data)) {
		t.Fatalf("wrote %d and handed back %d bytes: more than the %d sent", n, len(unwritten), len(data))
	}
	testutil.Equal(t, data[n:taken], unwritten)
	testutil.Equal(t, data[taken:], rest)
}

// A TCP destination whose peer reads some bytes and then resets the connection:
// Copy fails as io.Copy does, and nothing taken from the source is lost.
func TestCopyPeerResets(t *testing.T) {
	t.Parallel()
	data := testutil.Data(32<<20, 40)
	for _, sk := range []testutil.Kind{testutil.TCP, testutil.Unix, testutil.OSPipe, testutil.File, testutil.LimitedTCP} {
		for _, after := range []int{0, 1, 100000, 1<<20 + 1} {
			t.Run(fmt.Sprintf("%v/%d", sk, after), func(t *testing.T) {
				t.Parallel()
				src := testutil.OpenSource(t, sk, data)
				conn, peer := testutil.TCPPair(t)
				received := make(chan []byte, 1)
				go func() {
					buf := make([]byte, after)
					m, _ := io.ReadFull(peer, buf)
					peer.SetLinger(0)
					peer.Close() // RST
					received <- buf[:m]
				}()
				var rec recorder
				c := &splice.Copier{Unwritten: rec.add}
				n, err := c.Copy(conn, src.R)
				if err == nil {
					if n != int64(len(data)) {
						t.Fatalf("Copy = %d, nil; want an error or %d", n, len(data))
					}
					t.Skip("the socket buffers absorbed everything before the reset")
				}
				if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("Copy error = %v, want EPIPE or ECONNRESET", err)
				}
				// As io.Copy shapes it: a file's sendfile (os.File.WriteTo)
				// blames the file it reads; the other sources' copies, the
				// connection.
				if sk == testutil.File {
					var pe *os.PathError
					if !errors.As(err, &pe) || pe.Op != "read" || pe.Path != src.File.Name() {
						t.Errorf("error %v is not an *os.PathError read %s", err, src.File.Name())
					}
				} else if oe := (*net.OpError)(nil); !errors.As(err, &oe) {
					t.Errorf("error %v is not a *net.OpError", err)
				}
				if got := <-received; !testutil.Equal(t, data[:len(got)], got) {
					t.Error("the peer received the wrong bytes")
				}
				if src.File != nil {
					if off := src.Offset(); off != n {
						t.Errorf("file offset %d after writing %d", off, n)
					}
				}
				if lr, ok := src.R.(*io.LimitedReader); ok {
					if want := int64(len(data)) - n - int64(len(rec.got)); lr.N != want {
						t.Errorf("LimitedReader.N = %d, want %d", lr.N, want)
					}
				}
				rest, _ := io.ReadAll(restOf(src))
				accounted(t, data, n, rec.got, rest)
			})
		}
	}
}

// restOf returns what is left of a source's data, up to any limit.
func restOf(src *testutil.Source) io.Reader {
	if lr, ok := src.R.(*io.LimitedReader); ok {
		return &io.LimitedReader{R: lr.R, N: lr.N}
	}
	return src.R
}

// A write deadline that fires while the destination's peer is not reading: the
// count is exactly what the peer finally receives, and the bytes stranded in the
// engine's pipe are handed back.
func TestCopyDstDeadline(t *testing.T) {
	t.Parallel()
	for _, sk := range []testutil.Kind{testutil.TCP, testutil.Unix, testutil.OSPipe, testutil.File} {
		t.Run(sk.String(), func(t *testing.T) {
			t.Parallel()
			data := testutil.Data(64<<20, 41)
			src := testutil.OpenSource(t, sk, data)
			conn, peer := testutil.TCPPair(t)
			conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			var rec recorder
			c := &splice.Copier{Unwritten: rec.add}
			n, err := c.Copy(conn, src.R)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Copy = %d, %v; want a deadline error", n, err)
			}
			conn.Close()
			got, rerr := io.ReadAll(peer)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if int64(len(got)) != n {
				t.Errorf("Copy says %d bytes written, the peer received %d", n, len(got))
			}
			testutil.Equal(t, data[:len(got)], got)
			rest, _ := io.ReadAll(src.R)
			accounted(t, data, n, rec.got, rest)
		})
	}
}

// A read deadline on the source fires mid-copy: the bytes that arrived before it
// are all delivered, and the count says so.
func TestCopySrcDeadline(t *testing.T) {
	t.Parallel()
	for _, dk := range []testutil.Kind{testutil.TCP, testutil.OSPipe, testutil.File, testutil.Unix} {
		t.Run(dk.String(), func(t *testing.T) {
			t.Parallel()
			conn, peer := testutil.TCPPair(t)
			data := testutil.Data(300000, 42)
			if _, err := peer.Write(data); err != nil {
				t.Fatal(err)
			}
			dst := testutil.OpenSink(t, dk)
			conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := splice.Copy(dst.W, conn)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Copy = %d, %v; want a deadline error", n, err)
			}
			if n != int64(len(data)) {
				t.Errorf("Copy = %d, want %d", n, len(data))
			}
			testutil.Equal(t, data, dst.Bytes())
		})
	}
}

// The kernel refusing splice part way (as a device without splice support does)
// makes Copy go on by read and write from exactly where it stopped.
func TestCopyRefusedMidway(t *testing.T) {
	data := testutil.Data(8<<20+13, 43)
	for _, tc := range []struct {
		stage  string
		sk, dk testutil.Kind
	}{
		{"in", testutil.TCP, testutil.Unix},
		{"out", testutil.TCP, testutil.Unix},
		{"out", testutil.Unix, testutil.File},
		{"direct", testutil.OSPipe, testutil.TCP},
		{"direct", testutil.File, testutil.Unix}, // sendfile
		{"direct", testutil.LimitedTCP, testutil.Pipe},
	} {
		for _, nth := range []int{1, 2, 5} {
			t.Run(fmt.Sprintf("%s/%v-%v/%d", tc.stage, tc.sk, tc.dk, nth), func(t *testing.T) {
				src := testutil.OpenSource(t, tc.sk, data)
				dst := testutil.OpenSink(t, tc.dk)
				restore := splice.InjectErrno(tc.stage, nth, syscall.EINVAL)
				defer restore()
				var progress []int64
				c := &splice.Copier{Progress: func(n int64) { progress = append(progress, n) }}
				n, err := c.Copy(dst.W, src.R)
				restore()
				if err != nil || n != int64(len(data)) {
					t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data))
				}
				testutil.Equal(t, data, dst.Bytes())
				if lr, ok := src.R.(*io.LimitedReader); ok && lr.N != 0 {
					t.Errorf("LimitedReader.N = %d, want 0", lr.N)
				}
				if len(progress) == 0 || progress[len(progress)-1] != n {
					t.Errorf("progress ends at %v, want %d", progress[max(0, len(progress)-1):], n)
				}
				for i := 1; i < len(progress); i++ {
					if progress[i] <= progress[i-1] {
						t.Fatalf("progress not increasing: %v", progress)
					}
				}
			})
		}
	}
}

// A refusal before any byte moved falls back silently, for every stage.
func TestCopyRefusedFirst(t *testing.T) {
	data := testutil.Data(1<<20+5, 44)
	for _, errno := range []syscall.Errno{syscall.EINVAL, syscall.ENOSYS, syscall.EPERM, syscall.EOPNOTSUPP, syscall.EXDEV} {
		for _, tc := range []struct {
			stage  string
			sk, dk testutil.Kind
		}{
			{"in", testutil.TCP, testutil.Unix},
			{"direct", testutil.Pipe, testutil.TCP}, // known types: nothing to guess
		} {
			t.Run(fmt.Sprintf("%v/%s", errno, tc.stage), func(t *testing.T) {
				src := testutil.OpenSource(t, tc.sk, data)
				dst := testutil.OpenSink(t, tc.dk)
				splice.WatchMethods(dst.W)
				restore := splice.InjectErrno(tc.stage, 1, errno)
				defer restore()
				n, err := splice.Copy(dst.W, src.R)
				restore()
				if err != nil || n != int64(len(data)) {
					t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data))
				}
				testutil.Equal(t, data, dst.Bytes())
				if diff := splice.MethodsRun(dst.W); len(diff) != 1 || diff[0].Handled {
					t.Errorf("kernel paths run = %v, want one that did not handle the copy", diff)
				}
			})
		}
	}
}

// Any other errno from the first call is an error, not a fallback.
func TestCopyErrnoNotRefusal(t *testing.T) {
	data := testutil.Data(100000, 45)
	src := testutil.OpenSource(t, testutil.TCP, data)
	dst := testutil.OpenSink(t, testutil.Unix)
	restore := splice.InjectErrno("in", 1, syscall.EIO)
	defer restore()
	n, err := splice.Copy(dst.W, src.R)
	restore()
	if n != 0 || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Copy = %d, %v; want 0, EIO", n, err)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != "splice" {
		t.Errorf("error %v does not wrap an *os.SyscallError for splice", err)
	}
}

// EFBIG: a destination file that hits RLIMIT_FSIZE. The limit applies to the
// whole process, so the copies run in a child.
func TestCopyFileTooBig(t *testing.T) {
	const limit = 100000
	if os.Getenv("SPLICE_TEST_FSIZE") != "" {
		copyFileTooBigChild(t, limit)
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCopyFileTooBig$", "-test.v")
	cmd.Env = append(os.Environ(), "SPLICE_TEST_FSIZE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func copyFileTooBigChild(t *testing.T, limit int) {
	data := testutil.Data(1<<20, 46)
	type result struct {
		n    int64
		err  error
		file []byte
	}
	impls := map[string]func(io.Writer, io.Reader) (int64, error){"io.Copy": io.Copy, "splice.Copy": splice.Copy}
	for _, sk := range []testutil.Kind{testutil.TCP, testutil.OSPipe, testutil.File} {
		results := map[string]result{}
		for name, fn := range impls {
			src := testutil.OpenSource(t, sk, data) // written before the limit
			dst := testutil.OpenSink(t, testutil.File)
			var old syscall.Rlimit
			syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old)
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(limit), Max: old.Max}); err != nil {
				t.Skipf("cannot set RLIMIT_FSIZE: %v", err)
			}
			n, err := fn(dst.W, src.R)
			syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
			results[name] = result{n, err, dst.Bytes()}
		}
		want, got := results["io.Copy"], results["splice.Copy"]
		t.Logf("%v: io.Copy = %d, %v; splice.Copy = %d, %v", sk, want.n, want.err, got.n, got.err)
		if !errors.Is(want.err, syscall.EFBIG) || !errors.Is(got.err, syscall.EFBIG) {
			t.Errorf("%v: errors %v and %v, want EFBIG from both", sk, want.err, got.err)
		}
		if got.n != int64(limit) || want.n != got.n {
			t.Errorf("%v: splice.Copy wrote %d, io.Copy %d; want %d", sk, got.n, want.n, limit)
		}
		testutil.Equal(t, data[:limit], got.file)
	}
}

// Copy to a destination outside the poller (a shell's stdout pipe) that is slow
// to drain does not spin.
func TestCopyBlockingDstDoesNotSpin(t *testing.T) {
	for _, sk := range []testutil.Kind{testutil.TCP, testutil.File, testutil.OSPipe} {
		t.Run(sk.String(), func(t *testing.T) {
			data := testutil.Data(1<<20, 47)
			src := testutil.OpenSource(t, sk, data)
			r, w := testutil.BlockingPipePair(t)
			res := make(chan error, 1)
			var n int64
			cpuTime := onThread(t, func() {
				var err error
				n, err = splice.Copy(w, src.R)
				w.Close()
				res <- err
			})
			var got []byte
			buf := make([]byte, 4096)
			cpu0, wall0 := cpuTime(), time.Now()
			for range 8 {
				time.Sleep(25 * time.Millisecond)
				m, err := r.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, buf[:m]...)
			}
			cpu, wall := cpuTime()-cpu0, time.Since(wall0)
			rest, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-res; err != nil || n != int64(len(data)) {
				t.Fatalf("Copy = %d, %v", n, err)
			}
			testutil.Equal(t, data, append(got, rest...))
			if cpu > wall/4 {
				t.Errorf("used %v of CPU in %v while waiting for a slow consumer: spinning?", cpu, wall)
			}
			t.Logf("CPU %v over %v of waiting", cpu, wall)
		})
	}
}

// Copy from a blocking source (a shell's stdin pipe) that trickles does not spin
// either.
func TestCopyBlockingSrcDoesNotSpin(t *testing.T) {
	r, w := testutil.BlockingPipePair(t)
	dst := testutil.OpenSink(t, testutil.TCP)
	res := make(chan error, 1)
	var n int64
	cpuTime := onThread(t, func() {
		var err error
		n, err = splice.Copy(dst.W, r)
		res <- err
	})
	cpu0, wall0 := cpuTime(), time.Now()
	for i := range 8 {
		time.Sleep(25 * time.Millisecond)
		w.Write([]byte(strconv.Itoa(i)))
	}
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	w.Close()
	if err := <-res; err != nil || n != 8 {
		t.Fatalf("Copy = %d, %v; want 8, nil", n, err)
	}
	if got := string(dst.Bytes()); got != "01234567" {
		t.Errorf("received %q", got)
	}
	if cpu > wall/4 {
		t.Errorf("used %v of CPU in %v while waiting for a slow producer: spinning?", cpu, wall)
	}
	t.Logf("CPU %v over %v of waiting", cpu, wall)
}

// Urgent (out-of-band) data on a TCP socket stops splice at its mark with EAGAIN
// while poll reports the socket readable. Copy must neither spin nor stall, and
// must end where io.Copy's reads end.
func TestCopyTCPUrgentData(t *testing.T) {
	t.Parallel()
	type result struct {
		N   int64
		Err error
		Got string
	}
	run := func(t *testing.T, name string) result {
		conn, peer := testutil.TCPPair(t)
		peer.Write([]byte("abc"))
		rc, _ := peer.SyscallConn()
		var serr error
		rc.Control(func(fd uintptr) { serr = unix.Send(int(fd), []byte("!"), unix.MSG_OOB) })
		if serr != nil {
			t.Skipf("cannot send urgent data: %v", serr)
		}
		peer.Write([]byte("def"))
		peer.CloseWrite()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		dst := testutil.OpenSink(t, testutil.OSPipe)
		var r result
		cpu0, wall0 := cpuTime(t), time.Now()
		switch name {
		case "io.Copy":
			r.N, r.Err = io.Copy(dst.W, conn)
		case "splice.Copy":
			r.N, r.Err = splice.Copy(dst.W, conn)
		default:
			p := newPipe(t)
			wait := drain(t, p)
			r.N, r.Err = p.ReadFrom(conn)
			p.CloseWrite()
			got, _ := wait()
			dst.W.Write(got)
		}
		if cpu, wall := cpuTime(t)-cpu0, time.Since(wall0); cpu > time.Second {
			t.Errorf("%s used %v of CPU in %v", name, cpu, wall)
		}
		r.Got = string(dst.Bytes())
		return r
	}
	want := run(t, "io.Copy")
	t.Logf("io.Copy: %+v", want)
	for _, name := range []string{"splice.Copy", "Pipe.ReadFrom"} {
		if diff := cmp.Diff(want, run(t, name), cmpopts.EquateErrors()); diff != "" {
			t.Errorf("%s differs from io.Copy (-want +got):\n%s", name, diff)
		}
	}
}

// A LimitedReader with N <= 0 yields nothing, as io.Copy has it.
func TestPipeReadFromExhaustedLimit(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	f := testutil.TempFile(t, []byte("nothing to see"))
	for _, n := range []int64{0, -1} {
		lr := &io.LimitedReader{R: f, N: n}
		if got, err := p.ReadFrom(lr); got != 0 || err != nil || lr.N != n {
			t.Errorf("ReadFrom(N=%d) = %d, %v, N=%d; want 0, nil, N unchanged", n, got, err, lr.N)
		}
	}
	if p.Buffered() != 0 {
		t.Errorf("pipe holds %d bytes", p.Buffered())
	}
}

// A pipe copied into itself would cycle its bytes forever: refused with EINVAL.
func TestPipeSelfCopy(t *testing.T) {
	t.Parallel()
	p := newPipe(t)
	p.Write([]byte("abc"))
	for name, call := range map[string]func() (int64, error){
		"WriteTo(p)":          func() (int64, error) { return p.WriteTo(p) },
		"ReadFrom(p)":         func() (int64, error) { return p.ReadFrom(p) },
		"WriteTo(p.Writer())": func() (int64, error) { return p.WriteTo(p.Writer()) },
		"ReadFrom(p.Reader())": func() (int64, error) {
			return p.ReadFrom(p.Reader())
		},
	} {
		if n, err := call(); n != 0 || !errors.Is(err, syscall.EINVAL) {
			t.Errorf("%s = %d, %v; want 0, EINVAL", name, n, err)
		}
	}
	if p.Buffered() != 3 {
		t.Errorf("pipe holds %d bytes, want 3", p.Buffered())
	}
}
