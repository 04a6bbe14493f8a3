// Package cns is the domain of the CNS 2.0 (Chiral Narrative Synthesis) service: Structured Narrative
// Objects (SNOs) with their reasoning graphs, evidence and trust scores, jobs, coded errors, and the small
// ports (Embedder, NLI, VectorIndex, Store) that adapters implement. It imports no adapter: the server,
// worker, store, bus and NLP backends all depend on it, never the other way round.
package cns

import (
	"maps"
	"math"
	"slices"
	"time"
)

// SchemaVersion is the version of the SNO record layout written by this build. Readers accept older
// versions and upgrade them in memory.
const SchemaVersion = 1

// Status is the lifecycle state of an SNO.
type Status int

// Statuses, numbered as in the API's enum.
const (
	StatusUnspecified Status = iota
	StatusActive             // admitted: listed, searched, part of pair search and the novelty reference set
	StatusReview             // waiting for a human decision
	StatusArchived           // readable, but out of pair search and the novelty reference set
	StatusRejected           // below the admission threshold; kept for explanation
)

var statusNames = [...]string{"unspecified", "active", "review", "archived", "rejected"}

func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "unknown"
	}
	return statusNames[s]
}

// Valid reports whether s is a real status.
func (s Status) Valid() bool { return s >= StatusActive && s <= StatusRejected }

// CriticScore is one critic's judgement of an SNO, kept with the SNO so every trust score is explainable.
type CriticScore struct {
	Name        string // "grounding", "logic", "novelty"
	Score       float64
	Confidence  float64
	Weight      float64 // the weight it had in the trust score
	Explanation string
	SubScores   map[string]float64
}

// Lineage records where an SNO came from: ingestion (no parents) or a synthesis of two parents.
type Lineage struct {
	Parents      []string
	Strategy     string // e.g. "ingest", "submit", "dialectical"
	Generator    string // e.g. "ingest/builtin@1", "synthesis/builtin@1"
	Chirality    float64
	Entanglement float64
}

// SNO is a Structured Narrative Object: hypothesis H (text and unit embedding), reasoning graph G,
// evidence set E and trust T with its critic breakdown.
type SNO struct {
	ID            string
	Project       string
	Hypothesis    string
	Embedding     []float32 // unit-normalised; dimension fixed by the embedder
	Graph         Graph
	Evidence      []Evidence
	Trust         float64 // in [0,1]; derived by the critics, never set by a client
	Critics       []CriticScore
	Status        Status
	Lineage       Lineage
	Source        string
	Metadata      map[string]string
	SchemaVersion int
	JobID         string // the job that produced it
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Clone returns a deep copy of s: nothing in it shares memory with s (nil and empty slices and maps stay
// as they are). Stores that keep decoded SNOs hand out clones, so a caller may change what it got.
func (s *SNO) Clone() *SNO {
	if s == nil {
		return nil
	}
	c := *s
	c.Embedding = slices.Clone(s.Embedding)
	c.Graph = Graph{Claims: slices.Clone(s.Graph.Claims), Edges: slices.Clone(s.Graph.Edges)}
	if s.Evidence != nil {
		c.Evidence = make([]Evidence, len(s.Evidence))
		for i, e := range s.Evidence {
			e.SupportsClaimIDs = slices.Clone(e.SupportsClaimIDs)
			c.Evidence[i] = e
		}
	}
	if s.Critics != nil {
		c.Critics = make([]CriticScore, len(s.Critics))
		for i, cs := range s.Critics {
			cs.SubScores = maps.Clone(cs.SubScores)
			c.Critics[i] = cs
		}
	}
	c.Lineage.Parents = slices.Clone(s.Lineage.Parents)
	c.Metadata = maps.Clone(s.Metadata)
	return &c
}

// Summary returns a deep copy of s without its embedding, reasoning graph and evidence — most of an
// SNO's size —, for listings that show the rest (the API's basic view).
func (s *SNO) Summary() *SNO {
	if s == nil {
		return nil
	}
	light := *s
	light.Embedding, light.Graph, light.Evidence = nil, Graph{}, nil
	return light.Clone()
}

// Critic returns the named critic score.
func (s *SNO) Critic(name string) (CriticScore, bool) {
	for _, c := range s.Critics {
		if c.Name == name {
			return c, true
		}
	}
	return CriticScore{}, false
}

// Normalize scales v to unit length in place and returns it; a zero vector stays zero.
func Normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// Cosine returns the cosine similarity of two vectors (0 if either is zero or their lengths differ).
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}
