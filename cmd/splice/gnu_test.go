//go:build linux

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Running GNU coreutils and splice side by side on the same inputs.

const (
	kib = 1 << 10
	mib = 1 << 20
)

// gnuSizes straddle the page, a default pipe and a large pipe; the largest are
// left out with -short and under the race detector.
func gnuSizes() []int {
	sizes := []int{0, 1, 4095, 4097, 64*kib + 1, mib + 1}
	if !testing.Short() && !catRace {
		sizes = append(sizes, 16*mib, 256*mib)
	}
	return sizes
}

// catData writes n bytes to a new file in dir: each 8-byte word holds its own
// offset (xor a salt), so that a byte lost, duplicated or reordered shows.
func catData(t testing.TB, dir, name string, n int, salt uint64) string {
	t.Helper()
	b := make([]byte, (n+7)&^7)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], uint64(i)^salt*0x9e3779b97f4a7c15)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b[:n], 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileSum is the sha256 of the file at path, in hex, and its size.
func fileSum(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readSum(t, f)
}

func readSum(t testing.TB, r io.Reader) string {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%s", n, hex.EncodeToString(h.Sum(nil)[:8]))
}

// concatSum is the sum of the files at paths one after the other.
func concatSum(t testing.TB, paths ...string) string {
	t.Helper()
	var rs []io.Reader
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rs = append(rs, f)
	}
	return readSum(t, io.MultiReader(rs...))
}

// A stdio says where a tool's stdin comes from or its stdout goes.
type stdio struct {
	kind string // stdin: "file", "pipe", "null"; stdout: "pipe", "file", "devnull", "full", "closed", "closing", "append"
	path string // stdin: the file to read or feed; stdout "append": the file to append to
	// closeAfter is how much a "closing" stdout reads before it closes.
	closeAfter int64
}

// An outcome is how a run ended and what it wrote.
type outcome struct {
	Status string // "exit 0", "signal broken pipe"
	Stderr string
	Stdout string // sum of what reached stdout ("" where not kept)
}

// gnuTool is a GNU coreutils command, or the test skips.
func gnuTool(t testing.TB, name string) string {
	t.Helper()
	path := "/usr/bin/" + name
	if _, err := os.Stat(path); err != nil {
		t.Skipf("GNU %s not installed: %v", name, err)
	}
	return path
}

// gnuCommand is GNU's name with args, run as "name" (GNU names itself in
// messages by its argv[0]).
func gnuCommand(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(gnuTool(t, name), args...)
	cmd.Args[0] = name
	return cmd
}

// runTool runs cmd with stdin and stdout as given, in dir, and returns how it
// ended. The run is bounded (a hang fails the test, it does not block CI).
func runTool(t testing.TB, cmd *exec.Cmd, dir string, in, out stdio) outcome {
	t.Helper()
	cmd.Dir = dir
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	// A command built with -race sleeps a second at exit (GORACE's
	// atexit_sleep_ms) unless told not to: hundreds of runs would wait
	// minutes for nothing.
	cmd.Env = append(cmd.Env, "LC_ALL=C", "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	var cleanup []func()
	defer func() {
		for _, f := range cleanup {
			f()
		}
	}()
	var fed chan struct{}
	switch in.kind {
	case "null", "":
	case "file":
		f, err := os.Open(in.path)
		if err != nil {
			t.Fatal(err)
		}
		cleanup = append(cleanup, func() { f.Close() })
		cmd.Stdin = f
	case "pipe":
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(in.path)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin = r
		fed = make(chan struct{})
		go func() {
			defer close(fed)
			io.Copy(w, struct{ io.Reader }{f}) // EPIPE once the tool died: expected
			w.Close()
			f.Close()
		}()
		cleanup = append(cleanup, func() { r.Close() })
	default:
		t.Fatalf("stdin kind %q", in.kind)
	}

	var sum chan string
	outPath := ""
	switch out.kind {
	case "pipe", "closed", "closing":
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = w
		cleanup = append(cleanup, func() { w.Close() })
		switch out.kind {
		case "closed":
			r.Close()
		case "closing":
			go func() {
				io.CopyN(io.Discard, r, out.closeAfter)
				r.Close()
			}()
		default:
			sum = make(chan string, 1)
			go func() {
				// Not readSum: t.Fatal must not be called from here.
				defer r.Close()
				h := sha256.New()
				n, err := io.Copy(h, r)
				if err != nil {
					sum <- "read error: " + err.Error()
					return
				}
				sum <- fmt.Sprintf("%d:%s", n, hex.EncodeToString(h.Sum(nil)[:8]))
			}()
		}
	case "file", "append":
		outPath = out.path
		if out.kind == "file" {
			f, err := os.CreateTemp(dir, "stdout")
			if err != nil {
				t.Fatal(err)
			}
			outPath = f.Name()
			f.Close()
		}
		f, err := os.OpenFile(outPath, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		cleanup = append(cleanup, func() { f.Close() })
		cmd.Stdout = f
	case "devnull", "full":
		name := os.DevNull
		if out.kind == "full" {
			name = "/dev/full"
		}
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		cleanup = append(cleanup, func() { f.Close() })
		cmd.Stdout = f
	default:
		t.Fatalf("stdout kind %q", out.kind)
	}

	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child has its own copies of the fds: close ours so that pipes see
	// EOF and a closed reader.
	if w, ok := cmd.Stdout.(*os.File); ok && (out.kind == "pipe" || out.kind == "closing" || out.kind == "closed") {
		w.Close()
	}
	if r, ok := cmd.Stdin.(*os.File); ok && in.kind == "pipe" {
		r.Close()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not end in 2 minutes", cmd.Args)
	}
	o := outcome{Status: status(t, err), Stderr: stderr.String()}
	if fed != nil {
		<-fed
	}
	switch {
	case sum != nil:
		o.Stdout = <-sum
	case outPath != "":
		o.Stdout = fileSum(t, outPath)
	}
	return o
}

// status renders how a command ended.
func status(t testing.TB, err error) string {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit 0"
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return "signal " + ws.Signal().String()
		}
		return fmt.Sprintf("exit %d", ws.ExitStatus())
	}
	t.Fatal(err)
	return ""
}

// asSplice turns GNU's messages into splice's: "cat: x" → "splice cat: x".
func asSplice(name, stderr string) string {
	return strings.TrimPrefix(strings.ReplaceAll("\n"+stderr, "\n"+name+": ", "\nsplice "+name+": "), "\n")
}

// compareGNU runs GNU's name and splice's with args on the same stdin and
// stdout kinds, checks that they end alike, and returns splice's outcome.
func compareGNU(t *testing.T, name string, dir string, args []string, in, out stdio) outcome {
	t.Helper()
	gnu := runTool(t, gnuCommand(t, name, args...), dir, in, out)
	gnu.Stderr = asSplice(name, gnu.Stderr)
	ours := runTool(t, splice(t, append([]string{name}, args...)...), dir, in, out)
	if gnu != ours {
		t.Errorf("%s %q, stdin %s, stdout %s:\nGNU:    %+v\nsplice: %+v", name, args, in.kind, out.kind, gnu, ours)
	}
	return ours
}

// A usageCase is a command line of a command that only parses its arguments,
// and what it must print and exit with.
type usageCase struct {
	args   []string
	status int
	stdout string // a part of it
	stderr string // a part of it
}

// checkUsage runs "splice name args..." for each case.
func checkUsage(t *testing.T, name string, cases []usageCase) {
	t.Helper()
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		cmd := splice(t, append([]string{name}, tc.args...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if got, want := status(t, err), fmt.Sprintf("exit %d", tc.status); got != want {
			t.Errorf("splice %s %q: %s, want %s", name, tc.args, got, want)
		}
		if !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("splice %s %q: stdout %q, stderr %q; want them to hold %q and %q",
				name, tc.args, stdout.String(), stderr.String(), tc.stdout, tc.stderr)
		}
	}
}
