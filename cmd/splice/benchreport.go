package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	sk "github.com/splicekit/splice"
)

// What bench prints: the progress line, the table, the machine it ran on.

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
