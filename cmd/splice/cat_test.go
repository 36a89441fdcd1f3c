//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

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
	checkUsage(t, "cat", []usageCase{
		{[]string{"-h"}, exitOK, "Example:", ""},
		{[]string{"--help"}, exitOK, "usage: splice cat", ""},
		{[]string{"-n", "x"}, exitUsage, "", "splice cat: invalid option -- 'n'\nTry 'splice cat -h' for more information.\n"},
		{[]string{"-uA"}, exitUsage, "", "splice cat: invalid option -- 'A'\n"},
		{[]string{"--number"}, exitUsage, "", "splice cat: unrecognized option '--number'\n"},
		{[]string{"-u=false"}, exitUsage, "", "invalid option -- '='"},
	})
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
