// Package snos is the dashboard's SNO table (ordered by trust, filtered by status, trust range, text or
// semantic search and evidence id, paged by cursor) and the SNO detail page: hypothesis, trust with the
// per-critic breakdown, the reasoning graph drawn as SVG, evidence with sources, lineage and chiral
// partners, and the operator's actions (archive, re-score) next to a what-if with another weight preset.
package snos

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/web/chart"
	"github.com/cns-dev/cns/web/ports"
	"github.com/cns-dev/cns/web/session"
	"github.com/cns-dev/cns/web/ui"
)

// Handler serves /snos and /snos/{id}.
type Handler struct {
	Shell  ui.ShellFunc
	Done   ui.DoneFunc
	Store  ports.Store
	Engine ports.Engine
	Search ports.SearchFunc
	// Pairs lists chiral partners; nil when this process has no pair discovery.
	Pairs ports.PairsFunc
	Log   *zap.Logger
}

// PageSize is the number of rows per page.
const PageSize = 25

// scanBatch and scanLimit bound the in-memory filters (text, evidence id), which have no index in the
// store: one request looks at most scanLimit SNOs, then offers to continue from where it stopped.
const (
	scanBatch = 200
	scanLimit = 5000
)

var statuses = []cns.Status{cns.StatusActive, cns.StatusReview, cns.StatusArchived, cns.StatusRejected}

func parseStatus(s string) (cns.Status, bool) {
	for _, st := range statuses {
		if st.String() == s {
			return st, true
		}
	}
	return cns.StatusUnspecified, false
}

type cursor struct {
	T float64 `json:"t"`
	I string  `json:"i"`
}

func encodeCursor(c cns.SNOCursor) string {
	b, _ := json.Marshal(cursor{T: c.Trust, I: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cns.SNOCursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.I == "" || c.T < 0 || c.T > 1 {
		return nil, ui.BadRequest("The page link is not valid; start again from the first page.")
	}
	return &cns.SNOCursor{Trust: c.T, ID: c.I}, nil
}

func parseTrust(field, s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1 {
		return 0, ui.BadRequest(field + " trust must be a number between 0 and 1.")
	}
	return v, nil
}

// List renders the SNO table.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	q := r.URL.Query()
	f := Filter{Status: q.Get("status"), Min: q.Get("min"), Max: q.Get("max"), Query: strings.TrimSpace(q.Get("q")),
		Mode: q.Get("mode"), Evidence: strings.TrimSpace(q.Get("evidence"))}
	if f.Mode != "semantic" {
		f.Mode = "text"
	}
	m := ListModel{Shell: h.Shell(w, r, "SNOs", "snos"), Filter: f, Statuses: []Option{{Value: "", Label: "any status", Selected: f.Status == ""}}}
	for _, st := range statuses {
		m.Statuses = append(m.Statuses, Option{Value: st.String(), Label: st.String(), Selected: f.Status == st.String()})
	}
	sf := cns.SNOFilter{Project: s.Project}
	if f.Status != "" {
		st, ok := parseStatus(f.Status)
		if !ok {
			return ui.BadRequest("Unknown status.")
		}
		sf.Statuses = []cns.Status{st}
	}
	var err error
	if sf.MinTrust, err = parseTrust("Minimum", f.Min); err != nil {
		return err
	}
	if sf.MaxTrust, err = parseTrust("Maximum", f.Max); err != nil {
		return err
	}
	if sf.MaxTrust > 0 && sf.MaxTrust < sf.MinTrust {
		return ui.BadRequest("The minimum trust is above the maximum.")
	}
	if len(f.Query) > 1000 || len(f.Evidence) > 1000 {
		return ui.BadRequest("The search text is too long (1000 bytes at most).")
	}
	evidenceID := ""
	if f.Evidence != "" {
		evidenceID = f.Evidence
		if !strings.Contains(evidenceID, ":") || strings.HasPrefix(evidenceID, "http") {
			evidenceID = cns.CanonicalEvidenceID(f.Evidence, "")
		} else if c := cns.CanonicalEvidenceID(f.Evidence, ""); strings.HasPrefix(c, "doi:") {
			evidenceID = c // "doi:10.1000/X" in any case
		}
	}

	if f.Query != "" && f.Mode == "semantic" {
		m.Semantic = true
		hits, err := h.Search(ctx, s.Project, f.Query, PageSize*2)
		if err != nil {
			return fmt.Errorf("semantic search: %w", err)
		}
		for _, hit := range hits {
			if !keep(hit.SNO, sf, "", evidenceID) {
				continue
			}
			row := rowOf(hit.SNO)
			row.Similarity = ui.Score(hit.Score)
			m.Rows = append(m.Rows, row)
			if len(m.Rows) == PageSize {
				break
			}
		}
		m.Note = "Semantic search ranks ACTIVE SNOs by similarity of their hypothesis to the query; the other filters apply to those results."
		return ListView(m).Render(ctx, w)
	}

	after, err := decodeCursor(q.Get("after"))
	if err != nil {
		return err
	}
	if q.Get("after") != "" {
		m.First = ui.With("/snos", q, "after", "")
	}
	text := strings.ToLower(f.Query)
	if text == "" && evidenceID == "" {
		sf.After, sf.Limit = after, PageSize+1
		list, err := h.Store.ListSNOs(ctx, sf)
		if err != nil {
			return fmt.Errorf("list snos: %w", err)
		}
		if len(list) > PageSize {
			list = list[:PageSize]
			last := list[len(list)-1]
			m.Next = ui.With("/snos", q, "after", encodeCursor(cns.SNOCursor{Trust: last.Trust, ID: last.ID}))
		}
		for _, sno := range list {
			m.Rows = append(m.Rows, rowOf(sno))
		}
		return ListView(m).Render(ctx, w)
	}

	// Text and evidence filters scan the trust order in batches.
	examined := 0
	sf.After, sf.Limit = after, scanBatch
	var pos *cns.SNOCursor
scan:
	for examined < scanLimit {
		list, err := h.Store.ListSNOs(ctx, sf)
		if err != nil {
			return fmt.Errorf("list snos: %w", err)
		}
		for _, sno := range list {
			examined++
			pos = &cns.SNOCursor{Trust: sno.Trust, ID: sno.ID}
			if keep(sno, sf, text, evidenceID) {
				if len(m.Rows) == PageSize {
					// One more match exists: the next page starts after the last row shown.
					lastRow := m.Rows[len(m.Rows)-1]
					m.Next = ui.With("/snos", q, "after", encodeCursor(cns.SNOCursor{Trust: lastRow.trust, ID: lastRow.ID}))
					break scan
				}
				row := rowOf(sno)
				m.Rows = append(m.Rows, row)
			}
		}
		if len(list) < scanBatch {
			pos = nil
			break
		}
		sf.After = pos
	}
	if m.Next == "" && pos != nil && examined >= scanLimit {
		m.Next = ui.With("/snos", q, "after", encodeCursor(*pos))
		m.Note = fmt.Sprintf("Looked through %d SNOs for matches; the next page continues the search.", examined)
	}
	return ListView(m).Render(ctx, w)
}

// keep applies the filters the store cannot: status and trust (again, for search results), hypothesis
// text, and an evidence id.
func keep(s *cns.SNO, f cns.SNOFilter, text, evidenceID string) bool {
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, s.Status) {
		return false
	}
	if s.Trust < f.MinTrust || (f.MaxTrust > 0 && s.Trust > f.MaxTrust) {
		return false
	}
	if text != "" && !strings.Contains(strings.ToLower(s.Hypothesis), text) {
		return false
	}
	if evidenceID != "" && !slices.ContainsFunc(s.Evidence, func(e cns.Evidence) bool { return e.ID == evidenceID }) {
		return false
	}
	return true
}

// Truncate shortens s to n runes, ending with "…" when cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func criticScore(s *cns.SNO, name string) string {
	if c, ok := s.Critic(name); ok {
		return ui.Score(c.Score)
	}
	return "–"
}

func rowOf(s *cns.SNO) Row {
	return Row{
		ID: s.ID, Href: "/snos/" + url.PathEscape(s.ID), Hypothesis: Truncate(s.Hypothesis, 180),
		Trust: ui.Score(s.Trust), TrustBar: chart.NewBar(s.Trust), trust: s.Trust, Status: s.Status.String(),
		Grounding: criticScore(s, "grounding"), Logic: criticScore(s, "logic"), Novelty: criticScore(s, "novelty"),
		Claims: len(s.Graph.Claims), Evidence: len(s.Evidence), Created: ui.When(s.CreatedAt),
	}
}

// Presets are the weight sets a what-if can use (critic.Preset knows them).
var Presets = []string{"default", "exploration", "verification"}

// Detail renders one SNO; with ?preset= it adds a what-if score with that preset's weights.
func (h *Handler) Detail(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	id := r.PathValue("id")
	sno, err := h.Store.GetSNO(ctx, s.Project, id)
	if cns.ErrorCode(err) == cns.ENOTFOUND {
		return ui.NotFound("SNO " + strconv.Quote(id))
	}
	if err != nil {
		return fmt.Errorf("get sno: %w", err)
	}
	m := h.detail(ctx, s, sno)
	m.Shell = h.Shell(w, r, "SNO "+sno.ID, "snos")
	preset := r.URL.Query().Get("preset")
	for _, p := range Presets {
		m.Presets = append(m.Presets, Option{Value: p, Label: p, Selected: p == preset})
	}
	if preset != "" {
		if !slices.Contains(Presets, preset) {
			return ui.BadRequest("Unknown preset: choose default, exploration or verification.")
		}
		alt, _, err := h.Engine.Evaluate(ctx, s.Project, sno.ID, preset)
		if err != nil {
			return fmt.Errorf("what-if evaluation: %w", err)
		}
		m.WhatIf = &WhatIf{Preset: preset, Trust: ui.Score(alt.Trust), Delta: signed(alt.Trust - sno.Trust), Critics: critics(alt)}
	}
	return DetailView(m).Render(ctx, w)
}

func signed(v float64) string {
	if v >= 0 {
		return "+" + ui.Score(v)
	}
	return ui.Score(v)
}

func critics(s *cns.SNO) []CriticRow {
	var out []CriticRow
	for _, c := range s.Critics {
		row := CriticRow{Name: c.Name, Score: ui.Score(c.Score), Bar: chart.NewBar(c.Score), Confidence: ui.Score(c.Confidence),
			Weight: ui.Score(c.Weight), Explanation: c.Explanation}
		keys := make([]string, 0, len(c.SubScores))
		for k := range c.SubScores {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			row.Sub = append(row.Sub, KV{Key: k, Value: ui.Score(c.SubScores[k])})
		}
		out = append(out, row)
	}
	return out
}

// SourceLink returns a link for an evidence id: DOIs resolve at doi.org, web addresses are themselves.
func SourceLink(id string) string {
	switch {
	case strings.HasPrefix(id, "doi:"):
		return "https://doi.org/" + strings.TrimPrefix(id, "doi:")
	case strings.HasPrefix(id, "url:"):
		u := strings.TrimPrefix(id, "url:")
		if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
			return u
		}
	}
	return ""
}

func (h *Handler) detail(ctx context.Context, s session.Session, sno *cns.SNO) DetailModel {
	m := DetailModel{
		ID: sno.ID, Hypothesis: sno.Hypothesis, Status: sno.Status.String(), Trust: ui.Score(sno.Trust), TrustBar: chart.NewBar(sno.Trust),
		Critics: critics(sno), Source: sno.Source, JobID: sno.JobID, Created: ui.When(sno.CreatedAt), Updated: ui.When(sno.UpdatedAt),
		CanOperate: s.CanOperate(), Archived: sno.Status == cns.StatusArchived,
	}
	if sno.JobID != "" {
		m.JobHref = "/jobs/" + url.PathEscape(sno.JobID)
	}
	var nodes []chart.GraphNode
	for _, c := range sno.Graph.Claims {
		nodes = append(nodes, chart.GraphNode{ID: c.ID, Text: c.Text, Root: c.ID == cns.RootClaimID})
		m.Claims = append(m.Claims, ClaimRow{ID: c.ID, Text: c.Text, Root: c.ID == cns.RootClaimID})
	}
	var edges []chart.GraphEdge
	for _, e := range sno.Graph.Edges {
		edges = append(edges, chart.GraphEdge{From: e.From, To: e.To, Kind: e.Relation.String(), Negative: e.Relation.Negative(), Strength: e.Strength})
		m.Edges = append(m.Edges, EdgeRow{From: e.From, To: e.To, Relation: e.Relation.String(), Strength: ui.Score(e.Strength)})
	}
	m.Graph = chart.LayoutGraph(nodes, edges)
	for _, e := range sno.Evidence {
		m.Evidence = append(m.Evidence, EvidenceRow{ID: e.ID, Source: e.SourceID, Href: SourceLink(e.ID), Content: Truncate(e.Content, 600),
			Confidence: ui.Score(e.Confidence), Supports: strings.Join(e.SupportsClaimIDs, ", ")})
	}
	l := sno.Lineage
	m.Lineage = Lineage{Strategy: l.Strategy, Generator: l.Generator, Synthesis: len(l.Parents) > 0}
	for _, p := range l.Parents {
		m.Lineage.Parents = append(m.Lineage.Parents, Link{Href: "/snos/" + url.PathEscape(p), Label: p})
	}
	if m.Lineage.Synthesis {
		m.Lineage.Chirality, m.Lineage.Entanglement = ui.Score(l.Chirality), ui.Score(l.Entanglement)
	}
	keys := make([]string, 0, len(sno.Metadata))
	for k := range sno.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		m.Metadata = append(m.Metadata, KV{Key: k, Value: sno.Metadata[k]})
	}
	// Without pair discovery the page says so instead of showing an empty list as if no partner existed.
	if h.Pairs == nil {
		m.PartnersNote = "Pair discovery is off in this process (its store keeps no pairs), so chiral partners cannot be listed."
		return m
	}
	pairs, err := h.Pairs(ctx, s.Project, sno.ID, 20)
	if err != nil {
		h.Log.Warn("list chiral partners", zap.String("project", s.Project), zap.String("sno_id", sno.ID), zap.Error(err))
		m.PartnersNote = "Chiral partners could not be loaded just now."
		return m
	}
	for _, p := range pairs {
		other := p.B
		if other.ID == sno.ID {
			other = p.A
		}
		row := PartnerRow{Href: "/snos/" + url.PathEscape(other.ID), ID: other.ID, Hypothesis: Truncate(other.Hypothesis, 140),
			Chirality: ui.Score(p.Chirality), Entanglement: ui.Score(p.Entanglement), Potential: ui.Score(p.Potential), Shared: len(p.SharedEvidence)}
		if p.SynthesisID != "" {
			row.SynthesisHref = "/snos/" + url.PathEscape(p.SynthesisID)
		}
		m.Partners = append(m.Partners, row)
	}
	if len(m.Partners) == 0 {
		m.PartnersNote = "No chiral partner found: no other SNO shares evidence with this one while disagreeing with it."
	}
	return m
}

// Archive takes the SNO out of the reference population (operators only; the router checks the role).
func (h *Handler) Archive(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	id := r.PathValue("id")
	sno, err := h.Engine.Archive(ctx, s.Project, id)
	if cns.ErrorCode(err) == cns.ENOTFOUND {
		return ui.NotFound("SNO " + strconv.Quote(id))
	}
	if err != nil {
		return fmt.Errorf("archive sno: %w", err)
	}
	h.Log.Info("sno archived from the dashboard", zap.String("project", s.Project), zap.String("sno_id", sno.ID), zap.String("by", s.Subject))
	h.Done(w, r, "/snos/"+url.PathEscape(sno.ID), "Archived. The SNO stays readable but leaves pair search and the novelty reference set.")
	return nil
}

// Evaluate re-scores the SNO with the configured weights against the current population and stores the
// result (operators only).
func (h *Handler) Evaluate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, _ := session.FromContext(ctx)
	id := r.PathValue("id")
	before, err := h.Store.GetSNO(ctx, s.Project, id)
	if cns.ErrorCode(err) == cns.ENOTFOUND {
		return ui.NotFound("SNO " + strconv.Quote(id))
	}
	if err != nil {
		return fmt.Errorf("get sno: %w", err)
	}
	sno, _, err := h.Engine.Evaluate(ctx, s.Project, id, "")
	if err != nil {
		return fmt.Errorf("re-score sno: %w", err)
	}
	h.Log.Info("sno re-scored from the dashboard", zap.String("project", s.Project), zap.String("sno_id", sno.ID), zap.String("by", s.Subject))
	h.Done(w, r, "/snos/"+url.PathEscape(sno.ID), fmt.Sprintf("Re-scored against the current population: trust %s → %s.", ui.Score(before.Trust), ui.Score(sno.Trust)))
	return nil
}
