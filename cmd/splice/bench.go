package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/splicekit/splice/internal/benchpair"
)

const benchUsage = `usage: splice bench [-size N] [-pairs LIST] [-count N] [-json] [-svg FILE]

Measures, on this machine, splice.Copy against io.Copy over pairs of
endpoints (files, pipes, TCP and Unix sockets), splice.CopyMulti against
io.MultiWriter (a pipe into a pipe, a file and a TCP connection: row
"multi"), and splice.Writer against bufio.Writer (writes of 200 B and 256 KiB
into a pipe that a goroutine reads: row "writer"; with a -size under 256 KiB
the larger writes are of -size bytes, and labelled so). Where the harness has
one (on Linux), "raw" is what a plain blocking C loop of the same system calls
gets (splice(2), tee(2) or copy_file_range(2) on blocking fds): a reference,
not an upper bound; splice.Copy, which does not block, can beat it.

Each run moves -size bytes; the implementations of a row take turns (io.Copy,
splice.Copy, raw, io.Copy, ...) -count times after one warm-up run each, and
the table shows the median throughput of each (GB/s, 1 GB = 1e9 bytes), the
ratio of the medians (splice over the standard library) and CPU seconds per
GB: the process's CPU time (getrusage) over the row's runs of that
implementation, which includes the harness's feeder and drainer threads, the
same for every implementation. Progress goes to stderr; the table, or with
-json one JSON document, to stdout; -svg also draws a bar chart.

The file rows keep a source and a sink file per implementation, all at once
(up to 6 x -size for a row), in /dev/shm, which is memory, or in the temporary
directory where there is no /dev/shm. Before it starts, bench refuses (exit 2)
a -size whose files would take more than half of the free space there.

Example:

	splice bench                       # from a clone: go run ./cmd/splice bench
	splice bench -size 16M -pairs file-tcp,pipe-pipe,multi -svg bench.svg
	splice bench -count 9 -json > bench.json

Flags:
`

func init() {
	register(&command{
		name:    "bench",
		summary: "measure Copy, CopyMulti and Writer against io.Copy, io.MultiWriter and bufio.Writer here",
		usage:   benchUsage,
		run:     runBench,
	})
}

// Rows that are no pair of benchpair.Pairs.
const (
	benchMulti  = "multi"  // CopyMulti vs io.MultiWriter
	benchWriter = "writer" // Writer vs bufio.Writer, 200 B and 256 KiB writes
)

// benchDefault is the default -pairs: the pairs that matter most, where the
// harness has them.
var benchDefault = []string{
	"file-tcp", "file-unix", "file-pipe", "pipe-pipe", "tcp-tcp", "tcp-file",
	"pipe-tcp", "file-file", benchMulti, benchWriter,
}

// benchMultiDsts are the destinations of the multi row: three, one of each
// kind the portable harness has, and a pipe where there are pipes.
func benchMultiDsts() []string {
	if benchpair.HasRaw() {
		return []string{"pipe", "file", "tcp"}
	}
	return []string{"tcp", "file", "file"}
}

// benchNames returns every name -pairs accepts, in order.
func benchNames() []string {
	var names []string
	for _, p := range benchpair.Pairs {
		names = append(names, p.String())
	}
	return append(names, benchMulti, benchWriter)
}

func runBench(args []string) int {
	fs := flag.NewFlagSet("splice bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage)
		fs.PrintDefaults()
	}
	sizeFlag := fs.String("size", "64M", "`N` bytes per run, 1 to 1T, with an optional B, K, M, G or T suffix (binary multiples: 64K, 16M, 1G)")
	pairsFlag := fs.String("pairs", "", "comma-separated `LIST` of rows: pairs as src-dst (file-tcp, ...), multi, writer (default: "+strings.Join(defaultRows(), ",")+")")
	count := fs.Int("count", 5, "runs of each implementation per row (after a warm-up run)")
	jsonOut := fs.Bool("json", false, "print one JSON document instead of the table")
	svgFile := fs.String("svg", "", "also write a bar chart to `FILE`")
	if status, ok := parseFlags(fs, args); !ok {
		return status
	}
	if fs.NArg() > 0 {
		warnf("bench", "unexpected argument %q", fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	size, err := parseSize(*sizeFlag)
	if err != nil {
		warnf("bench", "invalid -size %q: %v", *sizeFlag, err)
		return exitUsage
	}
	if *count < 1 || *count > 1000 {
		warnf("bench", "invalid -count %d: want 1 to 1000", *count)
		return exitUsage
	}
	rows := defaultRows()
	if *pairsFlag != "" {
		rows = nil
		valid := benchNames()
		for _, name := range strings.Split(*pairsFlag, ",") {
			name = strings.TrimSpace(name)
			if !slices.Contains(valid, name) {
				warnf("bench", "unknown pair %q; valid names: %s", name, strings.Join(valid, ", "))
				return exitUsage
			}
			if !slices.Contains(rows, name) {
				rows = append(rows, name)
			}
		}
	}

	// Before any file is made: file rows hold -size bytes per file in
	// memory (/dev/shm).
	plan := planRows(rows, size)
	root := benchpair.TempRoot()
	if free, ok := tempFree(root); ok {
		if err := checkRoom(plan, root, free); err != nil {
			warnf("bench", "%v", err)
			return exitUsage
		}
	}

	// The chart's file is created first, so that a path that cannot be
	// written fails at once rather than after the measurements.
	var svg *os.File
	if *svgFile != "" {
		if svg, err = os.Create(*svgFile); err != nil {
			warnf("bench", "%s: %s", *svgFile, strerror(err))
			return exitFailure
		}
		defer svg.Close()
	}
	report := &benchReport{Machine: machine(), Size: size, Count: *count}
	if !benchpair.HasRaw() {
		report.Note = "splice(2), tee(2) and vmsplice(2) are Linux-only: here the splice package takes the paths io.Copy takes, and there is no raw copy"
	}
	steps := 0
	for _, r := range plan {
		steps += len(r.impls) * *count
	}
	prog := newProgress(os.Stderr, steps)
	status := exitOK
	for _, r := range plan {
		row, err := r.measure(*count, prog)
		if err != nil {
			prog.clear()
			warnf("bench", "%s: %v", r.name, err)
			status = exitFailure
			break
		}
		report.Rows = append(report.Rows, row)
	}
	prog.clear()
	if svg != nil {
		if err := writeSVGFile(svg, report); err != nil {
			warnf("bench", "%s: %s", *svgFile, strerror(err))
			status = exitFailure
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			warnf("bench", "write error: %s", strerror(err))
			return exitFailure
		}
		return status
	}
	if err := writeTable(os.Stdout, report); err != nil {
		warnf("bench", "write error: %s", strerror(err))
		return exitFailure
	}
	return status
}

// defaultRows is benchDefault less what the harness does not have here.
func defaultRows() []string {
	valid := benchNames()
	var rows []string
	for _, name := range benchDefault {
		if slices.Contains(valid, name) {
			rows = append(rows, name)
		}
	}
	return rows
}

// parseSize parses a byte count: digits and an optional B, K, M, G or T
// (bytes, KiB, MiB, GiB, TiB; "k", "KiB" and "KB" are the same), as
// sizeLabel prints them ("200B", "64KiB") and up to 1 TiB.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	shift, unit := 0, false
	for _, suf := range []struct {
		s     string
		shift int
	}{{"k", 10}, {"m", 20}, {"g", 30}, {"t", 40}} {
		for _, tail := range []string{suf.s + "ib", suf.s + "b", suf.s} {
			if strings.HasSuffix(t, tail) {
				t, shift, unit = t[:len(t)-len(tail)], suf.shift, true
				break
			}
		}
		if unit {
			break
		}
	}
	if !unit {
		t = strings.TrimSuffix(t, "b")
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, errors.New("want a number of bytes, such as 64K, 16M or 1G")
	}
	const max = 1 << 40
	if n < 1 || n > max>>shift {
		return 0, errors.New("want 1 byte to 1 TiB")
	}
	return n << shift, nil
}

// checkRoom refuses a plan whose largest row would keep more than half of
// free, the bytes free in dir, in files at once. (Rows run one after the
// other, and each row's files are removed when it ends.)
func checkRoom(plan []plannedRow, dir string, free uint64) error {
	var need uint64
	var worst string
	for _, r := range plan {
		if n := uint64(r.files) * uint64(len(r.impls)); n > need {
			need, worst = n, r.label
		}
	}
	if need == 0 || need <= free/2 {
		return nil
	}
	return fmt.Errorf("-size %s: row %s keeps %s in files at once in %s, which has %s free; "+
		"bench uses at most half of it: choose a smaller -size, or -pairs without file rows",
		sizeLabel(plan[0].size), worst, roughBytes(need), dir, roughBytes(free))
}

// roughBytes names n in the largest binary unit under it: 1.5GiB, 300KiB.
func roughBytes(n uint64) string {
	for _, u := range []struct {
		name  string
		shift uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n >= 1<<u.shift {
			return strconv.FormatFloat(float64(n)/float64(uint64(1)<<u.shift), 'f', 1, 64) + u.name
		}
	}
	return strconv.FormatUint(n, 10) + "B"
}
