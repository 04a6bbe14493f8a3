package relation_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/relation"
)

func ev(ids ...string) []cns.Evidence {
	out := make([]cns.Evidence, len(ids))
	for i, id := range ids {
		out[i] = cns.Evidence{ID: id}
	}
	return out
}

func TestEntanglement(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b   []cns.Evidence
		want   float64
		shared []string
	}{
		{ev("x", "y", "z"), ev("y", "z", "w"), 0.5, []string{"y", "z"}},
		{ev("x"), ev("x"), 1, []string{"x"}},
		{ev("x"), ev("y"), 0, nil},
		{nil, nil, 0, nil},
		{ev("x", ""), ev("x", ""), 1, []string{"x"}},     // empty ids are not evidence
		{ev("x", "x", "y"), ev("x"), 0.5, []string{"x"}}, // sets, not lists
	}
	for _, c := range cases {
		got, shared := relation.Entanglement(c.a, c.b)
		if got != c.want || !slices.Equal(shared, c.shared) {
			t.Errorf("Entanglement(%v, %v) = %v %v, want %v %v", c.a, c.b, got, shared, c.want, c.shared)
		}
	}
}

func TestPotential(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ c, e, want float64 }{
		{1, 1, 1.2},
		{0, 1, 0},
		{0.5, 1, math.Sqrt(0.5) * 1.1},
		{0.25, 0.25, 0.25 * 1.2},
		{2, 1, 1.2}, // clipped to [0,1]
	} {
		if got := relation.Potential(c.c, c.e); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Potential(%v, %v) = %v, want %v", c.c, c.e, got, c.want)
		}
	}
	// Balanced beats lopsided at the same product.
	if relation.Potential(0.5, 0.5) <= relation.Potential(1, 0.25) {
		t.Error("a balanced pair does not outrank a lopsided one of the same C·E")
	}
}

func TestChiralityOf(t *testing.T) {
	t.Parallel()
	a := &cns.SNO{Embedding: []float32{1, 0}, Trust: 0.8}
	b := &cns.SNO{Embedding: []float32{0, 1}, Trust: 0.5}
	// cos 0: geometric term (1 − 0)/2 · 0.8 · 0.5 = 0.2.
	if got := relation.ChiralityOf(a, b, 0, 1, 1, 1); math.Abs(got-0.2) > 1e-12 {
		t.Fatalf("geometric term = %v, want 0.2", got)
	}
	// + λ·κ·((1 − μ) + μ·ε) = 0.5·0.8·(0.5 + 0.5·0.4) = 0.28.
	if got := relation.ChiralityOf(a, b, 0.8, 0.4, 0.5, 0.5); math.Abs(got-0.48) > 1e-12 {
		t.Fatalf("C = %v, want 0.48", got)
	}
	// μ = 0 ignores ε; the result is clipped to 1.
	if got := relation.ChiralityOf(a, b, 1, 0, 1, 0); got != 1 {
		t.Fatalf("C = %v, want 1 (clipped)", got)
	}
	// Opposite embeddings of fully trusted SNOs reach 1 from the geometric term alone.
	x := &cns.SNO{Embedding: []float32{1, 0}, Trust: 1}
	y := &cns.SNO{Embedding: []float32{-1, 0}, Trust: 1}
	if got := relation.ChiralityOf(x, y, 0, 1, 0, 0); got != 1 {
		t.Fatalf("opposite hypotheses: C = %v, want 1", got)
	}
}

func sno(id, h string, trust float64, evidence ...cns.Evidence) *cns.SNO {
	emb := nlp.NewHashedEmbedder(64)
	v, _ := emb.Embed(context.Background(), h)
	return &cns.SNO{ID: id, Project: "p", Hypothesis: h, Embedding: v, Trust: trust, Graph: cns.NewGraph(h), Evidence: evidence}
}

func TestMeasureWithTheLexicalNLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := relation.NewScorer(relation.DefaultConfig(), nlp.NewLexicalNLI())
	if err != nil {
		t.Fatal(err)
	}
	trial := cns.Evidence{ID: "doi:10.1/trial", Content: "In a randomized trial, regular exercise improved sleep quality in older adults. Dropout was low."}
	a := sno("sno_b", "Regular exercise improves sleep quality in older adults.", 0.7, trial, cns.Evidence{ID: "doi:10.1/other"})
	b := sno("sno_a", "Regular exercise does not improve sleep quality in older adults.", 0.6, trial)
	a.Graph.Claims = append(a.Graph.Claims, cns.Claim{ID: "c1", Text: "Dropout was low in the trial."})

	p, err := s.Measure(ctx, a, b, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.A != "sno_a" || p.B != "sno_b" {
		t.Fatalf("pair order = %s, %s; want sno_a < sno_b", p.A, p.B)
	}
	if p.Entanglement != 0.5 || !slices.Equal(p.SharedEvidenceIDs, []string{"doi:10.1/trial"}) {
		t.Fatalf("E = %v shared %v", p.Entanglement, p.SharedEvidenceIDs)
	}
	if p.Contradiction < 0.7 {
		t.Fatalf("κ of a claim and its negation = %v, want high", p.Contradiction)
	}
	if p.EvidenceEngagement < 0.5 {
		t.Fatalf("ε = %v: the trial sentence is about both hypotheses", p.EvidenceEngagement)
	}
	if p.Chirality < 0.4 || math.Abs(p.Potential-relation.Potential(p.Chirality, p.Entanglement)) > 1e-12 {
		t.Fatalf("C = %v, potential %v", p.Chirality, p.Potential)
	}
	if len(p.ConflictPoints) != 1 || p.ConflictPoints[0].ClaimA != cns.RootClaimID || p.ConflictPoints[0].ClaimB != cns.RootClaimID {
		t.Fatalf("conflict points = %+v, want the two hypotheses", p.ConflictPoints)
	}

	// The same two hypotheses over evidence that says nothing about them: ε discounts the NLI term.
	unrelated := cns.Evidence{ID: "doi:10.1/trial", Content: "Median household income rose in coastal counties. Rents followed."}
	a2, b2 := *a, *b
	a2.Evidence, b2.Evidence = []cns.Evidence{unrelated}, []cns.Evidence{unrelated}
	q, err := s.Measure(ctx, &a2, &b2, false)
	if err != nil {
		t.Fatal(err)
	}
	if q.EvidenceEngagement >= 0.2 || q.Chirality >= p.Chirality/2 {
		t.Fatalf("over unrelated evidence: ε = %v, C = %v (engaged: C = %v)", q.EvidenceEngagement, q.Chirality, p.Chirality)
	}
	// Without content ε cannot be judged and stays 1.
	a2.Evidence, b2.Evidence = ev("doi:10.1/trial"), ev("doi:10.1/trial")
	if r, err := s.Measure(ctx, &a2, &b2, false); err != nil || r.EvidenceEngagement != 1 {
		t.Fatalf("ε without content = %v, %v; want 1", r.EvidenceEngagement, err)
	}
	// μ = 0: the engagement is not even computed.
	cfg := relation.DefaultConfig()
	cfg.EngagementWeight = 0
	s0, _ := relation.NewScorer(cfg, nlp.NewLexicalNLI())
	a2.Evidence, b2.Evidence = []cns.Evidence{unrelated}, []cns.Evidence{unrelated}
	if r, err := s0.Measure(ctx, &a2, &b2, false); err != nil || r.EvidenceEngagement != 1 || r.Chirality < p.Chirality-0.2 {
		t.Fatalf("μ = 0: ε %v C %v, %v", r.EvidenceEngagement, r.Chirality, err)
	}
}

func TestConflictPointsBounded(t *testing.T) {
	t.Parallel()
	cfg := relation.DefaultConfig()
	cfg.MaxConflictPoints = 2
	s, _ := relation.NewScorer(cfg, nlp.NewLexicalNLI())
	a := sno("a", "Coffee raises blood pressure.", 0.5)
	b := sno("b", "Coffee lowers blood pressure.", 0.5)
	for _, id := range []string{"c1", "c2", "c3"} {
		a.Graph.Claims = append(a.Graph.Claims, cns.Claim{ID: id, Text: "Caffeine increases heart rate."})
		b.Graph.Claims = append(b.Graph.Claims, cns.Claim{ID: id, Text: "Caffeine decreases heart rate."})
	}
	cps, err := s.ConflictPoints(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 2 {
		t.Fatalf("%d conflict points, want the limit 2", len(cps))
	}
	if cps[0].Contradiction < cps[1].Contradiction || cps[1].Contradiction < cfg.ConflictThreshold {
		t.Fatalf("conflict points not strongest first above the threshold: %+v", cps)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	bad := relation.Config{MinChirality: 2, MinEntanglement: -1, NLIWeight: math.NaN(), EngagementWeight: 0.5, MaxConflictPoints: -1}
	err := bad.Validate()
	if cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("Validate: %v", err)
	}
	for _, f := range []string{"min_chirality", "min_entanglement", "nli_weight", "max_conflict_points"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s not reported: %v", f, err)
		}
	}
	if _, err := relation.NewScorer(relation.DefaultConfig(), nil); cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("NewScorer without NLI: %v", err)
	}
}

func TestSentences(t *testing.T) {
	t.Parallel()
	got := relation.Sentences("First one. Second one? 3 more! e.g. lower case stays.\nNew line", 10)
	want := []string{"First one.", "Second one?", "3 more! e.g. lower case stays.", "New line"}
	if !slices.Equal(got, want) {
		t.Fatalf("Sentences = %q, want %q", got, want)
	}
	if got := relation.Sentences("A. B. C. D.", 2); len(got) != 2 {
		t.Fatalf("max 2: %q", got)
	}
}

func TestRelated(t *testing.T) {
	t.Parallel()
	p := &cns.SNO{ID: "p"}
	child := &cns.SNO{ID: "c", Lineage: cns.Lineage{Parents: []string{"p", "q"}}}
	if !relation.Related(p, child) || !relation.Related(child, p) || relation.Related(p, &cns.SNO{ID: "x"}) {
		t.Fatal("Related")
	}
}
