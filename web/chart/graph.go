package chart

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// GraphNode is a claim to draw.
type GraphNode struct {
	ID   string
	Text string
	Root bool
}

// GraphEdge is a typed link From → To ("From supports To").
type GraphEdge struct {
	From, To string
	Kind     string // relation name; also the CSS class suffix of the edge
	Negative bool   // argues against its target: drawn dashed, so the kind never depends on colour alone
	Strength float64
}

// PlacedNode is a node with its box.
type PlacedNode struct {
	ID        string
	X, Y      string // top-left
	W, H      string
	TextX     string
	Lines     []PlacedLine
	Full      string // the whole text, for the tooltip
	Root      bool
	Isolated  bool
	cx, cy    float64
	top, bott float64
}

// PlacedLine is one line of a node's wrapped text.
type PlacedLine struct {
	Y, Text string
}

// PlacedEdge is an edge with its path.
type PlacedEdge struct {
	Path     string
	Kind     string
	Negative bool
	LabelX   string
	LabelY   string
	Title    string // "c1 supports root (0.80)"
}

// Graph is a laid-out reasoning graph.
type Graph struct {
	ViewBox string
	Width   string
	Height  string
	Nodes   []PlacedNode
	Edges   []PlacedEdge
	Kinds   []string // relation kinds present, for the legend
}

// Graph geometry, in viewBox units.
const (
	nodeW      = 190.0
	lineStep   = 15.0
	nodePad    = 9.0
	gapX       = 26.0
	gapY       = 64.0
	margin     = 16.0
	wrapChars  = 28
	wrapLines  = 3
	labelShift = 4.0
)

// wrap splits text into at most wrapLines lines of about wrapChars characters, ending with "…" when cut.
func wrap(text string) []string {
	words := strings.Fields(text)
	var lines []string
	cur := ""
	for _, w := range words {
		if utf8.RuneCountInString(w) > wrapChars {
			w = string([]rune(w)[:wrapChars-1]) + "…"
		}
		switch {
		case cur == "":
			cur = w
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(w) <= wrapChars:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
		if len(lines) == wrapLines {
			last := lines[wrapLines-1]
			if utf8.RuneCountInString(last) >= wrapChars {
				last = string([]rune(last)[:wrapChars-1])
			}
			lines[wrapLines-1] = last + "…"
			return lines
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	if len(lines) == 0 {
		lines = []string{""}
	}
	return lines
}

// LayoutGraph draws a DAG in layers: sinks (normally only the root) on top, and every other claim one row
// below the highest claim it points to, so every edge points upwards to what it argues about. Claims with
// no edge at all go to a last row of their own. Within a row, claims are ordered by the mean position of
// their targets (the barycentre heuristic), which keeps most edges from crossing. Cycles cannot occur
// (the domain rejects them); if one did, the loop guard below would still terminate.
func LayoutGraph(nodes []GraphNode, edges []GraphEdge) Graph {
	idx := make(map[string]int, len(nodes))
	for i, n := range nodes {
		idx[n.ID] = i
	}
	out := make([][]int, len(nodes))
	deg := make([]int, len(nodes))
	var kept []GraphEdge
	for _, e := range edges {
		f, okf := idx[e.From]
		t, okt := idx[e.To]
		if !okf || !okt || f == t {
			continue
		}
		out[f] = append(out[f], t)
		deg[f]++
		deg[t]++
		kept = append(kept, e)
	}
	// layer = longest path to a sink, memoised; the guard treats a node on the current path as a sink.
	layer := make([]int, len(nodes))
	state := make([]int8, len(nodes)) // 0 new, 1 on path, 2 done
	var depth func(int) int
	depth = func(i int) int {
		switch state[i] {
		case 1:
			return 0
		case 2:
			return layer[i]
		}
		state[i] = 1
		d := 0
		for _, t := range out[i] {
			d = max(d, depth(t)+1)
		}
		state[i], layer[i] = 2, d
		return d
	}
	maxLayer := 0
	for i := range nodes {
		maxLayer = max(maxLayer, depth(i))
	}
	isolatedRow := -1
	rows := make([][]int, maxLayer+1)
	for i := range nodes {
		if deg[i] == 0 && !nodes[i].Root {
			if isolatedRow < 0 {
				isolatedRow = len(rows)
				rows = append(rows, nil)
			}
			rows[isolatedRow] = append(rows[isolatedRow], i)
			continue
		}
		rows[layer[i]] = append(rows[layer[i]], i)
	}
	// Order: the root first in its row, then by barycentre of targets in the rows above.
	pos := make([]float64, len(nodes))
	for r, row := range rows {
		if r == 0 || r == isolatedRow {
			slices.SortStableFunc(row, func(a, b int) int {
				if nodes[a].Root != nodes[b].Root {
					if nodes[a].Root {
						return -1
					}
					return 1
				}
				return 0
			})
		} else {
			bary := make(map[int]float64, len(row))
			for _, i := range row {
				s, n := 0.0, 0
				for _, t := range out[i] {
					if layer[t] < r {
						s += pos[t]
						n++
					}
				}
				if n > 0 {
					bary[i] = s / float64(n)
				}
			}
			slices.SortStableFunc(row, func(a, b int) int {
				switch {
				case bary[a] < bary[b]:
					return -1
				case bary[a] > bary[b]:
					return 1
				}
				return 0
			})
		}
		for k, i := range row {
			pos[i] = float64(k) - float64(len(row)-1)/2
		}
	}
	widest := 0
	for _, row := range rows {
		widest = max(widest, len(row))
	}
	width := margin*2 + float64(widest)*nodeW + float64(max(widest-1, 0))*gapX
	placed := make([]PlacedNode, len(nodes))
	y := margin
	for _, row := range rows {
		if len(row) == 0 {
			continue
		}
		rowH := 0.0
		rowW := float64(len(row))*nodeW + float64(len(row)-1)*gapX
		x := (width - rowW) / 2
		for _, i := range row {
			lines := wrap(nodes[i].Text)
			if nodes[i].ID != "" {
				lines = append([]string{nodes[i].ID}, lines...)
			}
			h := nodePad*2 + lineStep*float64(len(lines))
			rowH = max(rowH, h)
			p := PlacedNode{ID: nodes[i].ID, X: num(x), Y: num(y), W: num(nodeW), H: num(h), TextX: num(x + nodePad),
				Full: nodes[i].Text, Root: nodes[i].Root, Isolated: deg[i] == 0 && !nodes[i].Root,
				cx: x + nodeW/2, cy: y + h/2, top: y, bott: y + h}
			for k, l := range lines {
				p.Lines = append(p.Lines, PlacedLine{Y: num(y + nodePad + lineStep*float64(k+1) - 3), Text: l})
			}
			placed[i] = p
			x += nodeW + gapX
		}
		y += rowH + gapY
	}
	height := y - gapY + margin
	g := Graph{ViewBox: "0 0 " + num(width) + " " + num(height), Width: num(width), Height: num(height), Nodes: placed}
	seen := map[string]bool{}
	for _, e := range kept {
		f, t := placed[idx[e.From]], placed[idx[e.To]]
		// From the top of the premise to the bottom of its target; a flat S-curve keeps arrows readable.
		x1, y1, x2, y2 := f.cx, f.top, t.cx, t.bott+labelShift
		if f.top <= t.top { // same row or pointing down (only possible through the cycle guard)
			y1, y2 = f.cy, t.cy
		}
		my := (y1 + y2) / 2
		g.Edges = append(g.Edges, PlacedEdge{
			Path: "M" + num(x1) + "," + num(y1) + " C" + num(x1) + "," + num(my) + " " + num(x2) + "," + num(my) + " " + num(x2) + "," + num(y2),
			Kind: e.Kind, Negative: e.Negative,
			LabelX: num((x1 + x2) / 2), LabelY: num(my - labelShift),
			Title: e.From + " " + e.Kind + " " + e.To + " (strength " + label2(e.Strength) + ")",
		})
		if !seen[e.Kind] {
			seen[e.Kind] = true
			g.Kinds = append(g.Kinds, e.Kind)
		}
	}
	slices.Sort(g.Kinds)
	return g
}

func label2(v float64) string {
	return strconv.FormatFloat(v, 'f', 2, 64)
}
