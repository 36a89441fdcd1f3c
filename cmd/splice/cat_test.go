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
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The cat and tee tests run GNU cat and tee (/usr/bin) and splice cat and tee
// on the same inputs and compare what each wrote (stdout and every file, by
// sha256), how it ended (exit status or signal) and its stderr, with "cat:"
// read as "splice cat:".

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

func TestCatLikeGNU(t *testing.T) {
	t.Parallel()
	for _, size := range gnuSizes() {
		for _, in := range []string{"file", "pipe"} {
			for _, out := range []string{"pipe", "file", "devnull"} {
				t.Run(fmt.Sprintf("%d/%s-%s", size, in, out), func(t *testing.T) {
					if size >= 256*mib && (in != "file" || out != "pipe") {
						t.Skip("covered at 16 MiB; 256 MiB only from a file into a pipe (the time budget)")
					}
					t.Parallel()
					dir := t.TempDir()
					src := catData(t, dir, "in", size, uint64(size))
					want := fileSum(t, src)
					args := []string{"in"}
					if in == "pipe" {
						args = nil // no FILE is stdin
					}
					got := compareGNU(t, "cat", dir, args, stdio{kind: in, path: src}, stdio{kind: out})
					if out != "devnull" && got.Stdout != want {
						t.Errorf("stdout %s, want %s", got.Stdout, want)
					}
					if got.Status != "exit 0" || got.Stderr != "" {
						t.Errorf("ended %q, stderr %q", got.Status, got.Stderr)
					}
				})
			}
		}
	}
}

// TestCatFiles: several FILEs, "-" among them (once and twice), -u, and the
// failures of an input, reported by name while cat goes on with the next.
func TestCatFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := catData(t, dir, "a", 100*kib+3, 1)
	b := catData(t, dir, "b", 4097, 2)
	c := catData(t, dir, "c", 2*mib+1, 3)
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		want   []string // the inputs, stdin included, that stdout holds one after the other
		status string
		stderr string
	}{
		{[]string{"a", "b"}, []string{a, b}, "exit 0", ""},
		{[]string{"a", "-", "b"}, []string{a, c, b}, "exit 0", ""},
		{[]string{"-", "a", "-"}, []string{c, a}, "exit 0", ""}, // the second "-" is at EOF
		{[]string{"-u", "b", "a"}, []string{b, a}, "exit 0", ""},
		{[]string{"b", "-u", "a", "-uu"}, []string{b, a}, "exit 0", ""}, // options after FILEs, as getopt permutes them
		{[]string{"--", "-u"}, nil, "exit 1", "splice cat: -u: No such file or directory\n"},
		{[]string{"--", "b"}, []string{b}, "exit 0", ""},
		{[]string{"a", "missing.txt", "b"}, []string{a, b}, "exit 1",
			"splice cat: missing.txt: No such file or directory\n"},
		{[]string{"d", "a"}, []string{a}, "exit 1", "splice cat: d: Is a directory\n"},
		{[]string{"b", "/proc/self/mem", "a"}, []string{b, a}, "exit 1",
			"splice cat: /proc/self/mem: Input/output error\n"},
		{[]string{"a b", "x'y", "c:d", "n\nl", "", "~x"}, nil, "exit 1",
			"splice cat: 'a b': No such file or directory\n" +
				"splice cat: \"x'y\": No such file or directory\n" +
				"splice cat: 'c:d': No such file or directory\n" +
				"splice cat: 'n'$'\\n''l': No such file or directory\n" +
				"splice cat: '': No such file or directory\n" +
				"splice cat: '~x': No such file or directory\n"},
	} {
		ins := []string{"file"} // stdin matters only where a FILE is "-" or none
		if len(tc.args) == 0 || slices.Contains(tc.args, "-") {
			ins = append(ins, "pipe")
		}
		for _, in := range ins {
			for _, out := range []string{"pipe", "file"} {
				t.Run(fmt.Sprintf("%q/%s-%s", tc.args, in, out), func(t *testing.T) {
					t.Parallel()
					got := compareGNU(t, "cat", dir, tc.args, stdio{kind: in, path: c}, stdio{kind: out})
					want := outcome{Status: tc.status, Stderr: tc.stderr, Stdout: concatSum(t, tc.want...)}
					if got != want {
						t.Errorf("got  %+v\nwant %+v", got, want)
					}
				})
			}
		}
	}
}

// TestCatOutputError: an output that fails stops cat with "write error";
// a stdout whose reader is gone, before or during the copy, kills it with
// SIGPIPE and no message, as it does GNU cat.
func TestCatOutputError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := catData(t, dir, "a", 3*mib+5, 4)
	catData(t, dir, "b", 10, 5)
	for _, tc := range []struct {
		args   []string
		in     string
		out    stdio
		status string
		stderr string
	}{
		{[]string{"a", "missing", "b"}, "null", stdio{kind: "full"}, "exit 1",
			"splice cat: write error: No space left on device\n"},
		{nil, "pipe", stdio{kind: "full"}, "exit 1", "splice cat: write error: No space left on device\n"},
		{[]string{"b", "a"}, "null", stdio{kind: "closed"}, "signal broken pipe", ""},
		{nil, "pipe", stdio{kind: "closed"}, "signal broken pipe", ""},
		{nil, "file", stdio{kind: "closed"}, "signal broken pipe", ""},
		{[]string{"a"}, "null", stdio{kind: "closing", closeAfter: 100 * kib}, "signal broken pipe", ""},
		{nil, "pipe", stdio{kind: "closing", closeAfter: 100 * kib}, "signal broken pipe", ""},
		{nil, "file", stdio{kind: "closing", closeAfter: mib + 1}, "signal broken pipe", ""},
	} {
		t.Run(fmt.Sprintf("%q/%s-%s", tc.args, tc.in, tc.out.kind), func(t *testing.T) {
			t.Parallel()
			got := compareGNU(t, "cat", dir, tc.args, stdio{kind: tc.in, path: a}, tc.out)
			want := outcome{Status: tc.status, Stderr: tc.stderr}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestCatInputIsOutput: a regular file is not copied into itself while there
// is something left to read of it (GNU cat's rule: same file, input offset
// before its end).
func TestCatInputIsOutput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		size     int
		args     []string
		stdinEnd bool // stdin is the file, at its end
		status   string
		stderr   string
	}{
		{"named", 5000, []string{"f"}, false, "exit 1", "splice cat: f: input file is output file\n"},
		{"stdin", 5000, nil, false, "exit 1", "splice cat: -: input file is output file\n"},
		{"stdin at end", 5000, []string{"-"}, true, "exit 0", ""},
		{"empty", 0, []string{"f", "f"}, false, "exit 0", ""},
		{"among others", 5000, []string{"g", "f", "g"}, false, "exit 1", "splice cat: f: input file is output file\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var results []outcome
			for _, tool := range []string{"gnu", "splice"} {
				dir := t.TempDir()
				f := catData(t, dir, "f", tc.size, 6)
				g := catData(t, dir, "g", 77, 7)
				wantSum := concatSum(t, f)
				if tc.name == "among others" {
					wantSum = concatSum(t, f, g, g)
				}
				var cmd *exec.Cmd
				if tool == "gnu" {
					cmd = gnuCommand(t, "cat", tc.args...)
				} else {
					cmd = splice(t, append([]string{"cat"}, tc.args...)...)
				}
				in, err := os.Open(f)
				if err != nil {
					t.Fatal(err)
				}
				if tc.stdinEnd {
					if _, err := in.Seek(0, io.SeekEnd); err != nil {
						t.Fatal(err)
					}
				}
				cmd.Stdin = in
				o := runTool(t, cmd, dir, stdio{}, stdio{kind: "append", path: f})
				in.Close()
				if tool == "gnu" {
					o.Stderr = asSplice("cat", o.Stderr)
				}
				results = append(results, o)
				want := outcome{Status: tc.status, Stderr: tc.stderr, Stdout: wantSum}
				if o != want {
					t.Errorf("%s: got  %+v\nwant %+v", tool, o, want)
				}
			}
		})
	}
}

// TestCatUnreadable: a FILE without read permission is reported and skipped.
// Root reads it anyway, so as root the tools run as nobody (setpriv).
func TestCatUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var wrap []string
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skipf("root reads unreadable files, and setpriv to drop root is missing: %v", err)
		}
		wrap = []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}
		// nobody must reach the files and the test binary: a copy of it.
		for d := dir; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := catData(t, dir, "a", 70000, 8)
	catData(t, dir, "secret", 100, 9)
	if err := os.Chmod(filepath.Join(dir, "secret"), 0); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		bin, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		self = filepath.Join(dir, "splice.test")
		if err := os.WriteFile(self, bin, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"secret", "a"}
	gnuCmd := gnuCommand(t, "cat", args...)
	if wrap != nil {
		gnuCmd = exec.Command(wrap[0], wrapArgs(wrap, "cat", args)...)
	}
	gnu := runTool(t, gnuCmd, dir, stdio{}, stdio{kind: "pipe"})
	gnu.Stderr = asSplice("cat", gnu.Stderr)
	cmd := exec.Command(wrap0(wrap, self), wrapArgs(wrap, self, append([]string{"cat"}, args...))...)
	cmd.Env = append(os.Environ(), "SPLICE_TEST_AS_COMMAND=1")
	ours := runTool(t, cmd, dir, stdio{}, stdio{kind: "pipe"})
	want := outcome{Status: "exit 1", Stderr: "splice cat: secret: Permission denied\n", Stdout: fileSum(t, a)}
	for _, o := range []struct {
		tool string
		got  outcome
	}{{"GNU", gnu}, {"splice", ours}} {
		if o.got != want {
			t.Errorf("%s: got  %+v\nwant %+v", o.tool, o.got, want)
		}
	}
}

// wrap0 and wrapArgs run prog args under the command wrap, if any.
func wrap0(wrap []string, prog string) string {
	if len(wrap) == 0 {
		return prog
	}
	return wrap[0]
}

func wrapArgs(wrap []string, prog string, args []string) []string {
	if len(wrap) == 0 {
		return args
	}
	return append(append(append([]string{}, wrap[1:]...), prog), args...)
}

func TestCatUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args   []string
		status int
		stdout string // a part of it
		stderr string // a part of it
	}{
		{[]string{"-h"}, exitOK, "Example:", ""},
		{[]string{"--help"}, exitOK, "usage: splice cat", ""},
		{[]string{"-n", "x"}, exitUsage, "", "splice cat: invalid option -- 'n'\nTry 'splice cat -h' for more information.\n"},
		{[]string{"-uA"}, exitUsage, "", "splice cat: invalid option -- 'A'\n"},
		{[]string{"--number"}, exitUsage, "", "splice cat: unrecognized option '--number'\n"},
		{[]string{"-u=false"}, exitUsage, "", "invalid option -- '='"},
	} {
		var stdout, stderr bytes.Buffer
		cmd := splice(t, append([]string{"cat"}, tc.args...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if got, want := status(t, err), fmt.Sprintf("exit %d", tc.status); got != want {
			t.Errorf("splice cat %q: %s, want %s", tc.args, got, want)
		}
		if !strings.Contains(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("splice cat %q: stdout %q, stderr %q; want them to hold %q and %q",
				tc.args, stdout.String(), stderr.String(), tc.stdout, tc.stderr)
		}
	}
}

func TestQuotef(t *testing.T) {
	t.Parallel()
	// As GNU cat 9.1 printed these names (LC_ALL=C.UTF-8).
	for _, tc := range []struct{ in, want string }{
		{"plain.txt", "plain.txt"},
		{"a,b%c+d@e/f-g_h.i", "a,b%c+d@e/f-g_h.i"},
		{"a=b", "'a=b'"},
		{"a^b", "'a^b'"},
		{"~a", "'~a'"},
		{"a~", "a~"},
		{"#a", "'#a'"},
		{"a#", "a#"},
		{"a!b", "'a!b'"},
		{"a{b", "a{b"},
		{"a]b", "a]b"},
		{"a*b", "'a*b'"},
		{`a\b`, `'a\b'`},
		{"", "''"},
		{`a'b"c`, `'a'\''b"c'`},
		{`a'b$c`, `'a'\''b$c'`},
		{"a'b c", `"a'b c"`},
		{"a\tb", `'a'$'\t''b'`},
		{"é", "é"},
		{"\x01", `''$'\001'`},
		{"c:d", "'c:d'"},
		{"standard output", "'standard output'"},
		{"a\xffb", `'a'$'\377''b'`},
	} {
		if got := quotef(tc.in); got != tc.want {
			t.Errorf("quotef(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
