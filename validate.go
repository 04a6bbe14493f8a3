package cns

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits bound what one request may carry. They are configuration (limits.* keys).
type Limits struct {
	MaxDocumentBytes   int // raw document text; default 1 MiB
	MaxHypothesisBytes int
	MaxClaimBytes      int
	MaxClaims          int
	MaxEdges           int
	MaxEvidence        int
	MaxEvidenceBytes   int // one evidence item's content
	MaxMetadata        int // entries
	MaxIDBytes         int // client ids, sources, idempotency keys
}

// DefaultLimits are the limits used when configuration sets none.
func DefaultLimits() Limits {
	return Limits{
		MaxDocumentBytes:   1 << 20,
		MaxHypothesisBytes: 4 << 10,
		MaxClaimBytes:      4 << 10,
		MaxClaims:          256,
		MaxEdges:           1024,
		MaxEvidence:        256,
		MaxEvidenceBytes:   64 << 10,
		MaxMetadata:        64,
		MaxIDBytes:         512,
	}
}

func checkText(v *Violations, field, s string, max int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.Add(field, "must not be empty")
	case !utf8.ValidString(s):
		v.Add(field, "must be valid UTF-8")
	case len(s) > max:
		v.Add(field, "is %d bytes, the limit is %d", len(s), max)
	case !isPrintable(s):
		v.Add(field, "must not contain control characters")
	}
}

func checkMetadata(v *Violations, md map[string]string, l Limits) {
	if len(md) > l.MaxMetadata {
		v.Add("metadata", "has %d entries, the limit is %d", len(md), l.MaxMetadata)
		return
	}
	for k, val := range md {
		if k == "" || !utf8.ValidString(k) || len(k) > l.MaxIDBytes {
			v.Add("metadata", "key %q must be non-empty valid UTF-8 of at most %d bytes", truncate(k, 40), l.MaxIDBytes)
		}
		if !utf8.ValidString(val) || len(val) > l.MaxClaimBytes {
			v.Add(fmt.Sprintf("metadata[%q]", truncate(k, 40)), "must be valid UTF-8 of at most %d bytes", l.MaxClaimBytes)
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ValidateDocument checks a raw document, reporting every problem at once as EINVALID with field
// violations named as in the API's JSON (text, source, metadata).
func ValidateDocument(in DocumentInput, l Limits) error {
	var v Violations
	checkText(&v, "text", in.Text, l.MaxDocumentBytes, true)
	checkText(&v, "source", in.Source, l.MaxIDBytes, false)
	checkMetadata(&v, in.Metadata, l)
	return v.Err("invalid document")
}

// BuildNarrative validates a structured submission and returns its reasoning graph and canonical evidence
// set. Every problem is reported at once (EINVALID with field violations); nothing partial is returned.
// Edges with Strength 0 get strength 1 (the API's default for an omitted strength).
func BuildNarrative(in NarrativeInput, l Limits) (Graph, []Evidence, error) {
	var v Violations
	if len(in.Claims) > l.MaxClaims {
		v.Add("claims", "has %d claims, the limit is %d", len(in.Claims), l.MaxClaims)
	}
	if len(in.Edges) > l.MaxEdges {
		v.Add("edges", "has %d edges, the limit is %d", len(in.Edges), l.MaxEdges)
	}
	if len(in.Evidence) > l.MaxEvidence {
		v.Add("evidence", "has %d items, the limit is %d", len(in.Evidence), l.MaxEvidence)
	}
	if len(v) > 0 {
		// Oversized lists are not inspected item by item: the caller gets the size problem at once.
		return Graph{}, nil, v.Err("invalid narrative")
	}
	checkText(&v, "hypothesis", in.Hypothesis, l.MaxHypothesisBytes, true)
	checkMetadata(&v, in.Metadata, l)

	g := NewGraph(in.Hypothesis)
	for i, c := range in.Claims {
		f := fmt.Sprintf("claims[%d]", i)
		switch {
		case c.ID == "":
			v.Add(f+".claimId", "must not be empty")
		case !utf8.ValidString(c.ID) || len(c.ID) > l.MaxIDBytes:
			v.Add(f+".claimId", "must be valid UTF-8 of at most %d bytes", l.MaxIDBytes)
		case c.ID == RootClaimID:
			v.Add(f+".claimId", "%q is reserved for the hypothesis", RootClaimID)
		default:
			if _, dup := g.Claim(c.ID); dup {
				v.Add(f+".claimId", "duplicate claim id %q", truncate(c.ID, 40))
			}
		}
		checkText(&v, f+".text", c.Text, l.MaxClaimBytes, true)
		if c.ID != "" && c.ID != RootClaimID {
			if _, dup := g.Claim(c.ID); !dup {
				g.Claims = append(g.Claims, c)
			}
		}
	}
	for i, e := range in.Edges {
		f := fmt.Sprintf("edges[%d]", i)
		if e.Strength == 0 {
			e.Strength = 1
		}
		ok := true
		if _, found := g.Claim(e.From); !found {
			v.Add(f+".from", "unknown claim id %q", truncate(e.From, 40))
			ok = false
		}
		if _, found := g.Claim(e.To); !found {
			v.Add(f+".to", "unknown claim id %q", truncate(e.To, 40))
			ok = false
		}
		if !e.Relation.Valid() {
			v.Add(f+".relation", "must be one of RELATION_SUPPORTS … RELATION_GENERALIZES")
			ok = false
		}
		if e.Strength < 0 || e.Strength > 1 || e.Strength != e.Strength {
			v.Add(f+".strength", "must be in [0,1]")
			ok = false
		}
		if !ok {
			continue
		}
		if err := g.AddEdge(e); err != nil {
			v.Add(f, "%s", ErrorMessage(err))
		}
	}

	evidence := make([]Evidence, 0, len(in.Evidence))
	seen := map[string]int{}
	for i, e := range in.Evidence {
		f := fmt.Sprintf("evidence[%d]", i)
		ref := e.SourceID
		if strings.TrimSpace(ref) == "" {
			ref = e.ID
		}
		if strings.TrimSpace(ref) == "" {
			v.Add(f+".evidenceId", "evidence needs an evidenceId or a sourceId")
		} else if !utf8.ValidString(ref) || len(e.ID) > l.MaxIDBytes || len(e.SourceID) > l.MaxIDBytes {
			v.Add(f+".sourceId", "ids must be valid UTF-8 of at most %d bytes", l.MaxIDBytes)
		}
		checkText(&v, f+".content", e.Content, l.MaxEvidenceBytes, false)
		conf := e.Confidence
		if conf == 0 {
			conf = 1
		}
		if conf < 0 || conf > 1 || conf != conf {
			v.Add(f+".confidence", "must be in [0,1]")
		}
		for j, cid := range e.SupportsClaimIDs {
			if _, found := g.Claim(cid); !found {
				v.Add(fmt.Sprintf("%s.supportsClaimIds[%d]", f, j), "unknown claim id %q", truncate(cid, 40))
			}
		}
		if strings.TrimSpace(ref) == "" {
			continue
		}
		id := CanonicalEvidenceID(ref, e.Content)
		if prev, dup := seen[id]; dup {
			v.Add(f+".sourceId", "same source as evidence[%d] (%s)", prev, id)
			continue
		}
		seen[id] = i
		evidence = append(evidence, Evidence{ID: id, SourceID: strings.TrimSpace(e.SourceID), Content: e.Content,
			Confidence: conf, SupportsClaimIDs: append([]string(nil), e.SupportsClaimIDs...)})
		if e.SourceID == "" {
			evidence[len(evidence)-1].SourceID = strings.TrimSpace(e.ID)
		}
	}
	if err := v.Err("invalid narrative"); err != nil {
		return Graph{}, nil, err
	}
	return g, evidence, nil
}
