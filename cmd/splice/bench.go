package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	sk "github.com/splicekit/splice"
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

// benchReport is what -json prints.
type benchReport struct {
	Machine machineInfo `json:"machine"`
	Size    int64       `json:"size"`  // bytes per run
	Count   int         `json:"count"` // runs per implementation and row, after a warm-up
	Note    string      `json:"note,omitempty"`
	Rows    []benchRow  `json:"rows"`
}

type machineInfo struct {
	GOOS        string `json:"goos"`
	GOARCH      string `json:"goarch"`
	CPU         string `json:"cpu,omitempty"`    // the model, where the system says
	NumCPU      int    `json:"num_cpu"`          // runtime.NumCPU
	Kernel      string `json:"kernel,omitempty"` // uname's release
	GoVersion   string `json:"go_version"`
	PipeMaxSize int    `json:"pipe_max_size"` // splice.MaxPipeSize
}

// benchRow is a row: the standard library's implementation first, then the
// splice package's, then raw where there is one.
type benchRow struct {
	Name  string       `json:"name"`  // as -pairs names it, with the size of the writes for writer rows ("writer/200B")
	Label string       `json:"label"` // as the table shows it
	Size  int64        `json:"size"`
	Impls []implResult `json:"impls"`
	Ratio float64      `json:"ratio"` // median GB/s of Impls[1] over that of Impls[0]
}

type implResult struct {
	Impl       string      `json:"impl"`
	MedianGBps float64     `json:"median_gbps"`
	CPUPerGB   *float64    `json:"cpu_s_per_gb"` // null where the process's CPU time is unknown
	Runs       []runResult `json:"runs"`
}

type runResult struct {
	Seconds    float64  `json:"seconds"`
	GBps       float64  `json:"gbps"`
	CPUSeconds *float64 `json:"cpu_seconds"`
}

// plannedRow is a row to measure: impls and how to build each.
type plannedRow struct {
	name, label string
	size        int64
	impls       []string
	start       func(tb benchpair.TB, impl string) iterator
	files       int64 // bytes the row's files hold per implementation, all at once
	write       int   // the size of each write, for writer rows
}

// iterator is one implementation of a row, set up: Iterate moves size bytes
// and fails its TB on an error.
type iterator interface{ Iterate() }

func planRows(names []string, size int64) []plannedRow {
	var plan []plannedRow
	withRaw := func(impls ...string) []string {
		if benchpair.HasRaw() {
			return append(impls, benchpair.Raw)
		}
		return impls
	}
	// fileBytes is what a kind of endpoint keeps in a file.
	fileBytes := func(kind string) int64 {
		switch kind {
		case "file":
			return size
		case "limitedfile":
			return size + 4096 // as benchpair makes it
		}
		return 0
	}
	for _, name := range names {
		switch name {
		case benchMulti:
			dsts := benchMultiDsts()
			var files int64
			for _, d := range dsts {
				files += fileBytes(d)
			}
			plan = append(plan, plannedRow{
				name: name, label: "pipe→" + strings.Join(dsts, "+"), size: size, files: files,
				impls: withRaw(benchpair.IOMultiWriter, benchpair.SpliceCopyMulti),
				start: func(tb benchpair.TB, impl string) iterator {
					m := &benchpair.Multi{Dsts: dsts, Size: size, Impl: impl}
					m.Start(tb)
					return m
				},
			})
			if !benchpair.HasRaw() {
				plan[len(plan)-1].label = "tcp→" + strings.Join(dsts, "+")
			}
		case benchWriter:
			// Writes of 256 KiB, or of size bytes where size is less:
			// the row is labelled with the writes it makes.
			prev := 0
			for _, w := range []int{200, 256 << 10} {
				w = int(min(int64(w), size))
				if w == prev {
					continue // size ≤ 200: one row
				}
				prev = w
				plan = append(plan, plannedRow{
					name: fmt.Sprintf("writer/%s", sizeLabel(int64(w))), label: fmt.Sprintf("Writer/%s→pipe", sizeLabel(int64(w))),
					size: size, impls: []string{"bufio.Writer", "splice.Writer"}, write: w,
					start: func(tb benchpair.TB, impl string) iterator { return startWriterBench(tb, impl, w, size) },
				})
			}
		default:
			p, _ := benchpair.Lookup(name)
			plan = append(plan, plannedRow{
				name: name, label: p.Src + "→" + p.Dst, size: size, files: fileBytes(p.Src) + fileBytes(p.Dst),
				impls: withRaw(benchpair.IOCopy, benchpair.SpliceCopy),
				start: func(tb benchpair.TB, impl string) iterator {
					c := &benchpair.Copy{Src: p.Src, Dst: p.Dst, Size: size, Impl: impl}
					c.Start(tb)
					return c
				},
			})
		}
	}
	return plan
}

// measure sets up every implementation of the row, runs each once to warm
// up, then count times in turn, timing each run and taking the process's CPU
// time around it.
func (r plannedRow) measure(count int, prog *progress) (benchRow, error) {
	row := benchRow{Name: r.name, Label: r.label, Size: r.size}
	err := benchpair.Run(func(tb benchpair.TB) {
		its := make([]iterator, len(r.impls))
		for i, impl := range r.impls {
			its[i] = r.start(tb, impl)
		}
		for _, it := range its {
			it.Iterate()
		}
		runs := make([][]runResult, len(r.impls))
		for n := 0; n < count; n++ {
			for i, it := range its {
				prog.step(fmt.Sprintf("%s %s %s", r.label, sizeLabel(r.size), r.impls[i]))
				cpu0, cpuOK := processCPU()
				t0 := time.Now()
				it.Iterate()
				d := time.Since(t0)
				cpu1, _ := processCPU()
				run := runResult{Seconds: d.Seconds(), GBps: gbps(r.size, d.Seconds())}
				if cpuOK {
					c := (cpu1 - cpu0).Seconds()
					run.CPUSeconds = &c
				}
				runs[i] = append(runs[i], run)
			}
		}
		for i, impl := range r.impls {
			row.Impls = append(row.Impls, summarize(impl, r.size, runs[i]))
		}
	})
	if err != nil {
		return row, err
	}
	if base := row.Impls[0].MedianGBps; base > 0 {
		row.Ratio = row.Impls[1].MedianGBps / base
	}
	return row, nil
}

// gbps is the throughput of n bytes in sec seconds, in GB/s (1e9 bytes); a
// run too short for the clock counts as a nanosecond.
func gbps(n int64, sec float64) float64 {
	return float64(n) / max(sec, 1e-9) / 1e9
}

func summarize(impl string, size int64, runs []runResult) implResult {
	res := implResult{Impl: impl, Runs: runs}
	speeds := make([]float64, len(runs))
	var cpu, secs float64
	cpuOK := true
	for i, r := range runs {
		speeds[i] = r.GBps
		secs += r.Seconds
		if r.CPUSeconds == nil {
			cpuOK = false
		} else {
			cpu += *r.CPUSeconds
		}
	}
	res.MedianGBps = median(speeds)
	if cpuOK {
		perGB := cpu / (float64(size) * float64(len(runs)) / 1e9)
		res.CPUPerGB = &perGB
	}
	return res
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// sizeLabel names n as the table does: 16MiB, 64KiB, 200B (parseSize reads
// them back).
func sizeLabel(n int64) string {
	switch {
	case n >= 1<<40 && n%(1<<40) == 0:
		return fmt.Sprintf("%dTiB", n>>40)
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// writerBench writes size bytes per iteration, in writes of write bytes,
// through a bufio.Writer or a splice.Writer into a pipe that a goroutine
// reads (read(2), a copy, as a consumer of a pipe does), and returns once
// the reader has them all.
type writerBench struct {
	tb benchpair.TB
	w  interface {
		io.Writer
		Flush() error
	}
	data  []byte
	size  int64
	got   chan error // a token per size bytes read
	impl  string
	check func() error // the splice.Writer's method, or nil
}

func startWriterBench(tb benchpair.TB, impl string, write int, size int64) iterator {
	return startWriterBenchVerify(tb, impl, write, size, false)
}

// startWriterBenchVerify is startWriterBench; with verify set, the reader
// checks that it gets the writes' bytes, in order, and fails the iteration
// otherwise.
func startWriterBenchVerify(tb benchpair.TB, impl string, write int, size int64, verify bool) iterator {
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatalf("pipe: %v", err)
	}
	const pipeSize = 1 << 20
	b := &writerBench{tb: tb, data: benchpair.Data()[:write], size: size, got: make(chan error, 1), impl: impl}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1<<20)
		var n int64
		for {
			m, err := r.Read(buf)
			if verify && err == nil {
				err = checkWrites(buf[:m], b.data, n, size)
			}
			for n += int64(m); n >= size && err == nil; n -= size {
				b.got <- nil
			}
			if err != nil {
				r.Close() // a write that would wait for this reader fails
				if err != io.EOF {
					select {
					case b.got <- err:
					default:
					}
				}
				return
			}
		}
	}()
	// Last in, first out: the writer is closed, then the pipe's write end,
	// which ends the reader, which is waited for.
	tb.Cleanup(func() { r.Close() })
	tb.Cleanup(func() { <-done })
	tb.Cleanup(func() { w.Close() })
	switch impl {
	case "bufio.Writer":
		b.w = bufio.NewWriterSize(w, 2*pipeSize) // the same memory as the Writer's
	case "splice.Writer":
		sw, err := sk.NewWriterSize(w, pipeSize)
		if err != nil {
			tb.Fatalf("splice.NewWriterSize: %v", err)
		}
		tb.Cleanup(func() { sw.Close() })
		b.w = sw
	default:
		tb.Fatalf("unknown impl %q", impl)
	}
	return b
}

// checkWrites checks p, which an iteration of size bytes written as data
// repeated holds from offset off on (wrapping into the next iteration).
func checkWrites(p, data []byte, off, size int64) error {
	for i := range p {
		pos := (off + int64(i)) % size
		if p[i] != data[pos%int64(len(data))] {
			return fmt.Errorf("byte %d of an iteration differs", pos)
		}
	}
	return nil
}

func (b *writerBench) Iterate() {
	for left := b.size; left > 0; {
		p := b.data[:min(left, int64(len(b.data)))]
		if _, err := b.w.Write(p); err != nil {
			b.tb.Fatalf("%s: write: %v", b.impl, err)
		}
		left -= int64(len(p))
	}
	if err := b.w.Flush(); err != nil {
		b.tb.Fatalf("%s: flush: %v", b.impl, err)
	}
	select {
	case err := <-b.got:
		if err != nil {
			b.tb.Fatalf("%s: reader: %v", b.impl, err)
		}
	case <-time.After(time.Minute):
		b.tb.Fatalf("%s: the reader got nothing for a minute", b.impl)
	}
}

// progress is the line on stderr that says what runs: rewritten in place
// where stderr is a terminal, a line per step elsewhere.
type progress struct {
	w     io.Writer
	tty   bool
	n, m  int
	width int // of the last line, on a terminal
}

func newProgress(f *os.File, m int) *progress {
	p := &progress{w: f, m: m}
	if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		p.tty = true // a terminal, or /dev/null, where \r does no harm
	}
	return p
}

func (p *progress) step(what string) {
	p.n++
	line := fmt.Sprintf("[%d/%d] %s", p.n, p.m, what)
	if !p.tty {
		fmt.Fprintln(p.w, line)
		return
	}
	pad := max(0, p.width-len(line))
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width = len(line)
}

// clear erases the line on a terminal.
func (p *progress) clear() {
	if p.tty && p.width > 0 {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
		p.width = 0
	}
}

// writeTable prints the report as an aligned table.
func writeTable(w io.Writer, rep *benchReport) error {
	m := rep.Machine
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "splice bench: %s/%s", m.GOOS, m.GOARCH)
	if m.CPU != "" {
		fmt.Fprintf(bw, ", %s", m.CPU)
	}
	fmt.Fprintf(bw, " (%d CPUs)", m.NumCPU)
	if m.Kernel != "" {
		fmt.Fprintf(bw, ", kernel %s", m.Kernel)
	}
	fmt.Fprintf(bw, ", %s, pipe-max-size %d\n", m.GoVersion, m.PipeMaxSize)
	fmt.Fprintf(bw, "%s per run, median of %d interleaved runs; GB/s (1 GB = 1e9 bytes), RAW too;\nRATIO = SPLICE/BASELINE; CPU-*: CPU seconds per GB, the process's, harness threads included\n", sizeLabel(rep.Size), rep.Count)
	if rep.Note != "" {
		fmt.Fprintf(bw, "note: %s\n", rep.Note)
	}
	fmt.Fprintln(bw)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW\tBASELINE\tGB/s\tSPLICE\tGB/s\tRAW\tRATIO\tCPU-BASE\tCPU-SPLICE\tCPU-RAW")
	for _, r := range rep.Rows {
		raw, rawCPU := "-", "-"
		if len(r.Impls) > 2 {
			raw, rawCPU = fmt.Sprintf("%.3g", r.Impls[2].MedianGBps), cpuText(r.Impls[2].CPUPerGB)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3g\t%s\t%.3g\t%s\t%.2fx\t%s\t%s\t%s\n",
			r.Label, r.Impls[0].Impl, r.Impls[0].MedianGBps, r.Impls[1].Impl, r.Impls[1].MedianGBps,
			raw, r.Ratio, cpuText(r.Impls[0].CPUPerGB), cpuText(r.Impls[1].CPUPerGB), rawCPU)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

func cpuText(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3g", *v)
}

func machine() machineInfo {
	return machineInfo{
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, CPU: cpuModel(), NumCPU: runtime.NumCPU(),
		Kernel: kernelRelease(), GoVersion: runtime.Version(), PipeMaxSize: sk.MaxPipeSize(),
	}
}

// cpuModel is the CPU's model name from /proc/cpuinfo, or "".
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
