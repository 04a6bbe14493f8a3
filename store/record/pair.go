package record

import (
	"fmt"
	"time"

	"github.com/cns-dev/cns"
)

// synthesisRecord is the input of a synthesize_pair job.
type synthesisRecord struct {
	A         string `json:"a"`
	B         string `json:"b"`
	Generator string `json:"generator"`
	Auto      bool   `json:"auto,omitempty"`
}

// pairRecord is the stored form of a cns.Pair.
type pairRecord struct {
	Schema         int                   `json:"schema"`
	Project        string                `json:"project"`
	A              string                `json:"a"`
	B              string                `json:"b"`
	Chirality      float64               `json:"chirality"`
	Entanglement   float64               `json:"entanglement"`
	Potential      float64               `json:"potential"`
	Contradiction  float64               `json:"contradiction"`
	Engagement     float64               `json:"engagement"`
	SharedEvidence []string              `json:"shared_evidence,omitempty"`
	ConflictPoints []conflictPointRecord `json:"conflict_points,omitempty"`
	UpdatedAt      time.Time             `json:"updated_at,omitzero"`
}

type conflictPointRecord struct {
	ClaimA        string  `json:"claim_a"`
	ClaimB        string  `json:"claim_b"`
	TextA         string  `json:"text_a,omitempty"`
	TextB         string  `json:"text_b,omitempty"`
	Contradiction float64 `json:"contradiction"`
}

// EncodePair returns the record of a pair.
func EncodePair(p *cns.Pair) ([]byte, error) {
	r := pairRecord{
		Schema: recordSchema, Project: p.Project, A: p.A, B: p.B,
		Chirality: p.Chirality, Entanglement: p.Entanglement, Potential: p.Potential, Contradiction: p.Contradiction,
		Engagement: p.EvidenceEngagement, SharedEvidence: p.SharedEvidenceIDs, UpdatedAt: p.UpdatedAt,
	}
	for _, c := range p.ConflictPoints {
		r.ConflictPoints = append(r.ConflictPoints, conflictPointRecord{ClaimA: c.ClaimA, ClaimB: c.ClaimB,
			TextA: c.TextA, TextB: c.TextB, Contradiction: c.Contradiction})
	}
	return marshal(&r)
}

// DecodePair reads a pair record.
func DecodePair(b []byte) (*cns.Pair, error) {
	var r pairRecord
	if err := unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode pair record: %w", err)
	}
	if err := checkSchema("pair", r.Schema); err != nil {
		return nil, err
	}
	p := &cns.Pair{
		Project: r.Project, A: r.A, B: r.B,
		Chirality: r.Chirality, Entanglement: r.Entanglement, Potential: r.Potential, Contradiction: r.Contradiction,
		EvidenceEngagement: r.Engagement, SharedEvidenceIDs: r.SharedEvidence, UpdatedAt: r.UpdatedAt,
	}
	for _, c := range r.ConflictPoints {
		p.ConflictPoints = append(p.ConflictPoints, cns.ConflictPoint{ClaimA: c.ClaimA, ClaimB: c.ClaimB,
			TextA: c.TextA, TextB: c.TextB, Contradiction: c.Contradiction})
	}
	return p, nil
}
