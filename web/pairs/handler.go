// Package pairs is the dashboard's chiral pairs page: pairs of SNOs that disagree while arguing over the
// same evidence, ranked by potential, with chirality, entanglement, the shared evidence and a link to the
// synthesis made from them.
package pairs

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/cns-dev/cns/web/ports"
	"github.com/cns-dev/cns/web/session"
	"github.com/cns-dev/cns/web/ui"
)

// Handler serves GET /pairs.
type Handler struct {
	Shell ui.ShellFunc
	// Pairs lists the project's pairs; nil when this process has no pair discovery.
	Pairs ports.PairsFunc
}

// Limit is how many pairs the page shows.
const Limit = 100

// shownEvidence is how many shared evidence ids a row lists before "and N more".
const shownEvidence = 4

func snoHref(id string) string { return "/snos/" + url.PathEscape(id) }

// Page renders the ranked pairs.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	m := Model{Shell: h.Shell(w, r, "Chiral pairs", "pairs"), Available: h.Pairs != nil}
	if h.Pairs == nil {
		m.Note = "Pair discovery is off in this process (its store keeps no pairs), so there are no chiral pairs to rank."
		return View(m).Render(ctx, w)
	}
	list, err := h.Pairs(ctx, s.Project, "", Limit)
	if err != nil {
		return fmt.Errorf("list pairs: %w", err)
	}
	for i, p := range list {
		row := Row{Rank: i + 1,
			AHref: snoHref(p.A.ID), AID: p.A.ID, AHypothesis: p.A.Hypothesis, ATrust: ui.Score(p.A.Trust),
			BHref: snoHref(p.B.ID), BID: p.B.ID, BHypothesis: p.B.Hypothesis, BTrust: ui.Score(p.B.Trust),
			Potential: ui.Score(p.Potential), Chirality: ui.Score(p.Chirality), Entanglement: ui.Score(p.Entanglement)}
		row.Shared = p.SharedEvidence
		if len(row.Shared) > shownEvidence {
			row.Shared, row.SharedMore = row.Shared[:shownEvidence], len(p.SharedEvidence)-shownEvidence
		}
		if p.SynthesisID != "" {
			row.SynthesisHref, row.SynthesisID = snoHref(p.SynthesisID), p.SynthesisID
		}
		m.Rows = append(m.Rows, row)
	}
	if len(m.Rows) == 0 {
		m.Note = "No two SNOs of this project share evidence while disagreeing yet."
	}
	return View(m).Render(ctx, w)
}
