package snos

import (
	"github.com/cns-dev/cns/web/chart"
	"github.com/cns-dev/cns/web/ui"
)

// ListModel is the view model of the SNO table.
type ListModel struct {
	Shell    ui.Shell
	Filter   Filter
	Statuses []Option
	Rows     []Row
	First    string // link to the first page ("" on it)
	Next     string // link to the next page ("" on the last)
	Note     string // e.g. how many SNOs a text search looked through
	Semantic bool   // rows come from semantic search (ranked by similarity, no pages)
}

// Filter is the filter form's state.
type Filter struct {
	Status   string
	Min, Max string
	Query    string
	Mode     string // "text" or "semantic"
	Evidence string
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// Row is one SNO in the table.
type Row struct {
	ID         string
	Href       string
	Hypothesis string
	Trust      string
	TrustBar   chart.Bar
	Status     string
	Grounding  string
	Logic      string
	Novelty    string
	Claims     int
	Evidence   int
	Created    string
	Similarity string // semantic search only
	trust      float64
}

// DetailModel is the view model of one SNO.
type DetailModel struct {
	Shell      ui.Shell
	ID         string
	Hypothesis string
	Status     string
	Trust      string
	TrustBar   chart.Bar
	Critics    []CriticRow
	Graph      chart.Graph
	Claims     []ClaimRow
	Edges      []EdgeRow
	Evidence   []EvidenceRow
	Lineage    Lineage
	Partners   []PartnerRow
	// PartnersNote explains an empty partner list honestly (none found, or pair discovery not built).
	PartnersNote string
	Source       string
	JobHref      string
	JobID        string
	Created      string
	Updated      string
	Metadata     []KV
	Presets      []Option
	WhatIf       *WhatIf
	CanOperate   bool
	Archived     bool
}

// CriticRow is one critic's judgement.
type CriticRow struct {
	Name        string
	Score       string
	Bar         chart.Bar
	Confidence  string
	Weight      string
	Explanation string
	Sub         []KV
}

// KV is a labelled value.
type KV struct {
	Key, Value string
}

// ClaimRow is one claim of the reasoning graph.
type ClaimRow struct {
	ID, Text string
	Root     bool
}

// EdgeRow is one typed edge.
type EdgeRow struct {
	From, To, Relation, Strength string
}

// EvidenceRow is one evidence item.
type EvidenceRow struct {
	ID         string
	Source     string
	Href       string // a link to the source when it is a DOI or a web address
	Content    string
	Confidence string
	Supports   string
}

// Lineage says where the SNO came from.
type Lineage struct {
	Strategy     string
	Generator    string
	Parents      []Link
	Chirality    string
	Entanglement string
	Synthesis    bool
}

// Link is a labelled link.
type Link struct {
	Href, Label string
}

// PartnerRow is one chiral partner of the SNO.
type PartnerRow struct {
	Href, ID, Hypothesis string
	Chirality            string
	Entanglement         string
	Potential            string
	Shared               int
	SynthesisHref        string
}

// WhatIf is the SNO re-scored with a preset's weights, not stored.
type WhatIf struct {
	Preset  string
	Trust   string
	Delta   string
	Critics []CriticRow
}
