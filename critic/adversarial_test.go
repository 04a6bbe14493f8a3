package critic_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
)

// floodRef is a population for flood detection: vectors, trust and source per id.
type floodRef struct {
	vecs   map[string][]float32
	trust  map[string]float64
	source map[string]string
}

func (r floodRef) ref() (critic.Reference, *fakeIndex) {
	idx := &fakeIndex{vecs: r.vecs}
	return critic.Reference{
		Index:    idx,
		TrustOf:  func(id string) (float64, bool) { t, ok := r.trust[id]; return t, ok },
		SourceOf: func(id string) (string, bool) { s, ok := r.source[id]; return s, ok },
	}, idx
}

// near99 has cosine 0.99 with {1, 0}: a near-duplicate at the default 0.95, one at 0.9 is not.
var (
	near99 = []float32{0.99, float32(math.Sqrt(1 - 0.99*0.99))}
	near90 = []float32{0.9, float32(math.Sqrt(1 - 0.9*0.9))}
)

func TestNoveltyFlooding(t *testing.T) {
	t.Parallel()
	const own = "url:https://bot.example"
	tests := []struct {
		name     string
		pop      floodRef
		mod      func(*critic.Config)
		nilSrc   bool // Reference without SourceOf
		flooding float64
		cluster  float64
		near     float64
		explain  string
	}{
		{
			name: "third near-duplicate from one source is flooding",
			pop: floodRef{vecs: map[string][]float32{"s1": {1, 0}, "s2": near99},
				trust: map[string]float64{"s1": 0.8, "s2": 0.8}, source: map[string]string{"s1": own, "s2": own}},
			flooding: 1, cluster: 3, near: 2,
			explain: "FLOODING: near-duplicate 3 of a cluster from source url:https://bot.example (cosine ≥ 0.95; already in the population: s1, s2)",
		},
		{
			name: "second is not yet",
			pop: floodRef{vecs: map[string][]float32{"s1": {1, 0}},
				trust: map[string]float64{"s1": 0.8}, source: map[string]string{"s1": own}},
			flooding: 0, cluster: 2, near: 1,
			explain: "1 near-duplicates (cosine ≥ 0.95), 1 from its own source url:https://bot.example: no flooding (flagged from 3)",
		},
		{
			name: "near-duplicates from other sources are corroboration",
			pop: floodRef{vecs: map[string][]float32{"o1": {1, 0}, "o2": {1, 0}, "o3": near99},
				trust:  map[string]float64{"o1": 0.8, "o2": 0.8, "o3": 0.8},
				source: map[string]string{"o1": "doi:10.1/a", "o2": "doi:10.1/b", "o3": critic.Unattributed}},
			flooding: 0, cluster: 1, near: 3,
		},
		{
			name: "below the similarity is not a copy",
			pop: floodRef{vecs: map[string][]float32{"s1": {1, 0}, "s2": near90},
				trust: map[string]float64{"s1": 0.8, "s2": 0.8}, source: map[string]string{"s1": own, "s2": own}},
			flooding: 0, cluster: 2, near: 1,
		},
		{
			name: "a lower similarity makes it one",
			pop: floodRef{vecs: map[string][]float32{"s1": {1, 0}, "s2": near90},
				trust: map[string]float64{"s1": 0.8, "s2": 0.8}, source: map[string]string{"s1": own, "s2": own}},
			mod:      func(c *critic.Config) { c.FloodSimilarity = 0.85 },
			flooding: 1, cluster: 3, near: 2,
		},
		{
			// The trust floor keeps weak SNOs out of novelty's reference set, not out of a flood: a copy
			// admitted with low trust is still a copy.
			name: "trust floor does not hide copies",
			pop: floodRef{vecs: map[string][]float32{"s1": {1, 0}, "s2": {1, 0}},
				trust: map[string]float64{"s1": 0.31, "s2": 0.31}, source: map[string]string{"s1": own, "s2": own}},
			mod:      func(c *critic.Config) { c.TrustFloor = 0.5 },
			flooding: 1, cluster: 3, near: 2,
		},
		{
			name: "own entry and stale entries do not count",
			pop: floodRef{vecs: map[string][]float32{"self": {1, 0}, "stale": {1, 0}, "nosource": {1, 0}, "s1": {1, 0}},
				trust:  map[string]float64{"self": 0.8, "nosource": 0.8, "s1": 0.8},
				source: map[string]string{"self": own, "stale": own, "s1": own}},
			flooding: 0, cluster: 2, near: 1,
		},
		{
			name: "a cluster of 2 flags the second copy",
			pop: floodRef{vecs: map[string][]float32{"s1": {1, 0}},
				trust: map[string]float64{"s1": 0.8}, source: map[string]string{"s1": own}},
			mod:      func(c *critic.Config) { c.FloodCluster = 2 },
			flooding: 1, cluster: 2, near: 1,
		},
		{
			name: "off at flood_cluster 0",
			pop: floodRef{vecs: map[string][]float32{"s1": {1, 0}, "s2": {1, 0}},
				trust: map[string]float64{"s1": 0.8, "s2": 0.8}, source: map[string]string{"s1": own, "s2": own}},
			mod: func(c *critic.Config) { c.FloodCluster = 0 },
		},
		{
			name: "off without SourceOf",
			pop: floodRef{vecs: map[string][]float32{"s1": {1, 0}, "s2": {1, 0}},
				trust: map[string]float64{"s1": 0.8, "s2": 0.8}, source: map[string]string{"s1": own, "s2": own}},
			nilSrc: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := critic.DefaultConfig()
			if tc.mod != nil {
				tc.mod(&cfg)
			}
			sno := snoOf(cns.NewGraph("H"), evidence("e1", "P", 1))
			sno.Source = "https://www.bot.example/"
			ref, _ := tc.pop.ref()
			off := tc.nilSrc || cfg.FloodCluster == 0
			if tc.nilSrc {
				ref.SourceOf = nil
			}
			e := newEvaluator(t, cfg, &fakeNLI{table: map[[2]string]cns.Entailment{{"P", "H"}: p(1, 0, 0)}})
			cs, err := e.Novelty(context.Background(), sno, ref)
			if err != nil {
				t.Fatal(err)
			}
			if off {
				if _, ok := cs.SubScores["flooding"]; ok {
					t.Fatalf("flood detection ran while off: %v", cs.SubScores)
				}
				return
			}
			checkSubs(t, cs, map[string]float64{"flooding": tc.flooding, "flood_cluster": tc.cluster, "near_duplicates": tc.near})
			if !strings.Contains(cs.Explanation, tc.explain) {
				t.Errorf("Explanation %q does not contain %q", cs.Explanation, tc.explain)
			}
			trust, _, err := e.Evaluate(context.Background(), sno, ref)
			if err != nil {
				t.Fatal(err)
			}
			// Grounding 1, logic 1 (low confidence), novelty 0: 0.4 + 0.3 = 0.7 unflagged.
			if tc.flooding == 1 {
				if cs.Score != 0 || trust != cfg.FloodTrustCap {
					t.Errorf("flooding: novelty %v, trust %v; want 0 and the cap %v", cs.Score, trust, cfg.FloodTrustCap)
				}
			} else if trust <= cfg.FloodTrustCap {
				t.Errorf("not flooding, yet trust %v is at or under the cap", trust)
			}
		})
	}
}

// Same-source copies ranked behind many near-duplicates of other sources are still found: the search
// widens past them.
func TestFloodSearchWidens(t *testing.T) {
	t.Parallel()
	pop := floodRef{vecs: map[string][]float32{}, trust: map[string]float64{}, source: map[string]string{}}
	for i := range 10 {
		id := fmt.Sprintf("o%02d", i)
		pop.vecs[id], pop.trust[id], pop.source[id] = []float32{1, 0}, 0.8, fmt.Sprintf("src:outlet %d", i)
	}
	for _, id := range []string{"s1", "s2"} {
		pop.vecs[id], pop.trust[id], pop.source[id] = near99, 0.8, critic.Unattributed
	}
	ref, idx := pop.ref()
	sno := snoOf(cns.NewGraph("H"))
	cs, err := newEvaluator(t, critic.DefaultConfig(), &fakeNLI{}).Novelty(context.Background(), sno, ref)
	if err != nil {
		t.Fatal(err)
	}
	checkSubs(t, cs, map[string]float64{"flooding": 1, "flood_cluster": 3, "near_duplicates": 12})
	// Novelty's own search (k = 6) serves flood detection first, then 12 covers the copies.
	if got := idx.searches; len(got) != 2 || got[0] != 6 || got[1] != 12 {
		t.Errorf("searches with k = %v, want [6 12]", got)
	}
}

func TestSourceKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sno  cns.SNO
		want string
	}{
		{"document source, canonical", cns.SNO{Source: "https://doi.org/10.1000/ABC"}, "doi:10.1000/abc"},
		{"same DOI spelled differently", cns.SNO{Source: "doi:10.1000/abc"}, "doi:10.1000/abc"},
		{"URL", cns.SNO{Source: "http://www.Example.com/a/?utm_source=x"}, "url:https://example.com/a"},
		{"metadata source of a narrative", cns.SNO{Metadata: map[string]string{"source": "Acme  Blog"}}, "src:acme blog"},
		{"document source wins", cns.SNO{Source: "doi:10.1000/x", Metadata: map[string]string{"source": "other"}}, "doi:10.1000/x"},
		{"synthesis", cns.SNO{Lineage: cns.Lineage{Parents: []string{"a", "b"}, Generator: "synthesis/builtin@1"}}, "generator:synthesis/builtin@1"},
		{"nothing", cns.SNO{Metadata: map[string]string{"source": "   "}}, critic.Unattributed},
	}
	for _, tc := range tests {
		if got := critic.SourceKey(&tc.sno); got != tc.want {
			t.Errorf("%s: SourceKey = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestFloodConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mod    func(*critic.Config)
		fields []string
	}{
		{"cluster of one", func(c *critic.Config) { c.FloodCluster = 1 }, []string{"flood_cluster"}},
		{"negative cluster", func(c *critic.Config) { c.FloodCluster = -2 }, []string{"flood_cluster"}},
		{"no similarity while on", func(c *critic.Config) { c.FloodSimilarity = 0 }, []string{"flood_similarity"}},
		{"no similarity while off", func(c *critic.Config) { c.FloodSimilarity, c.FloodCluster = 0, 0 }, nil},
		{"out of range", func(c *critic.Config) {
			c.FloodSimilarity, c.FloodTrustCap, c.MiscitationContradiction, c.RestatementSimilarity = 1.5, -0.1, math.NaN(), 2
		}, []string{"flood_similarity", "flood_trust_cap", "miscitation_contradiction", "restatement_similarity"}},
	}
	for _, tc := range tests {
		cfg := critic.DefaultConfig()
		tc.mod(&cfg)
		err := cfg.Validate()
		var got []string
		var ce *cns.Error
		if errors.As(err, &ce) {
			for _, v := range ce.Violations {
				got = append(got, v.Field)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
			t.Errorf("%s: violations on %v, want %v (%v)", tc.name, got, tc.fields, err)
		}
	}
}

func TestGroundingForgedEvidence(t *testing.T) {
	t.Parallel()
	// snoOf writes the root's text into the graph, so every SNO gets its own (subtests run in parallel).
	graph := func() cns.Graph { return cns.Graph{Claims: []cns.Claim{{ID: cns.RootClaimID}, {ID: "c1", Text: "A"}}} }
	// P grounds the root but contradicts A; Q grounds A.
	table := map[[2]string]cns.Entailment{
		{"P", "H"}: p(1, 0, 0), {"P", "A"}: p(0.1, 0.1, 0.8), {"Q", "A"}: p(0.9, 0.1, 0),
		// A passage whose first sentence entails A, while the whole reads as a contradiction.
		{"S1. S2.", "A"}: p(0, 0.2, 0.8), {"S1.", "A"}: p(0.9, 0.1, 0), {"S1.", "H"}: p(0, 1, 0),
		// A passage none of whose sentences entails A.
		{"T1. T2.", "A"}: p(0, 0.2, 0.8), {"T1.", "A"}: p(0, 0.2, 0.8),
	}
	tests := []struct {
		name    string
		sno     func() *cns.SNO
		score   float64
		subs    map[string]float64
		explain string
	}{
		{
			// root 1 (P), c1 max(0, 0.9) = 0.9.
			name:  "honest",
			sno:   func() *cns.SNO { return snoOf(graph(), evidence("e1", "P", 1), evidence("e2", "Q", 1, "c1")) },
			score: 0.95, subs: map[string]float64{"miscited_evidence": 0, "unverifiable_evidence": 0},
		},
		{
			// P is cited for c1, which it contradicts: it grounds nothing (root 0) and c1 loses 0.8: 0.1.
			name:  "miscited",
			sno:   func() *cns.SNO { return snoOf(graph(), evidence("e1", "P", 1, "c1"), evidence("e2", "Q", 1, "c1")) },
			score: 0.05, subs: map[string]float64{"miscited_evidence": 1},
			explain: "MISCITED EVIDENCE: evidence e1 contradicts claim c1 it is cited for (contradiction 0.80)",
		},
		{
			// Without e1 at all: root 0, c1 0.9. Adding the miscited e1 must not raise that.
			name:  "without the miscited item",
			sno:   func() *cns.SNO { return snoOf(graph(), evidence("e2", "Q", 1, "c1")) },
			score: 0.45,
		},
		{
			name:  "miscited for the root only",
			sno:   func() *cns.SNO { return snoOf(graph(), evidence("e1", "P", 1, "root"), evidence("e2", "Q", 1, "c1")) },
			score: 0.95, subs: map[string]float64{"miscited_evidence": 0},
		},
		{
			name: "ingested documents are exempt",
			sno: func() *cns.SNO {
				s := snoOf(graph(), evidence("e1", "P", 1, "c1"), evidence("e2", "Q", 1, "c1"))
				s.Lineage.Strategy = "ingest"
				return s
			},
			score: 0.95, subs: map[string]float64{"miscited_evidence": 0},
		},
		{
			// Both parents cited e1; it is linked to both positions by construction.
			name: "syntheses are exempt",
			sno: func() *cns.SNO {
				s := snoOf(graph(), evidence("e1", "P", 1, "c1"), evidence("e2", "Q", 1, "c1"))
				s.Lineage = cns.Lineage{Parents: []string{"a", "b"}, Strategy: "dialectical"}
				return s
			},
			score: 0.95, subs: map[string]float64{"miscited_evidence": 0},
		},
		{
			name:  "one sentence entailing the claim clears the passage",
			sno:   func() *cns.SNO { return snoOf(graph(), evidence("e1", "S1. S2.", 1, "c1")) },
			score: 0, subs: map[string]float64{"miscited_evidence": 0},
		},
		{
			// e1 is discredited and Q is neutral to H: root 0; c1 0.9 − 0.8 = 0.1.
			name: "no sentence entails the claim",
			sno: func() *cns.SNO {
				return snoOf(graph(), evidence("e1", "T1. T2.", 1, "c1"), evidence("e2", "Q", 1, "c1"))
			},
			score: 0.05, subs: map[string]float64{"miscited_evidence": 1},
			explain: "evidence e1 contradicts claim c1",
		},
		{
			name: "unverifiable citations are named and ground nothing",
			sno: func() *cns.SNO {
				return snoOf(graph(), evidence("e1", "P", 1), evidence("e2", "Q", 1, "c1"),
					evidence("doi:10.9/a", "", 1, "root"), evidence("doi:10.9/b", " ", 1), evidence("doi:10.9/c", "", 1), evidence("doi:10.9/d", "", 1))
			},
			score: 0.95, subs: map[string]float64{"unverifiable_evidence": 4, "readable_evidence": 2},
			explain: "unverifiable (no readable content, grounds nothing): doi:10.9/a, doi:10.9/b, doi:10.9/c and 1 more",
		},
		{
			name:  "only unverifiable citations",
			sno:   func() *cns.SNO { return snoOf(graph(), evidence("doi:10.9/a", "", 1, "root")) },
			score: 0, subs: map[string]float64{"unverifiable_evidence": 1},
			explain: "unverifiable: doi:10.9/a",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, nli := range []cns.NLI{&fakeNLI{table: table}, &batchNLI{fakeNLI: &fakeNLI{table: table}}} {
				cs, err := newEvaluator(t, critic.DefaultConfig(), nli).Grounding(context.Background(), tc.sno())
				if err != nil {
					t.Fatal(err)
				}
				if !near(cs.Score, tc.score, 1e-9) {
					t.Errorf("%T: score %v, want %v (%s)", nli, cs.Score, tc.score, cs.Explanation)
				}
				checkSubs(t, cs, tc.subs)
				if !strings.Contains(cs.Explanation, tc.explain) {
					t.Errorf("%T: explanation %q does not contain %q", nli, cs.Explanation, tc.explain)
				}
			}
		})
	}
	// Off: the miscited narrative scores as before the check existed.
	cfg := critic.DefaultConfig()
	cfg.MiscitationContradiction = 0
	cs, err := newEvaluator(t, cfg, &fakeNLI{table: table}).Grounding(context.Background(),
		snoOf(graph(), evidence("e1", "P", 1, "c1"), evidence("e2", "Q", 1, "c1")))
	if err != nil || !near(cs.Score, 0.95, 1e-9) {
		t.Errorf("check off: score %v, %v; want 0.95", cs.Score, err)
	}
}

func TestLogicSelfSupport(t *testing.T) {
	t.Parallel()
	const S, C = cns.RelationSupports, cns.RelationContradicts
	g := func(root string, claims map[string]string, edges ...cns.Edge) cns.Graph {
		gr := cns.NewGraph(root)
		for _, id := range []string{"c1", "c2", "c3"} {
			if text, ok := claims[id]; ok {
				gr.Claims = append(gr.Claims, cns.Claim{ID: id, Text: text})
			}
		}
		gr.Edges = edges
		return gr
	}
	tests := []struct {
		name    string
		g       cns.Graph
		mod     func(*critic.Config)
		score   float64
		selfSup float64
		explain string
	}{
		{
			// Passive restatement: {vaccin, caus, autism} both ways. Coherence 1/2: 0.5 + 0.15 + 0.2.
			name:  "premise restating the hypothesis",
			g:     g("Vaccines cause autism.", map[string]string{"c1": "Autism is caused by vaccines."}, edge("c1", "root", S)),
			score: 0.85, selfSup: 1,
			explain: "SELF-SUPPORTING: 1 of 2 claims merely restate what they argue for (claim c1 restates root, which it argues for: word overlap 1.00)",
		},
		{
			// c2 → c1 → root, c2 restates root through the chain. Coherence 2/3.
			name: "chain back to the hypothesis",
			g: g("Vaccines cause autism.", map[string]string{"c1": "Parents report regression after the shots.", "c2": "Vaccines do cause autism!"},
				edge("c1", "root", S), edge("c2", "c1", S)),
			score: 0.5 + 0.3*2.0/3.0 + 0.2, selfSup: 1,
			explain: "claim c2 restates root",
		},
		{
			name: "premise adding content is fine",
			g: g("Exercise improves sleep quality.", map[string]string{"c1": "In a trial of 200 adults, exercise improved sleep quality."},
				edge("c1", "root", S)),
			score: 1, selfSup: 0,
		},
		{
			// Negation is content: this is a bad argument, but not a restatement.
			name:  "negated text is not a restatement",
			g:     g("Vaccines cause autism.", map[string]string{"c1": "Vaccines do not cause autism."}, edge("c1", "root", S)),
			score: 1, selfSup: 0,
		},
		{
			name:  "restating what it contradicts is not self-support",
			g:     g("Vaccines cause autism.", map[string]string{"c1": "Autism is caused by vaccines."}, edge("c1", "root", C)),
			score: 1, selfSup: 0,
		},
		{
			name:  "siblings restating each other support nothing of each other",
			g:     g("Vaccines cause autism.", map[string]string{"c1": "Regression follows the shots.", "c2": "Regression follows the shots!"}, edge("c1", "root", S), edge("c2", "root", S)),
			score: 1, selfSup: 0,
		},
		{
			// a is conflicted (for root directly, against it through b) and restates root: counted once.
			name: "conflicted and restating counts once",
			g: g("Vaccines cause autism.", map[string]string{"c1": "Autism is caused by vaccines.", "c2": "Regression follows the shots."},
				edge("c1", "root", S), edge("c1", "c2", S), edge("c2", "root", C)),
			score: 0.5 + 0.3*2.0/3.0 + 0.2, selfSup: 1,
		},
		{
			name:  "off at restatement_similarity 0",
			g:     g("Vaccines cause autism.", map[string]string{"c1": "Autism is caused by vaccines."}, edge("c1", "root", S)),
			mod:   func(c *critic.Config) { c.RestatementSimilarity = 0 },
			score: 1, selfSup: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := critic.DefaultConfig()
			if tc.mod != nil {
				tc.mod(&cfg)
			}
			sno := &cns.SNO{Hypothesis: tc.g.Claims[0].Text, Graph: tc.g}
			cs := newEvaluator(t, cfg, &fakeNLI{}).Logic(sno)
			checkScore(t, cs, critic.NameLogic, tc.score, 1)
			checkSubs(t, cs, map[string]float64{"self_supporting_claims": tc.selfSup})
			if !strings.Contains(cs.Explanation, tc.explain) {
				t.Errorf("Explanation %q does not contain %q", cs.Explanation, tc.explain)
			}
		})
	}
}
