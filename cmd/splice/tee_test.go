//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// teeRun is how a tee ended and what each of its FILEs holds.
type teeRun struct {
	Outcome outcome
	Files   []string // sum of each FILE, in order ("" for one that does not exist)
}

// runTees runs GNU tee and splice tee with args, each in a directory of its
// own holding the files setup makes, on the same stdin and stdout kinds, and
// returns both runs (GNU's stderr as splice would print it). files are the
// FILEs to check afterwards, relative to the directory.
func runTees(t *testing.T, args, files []string, setup func(dir string), in, out stdio) (gnu, ours teeRun) {
	t.Helper()
	for _, tool := range []string{"gnu", "splice"} {
		dir := t.TempDir()
		if setup != nil {
			setup(dir)
		}
		var r teeRun
		if tool == "gnu" {
			r.Outcome = runTool(t, gnuCommand(t, "tee", args...), dir, in, out)
			r.Outcome.Stderr = asSplice("tee", r.Outcome.Stderr)
		} else {
			r.Outcome = runTool(t, splice(t, append([]string{"tee"}, args...)...), dir, in, out)
		}
		for _, f := range files {
			sum := ""
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				sum = fileSum(t, filepath.Join(dir, f))
			}
			r.Files = append(r.Files, sum)
		}
		if tool == "gnu" {
			gnu = r
		} else {
			ours = r
		}
	}
	return gnu, ours
}

func TestTeeLikeGNU(t *testing.T) {
	t.Parallel()
	for _, size := range gnuSizes() {
		for _, in := range []string{"file", "pipe"} {
			for _, out := range []string{"pipe", "file", "devnull"} {
				t.Run(fmt.Sprintf("%d/%s-%s", size, in, out), func(t *testing.T) {
					if size >= 256*mib && (in != "file" || out != "pipe") {
						t.Skip("covered at 16 MiB; 256 MiB only from a file into a pipe and a file (the time budget)")
					}
					t.Parallel()
					src := catData(t, t.TempDir(), "in", size, uint64(size)+11)
					want := fileSum(t, src)
					files := []string{"x", "y"}
					if size >= 16*mib {
						files = files[:1]
					}
					gnu, ours := runTees(t, files, files, nil, stdio{kind: in, path: src}, stdio{kind: out})
					if diff := cmp.Diff(gnu, ours); diff != "" {
						t.Errorf("GNU tee and splice tee differ (-GNU +splice):\n%s", diff)
					}
					wantRun := teeRun{outcome{Status: "exit 0", Stdout: want}, []string{want, want}[:len(files)]}
					if out == "devnull" {
						wantRun.Outcome.Stdout = ""
					}
					if diff := cmp.Diff(wantRun, ours); diff != "" {
						t.Errorf("splice tee (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

// TestTeeFiles: -a, "-" as a FILE, a FILE given twice, FILEs that cannot be
// opened (reported; tee copies to the others and exits 1), option spellings.
func TestTeeFiles(t *testing.T) {
	t.Parallel()
	srcDir := t.TempDir()
	src := catData(t, srcDir, "in", 300*kib+7, 12)
	old := catData(t, srcDir, "old", 5000, 13)
	want, wantOld := fileSum(t, src), fileSum(t, old)
	wantAppended := concatSum(t, old, src)
	oldData, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	prefill := func(dir string) {
		for _, name := range []string{"x", "y"} {
			if err := os.WriteFile(filepath.Join(dir, name), oldData, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args   []string
		files  []string
		want   []string
		status string
		stderr string
	}{
		{[]string{"x", "y"}, []string{"x", "y"}, []string{want, want}, "exit 0", ""},
		{[]string{"-a", "x", "y"}, []string{"x", "y"}, []string{wantAppended, wantAppended}, "exit 0", ""},
		{[]string{"x", "--append", "y"}, []string{"x", "y"}, []string{wantAppended, wantAppended}, "exit 0", ""},
		{[]string{"--app", "-i", "x"}, []string{"x", "y"}, []string{wantAppended, wantOld}, "exit 0", ""},
		{[]string{"-ap", "--", "-a", "x"}, []string{"-a", "x"}, []string{want, wantAppended}, "exit 0", ""},
		{[]string{"-", "y"}, []string{"-", "y"}, []string{want, want}, "exit 0", ""},
		{[]string{"missingdir/z", "x", "d"}, []string{"missingdir/z", "x"}, []string{"", want}, "exit 1",
			"splice tee: missingdir/z: No such file or directory\nsplice tee: d: Is a directory\n"},
		{[]string{"--output-error", "warn", "x"}, []string{"warn", "x"}, []string{want, want}, "exit 0", ""},
	} {
		for _, in := range []string{"file", "pipe"} {
			t.Run(fmt.Sprintf("%q/%s", tc.args, in), func(t *testing.T) {
				t.Parallel()
				gnu, ours := runTees(t, tc.args, tc.files, prefill, stdio{kind: in, path: src}, stdio{kind: "pipe"})
				if diff := cmp.Diff(gnu, ours); diff != "" {
					t.Errorf("GNU tee and splice tee differ (-GNU +splice):\n%s", diff)
				}
				wantRun := teeRun{outcome{Status: tc.status, Stderr: tc.stderr, Stdout: want}, tc.want}
				if diff := cmp.Diff(wantRun, ours); diff != "" {
					t.Errorf("splice tee (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestTeeOutputError runs each --output-error MODE (and none, and -p) with a
// stdout whose reader is gone, and with /dev/full among the FILEs. Where tee
// goes on, every output left must hold everything; where it stops (SIGPIPE,
// an exit MODE) each output holds a prefix, which differs from GNU's: GNU
// writes 8 KiB at a time in the order of the outputs and stops in the middle
// of that order, splice tee hands each chunk in hand to every output that
// did not fail.
func TestTeeOutputError(t *testing.T) {
	t.Parallel()
	srcDir := t.TempDir()
	src := catData(t, srcDir, "in", 3*mib+3, 14)
	want := fileSum(t, src)
	srcData, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	const (
		stopped = "a prefix"
		full    = "all"
	)
	type result struct {
		status, stderr string
		files          string // stopped or full
	}
	closedMsg := "splice tee: 'standard output': Broken pipe\n"
	fullMsg := "splice tee: /dev/full: No space left on device\n"
	for i, tc := range []struct {
		mode   []string
		closed result // stdout closed, FILEs x and y
		full   result // stdout a pipe, FILEs x, /dev/full, y
	}{
		{nil, result{"signal broken pipe", "", stopped}, result{"exit 1", fullMsg, full}},
		{[]string{"-p"}, result{"exit 0", "", full}, result{"exit 1", fullMsg, full}},
		{[]string{"--output-error"}, result{"exit 0", "", full}, result{"exit 1", fullMsg, full}},
		{[]string{"--output-error=warn"}, result{"exit 1", closedMsg, full}, result{"exit 1", fullMsg, full}},
		{[]string{"--output-error=warn-nopipe"}, result{"exit 0", "", full}, result{"exit 1", fullMsg, full}},
		{[]string{"--output-error=exit"}, result{"exit 1", closedMsg, stopped}, result{"exit 1", fullMsg, stopped}},
		{[]string{"--output-error=exit-nopipe"}, result{"exit 0", "", full}, result{"exit 1", fullMsg, stopped}},
		{[]string{"--output-error=exit-"}, result{"exit 0", "", full}, result{"exit 1", fullMsg, stopped}},
	} {
		for _, sc := range []struct {
			name  string
			files []string
			out   stdio
			want  result
		}{
			{"closed stdout", []string{"x", "y"}, stdio{kind: "closed"}, tc.closed},
			{"closing stdout", []string{"x", "y"}, stdio{kind: "closing", closeAfter: 200 * kib}, tc.closed},
			{"/dev/full", []string{"x", "/dev/full", "y"}, stdio{kind: "pipe"}, tc.full},
		} {
			// stdin from a file and from a pipe take different paths
			// (splice into a pipe, or tee from stdin's own): each case gets
			// one of them, alternating over the MODEs, so that each
			// scenario runs with both and the run stays short.
			in := []string{"file", "pipe"}[i%2]
			if sc.name == "closing stdout" {
				in = []string{"pipe", "file"}[i%2]
			}
			t.Run(fmt.Sprintf("%q/%s/%s", tc.mode, sc.name, in), func(t *testing.T) {
				t.Parallel()
				args := append(append([]string{}, tc.mode...), sc.files...)
				check := []string{"x", "y"}
				gnu, ours := runTees(t, args, check, nil, stdio{kind: in, path: src}, sc.out)
				for _, r := range []struct {
					tool string
					run  teeRun
				}{{"GNU", gnu}, {"splice", ours}} {
					got := r.run
					if got.Outcome.Status != sc.want.status || got.Outcome.Stderr != sc.want.stderr {
						t.Errorf("%s tee %q: ended %q, stderr %q; want %q, %q",
							r.tool, args, got.Outcome.Status, got.Outcome.Stderr, sc.want.status, sc.want.stderr)
					}
					if sc.out.kind == "pipe" && sc.want.files == full && got.Outcome.Stdout != want {
						t.Errorf("%s tee %q: stdout %s, want %s", r.tool, args, got.Outcome.Stdout, want)
					}
					for i, sum := range got.Files {
						if sc.want.files == full && sum != want {
							t.Errorf("%s tee %q: %s holds %s, want %s", r.tool, args, check[i], sum, want)
						}
					}
				}
				if sc.want.files == stopped {
					// Each output holds a prefix of the input: check the
					// bytes, not only the sums.
					checkPrefixes(t, ours.Files, srcData)
				}
				if sc.want.files == full {
					if diff := cmp.Diff(gnu, ours); diff != "" {
						t.Errorf("GNU tee and splice tee differ (-GNU +splice):\n%s", diff)
					}
				}
			})
		}
	}
}

// checkPrefixes checks that each sum in sums is that of a prefix of data.
func checkPrefixes(t *testing.T, sums []string, data []byte) {
	t.Helper()
	for i, sum := range sums {
		var n int
		if _, err := fmt.Sscanf(sum, "%d:", &n); err != nil || n > len(data) {
			t.Errorf("output %d: %q is no prefix of %d bytes", i, sum, len(data))
			continue
		}
		if got := readSum(t, bytes.NewReader(data[:n])); got != sum {
			t.Errorf("output %d: %s is not the input's first %d bytes (%s)", i, sum, n, got)
		}
	}
}

// TestTeeFIFO: a FILE that is a pipe whose reader goes away kills tee with
// SIGPIPE, as it does GNU tee (a C program's write raises it on any fd; Go's
// only on fds 1 and 2), and is dropped silently with -p.
func TestTeeFIFO(t *testing.T) {
	t.Parallel()
	src := catData(t, t.TempDir(), "in", 16*mib, 15)
	for _, tc := range []struct {
		args   []string
		status string
	}{
		{nil, "signal broken pipe"},
		{[]string{"-p"}, "exit 0"},
	} {
		for _, tool := range []string{"GNU", "splice"} {
			t.Run(fmt.Sprintf("%q/%s", tc.args, tool), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				fifo := filepath.Join(dir, "fifo")
				if err := syscall.Mkfifo(fifo, 0o600); err != nil {
					t.Fatal(err)
				}
				args := append(append([]string{}, tc.args...), "fifo")
				cmd := splice(t, append([]string{"tee"}, args...)...)
				if tool == "GNU" {
					cmd = gnuCommand(t, "tee", args...)
				}
				// The reader opens the FIFO (which waits for tee to open it),
				// reads 100 KiB and goes away.
				read := make(chan error, 1)
				go func() {
					f, err := os.Open(fifo)
					if err != nil {
						read <- err
						return
					}
					_, err = f.Read(make([]byte, 100*kib))
					f.Close()
					read <- err
				}()
				got := runTool(t, cmd, dir, stdio{kind: "file", path: src}, stdio{kind: "devnull"})
				select {
				case err := <-read:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(time.Minute):
					t.Fatalf("%s tee %q never opened the FIFO", tool, args)
				}
				if got.Status != tc.status || got.Stderr != "" {
					t.Errorf("%s tee %q: ended %q, stderr %q; want %q and no message", tool, args, got.Status, got.Stderr, tc.status)
				}
			})
		}
	}
}

func TestTeeUsage(t *testing.T) {
	t.Parallel()
	checkUsage(t, "tee", []usageCase{
		{[]string{"-h"}, exitOK, "Example:", ""},
		{[]string{"--help"}, exitOK, "--output-error", ""},
		{[]string{"-x"}, exitUsage, "", "splice tee: invalid option -- 'x'\n"},
		{[]string{"-ax"}, exitUsage, "", "splice tee: invalid option -- 'x'\n"},
		{[]string{"--nosuch"}, exitUsage, "", "splice tee: unrecognized option '--nosuch'\n"},
		{[]string{"--append=yes"}, exitUsage, "", "splice tee: option '--append' doesn't allow an argument\n"},
		{[]string{"--output-error=bogus"}, exitUsage, "", "splice tee: invalid argument 'bogus' for '--output-error'\n"},
		{[]string{"--output-error=e"}, exitUsage, "", "ambiguous argument 'e' for '--output-error'"}, // exit or exit-nopipe
		{[]string{"--output-error=w"}, exitUsage, "", "ambiguous argument 'w' for '--output-error'"},
		{[]string{"--output-error="}, exitUsage, "", "ambiguous argument '' for '--output-error'"},
		{[]string{"--output-error=exit-"}, exitOK, "", ""},
	})
}

func TestParseTee(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want teeOptions
	}{
		{nil, teeOptions{}},
		{[]string{"-a", "f"}, teeOptions{appendTo: true, files: []string{"f"}}},
		{[]string{"f", "-ai", "g"}, teeOptions{appendTo: true, ignoreInt: true, files: []string{"f", "g"}}},
		{[]string{"-p"}, teeOptions{mode: teeWarnNoPipe}},
		{[]string{"--output-error"}, teeOptions{mode: teeWarnNoPipe}},
		{[]string{"--output-error=warn"}, teeOptions{mode: teeWarn}},
		{[]string{"--output-error=exit"}, teeOptions{mode: teeExit}},
		{[]string{"--output-error=exit-nopipe"}, teeOptions{mode: teeExitNoPipe}},
		{[]string{"--output-error=warn-"}, teeOptions{mode: teeWarnNoPipe}},
		{[]string{"--output-e=exit", "-p"}, teeOptions{mode: teeWarnNoPipe}}, // the last one wins
		{[]string{"--output-error", "exit"}, teeOptions{mode: teeWarnNoPipe, files: []string{"exit"}}},
		{[]string{"--ig", "--a"}, teeOptions{appendTo: true, ignoreInt: true}},
		{[]string{"-", "--", "-a", "--help"}, teeOptions{files: []string{"-", "-a", "--help"}}},
	} {
		got, err := parseTee(tc.args)
		if err != nil {
			t.Errorf("parseTee(%q): %v", tc.args, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(teeOptions{})); diff != "" {
			t.Errorf("parseTee(%q) (-want +got):\n%s", tc.args, diff)
		}
	}
}
