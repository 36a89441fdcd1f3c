package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/splicekit/splice/internal/benchpair"
)

// runBenchCmd runs "splice bench args..." and returns its stdout, stderr and
// exit status.
func runBenchCmd(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	cmd := splice(t, append([]string{"bench"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		status = ee.ExitCode()
	case err != nil:
		t.Fatalf("splice bench %q: %v", args, err)
	}
	return out.String(), errb.String(), status
}

// wantLabels is the table's rows for names at size, in order.
func wantLabels(names []string, size int64) []string {
	var labels []string
	for _, r := range planRows(names, size) {
		labels = append(labels, r.label)
	}
	return labels
}

func positive(t *testing.T, what, s string) {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) {
		t.Errorf("%s = %q, want a positive number", what, s)
	}
}

// TestBenchTable runs the default rows at a tiny size and parses the table:
// every expected row, in order, each with positive throughputs, a ratio,
// CPU figures where the system has them, and a progress line per run. The
// ratio is printed with two decimals, and at this size one preemption can
// make it 0.00x: here it need only be a number ≥ 0 (TestBenchJSON checks
// that the exact figure is positive).
func TestBenchTable(t *testing.T) {
	t.Parallel()
	stdout, stderr, status := runBenchCmd(t, "-size", "64K", "-count", "1")
	if status != exitOK {
		t.Fatalf("exit status %d, want 0\nstderr:\n%s", status, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "splice bench: "+benchMachineOS()) {
		t.Errorf("first line %q, want it to name GOOS/GOARCH", lines[0])
	}
	hdr := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "ROW ") })
	if hdr < 0 {
		t.Fatalf("no header line in\n%s", stdout)
	}
	want := []string{"ROW", "BASELINE", "GB/s", "SPLICE", "GB/s", "RAW", "RATIO", "CPU-BASE", "CPU-SPLICE", "CPU-RAW"}
	if got := strings.Fields(lines[hdr]); !slices.Equal(got, want) {
		t.Errorf("header %q, want %q", got, want)
	}
	var labels []string
	for _, l := range lines[hdr+1:] {
		f := strings.Fields(l)
		if len(f) != len(want) {
			t.Errorf("row %q: %d fields, want %d", l, len(f), len(want))
			continue
		}
		labels = append(labels, f[0])
		positive(t, f[0]+" baseline GB/s", f[2])
		positive(t, f[0]+" splice GB/s", f[4])
		if !strings.HasSuffix(f[6], "x") {
			t.Errorf("%s ratio %q, want N.NNx", f[0], f[6])
		}
		if v, err := strconv.ParseFloat(strings.TrimSuffix(f[6], "x"), 64); err != nil || v < 0 {
			t.Errorf("%s ratio %q, want a number ≥ 0", f[0], f[6])
		}
		if hasRaw := benchpair.HasRaw() && !strings.HasPrefix(f[0], "Writer/"); hasRaw {
			positive(t, f[0]+" raw GB/s", f[5])
		} else if f[5] != "-" {
			t.Errorf("%s raw %q, want -", f[0], f[5])
		}
		if _, ok := processCPU(); ok {
			for i, c := range f[7:9] {
				if v, err := strconv.ParseFloat(c, 64); err != nil || v < 0 {
					t.Errorf("%s CPU figure %d = %q, want a number ≥ 0", f[0], i, c)
				}
			}
		}
	}
	if w := wantLabels(defaultRows(), 64<<10); !slices.Equal(labels, w) {
		t.Errorf("rows %q, want %q", labels, w)
	}
	steps := 0
	for _, r := range planRows(defaultRows(), 64<<10) {
		steps += len(r.impls)
	}
	if got := strings.Count(stderr, "] "); got != steps {
		t.Errorf("%d progress lines on stderr, want %d:\n%s", got, steps, stderr)
	}
	if !strings.Contains(stderr, "/"+strconv.Itoa(steps)+"] ") {
		t.Errorf("progress does not count to %d:\n%s", steps, stderr)
	}
}

func benchMachineOS() string { m := machine(); return m.GOOS + "/" + m.GOARCH }

// TestBenchJSON decodes -json output, strictly, into the documented
// structure: the rows asked for, in order, -count runs of each
// implementation, every figure positive.
func TestBenchJSON(t *testing.T) {
	t.Parallel()
	names := []string{"file-tcp", "tcp-file", benchMulti, benchWriter}
	if benchpair.HasRaw() {
		names = append(names, "pipe-pipe", "limitedtcp-unix")
	}
	stdout, stderr, status := runBenchCmd(t, "-size", "100K", "-count", "3", "-json", "-pairs", strings.Join(names, ","))
	if status != exitOK {
		t.Fatalf("exit status %d, want 0\nstderr:\n%s", status, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var rep benchReport
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("decode: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("more than one JSON document: %v", err)
	}
	if rep.Size != 100<<10 || rep.Count != 3 {
		t.Errorf("size %d, count %d; want %d, 3", rep.Size, rep.Count, 100<<10)
	}
	if m := machine(); rep.Machine != m {
		t.Errorf("machine %+v, want %+v", rep.Machine, m)
	}
	var got []string
	for _, r := range rep.Rows {
		got = append(got, r.Label)
		if r.Size != rep.Size {
			t.Errorf("%s: size %d", r.Name, r.Size)
		}
		if !(r.Ratio > 0) {
			t.Errorf("%s: ratio %v", r.Name, r.Ratio)
		}
		if want := 2 + btoi(benchpair.HasRaw() && !strings.HasPrefix(r.Name, "writer/")); len(r.Impls) != want {
			t.Errorf("%s: %d implementations, want %d", r.Name, len(r.Impls), want)
		}
		for _, im := range r.Impls {
			if len(im.Runs) != 3 {
				t.Errorf("%s %s: %d runs, want 3", r.Name, im.Impl, len(im.Runs))
			}
			if !(im.MedianGBps > 0) {
				t.Errorf("%s %s: median %v GB/s", r.Name, im.Impl, im.MedianGBps)
			}
			if _, ok := processCPU(); ok && (im.CPUPerGB == nil || *im.CPUPerGB < 0) {
				t.Errorf("%s %s: CPU s/GB %v", r.Name, im.Impl, im.CPUPerGB)
			}
			for _, run := range im.Runs {
				if !(run.Seconds > 0 && run.GBps > 0) {
					t.Errorf("%s %s: run %+v", r.Name, im.Impl, run)
				}
			}
		}
	}
	if w := wantLabels(names, 100<<10); !slices.Equal(got, w) {
		t.Errorf("rows %q, want %q", got, w)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestBenchSVG parses the -svg file with encoding/xml, every token of it: an
// <svg> root, a group per row, a bar per implementation of each.
func TestBenchSVG(t *testing.T) {
	t.Parallel()
	svg := filepath.Join(t.TempDir(), "bench.svg")
	names := []string{"file-file", benchMulti, benchWriter}
	stdout, stderr, status := runBenchCmd(t, "-size", "64K", "-count", "1", "-pairs", strings.Join(names, ","), "-svg", svg)
	if status != exitOK {
		t.Fatalf("exit status %d, want 0\nstderr:\n%s", status, stderr)
	}
	if !strings.Contains(stdout, "ROW ") {
		t.Errorf("no table with -svg:\n%s", stdout)
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []string
	root := ""
	bars := map[string][]string{} // row → data-impl of its bars
	var rows []string
	row := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v\n%s", err, data)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if root != "" {
					t.Fatalf("a second root element <%s>", tok.Name.Local)
				}
				root = tok.Name.Local
			}
			stack = append(stack, tok.Name.Local)
			attr := func(name string) string {
				for _, a := range tok.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch {
			case tok.Name.Local == "g" && attr("class") == "row":
				row = attr("data-row")
				rows = append(rows, row)
			case tok.Name.Local == "rect" && attr("class") == "bar":
				if w, err := strconv.Atoi(attr("width")); err != nil || w < 1 {
					t.Errorf("bar %s/%s: width %q", row, attr("data-impl"), attr("width"))
				}
				bars[row] = append(bars[row], attr("data-impl"))
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root != "svg" {
		t.Errorf("root element <%s>, want <svg>", root)
	}
	var wantRows []string
	for _, r := range planRows(names, 64<<10) {
		wantRows = append(wantRows, r.name)
		if got := bars[r.name]; !slices.Equal(got, r.impls) {
			t.Errorf("row %s: bars %q, want %q", r.name, got, r.impls)
		}
	}
	if !slices.Equal(rows, wantRows) {
		t.Errorf("groups %q, want %q", rows, wantRows)
	}
}

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args   []string
		status int
		stderr string // a regexp; for -h, stdout's (GNU's --help prints there)
	}{
		{[]string{"-h"}, exitOK, `(?s)usage: splice bench.*"raw" is what a plain blocking C loop.*not an upper bound.*refuses \(exit 2\).*half of the free space.*Example:.*splice bench -size`},
		{[]string{"-size", "lots"}, exitUsage, `^splice bench: invalid -size "lots": `},
		{[]string{"-size", "0"}, exitUsage, `invalid -size "0"`},
		{[]string{"-size", "-5M"}, exitUsage, `invalid -size "-5M"`},
		{[]string{"-size", "16X"}, exitUsage, `invalid -size "16X"`},
		{[]string{"-size", "2048G"}, exitUsage, `invalid -size "2048G"`},
		{[]string{"-pairs", "file-tcp,nosuch"}, exitUsage, `^splice bench: unknown pair "nosuch"; valid names: file-file, .*file-tcp.*multi, writer\n$`},
		// An empty -pairs is the default, not an unknown name: the bad
		// -svg path fails it (exit 1) before anything runs.
		{[]string{"-pairs", "", "-size", "1K", "-count", "1", "-svg", "/nonexistent/dir/x.svg"}, exitFailure, `^splice bench: /nonexistent/dir/x.svg: No such file or directory\n$`},
		{[]string{"-pairs", "file-tcp,"}, exitUsage, `^splice bench: unknown pair ""; valid names: `},
		{[]string{"-count", "0"}, exitUsage, `invalid -count 0`},
		{[]string{"-nosuch"}, exitUsage, `flag provided but not defined: -nosuch`},
		{[]string{"extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"-size", "1K", "-count", "1", "-pairs", "file-file", "-svg", "/nonexistent/dir/x.svg"}, exitFailure, `^splice bench: /nonexistent/dir/x.svg: No such file or directory\n$`},
	} {
		stdout, stderr, status := runBenchCmd(t, tc.args...)
		if tc.args[0] == "-h" {
			if stderr != "" {
				t.Errorf("splice bench -h wrote %q to stderr", stderr)
			}
			stderr = stdout
		}
		if status != tc.status {
			t.Errorf("splice bench %q: exit status %d, want %d\n%s", tc.args, status, tc.status, stderr)
		}
		stderr = regexp.MustCompile(`(?m)^\[\d+/\d+\] .*\n`).ReplaceAllString(stderr, "")
		if !regexp.MustCompile(tc.stderr).MatchString(stderr) {
			t.Errorf("splice bench %q: stderr %q, want it to match %q", tc.args, stderr, tc.stderr)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1", 1}, {"100", 100}, {"64K", 64 << 10}, {"64k", 64 << 10}, {"64KiB", 64 << 10}, {"64KB", 64 << 10},
		{"16M", 16 << 20}, {"16MiB", 16 << 20}, {"1G", 1 << 30}, {"1024G", 1 << 40},
		{"200B", 200}, {"200b", 200}, {"1T", 1 << 40}, {"1TiB", 1 << 40}, {"1tb", 1 << 40},
	} {
		if got, err := parseSize(tc.in); err != nil || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "K", "B", "0", "0B", "-1", "1.5M", "2T", "1025G", "1KT", "9223372036854775807", "0x10", "16 M B"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

// TestWriterBenchBytes runs the writer rows' harness with a reader that
// checks every byte, for both implementations and both write sizes, at sizes
// that are and are not a multiple of the write.
func TestWriterBenchBytes(t *testing.T) {
	t.Parallel()
	for _, impl := range []string{"bufio.Writer", "splice.Writer"} {
		for _, write := range []int{200, 256 << 10} {
			for _, size := range []int64{1, 200, 64<<10 + 1, 3<<20 + 7} {
				err := benchpair.Run(func(tb benchpair.TB) {
					it := startWriterBenchVerify(tb, impl, write, size, true)
					for range 3 {
						it.Iterate()
					}
				})
				if err != nil {
					t.Errorf("%s, writes of %d, %d bytes: %v", impl, write, size, err)
				}
			}
		}
	}
	// The check can fail: data that is not what was written.
	if err := checkWrites([]byte{1, 2, 3}, []byte{1, 2, 4}, 0, 3); err == nil {
		t.Errorf("checkWrites passed a differing byte")
	}
	if err := checkWrites([]byte{3, 1}, []byte{1, 2, 3}, 2, 3); err != nil {
		t.Errorf("checkWrites across an iteration's end: %v", err)
	}
}

// TestParseSizeLabels reads back what the table prints.
func TestParseSizeLabels(t *testing.T) {
	for _, n := range []int64{1, 200, 64 << 10, 100<<10 + 1, 16 << 20, 3 << 30, 1 << 40} {
		if got, err := parseSize(sizeLabel(n)); err != nil || got != n {
			t.Errorf("parseSize(sizeLabel(%d) = %q) = %d, %v", n, sizeLabel(n), got, err)
		}
	}
}

// TestBenchWriterRows checks that a writer row makes the writes its label
// names: 256 KiB, or -size bytes where -size is less, and one row where
// -size is 200 bytes or less.
func TestBenchWriterRows(t *testing.T) {
	for _, tc := range []struct {
		size  int64
		names []string
	}{
		{1 << 20, []string{"writer/200B", "writer/256KiB"}},
		{256 << 10, []string{"writer/200B", "writer/256KiB"}},
		{64 << 10, []string{"writer/200B", "writer/64KiB"}},
		{201, []string{"writer/200B", "writer/201B"}},
		{200, []string{"writer/200B"}},
		{100, []string{"writer/100B"}},
	} {
		var names []string
		for _, r := range planRows([]string{benchWriter}, tc.size) {
			names = append(names, r.name)
			if want := "Writer/" + sizeLabel(int64(r.write)) + "→pipe"; r.label != want || r.write < 1 || int64(r.write) > tc.size {
				t.Errorf("size %d: row %s, writes of %d bytes, label %q", tc.size, r.name, r.write, r.label)
			}
			err := benchpair.Run(func(tb benchpair.TB) {
				it := r.start(tb, "bufio.Writer").(*writerBench)
				if len(it.data) != r.write {
					t.Errorf("size %d: row %s writes %d bytes at a time, want %d", tc.size, r.name, len(it.data), r.write)
				}
				it.Iterate()
			})
			if err != nil {
				t.Errorf("size %d: row %s: %v", tc.size, r.name, err)
			}
		}
		if !slices.Equal(names, tc.names) {
			t.Errorf("size %d: rows %q, want %q", tc.size, names, tc.names)
		}
	}
}

// TestBenchRoom checks the refusal of sizes whose files would not fit in
// half of the free space of the harness's temporary directory: by
// checkRoom's arithmetic, and by the command, which must refuse before it
// makes any file (-size 1T: a file→file row needs 6 TiB).
func TestBenchRoom(t *testing.T) {
	t.Parallel()
	const g = 1 << 30
	fileFile := planRows([]string{"file-file"}, g)
	need := 2 * uint64(len(fileFile[0].impls)) * g // a source and a sink per implementation
	if err := checkRoom(fileFile, "/x", 2*need); err != nil {
		t.Errorf("%d bytes free for %d: %v", 2*need, need, err)
	}
	if err := checkRoom(fileFile, "/x", 2*need-1); err == nil {
		t.Errorf("%d bytes free for %d: no error", 2*need-1, need)
	}
	limited := planRows([]string{"limitedfile-unix", "pipe-pipe", benchWriter}, g)
	if benchpair.HasRaw() {
		need := uint64(len(limited[0].impls)) * (g + 4096)
		if err := checkRoom(limited, "/x", 2*need-1); err == nil {
			t.Errorf("limitedfile: %d bytes free for %d: no error", 2*need-1, need)
		}
	}
	if err := checkRoom(planRows([]string{"pipe-pipe", "tcp-tcp", benchWriter}, 1<<40), "/x", 0); err != nil {
		t.Errorf("rows without files refused: %v", err)
	}
	if err := checkRoom(planRows([]string{benchMulti}, g), "/x", 0); err == nil {
		t.Errorf("multi, with a file destination, not refused without room")
	}

	root := benchpair.TempRoot()
	free, ok := tempFree(root)
	if !ok {
		t.Skipf("free space of %s unknown here: the command does not check it", root)
	}
	if free/2 >= 6<<40 {
		t.Skipf("%s has %d bytes free: room for -size 1T", root, free)
	}
	_, stderr, status := runBenchCmd(t, "-size", "1T", "-count", "1", "-pairs", "pipe-pipe,file-file")
	if status != exitUsage {
		t.Errorf("-size 1T: exit status %d, want %d\n%s", status, exitUsage, stderr)
	}
	want := `^splice bench: -size 1TiB: row file→file keeps 6\.0TiB in files at once in ` + regexp.QuoteMeta(root) + `, which has .* free; .*\n$`
	if !regexp.MustCompile(want).MatchString(stderr) {
		t.Errorf("-size 1T: stderr %q, want it to match %q", stderr, want)
	}
}
