package server

import (
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/cns-dev/cns"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
)

// FuzzSubmitNarrative feeds arbitrary protobuf bytes through the request decoding and validation path of
// SubmitNarrative: it must never panic, reject with EINVALID and field violations, or accept a graph that
// validates and respects the limits.
func FuzzSubmitNarrative(f *testing.F) {
	seeds := []*cnsv1.SubmitNarrativeRequest{
		{Hypothesis: "Exercise improves sleep.", Claims: []*cnsv1.Claim{{ClaimId: "c1", Text: "Trials show deeper sleep."}},
			Edges:    []*cnsv1.Edge{{From: "c1", To: "root", Relation: cnsv1.Relation_RELATION_SUPPORTS}},
			Evidence: []*cnsv1.Evidence{{SourceId: "doi:10.1/x", Content: "deeper sleep", SupportsClaimIds: []string{"c1"}}}},
		{Hypothesis: "A", Claims: []*cnsv1.Claim{{ClaimId: "a", Text: "x"}, {ClaimId: "b", Text: "y"}},
			Edges: []*cnsv1.Edge{{From: "a", To: "b", Relation: 1}, {From: "b", To: "a", Relation: 2}}},
		{Hypothesis: "", Evidence: []*cnsv1.Evidence{{Content: "no id"}}},
		{Hypothesis: "H", Edges: []*cnsv1.Edge{{From: "root", To: "ghost", Relation: 99, Strength: 2}}},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	limits := cns.DefaultLimits()
	limits.MaxClaims, limits.MaxEdges, limits.MaxEvidence = 16, 32, 16
	f.Fuzz(func(t *testing.T, b []byte) {
		var req cnsv1.SubmitNarrativeRequest
		if proto.Unmarshal(b, &req) != nil {
			return // Connect answers InvalidArgument before the handler runs
		}
		g, ev, err := cns.BuildNarrative(*narrativeFromProto(&req), limits)
		if err != nil {
			var de *cns.Error
			if !asErr(err, &de) || de.Code != cns.EINVALID || len(de.Violations) == 0 {
				t.Fatalf("want EINVALID with violations, got %v", err)
			}
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("accepted graph does not validate: %v", err)
		}
		if len(g.Claims) > limits.MaxClaims+1 || len(g.Edges) > limits.MaxEdges || len(ev) > limits.MaxEvidence {
			t.Fatalf("limits exceeded: %d claims, %d edges, %d evidence", len(g.Claims), len(g.Edges), len(ev))
		}
		for _, e := range ev {
			if e.ID == "" || !utf8.ValidString(e.ID) {
				t.Fatalf("evidence without canonical id: %+v", e)
			}
		}
	})
}
