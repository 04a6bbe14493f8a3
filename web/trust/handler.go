// Package trust is the dashboard's trust distribution page: histograms of the trust score and of each
// critic's score over a project's SNOs, drawn as SVG, with their summaries.
package trust

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/web/chart"
	"github.com/cns-dev/cns/web/ports"
	"github.com/cns-dev/cns/web/session"
	"github.com/cns-dev/cns/web/ui"
)

// Handler serves GET /trust.
type Handler struct {
	Shell ui.ShellFunc
	Store ports.Store
}

// Limit bounds how many SNOs one page view reads (the default population limit of CNS is 10,000 ACTIVE).
const Limit = 10000

// Bins is the number of histogram bins over [0,1].
const Bins = 20

// knownCritics come first, in this order; any other critic follows by name.
var knownCritics = []string{"grounding", "logic", "novelty"}

// Page renders the histograms.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "active"
	}
	m := Model{Shell: h.Shell(w, r, "Trust distribution", "trust"), Limit: Limit}
	f := cns.SNOFilter{Project: s.Project}
	found := status == "all"
	for _, st := range []cns.Status{cns.StatusActive, cns.StatusReview, cns.StatusArchived, cns.StatusRejected} {
		if st.String() == status {
			f.Statuses, found = []cns.Status{st}, true
		}
	}
	if !found {
		return ui.BadRequest("Unknown status.")
	}
	for _, o := range []string{"active", "review", "archived", "rejected", "all"} {
		m.Statuses = append(m.Statuses, Option{Value: o, Label: o, Selected: o == status})
	}
	trust := []float64{}
	byCritic := map[string][]float64{}
	const batch = 500
	for m.Count < Limit {
		f.Limit = min(batch, Limit-m.Count)
		list, err := h.Store.ListSNOs(ctx, f)
		if err != nil {
			return fmt.Errorf("list snos: %w", err)
		}
		for _, sno := range list {
			trust = append(trust, sno.Trust)
			for _, c := range sno.Critics {
				byCritic[c.Name] = append(byCritic[c.Name], c.Score)
			}
		}
		m.Count += len(list)
		if len(list) < f.Limit {
			break
		}
		last := list[len(list)-1]
		f.After = &cns.SNOCursor{Trust: last.Trust, ID: last.ID}
		if m.Count == Limit {
			more, err := h.Store.ListSNOs(ctx, cns.SNOFilter{Project: s.Project, Statuses: f.Statuses, After: f.After, Limit: 1})
			if err != nil {
				return fmt.Errorf("list snos: %w", err)
			}
			m.Truncated = len(more) > 0
		}
	}
	m.Histograms = append(m.Histograms, hist("trust", "Trust", trust))
	names := slices.Clone(knownCritics)
	var others []string
	for n := range byCritic {
		if !slices.Contains(knownCritics, n) {
			others = append(others, n)
		}
	}
	slices.Sort(others)
	for _, n := range append(names, others...) {
		if vals, ok := byCritic[n]; ok {
			m.Histograms = append(m.Histograms, hist(n, "Critic: "+n, vals))
		}
	}
	return View(m).Render(ctx, w)
}

func hist(id, title string, vals []float64) Hist {
	h := Hist{ID: "h-" + id, Title: title, Count: len(vals), Mean: "–", Median: "–", Min: "–", Max: "–",
		Chart: chart.NewHistogram(title+" histogram", fmt.Sprintf("%d values in %d bins from 0 to 1", len(vals), Bins), chart.Bins(vals, Bins, 0, 1), 0, 1)}
	if len(vals) == 0 {
		return h
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	h.Mean, h.Median, h.Min, h.Max = ui.Score(sum/float64(len(s))), ui.Score(med), ui.Score(s[0]), ui.Score(s[len(s)-1])
	return h
}
