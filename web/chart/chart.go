// Package chart computes the geometry of the dashboard's server-side SVG charts — line charts of queue
// depth, histograms of trust, bars, and the layered drawing of a reasoning graph — and renders them with
// templ. It works on plain numbers and strings, never on domain types, and emits no script: every chart
// is static markup styled by the dashboard's stylesheet, so it also follows dark mode.
package chart

import (
	"math"
	"strconv"
	"strings"
)

// num formats a coordinate compactly ("12.5", "3").
func num(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

// Tick is one labelled grid line.
type Tick struct {
	Pos   string // y (or x) in the viewBox
	Label string
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, so axis labels are round numbers.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// tickCount picks how many steps divide [0, top] into round numbers: fifths of 1, 5 and 10 (0.2, 1, 2),
// quarters of 2 (0.5).
func tickCount(top float64) int {
	p := math.Pow(10, math.Floor(math.Log10(top)))
	if m := math.Round(top / p); m == 2 {
		return 4
	}
	return 5
}

// countTop is the axis maximum for counts: a round number, and at least 5 so the steps are whole.
func countTop(peak float64) float64 {
	return max(niceMax(peak), 5)
}

func label(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// LineSeries is one line of a line chart.
type LineSeries struct {
	Name   string
	Class  string // CSS class of the line (its colour)
	Values []float64
}

// LinePath is a drawn series.
type LinePath struct {
	Name   string
	Class  string
	Points string // polyline points
	Last   string // the last value, for the legend
}

// Line is a line chart over evenly spaced samples.
type Line struct {
	Title, Desc   string
	ViewBox       string
	Width, Height string
	PlotLeft      string
	PlotRight     string
	PlotBottom    string
	Paths         []LinePath
	YTicks        []Tick
	Start, End    string // labels of the first and last sample
	Max           float64
	Samples       int
}

// Chart geometry of a line chart, in viewBox units.
const (
	lineW, lineH        = 960.0, 200.0
	lineLeft, lineRight = 44.0, 950.0
	lineTop, lineBottom = 10.0, 175.0
	histW, histH        = 640.0, 220.0
	histLeft, histRight = 40.0, 630.0
	histTop, histBottom = 10.0, 190.0
	barW, barH          = 160.0, 12.0
)

// NewLine lays out series of equal length (older samples first); start and end label the time axis.
func NewLine(title, desc string, series []LineSeries, start, end string) Line {
	l := Line{Title: title, Desc: desc, ViewBox: "0 0 " + num(lineW) + " " + num(lineH), Width: num(lineW), Height: num(lineH),
		PlotLeft: num(lineLeft), PlotRight: num(lineRight), PlotBottom: num(lineBottom), Start: start, End: end}
	n := 0
	peak := 0.0
	for _, s := range series {
		n = max(n, len(s.Values))
		for _, v := range s.Values {
			peak = max(peak, v)
		}
	}
	l.Samples, l.Max = n, peak
	top := countTop(peak)
	n0 := tickCount(top)
	for i := 0; i <= n0; i++ {
		v := top * float64(i) / float64(n0)
		y := lineBottom - (lineBottom-lineTop)*v/top
		l.YTicks = append(l.YTicks, Tick{Pos: num(y), Label: label(v)})
	}
	for _, s := range series {
		p := LinePath{Name: s.Name, Class: s.Class}
		var b strings.Builder
		for i, v := range s.Values {
			x := lineLeft
			if n > 1 {
				x = lineLeft + (lineRight-lineLeft)*float64(i+n-len(s.Values))/float64(n-1)
			}
			y := lineBottom - (lineBottom-lineTop)*v/top
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(num(x) + "," + num(y))
		}
		p.Points = b.String()
		if len(s.Values) > 0 {
			p.Last = label(s.Values[len(s.Values)-1])
		}
		l.Paths = append(l.Paths, p)
	}
	return l
}

// HistBar is one bin of a histogram.
type HistBar struct {
	X, Y, W, H string
	Range      string // "0.40–0.45"
	Count      int
}

// Histogram is a bar chart of counts over equal bins of [Lo, Hi].
type Histogram struct {
	Title, Desc string
	ViewBox     string
	Bars        []HistBar
	YTicks      []Tick
	XTicks      []Tick
	PlotLeft    string
	PlotRight   string
	PlotBottom  string
	Total       int
}

// NewHistogram lays out counts of equal bins spanning [lo, hi].
func NewHistogram(title, desc string, counts []int, lo, hi float64) Histogram {
	h := Histogram{Title: title, Desc: desc, ViewBox: "0 0 " + num(histW) + " " + num(histH),
		PlotLeft: num(histLeft), PlotRight: num(histRight), PlotBottom: num(histBottom)}
	peak := 0
	for _, c := range counts {
		peak = max(peak, c)
		h.Total += c
	}
	top := countTop(float64(peak))
	nt := tickCount(top)
	for i := 0; i <= nt; i++ {
		v := top * float64(i) / float64(nt)
		h.YTicks = append(h.YTicks, Tick{Pos: num(histBottom - (histBottom-histTop)*v/top), Label: label(v)})
	}
	n := len(counts)
	if n == 0 {
		return h
	}
	slot := (histRight - histLeft) / float64(n)
	width := (hi - lo) / float64(n)
	for i, c := range counts {
		bh := (histBottom - histTop) * float64(c) / top
		h.Bars = append(h.Bars, HistBar{
			X: num(histLeft + slot*float64(i) + 1), W: num(max(slot-2, 1)),
			Y: num(histBottom - bh), H: num(bh), Count: c,
			Range: strconv.FormatFloat(lo+width*float64(i), 'f', 2, 64) + "–" + strconv.FormatFloat(lo+width*float64(i+1), 'f', 2, 64),
		})
	}
	for i := 0; i <= 4; i++ {
		f := float64(i) / 4
		h.XTicks = append(h.XTicks, Tick{Pos: num(histLeft + (histRight-histLeft)*f), Label: strconv.FormatFloat(lo+(hi-lo)*f, 'f', 2, 64)})
	}
	return h
}

// Bins counts values into n equal bins of [lo, hi]; values outside are clamped into the end bins.
func Bins(values []float64, n int, lo, hi float64) []int {
	out := make([]int, n)
	if n == 0 || hi <= lo {
		return out
	}
	for _, v := range values {
		if math.IsNaN(v) {
			continue
		}
		i := int((v - lo) / (hi - lo) * float64(n))
		out[min(max(i, 0), n-1)]++
	}
	return out
}

// Bar is a horizontal bar for a value in [0,1] (a critic score, a trust).
type Bar struct {
	ViewBox string
	Fill    string // width of the filled part
	Value   float64
}

// NewBar returns the bar of v, clamped to [0,1].
func NewBar(v float64) Bar {
	c := min(max(v, 0), 1)
	if math.IsNaN(v) {
		c = 0
	}
	return Bar{ViewBox: "0 0 " + num(barW) + " " + num(barH), Fill: num(barW * c), Value: v}
}
