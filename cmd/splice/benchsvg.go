package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
)

// writeSVGFile writes the report's bar chart to f and closes it.
func writeSVGFile(f *os.File, rep *benchReport) error {
	var buf bytes.Buffer
	writeSVG(&buf, rep)
	_, err := f.Write(buf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SVG layout, in pixels.
const (
	svgWidth    = 960
	svgLabelX   = 16  // implementation names
	svgBarX     = 190 // bars start here
	svgBarMax   = 600 // the fastest bar's length
	svgBarH     = 18
	svgBarGap   = 4
	svgGroupGap = 18
	svgTop      = 64
)

// svgColors are the bars' colours: the standard library's, the splice
// package's, raw's.
var svgColors = []string{"#9aa0a6", "#1a73e8", "#34a853"}

// writeSVG draws one group per row, one horizontal bar per implementation,
// each labelled with its median GB/s, and the group's ratio beside its title.
// Bars share one scale, the fastest median of the report.
func writeSVG(w io.Writer, rep *benchReport) {
	fastest := 0.0
	height := svgTop
	for _, r := range rep.Rows {
		for _, im := range r.Impls {
			fastest = max(fastest, im.MedianGBps)
		}
		height += 20 + len(r.Impls)*(svgBarH+svgBarGap) + svgGroupGap
	}
	height += 20
	if fastest <= 0 {
		fastest = 1
	}
	m := rep.Machine
	title := fmt.Sprintf("splice bench: %s/%s, %s, %s per run, median of %d", m.GOOS, m.GOARCH, m.GoVersion, sizeLabel(rep.Size), rep.Count)
	sub := m.CPU
	if m.Kernel != "" {
		sub += ", kernel " + m.Kernel
	}
	if rep.Note != "" {
		sub += " — " + rep.Note
	}
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">
<rect width="100%%" height="100%%" fill="#ffffff"/>
<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>
<text x="%d" y="44" fill="#555555">%s</text>
`, svgWidth, height, svgWidth, height, svgLabelX, esc(title), svgLabelX, esc(sub))
	y := svgTop
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "<g class=\"row\" data-row=\"%s\">\n", esc(r.Name))
		fmt.Fprintf(w, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>", svgLabelX, y+14, esc(r.Label))
		fmt.Fprintf(w, "<text x=\"%d\" y=\"%d\" fill=\"%s\">%.2f× (%s / %s)</text>\n",
			svgBarX, y+14, svgColors[1], r.Ratio, esc(r.Impls[1].Impl), esc(r.Impls[0].Impl))
		y += 20
		for i, im := range r.Impls {
			length := max(1, int(im.MedianGBps/fastest*svgBarMax))
			color := svgColors[min(i, len(svgColors)-1)]
			fmt.Fprintf(w, "<text x=\"%d\" y=\"%d\">%s</text>", svgLabelX+12, y+svgBarH-4, esc(im.Impl))
			fmt.Fprintf(w, "<rect class=\"bar\" data-impl=\"%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>",
				esc(im.Impl), svgBarX, y, length, svgBarH, color)
			fmt.Fprintf(w, "<text x=\"%d\" y=\"%d\">%.3g GB/s</text>\n", svgBarX+length+6, y+svgBarH-4, im.MedianGBps)
			y += svgBarH + svgBarGap
		}
		fmt.Fprint(w, "</g>\n")
		y += svgGroupGap
	}
	fmt.Fprint(w, "</svg>\n")
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
