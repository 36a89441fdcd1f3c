package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	sk "github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/benchpair"
)

// The rows bench measures: what each runs, the runs, their medians.

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
	data []byte
	size int64
	got  chan error // a token per size bytes read
	impl string
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
