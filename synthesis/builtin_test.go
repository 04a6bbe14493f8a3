package synthesis_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/synthesis"
)

func TestStrategy(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		c, e float64
		want string
	}{
		{0.9, 0.8, synthesis.StrategyDialectical},
		{0.81, 0.71, synthesis.StrategyDialectical},
		{0.8, 0.9, synthesis.StrategyEvidential}, // C > 0.8 is strict
		{0.6, 0.85, synthesis.StrategyEvidential},
		{0.55, 0.5, synthesis.StrategyComplementary},
		{0.2, 0.9, synthesis.StrategyComplementary}, // evidential needs C > 0.5
		{0.7, 0.5, synthesis.StrategyTranscendent},
		{0.9, 0.7, synthesis.StrategyTranscendent}, // E > 0.7 is strict
	} {
		if got := synthesis.Strategy(c.c, c.e); got != c.want {
			t.Errorf("Strategy(%v, %v) = %s, want %s", c.c, c.e, got, c.want)
		}
	}
}

// parents returns two narratives with premises, a negative premise, shared and own evidence.
func parents() (*cns.SNO, *cns.SNO, cns.Pair) {
	a := &cns.SNO{ID: "sno_a", Project: "p", Hypothesis: "Regular exercise improves sleep quality in older adults.",
		Graph: cns.Graph{
			Claims: []cns.Claim{{ID: "root", Text: "Regular exercise improves sleep quality in older adults."},
				{ID: "c1", Text: "A randomized trial found better sleep after six months of exercise."},
				{ID: "c2", Text: "Exercise lowers evening cortisol."},
				{ID: "c3", Text: "Some participants dropped out."},
				{ID: "c4", Text: "Sleep diaries are subjective."}},
			Edges: []cns.Edge{{From: "c1", To: "root", Relation: cns.RelationSupports, Strength: 0.9},
				{From: "c2", To: "root", Relation: cns.RelationExplains, Strength: 0.6},
				{From: "c3", To: "root", Relation: cns.RelationWeakens, Strength: 0.3},
				{From: "c4", To: "c1", Relation: cns.RelationWeakens, Strength: 0.4}},
		},
		Evidence: []cns.Evidence{
			{ID: "doi:10.1/trial", SourceID: "10.1/trial", Content: "Exercise improved sleep.", Confidence: 1, SupportsClaimIDs: []string{"c1", "root"}},
			{ID: "doi:10.1/cortisol", SourceID: "10.1/cortisol", Content: "Cortisol fell.", Confidence: 1, SupportsClaimIDs: []string{"c2"}},
		},
	}
	b := &cns.SNO{ID: "sno_b", Project: "p", Hypothesis: "Regular exercise does not improve sleep quality in older adults.",
		Graph: cns.Graph{
			Claims: []cns.Claim{{ID: "root", Text: "Regular exercise does not improve sleep quality in older adults."},
				{ID: "c1", Text: "A large cohort found no difference in sleep."}},
			Edges: []cns.Edge{{From: "c1", To: "root", Relation: cns.RelationSupports, Strength: 0.8}},
		},
		Evidence: []cns.Evidence{
			{ID: "doi:10.1/trial", SourceID: "10.1/trial", Content: "Exercise improved sleep.", Confidence: 1},
			{ID: "url:https://example.org/cohort", SourceID: "https://example.org/cohort", Content: "No difference.", Confidence: 1, SupportsClaimIDs: []string{"c1"}},
		},
	}
	p := cns.Pair{Project: "p", A: "sno_a", B: "sno_b", Chirality: 0.9, Entanglement: 1.0 / 3, SharedEvidenceIDs: []string{"doi:10.1/trial"},
		ConflictPoints: []cns.ConflictPoint{
			{ClaimA: "root", ClaimB: "root", TextA: a.Hypothesis, TextB: b.Hypothesis, Contradiction: 0.9},
			{ClaimA: "c4", ClaimB: "c1", TextA: "Sleep diaries are subjective.", TextB: "A large cohort found no difference in sleep.", Contradiction: 0.6},
			{ClaimA: "gone", ClaimB: "c1", Contradiction: 0.7}, // a claim the parent no longer has: skipped
		}}
	return a, b, p
}

func TestBuiltin(t *testing.T) {
	t.Parallel()
	a, b, p := parents()
	var s cns.Synthesizer = synthesis.Builtin{}
	if s.Name() != "synthesis/builtin@1" {
		t.Fatalf("Name = %s", s.Name())
	}
	out, err := s.Synthesize(context.Background(), cns.SynthesisRequest{A: a, B: b, Pair: p})
	if err != nil {
		t.Fatal(err)
	}
	if out.Strategy != synthesis.StrategyTranscendent { // C 0.9 but E 1/3
		t.Fatalf("strategy = %s", out.Strategy)
	}
	// The hypothesis states both positions and the condition of each (their strongest premise).
	h := out.Hypothesis
	for _, want := range []string{"Regular exercise improves sleep quality", "does not improve sleep quality",
		"a randomized trial found better sleep after six months of exercise", "a large cohort found no difference in sleep"} {
		if !strings.Contains(h, want) {
			t.Errorf("hypothesis lacks %q: %s", want, h)
		}
	}
	if err := out.Graph.Validate(); err != nil {
		t.Fatalf("graph: %v", err)
	}
	if root, _ := out.Graph.Claim(cns.RootClaimID); root.Text != h {
		t.Fatalf("root claim %q is not the hypothesis", root.Text)
	}
	ids := func() []string {
		var out2 []string
		for _, c := range out.Graph.Claims {
			out2 = append(out2, c.ID)
		}
		return out2
	}()
	// Kept: each hypothesis, the two strongest positive premises of a (c1 0.9, c2 0.6; not the weakening
	// c3), b's premise, the conflicting c4 of a; two resolution claims (the third point is skipped).
	want := []string{"root", "a.root", "a.c1", "a.c2", "b.root", "b.c1", "r1", "a.c4", "r2"}
	if !slices.Equal(ids, want) {
		t.Fatalf("claims = %v, want %v", ids, want)
	}
	has := func(from, to string, rel cns.Relation) bool {
		for _, e := range out.Graph.Edges {
			if e.From == from && e.To == to && e.Relation == rel {
				return true
			}
		}
		return false
	}
	for _, e := range [][2]string{{"a.c1", "a.root"}, {"b.c1", "b.root"}, {"a.root", "r1"}, {"b.root", "r1"}, {"a.c4", "r2"},
		{"b.c1", "r2"}, {"r1", "root"}, {"r2", "root"}} {
		if !has(e[0], e[1], cns.RelationSupports) {
			t.Errorf("missing edge %s supports %s: %+v", e[0], e[1], out.Graph.Edges)
		}
	}
	if !has("a.c2", "a.root", cns.RelationExplains) {
		t.Error("the parent's own relation is not kept")
	}
	// No negative edge survives, so no claim argues both for and against the root.
	for _, e := range out.Graph.Edges {
		if e.Relation.Negative() {
			t.Errorf("negative edge kept: %+v", e)
		}
	}
	// Evidence: the union of both, shared included once, links mapped onto kept claims.
	var evIDs []string
	for _, e := range out.Evidence {
		evIDs = append(evIDs, e.ID)
	}
	if !slices.Equal(evIDs, []string{"doi:10.1/trial", "doi:10.1/cortisol", "url:https://example.org/cohort"}) {
		t.Fatalf("evidence = %v", evIDs)
	}
	if got := out.Evidence[0].SupportsClaimIDs; !slices.Equal(got, []string{"a.c1", "a.root"}) {
		t.Fatalf("shared evidence links = %v", got)
	}
	if out.Rationale == "" || out.TokensUsed != 0 {
		t.Fatalf("rationale %q tokens %d", out.Rationale, out.TokensUsed)
	}

	// Deterministic: the same pair gives the same synthesis.
	again, err := s.Synthesize(context.Background(), cns.SynthesisRequest{A: a, B: b, Pair: p})
	if err != nil || !reflect.DeepEqual(out, again) {
		t.Fatal("two syntheses of the same pair differ")
	}
}

func TestBuiltinWithoutPremisesOrConflicts(t *testing.T) {
	t.Parallel()
	a := &cns.SNO{ID: "a", Hypothesis: "Statins lower LDL cholesterol.", Graph: cns.NewGraph("Statins lower LDL cholesterol."),
		Evidence: []cns.Evidence{{ID: "doi:1"}, {ID: "doi:2"}}}
	b := &cns.SNO{ID: "b", Hypothesis: "Statins raise LDL cholesterol.", Graph: cns.Graph{}, Evidence: []cns.Evidence{{ID: "doi:1"}}}
	for _, pr := range []cns.Pair{
		{Chirality: 0.95, Entanglement: 0.9, SharedEvidenceIDs: []string{"doi:1"}},
		{Chirality: 0.55, Entanglement: 0.9, SharedEvidenceIDs: []string{"doi:1"}},
		{Chirality: 0.3, Entanglement: 0.5, SharedEvidenceIDs: []string{"doi:1"}},
		{Chirality: 0.7, Entanglement: 0.5, SharedEvidenceIDs: []string{"doi:1"}},
	} {
		out, err := synthesis.Builtin{}.Synthesize(context.Background(), cns.SynthesisRequest{A: a, B: b, Pair: pr})
		if err != nil {
			t.Fatal(err)
		}
		if err := out.Graph.Validate(); err != nil {
			t.Fatalf("%s: %v", out.Strategy, err)
		}
		if !strings.Contains(out.Hypothesis, "the evidence only it cites applies (doi:2)") || !strings.Contains(out.Hypothesis, "its reading of the shared evidence") {
			t.Fatalf("%s: conditions without premises: %s", out.Strategy, out.Hypothesis)
		}
		if _, ok := out.Graph.Claim("r1"); !ok {
			t.Fatalf("%s: no resolution claim for the hypotheses", out.Strategy)
		}
	}
	if _, err := (synthesis.Builtin{}).Synthesize(context.Background(), cns.SynthesisRequest{A: a}); cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("one parent: %v", err)
	}
}

func TestBuiltinBoundsLongParents(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("très long énoncé ", 300)
	a := &cns.SNO{ID: "a", Hypothesis: long, Graph: cns.NewGraph(long)}
	b := &cns.SNO{ID: "b", Hypothesis: long + "not", Graph: cns.NewGraph(long)}
	out, err := synthesis.Builtin{}.Synthesize(context.Background(), cns.SynthesisRequest{A: a, B: b})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.Hypothesis); n > cns.DefaultLimits().MaxHypothesisBytes {
		t.Fatalf("hypothesis is %d bytes", n)
	}
	if !strings.Contains(out.Hypothesis, "…") {
		t.Fatal("long parents are not shortened")
	}
}
