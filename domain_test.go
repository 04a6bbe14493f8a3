package cns_test

import (
	"strings"
	"testing"

	"github.com/cns-dev/cns"
)

func TestGraphRejectsCycles(t *testing.T) {
	t.Parallel()
	g := cns.NewGraph("H")
	for _, id := range []string{"a", "b", "c"} {
		if err := g.AddClaim(cns.Claim{ID: id, Text: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []cns.Edge{{From: "a", To: "b", Relation: cns.RelationSupports, Strength: 1}, {From: "b", To: "c", Relation: cns.RelationImplies, Strength: 1}} {
		if err := g.AddEdge(e); err != nil {
			t.Fatal(err)
		}
	}
	bad := []cns.Edge{
		{From: "c", To: "a", Relation: cns.RelationSupports, Strength: 1}, // closes a → b → c → a
		{From: "a", To: "a", Relation: cns.RelationSupports, Strength: 1}, // self loop
		{From: "a", To: "ghost", Relation: cns.RelationSupports, Strength: 1},
		{From: "a", To: "c", Relation: cns.RelationUnspecified, Strength: 1},
		{From: "a", To: "c", Relation: cns.RelationSupports, Strength: 1.5},
		{From: "a", To: "b", Relation: cns.RelationWeakens, Strength: 1}, // duplicate pair
	}
	for _, e := range bad {
		if err := g.AddEdge(e); cns.ErrorCode(err) != cns.EINVALID {
			t.Errorf("edge %+v: want EINVALID, got %v", e, err)
		}
	}
	if len(g.Edges) != 2 {
		t.Fatalf("a rejected edge changed the graph: %v", g.Edges)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	g.Edges = append(g.Edges, cns.Edge{From: "c", To: "a", Relation: cns.RelationSupports, Strength: 1})
	if err := g.Validate(); cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("Validate missed a cycle: %v", err)
	}
}

func TestCanonicalEvidenceID(t *testing.T) {
	t.Parallel()
	same := [][]string{
		{"10.1000/ABC.1", "doi:10.1000/abc.1", "https://doi.org/10.1000/abc.1", "https://dx.doi.org/10.1000%2Fabc.1", "DOI: 10.1000/abc.1."},
		{"https://www.Example.org/a/?utm_source=x&b=2&a=1#frag", "http://example.org:80/a?a=1&b=2", "https://example.org/a?b=2&a=1"},
		{"PMID 12345", "pmid   12345", " PMID 12345 "},
	}
	for _, group := range same {
		want := cns.CanonicalEvidenceID(group[0], "")
		for _, s := range group[1:] {
			if got := cns.CanonicalEvidenceID(s, "ignored"); got != want {
				t.Errorf("%q → %q, want %q (as %q)", s, got, want, group[0])
			}
		}
	}
	if a, b := cns.CanonicalEvidenceID("", "Same  text"), cns.CanonicalEvidenceID("", "same text"); a != b || !strings.HasPrefix(a, "sha256:") {
		t.Errorf("content fallback: %q vs %q", a, b)
	}
	if cns.CanonicalEvidenceID("", "") != "" {
		t.Error("empty evidence has an id")
	}
	if d := cns.NormalizeDOI("10.1234/x%00y"); d != "10.1234/x%00y" || cns.NormalizeDOI(d) != d {
		t.Errorf("NormalizeDOI decoded a control byte or is not idempotent: %q", d)
	}
}

func TestBuildNarrativeReportsEveryViolation(t *testing.T) {
	t.Parallel()
	in := cns.NarrativeInput{
		Hypothesis: "",
		Claims:     []cns.Claim{{ID: "a", Text: "A"}, {ID: "a", Text: "dup"}, {ID: "root", Text: "x"}, {ID: "b", Text: ""}},
		Edges: []cns.Edge{
			{From: "a", To: "b", Relation: cns.RelationSupports},
			{From: "b", To: "a", Relation: cns.RelationSupports},
			{From: "a", To: "nope", Relation: cns.RelationSupports},
			{From: "a", To: "root", Relation: cns.Relation(9)},
		},
		Evidence: []cns.Evidence{{Content: "no id"}, {SourceID: "doi:10.1000/x", SupportsClaimIDs: []string{"zzz"}}, {SourceID: "https://doi.org/10.1000/X"}},
	}
	_, _, err := cns.BuildNarrative(in, cns.DefaultLimits())
	var de *cns.Error
	if !asError(err, &de) || de.Code != cns.EINVALID {
		t.Fatalf("want EINVALID, got %v", err)
	}
	fields := map[string]bool{}
	for _, v := range de.Violations {
		fields[v.Field] = true
	}
	for _, f := range []string{"hypothesis", "claims[1].claimId", "claims[2].claimId", "claims[3].text", "edges[1]", "edges[2].to",
		"edges[3].relation", "evidence[0].evidenceId", "evidence[1].supportsClaimIds[0]", "evidence[2].sourceId"} {
		if !fields[f] {
			t.Errorf("no violation for %s in %v", f, de.Violations)
		}
	}
}

func TestValidateDocument(t *testing.T) {
	t.Parallel()
	l := cns.DefaultLimits()
	l.MaxDocumentBytes = 10
	for _, text := range []string{"", "  ", "\xff\xfe", "01234567890", "a\x00b"} {
		if err := cns.ValidateDocument(cns.DocumentInput{Text: text}, l); cns.ErrorCode(err) != cns.EINVALID {
			t.Errorf("%q: want EINVALID, got %v", text, err)
		}
	}
	if err := cns.ValidateDocument(cns.DocumentInput{Text: "ok text"}, l); err != nil {
		t.Fatal(err)
	}
}

func asError(err error, target **cns.Error) bool {
	e, ok := err.(*cns.Error)
	if ok {
		*target = e
	}
	return ok
}
