package chart

import (
	"strconv"
	"strings"
	"testing"
)

func TestBinsClampAndCount(t *testing.T) {
	got := Bins([]float64{0, 0.04, 0.05, 0.5, 0.999, 1, 1.5, -1}, 20, 0, 1)
	want := map[int]int{0: 3, 1: 1, 10: 1, 19: 3}
	total := 0
	for i, n := range got {
		total += n
		if n != want[i] {
			t.Errorf("bin %d has %d, want %d", i, n, want[i])
		}
	}
	if total != 8 {
		t.Errorf("%d values binned, want 8", total)
	}
}

func TestHistogramGeometry(t *testing.T) {
	h := NewHistogram("t", "d", []int{0, 3, 7, 1}, 0, 1)
	if len(h.Bars) != 4 || h.Total != 11 {
		t.Fatalf("%d bars, total %d", len(h.Bars), h.Total)
	}
	// The tallest bar reaches the axis maximum's share of the plot; bars never leave the plot.
	for _, b := range h.Bars {
		y, _ := strconv.ParseFloat(b.Y, 64)
		hh, _ := strconv.ParseFloat(b.H, 64)
		if y < histTop-0.1 || y+hh > histBottom+0.1 {
			t.Errorf("bar %+v leaves the plot", b)
		}
	}
	if h.Bars[2].Range != "0.50–0.75" || h.Bars[2].Count != 7 {
		t.Errorf("third bar %+v", h.Bars[2])
	}
	if last := h.YTicks[len(h.YTicks)-1].Label; last != "10" {
		t.Errorf("axis maximum %s, want 10 (a round number above 7)", last)
	}
}

func TestLineChartScalesToPeak(t *testing.T) {
	l := NewLine("q", "d", []LineSeries{{Name: "a", Class: "s1", Values: []float64{0, 2, 40, 3}}}, "t0", "t1")
	if l.Max != 40 || l.Samples != 4 {
		t.Fatalf("max %v samples %d", l.Max, l.Samples)
	}
	pts := strings.Fields(l.Paths[0].Points)
	if len(pts) != 4 || !strings.HasPrefix(pts[0], num(lineLeft)+",") || !strings.HasPrefix(pts[3], num(lineRight)+",") {
		t.Errorf("points %v do not span the plot", pts)
	}
	if l.YTicks[len(l.YTicks)-1].Label != "50" || l.Paths[0].Last != "3" {
		t.Errorf("top tick %s, last %s", l.YTicks[len(l.YTicks)-1].Label, l.Paths[0].Last)
	}
	empty := NewLine("q", "d", nil, "", "")
	if len(empty.Paths) != 0 || len(empty.YTicks) == 0 {
		t.Errorf("an empty chart still needs its axis: %+v", empty)
	}
}

func TestLayoutPutsTargetsAbovePremises(t *testing.T) {
	g := LayoutGraph(
		[]GraphNode{{ID: "root", Text: "H", Root: true}, {ID: "c1", Text: "a"}, {ID: "c2", Text: "b"}, {ID: "c3", Text: "c"}, {ID: "lone", Text: "d"}},
		[]GraphEdge{{From: "c1", To: "root", Kind: "supports"}, {From: "c2", To: "c1", Kind: "explains"}, {From: "c3", To: "root", Kind: "weakens", Negative: true}},
	)
	y := map[string]float64{}
	iso := map[string]bool{}
	for _, n := range g.Nodes {
		y[n.ID], _ = strconv.ParseFloat(n.Y, 64)
		iso[n.ID] = n.Isolated
	}
	if !(y["root"] < y["c1"] && y["c1"] < y["c2"] && y["root"] < y["c3"] && y["c1"] == y["c3"]) {
		t.Errorf("rows wrong: %v", y)
	}
	if !iso["lone"] || y["lone"] <= y["c2"] || iso["c1"] {
		t.Errorf("a claim without edges belongs in its own last row: %v %v", y, iso)
	}
	if len(g.Edges) != 3 || strings.Join(g.Kinds, ",") != "explains,supports,weakens" {
		t.Errorf("edges %d, kinds %v", len(g.Edges), g.Kinds)
	}
	neg := 0
	for _, e := range g.Edges {
		if e.Negative {
			neg++
		}
	}
	if neg != 1 {
		t.Errorf("%d negative edges, want 1", neg)
	}
	// An edge naming a missing claim is skipped, not drawn to nowhere.
	g = LayoutGraph([]GraphNode{{ID: "root", Root: true}}, []GraphEdge{{From: "ghost", To: "root", Kind: "supports"}})
	if len(g.Edges) != 0 {
		t.Errorf("drew an edge from a missing claim")
	}
}

func TestWrapBoundsText(t *testing.T) {
	lines := wrap(strings.Repeat("word ", 100))
	if len(lines) != wrapLines || !strings.HasSuffix(lines[wrapLines-1], "…") {
		t.Errorf("wrap gave %q", lines)
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > wrapChars+1 {
			t.Errorf("line %q has %d characters", l, n)
		}
	}
	if got := wrap(strings.Repeat("x", 100)); len([]rune(got[0])) > wrapChars {
		t.Errorf("a long word is not cut: %q", got)
	}
}
