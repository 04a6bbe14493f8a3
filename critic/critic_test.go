package critic_test

import (
	"context"
	"errors"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
)

// fakeNLI answers from a lookup table keyed by (premise, hypothesis); unknown pairs are neutral. It
// records every premise it was asked about so tests can check what was (not) classified.
type fakeNLI struct {
	table  map[[2]string]cns.Entailment
	fail   map[[2]string]error
	onCall func() // runs before each answer, e.g. to cancel the context mid-evaluation

	mu       sync.Mutex
	premises []string
}

func (f *fakeNLI) Classify(ctx context.Context, premise, hypothesis string) (cns.Entailment, error) {
	f.mu.Lock()
	f.premises = append(f.premises, premise)
	f.mu.Unlock()
	if f.onCall != nil {
		f.onCall()
	}
	if err := ctx.Err(); err != nil {
		return cns.Entailment{}, err
	}
	key := [2]string{premise, hypothesis}
	if err := f.fail[key]; err != nil {
		return cns.Entailment{}, err
	}
	if p, ok := f.table[key]; ok {
		return p, nil
	}
	return cns.Entailment{Neutral: 1}, nil
}

func (f *fakeNLI) Name() string { return "fake@1" }

func (f *fakeNLI) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.premises...)
}

// fakeIndex is a brute-force vector index over a map: Score is the inner product, best first, ties by id.
type fakeIndex struct {
	vecs map[string][]float32
	err  error

	mu       sync.Mutex
	searches []int // the k of every Search call
}

func (x *fakeIndex) Add(id string, v []float32) error { x.vecs[id] = v; return nil }
func (x *fakeIndex) Remove(id string)                 { delete(x.vecs, id) }
func (x *fakeIndex) Len() int                         { return len(x.vecs) }
func (x *fakeIndex) Dim() int                         { return 2 }

func (x *fakeIndex) Search(q []float32, k int) ([]cns.Hit, error) {
	x.mu.Lock()
	x.searches = append(x.searches, k)
	x.mu.Unlock()
	if x.err != nil {
		return nil, x.err
	}
	hits := make([]cns.Hit, 0, len(x.vecs))
	for id, v := range x.vecs {
		var dot float64
		for i := range q {
			dot += float64(q[i]) * float64(v[i])
		}
		hits = append(hits, cns.Hit{ID: id, Score: dot})
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].Score != hits[j].Score {
			return hits[i].Score > hits[j].Score
		}
		return hits[i].ID < hits[j].ID
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits, nil
}

func p(entail, neutral, contradict float64) cns.Entailment {
	return cns.Entailment{Entail: entail, Neutral: neutral, Contradict: contradict}
}

func edge(from, to string, r cns.Relation) cns.Edge {
	return cns.Edge{From: from, To: to, Relation: r, Strength: 1}
}

func claims(ids ...string) []cns.Claim {
	out := make([]cns.Claim, len(ids))
	for i, id := range ids {
		out[i] = cns.Claim{ID: id, Text: "text of " + id}
	}
	return out
}

// snoOf builds an SNO whose root claim text is its hypothesis "H".
func snoOf(g cns.Graph, ev ...cns.Evidence) *cns.SNO {
	for i := range g.Claims {
		if g.Claims[i].ID == cns.RootClaimID {
			g.Claims[i].Text = "H"
		}
	}
	return &cns.SNO{ID: "self", Hypothesis: "H", Embedding: []float32{1, 0}, Graph: g, Evidence: ev}
}

func evidence(id, content string, conf float64, supports ...string) cns.Evidence {
	return cns.Evidence{ID: id, Content: content, Confidence: conf, SupportsClaimIDs: supports}
}

func newEvaluator(t *testing.T, cfg critic.Config, nli cns.NLI) *critic.Evaluator {
	t.Helper()
	e, err := critic.NewEvaluator(cfg, nli)
	if err != nil {
		t.Fatalf("NewEvaluator: %v", err)
	}
	return e
}

const eps = 1e-9

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func checkScore(t *testing.T, cs cns.CriticScore, name string, score, confidence float64) {
	t.Helper()
	if cs.Name != name {
		t.Errorf("Name = %q, want %q", cs.Name, name)
	}
	if !near(cs.Score, score, 1e-6) {
		t.Errorf("Score = %v, want %v (%s)", cs.Score, score, cs.Explanation)
	}
	if !near(cs.Confidence, confidence, eps) {
		t.Errorf("Confidence = %v, want %v (%s)", cs.Confidence, confidence, cs.Explanation)
	}
	if cs.Score < 0 || cs.Score > 1 || cs.Confidence < 0 || cs.Confidence > 1 {
		t.Errorf("score %v or confidence %v outside [0,1]", cs.Score, cs.Confidence)
	}
}

func checkSubs(t *testing.T, cs cns.CriticScore, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		got, ok := cs.SubScores[k]
		if !ok {
			t.Errorf("SubScores[%q] missing", k)
			continue
		}
		if !near(got, v, 1e-6) {
			t.Errorf("SubScores[%q] = %v, want %v", k, got, v)
		}
	}
}

func TestGrounding(t *testing.T) {
	t.Parallel()
	rootAndA := cns.Graph{Claims: []cns.Claim{{ID: cns.RootClaimID}, {ID: "c1", Text: "A"}}}
	rootOnly := cns.NewGraph("H")
	tests := []struct {
		name       string
		sno        *cns.SNO
		table      map[[2]string]cns.Entailment
		score      float64
		confidence float64
		subs       map[string]float64
		explain    string
		notPremise string // a premise the NLI must never see
	}{
		{
			name:       "all claims entailed",
			sno:        snoOf(rootAndA, evidence("e1", "P", 1)),
			table:      map[[2]string]cns.Entailment{{"P", "H"}: p(1, 0, 0), {"P", "A"}: p(1, 0, 0)},
			score:      1,
			confidence: 1,
			subs:       map[string]float64{"mean_entailment": 1, "max_contradiction": 0, "claims": 2, "evidence": 1},
			explain:    "2 of 2 claims entailed",
		},
		{
			// root: 0.6 − 0.5·0.4 = 0.4; c1: 1; mean 0.7.
			name:       "contradiction lowers",
			sno:        snoOf(rootAndA, evidence("e1", "P", 1)),
			table:      map[[2]string]cns.Entailment{{"P", "H"}: p(0.6, 0, 0.4), {"P", "A"}: p(1, 0, 0)},
			score:      0.7,
			confidence: 1,
			subs:       map[string]float64{"mean_entailment": 0.8, "max_contradiction": 0.4, "claims": 2, "evidence": 1},
			explain:    "1 of 2 claims entailed by evidence; weakest: claim root (0.40)",
		},
		{
			// root: 0.1 − 0.45 clips to 0; c1: 1; mean 0.5.
			name:       "mostly contradicted claim grounds nothing",
			sno:        snoOf(rootAndA, evidence("e1", "P", 1)),
			table:      map[[2]string]cns.Entailment{{"P", "H"}: p(0.1, 0, 0.9), {"P", "A"}: p(1, 0, 0)},
			score:      0.5,
			confidence: 1,
			subs:       map[string]float64{"max_contradiction": 0.9},
			explain:    "weakest: claim root (0.00)",
		},
		{
			name:       "best evidence per claim wins",
			sno:        snoOf(rootOnly, evidence("e1", "P", 1), evidence("e2", "Q", 1)),
			table:      map[[2]string]cns.Entailment{{"P", "H"}: p(0.2, 0.8, 0), {"Q", "H"}: p(0.9, 0.1, 0)},
			score:      0.9,
			confidence: 1,
			subs:       map[string]float64{"mean_entailment": 0.9, "claims": 1, "evidence": 2},
		},
		{
			name:       "evidence confidence weighs the score",
			sno:        snoOf(rootOnly, evidence("e1", "P", 0.5)),
			table:      map[[2]string]cns.Entailment{{"P", "H"}: p(1, 0, 0)},
			score:      0.5,
			confidence: 1,
		},
		{
			// Confidence 0 is the domain's "not given", i.e. 1.0.
			name:       "omitted evidence confidence counts as 1",
			sno:        snoOf(rootOnly, evidence("e1", "P", 0)),
			table:      map[[2]string]cns.Entailment{{"P", "H"}: p(1, 0, 0)},
			score:      1,
			confidence: 1,
		},
		{
			// e1 is linked to c1 only, yet it also grounds the root.
			name:       "supports link is only a hint",
			sno:        snoOf(rootAndA, evidence("e1", "P", 1, "c1")),
			table:      map[[2]string]cns.Entailment{{"P", "H"}: p(1, 0, 0), {"P", "A"}: p(1, 0, 0)},
			score:      1,
			confidence: 1,
		},
		{
			name:       "no evidence",
			sno:        snoOf(rootAndA),
			score:      0,
			confidence: 1,
			subs:       map[string]float64{"claims": 2, "evidence": 0},
			explain:    "no evidence",
		},
		{
			name:       "empty content is skipped and lowers confidence",
			sno:        snoOf(rootOnly, evidence("e1", "  ", 1), evidence("e2", "P", 1)),
			table:      map[[2]string]cns.Entailment{{"P", "H"}: p(1, 0, 0)},
			score:      1,
			confidence: 0.5,
			subs:       map[string]float64{"evidence": 2, "readable_evidence": 1},
			notPremise: "  ",
		},
		{
			name:       "only empty evidence",
			sno:        snoOf(rootOnly, evidence("e1", "", 1)),
			score:      0,
			confidence: 0,
			explain:    "no evidence with readable content",
			notPremise: "",
		},
		{
			name: "root text falls back to the hypothesis",
			sno: &cns.SNO{Hypothesis: "H", Graph: cns.Graph{Claims: []cns.Claim{{ID: cns.RootClaimID}}},
				Evidence: []cns.Evidence{evidence("e1", "P", 1)}},
			table:      map[[2]string]cns.Entailment{{"P", "H"}: p(0.8, 0.2, 0)},
			score:      0.8,
			confidence: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nli := &fakeNLI{table: tc.table}
			cs, err := newEvaluator(t, critic.DefaultConfig(), nli).Grounding(context.Background(), tc.sno)
			if err != nil {
				t.Fatalf("Grounding: %v", err)
			}
			checkScore(t, cs, critic.NameGrounding, tc.score, tc.confidence)
			checkSubs(t, cs, tc.subs)
			if !strings.Contains(cs.Explanation, tc.explain) {
				t.Errorf("Explanation %q does not contain %q", cs.Explanation, tc.explain)
			}
			if tc.notPremise != "" || tc.name == "only empty evidence" {
				for _, prem := range nli.calls() {
					if prem == tc.notPremise {
						t.Errorf("NLI was asked about empty premise %q", prem)
					}
				}
			}
		})
	}
}

func TestGroundingNLIFailure(t *testing.T) {
	t.Parallel()
	boom := errors.New("model down")
	sno := snoOf(cns.Graph{Claims: []cns.Claim{{ID: cns.RootClaimID}, {ID: "c2", Text: "B"}}}, evidence("e1", "P", 1))
	tests := []struct {
		name string
		nli  *fakeNLI
		want string
		is   error
	}{
		{"error is wrapped with the step", &fakeNLI{fail: map[[2]string]error{{"P", "B"}: boom}},
			"grounding: classify claim c2 against evidence e1: model down", boom},
		{"non-finite probabilities", &fakeNLI{table: map[[2]string]cns.Entailment{{"P", "H"}: p(math.NaN(), 0, 0)}},
			"grounding: classify claim root against evidence e1: NLI fake@1 returned non-finite", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := newEvaluator(t, critic.DefaultConfig(), tc.nli).Evaluate(context.Background(), sno, critic.Reference{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
		})
	}
}

func TestLogic(t *testing.T) {
	t.Parallel()
	const S, C, W = cns.RelationSupports, cns.RelationContradicts, cns.RelationWeakens
	hub := cns.Graph{Claims: claims("root", "h", "a1", "a2", "a3", "a4", "a5", "a6"), Edges: []cns.Edge{edge("h", "root", S)}}
	for _, a := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		hub.Edges = append(hub.Edges, edge("h", a, cns.RelationImplies))
	}
	tests := []struct {
		name       string
		g          cns.Graph
		score      float64
		confidence float64
		subs       map[string]float64
		explain    string
	}{
		{
			name: "connected DAG",
			g: cns.Graph{Claims: claims("root", "p1", "p2", "p3"), Edges: []cns.Edge{
				edge("p1", "root", S), edge("p2", "root", cns.RelationImplies), edge("p3", "p1", cns.RelationExplains)}},
			score: 1, confidence: 1,
			subs: map[string]float64{"connectivity": 1, "coherence": 1, "parsimony": 1, "orphans": 0, "claims": 4, "edges": 3},
		},
		{
			// 0.5·3/4 + 0.3·1 + 0.2·1 = 0.875
			name: "isolated claim lowers connectivity",
			g: cns.Graph{Claims: claims("root", "p1", "p2", "p3"), Edges: []cns.Edge{
				edge("p1", "root", S), edge("p2", "root", S)}},
			score: 0.875, confidence: 1,
			subs:    map[string]float64{"connectivity": 0.75, "orphans": 1},
			explain: "3 of 4 claims connected to the root (1 isolated)",
		},
		{
			name:  "leaf premise with one edge is not an orphan",
			g:     cns.Graph{Claims: claims("root", "p1", "p2"), Edges: []cns.Edge{edge("p1", "root", S), edge("p2", "p1", S)}},
			score: 1, confidence: 1,
			subs: map[string]float64{"orphans": 0, "connectivity": 1},
		},
		{
			// p3 → p4 is detached: no orphan, but connectivity 2/4: 0.25 + 0.3 + 0.2 = 0.75.
			name: "detached cluster lowers connectivity without orphans",
			g: cns.Graph{Claims: claims("root", "p1", "p3", "p4"), Edges: []cns.Edge{
				edge("p1", "root", S), edge("p3", "p4", S)}},
			score: 0.75, confidence: 1,
			subs: map[string]float64{"orphans": 0, "connectivity": 0.5},
		},
		{
			// h has 7 outgoing edges, limit 5: 0.5 + 0.3 + 0.2·5/7.
			name:  "branching penalty",
			g:     hub,
			score: 0.8 + 0.2*5.0/7.0, confidence: 1,
			subs:    map[string]float64{"parsimony": 5.0 / 7.0, "max_out_degree": 7},
			explain: "largest branching 7 (limit 5)",
		},
		{
			// a supports root directly and argues against it through b: 1 of 3 claims conflicted.
			// 0.5 + 0.3·2/3 + 0.2 = 0.9
			name: "claim arguing both for and against a target",
			g: cns.Graph{Claims: claims("root", "a", "b"), Edges: []cns.Edge{
				edge("a", "root", S), edge("a", "b", S), edge("b", "root", C)}},
			score: 0.9, confidence: 1,
			subs: map[string]float64{"coherence": 2.0 / 3.0, "conflicted_claims": 1},
		},
		{
			// a weakens b, a supporter of root, while supporting root: secondary attack, conflicted.
			name: "attacking a supporter of a supported target",
			g: cns.Graph{Claims: claims("root", "a", "b"), Edges: []cns.Edge{
				edge("a", "root", S), edge("a", "b", W), edge("b", "root", S)}},
			score: 0.9, confidence: 1,
			subs: map[string]float64{"conflicted_claims": 1},
		},
		{
			// a contradicts b, which contradicts root: two negatives are undetermined, not "for".
			name: "double negation is not counted",
			g: cns.Graph{Claims: claims("root", "a", "b"), Edges: []cns.Edge{
				edge("a", "root", S), edge("a", "b", C), edge("b", "root", C)}},
			score: 1, confidence: 1,
			subs: map[string]float64{"coherence": 1, "conflicted_claims": 0},
		},
		{
			name:  "plain dialectic is coherent",
			g:     cns.Graph{Claims: claims("root", "pro", "con"), Edges: []cns.Edge{edge("pro", "root", S), edge("con", "root", C)}},
			score: 1, confidence: 1,
		},
		{
			// Cycle a → b → a: coherence 0; 0.5 + 0 + 0.2 = 0.7.
			name: "cycle gives coherence 0",
			g: cns.Graph{Claims: claims("root", "a", "b"), Edges: []cns.Edge{
				edge("a", "root", S), edge("a", "b", S), edge("b", "a", S)}},
			score: 0.7, confidence: 1,
			subs:    map[string]float64{"coherence": 0, "connectivity": 1},
			explain: "graph is invalid",
		},
		{
			name:  "single claim",
			g:     cns.NewGraph("H"),
			score: 1, confidence: 0.3,
			subs:    map[string]float64{"connectivity": 1, "coherence": 1, "parsimony": 1, "orphans": 0, "claims": 1, "edges": 0},
			explain: "single claim",
		},
		{
			name:  "empty graph",
			g:     cns.Graph{},
			score: 0, confidence: 1,
			explain: "empty reasoning graph",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cs := newEvaluator(t, critic.DefaultConfig(), &fakeNLI{}).Logic(snoOf(tc.g))
			checkScore(t, cs, critic.NameLogic, tc.score, tc.confidence)
			checkSubs(t, cs, tc.subs)
			if !strings.Contains(cs.Explanation, tc.explain) {
				t.Errorf("Explanation %q does not contain %q", cs.Explanation, tc.explain)
			}
		})
	}
}

func TestNovelty(t *testing.T) {
	t.Parallel()
	trust := map[string]float64{"n1": 0.9, "n2": 0.9, "n3": 0.9, "low": 0.1, "low2": 0.1, "low3": 0.1, "self": 0.9}
	trustOf := func(id string) (float64, bool) { v, ok := trust[id]; return v, ok }
	withEdge := cns.Graph{Claims: claims("root", "p1"), Edges: []cns.Edge{edge("p1", "root", cns.RelationSupports)}}
	tests := []struct {
		name       string
		g          cns.Graph
		emb        []float32
		vecs       map[string][]float32 // nil: no index at all
		floor      float64
		k          int
		trustOf    func(string) (float64, bool)
		score      float64
		confidence float64
		subs       map[string]float64
		explain    string
		searches   []int
	}{
		{
			name: "first SNO, no index", g: cns.NewGraph("H"),
			score: 0.7, confidence: 0.5,
			subs:    map[string]float64{"min_distance": 1, "complexity_penalty": 0, "neighbours": 0},
			explain: "no reference SNO",
		},
		{
			// 1 edge / 2 claims = 0.5; penalty 0.3·0.5/5 = 0.03.
			name: "first SNO with complexity penalty", g: withEdge, vecs: map[string][]float32{},
			score: 0.67, confidence: 0.5,
			subs: map[string]float64{"complexity_penalty": 0.03, "edges_per_claim": 0.5},
		},
		{
			name: "identical neighbour is distance 0", g: cns.NewGraph("H"),
			vecs: map[string][]float32{"n1": {1, 0}}, trustOf: trustOf,
			score: 0, confidence: 1,
			subs:    map[string]float64{"min_distance": 0, "neighbours": 1},
			explain: "nearest reference SNO n1 at distance 0.00",
		},
		{
			// cosine 0.6 → distance 0.4 → 0.7·0.4 = 0.28.
			name: "partial distance", g: cns.NewGraph("H"),
			vecs: map[string][]float32{"n1": {0.6, 0.8}, "n2": {0, 1}}, trustOf: trustOf,
			score: 0.28, confidence: 1,
			subs:    map[string]float64{"min_distance": 0.4, "neighbours": 2},
			explain: "n1",
		},
		{
			name: "neighbour under the trust floor is ignored", g: cns.NewGraph("H"),
			vecs: map[string][]float32{"low": {1, 0}, "n2": {0, 1}}, floor: 0.5, trustOf: trustOf,
			score: 0.7, confidence: 1,
			subs:    map[string]float64{"min_distance": 1, "neighbours": 1},
			explain: "n2",
		},
		{
			name: "own id is excluded", g: cns.NewGraph("H"),
			vecs: map[string][]float32{"self": {1, 0}}, trustOf: trustOf,
			score: 0.7, confidence: 0.5,
			subs: map[string]float64{"min_distance": 1, "neighbours": 0},
		},
		{
			name: "neighbour unknown to TrustOf is skipped", g: cns.NewGraph("H"),
			vecs: map[string][]float32{"stale": {1, 0}}, trustOf: trustOf,
			score: 0.7, confidence: 0.5,
		},
		{
			name: "nil TrustOf counts every neighbour", g: cns.NewGraph("H"),
			vecs: map[string][]float32{"low": {1, 0}}, floor: 0.5,
			score: 0, confidence: 1,
		},
		{
			// K = 1: the first search (k = 2) finds only untrusted hits, the second (k = 4) reaches n3.
			name: "search widens past skipped neighbours", g: cns.NewGraph("H"), k: 1,
			vecs:  map[string][]float32{"low": {1, 0}, "low2": {1, 0}, "low3": {1, 0}, "n3": {0, 1}},
			floor: 0.5, trustOf: trustOf,
			score: 0.7, confidence: 1,
			explain:  "n3",
			searches: []int{2, 4},
		},
		{
			name: "opposite vector is clamped to distance 1", g: cns.NewGraph("H"),
			vecs: map[string][]float32{"n1": {-1, 0}}, trustOf: trustOf,
			score: 0.7, confidence: 1,
			subs: map[string]float64{"min_distance": 1},
		},
		{
			name: "query is normalised", g: cns.NewGraph("H"), emb: []float32{3, 0},
			vecs: map[string][]float32{"n1": {1, 0}}, trustOf: trustOf,
			score: 0, confidence: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := critic.DefaultConfig()
			cfg.TrustFloor = tc.floor
			if tc.k > 0 {
				cfg.NoveltyK = tc.k
			}
			sno := snoOf(tc.g)
			if tc.emb != nil {
				sno.Embedding = tc.emb
			}
			ref := critic.Reference{TrustOf: tc.trustOf}
			var idx *fakeIndex
			if tc.vecs != nil {
				idx = &fakeIndex{vecs: tc.vecs}
				ref.Index = idx
			}
			cs, err := newEvaluator(t, cfg, &fakeNLI{}).Novelty(context.Background(), sno, ref)
			if err != nil {
				t.Fatalf("Novelty: %v", err)
			}
			checkScore(t, cs, critic.NameNovelty, tc.score, tc.confidence)
			checkSubs(t, cs, tc.subs)
			if !strings.Contains(cs.Explanation, tc.explain) {
				t.Errorf("Explanation %q does not contain %q", cs.Explanation, tc.explain)
			}
			if tc.searches != nil {
				if got := idx.searches; len(got) != len(tc.searches) || got[0] != tc.searches[0] || got[len(got)-1] != tc.searches[len(tc.searches)-1] {
					t.Errorf("searches with k = %v, want %v", got, tc.searches)
				}
			}
		})
	}
}

func TestNoveltyErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("index down")
	tests := []struct {
		name string
		idx  *fakeIndex
		emb  []float32
		want string
		code string
	}{
		{"index failure is wrapped", &fakeIndex{vecs: map[string][]float32{"n1": {1, 0}}, err: boom}, []float32{1, 0},
			"novelty: search", cns.EINTERNAL},
		{"no embedding against a population", &fakeIndex{vecs: map[string][]float32{"n1": {1, 0}}}, nil,
			"has no embedding", cns.EINVALID},
		{"dimension mismatch", &fakeIndex{vecs: map[string][]float32{"n1": {1, 0}}}, []float32{1, 0, 0},
			"dimension 3", cns.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sno := snoOf(cns.NewGraph("H"))
			sno.Embedding = tc.emb
			_, _, err := newEvaluator(t, critic.DefaultConfig(), &fakeNLI{}).Evaluate(context.Background(), sno, critic.Reference{Index: tc.idx})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if got := cns.ErrorCode(err); got != tc.code {
				t.Errorf("ErrorCode = %q, want %q", got, tc.code)
			}
		})
	}
}

// trustSNO has known critic scores: grounding (1 + 0.4 + 0 + 0)/4 = 0.35; logic 0.875 (p3 isolated);
// novelty with an empty population 0.7 − 0.3·(2/4)/5 = 0.67.
func trustSNO() (*cns.SNO, *fakeNLI) {
	g := cns.Graph{Claims: []cns.Claim{{ID: cns.RootClaimID}, {ID: "p1", Text: "A"}, {ID: "p2", Text: "B"}, {ID: "p3", Text: "C"}},
		Edges: []cns.Edge{edge("p1", "root", cns.RelationSupports), edge("p2", "root", cns.RelationSupports)}}
	nli := &fakeNLI{table: map[[2]string]cns.Entailment{{"P", "H"}: p(1, 0, 0), {"P", "A"}: p(0.6, 0, 0.4)}}
	return snoOf(g, evidence("e1", "P", 1)), nli
}

func TestEvaluateTrust(t *testing.T) {
	t.Parallel()
	tests := []struct {
		preset string
		trust  float64
	}{
		{critic.PresetDefault, 0.4*0.35 + 0.3*0.875 + 0.3*0.67},        // 0.6035
		{critic.PresetExploration, 0.1*0.35 + 0.1*0.875 + 0.8*0.67},    // 0.6585
		{critic.PresetVerification, 0.45*0.35 + 0.45*0.875 + 0.1*0.67}, // 0.61825
		{"custom unnormalised", 0.35},                                  // {2, 0, 0}
	}
	for _, tc := range tests {
		t.Run(tc.preset, func(t *testing.T) {
			t.Parallel()
			w := critic.Weights{Grounding: 2}
			if tc.preset != "custom unnormalised" {
				var err error
				if w, err = critic.Preset(tc.preset); err != nil {
					t.Fatal(err)
				}
			}
			sno, nli := trustSNO()
			base := newEvaluator(t, critic.DefaultConfig(), nli)
			trust, scores, err := base.WithWeights(w).Evaluate(context.Background(), sno, critic.Reference{})
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if !near(trust, tc.trust, 1e-9) {
				t.Errorf("trust = %v, want %v", trust, tc.trust)
			}
			wantScores := []struct {
				name          string
				score, weight float64
			}{{critic.NameGrounding, 0.35, w.Grounding}, {critic.NameLogic, 0.875, w.Logic}, {critic.NameNovelty, 0.67, w.Novelty}}
			if len(scores) != len(wantScores) {
				t.Fatalf("got %d scores, want 3", len(scores))
			}
			for i, ws := range wantScores {
				if s := scores[i]; s.Name != ws.name || !near(s.Score, ws.score, 1e-9) || s.Weight != ws.weight {
					t.Errorf("scores[%d] = %s %v weight %v, want %s %v weight %v", i, s.Name, s.Score, s.Weight, ws.name, ws.score, ws.weight)
				}
			}
			if base.Config().Weights != critic.DefaultConfig().Weights {
				t.Errorf("WithWeights changed the original evaluator")
			}
		})
	}
}

func TestPreset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want critic.Weights
		code string
	}{
		{"default", critic.Weights{Grounding: 0.4, Logic: 0.3, Novelty: 0.3}, ""},
		{"exploration", critic.Weights{Grounding: 0.1, Logic: 0.1, Novelty: 0.8}, ""},
		{"verification", critic.Weights{Grounding: 0.45, Logic: 0.45, Novelty: 0.1}, ""},
		{"bogus", critic.Weights{}, cns.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := critic.Preset(tc.name)
			if got := cns.ErrorCode(err); got != tc.code {
				t.Fatalf("ErrorCode = %q, want %q (%v)", got, tc.code, err)
			}
			if w != tc.want {
				t.Errorf("Preset(%q) = %+v, want %+v", tc.name, w, tc.want)
			}
			if err == nil {
				if err := w.Validate(); err != nil {
					t.Errorf("preset %q invalid: %v", tc.name, err)
				}
			}
		})
	}
}

func TestWeightsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		w          critic.Weights
		violations int // 0 = valid
	}{
		{"one weight only", critic.Weights{Novelty: 1}, 0},
		{"negative", critic.Weights{Grounding: -1, Logic: 1, Novelty: 1}, 1},
		{"NaN", critic.Weights{Grounding: math.NaN(), Logic: 1}, 1},
		{"infinite", critic.Weights{Logic: math.Inf(1)}, 1},
		{"all zero", critic.Weights{}, 1},
		{"two bad", critic.Weights{Grounding: -1, Logic: math.NaN(), Novelty: 1}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.w.Validate()
			if tc.violations == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ce *cns.Error
			if !errors.As(err, &ce) || ce.Code != cns.EINVALID || len(ce.Violations) != tc.violations {
				t.Fatalf("Validate = %v, want EINVALID with %d violations", err, tc.violations)
			}
			// Invalid weights set through WithWeights make Evaluate fail rather than divide by zero.
			sno, nli := trustSNO()
			_, _, err = newEvaluator(t, critic.DefaultConfig(), nli).WithWeights(tc.w).Evaluate(context.Background(), sno, critic.Reference{})
			if cns.ErrorCode(err) != cns.EINVALID {
				t.Errorf("Evaluate with invalid weights: %v, want EINVALID", err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    func() critic.Config
		fields []string
	}{
		{"default is valid", critic.DefaultConfig, nil},
		{"zero config", func() critic.Config { return critic.Config{} }, []string{"weights.sum", "novelty_k", "max_branching"}},
		{"everything wrong", func() critic.Config {
			return critic.Config{Weights: critic.Weights{Grounding: -1, Logic: 1}, NoveltyAlpha: 2, NoveltyBeta: -0.1,
				NoveltyK: 0, TrustFloor: math.NaN(), MaxBranching: -3}
		}, []string{"weights.grounding", "novelty_alpha", "novelty_beta", "trust_floor", "novelty_k", "max_branching"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg()
			err := cfg.Validate()
			_, nerr := critic.NewEvaluator(cfg, &fakeNLI{})
			if tc.fields == nil {
				if err != nil || nerr != nil {
					t.Fatalf("Validate = %v, NewEvaluator = %v", err, nerr)
				}
				return
			}
			var ce *cns.Error
			if !errors.As(err, &ce) || ce.Code != cns.EINVALID {
				t.Fatalf("Validate = %v, want EINVALID", err)
			}
			var got []string
			for _, v := range ce.Violations {
				got = append(got, v.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("violations on %v, want %v", got, tc.fields)
			}
			if cns.ErrorCode(nerr) != cns.EINVALID {
				t.Errorf("NewEvaluator = %v, want EINVALID", nerr)
			}
		})
	}
}

func TestNewEvaluatorNeedsNLI(t *testing.T) {
	t.Parallel()
	if _, err := critic.NewEvaluator(critic.DefaultConfig(), nil); cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("NewEvaluator(nil NLI) = %v, want EINVALID", err)
	}
	e := newEvaluator(t, critic.DefaultConfig(), &fakeNLI{})
	if _, _, err := e.Evaluate(context.Background(), nil, critic.Reference{}); cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("Evaluate(nil SNO) = %v, want EINVALID", err)
	}
}

func TestEvaluateContextCancelled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cancelNow bool // cancel before Evaluate, else during the first NLI call
		maxCalls  int
		want      string
	}{
		{"cancelled before", true, 0, "critic: context canceled"},
		{"cancelled during grounding", false, 1, "grounding: classify claim"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sno, nli := trustSNO()
			if tc.cancelNow {
				cancel()
			} else {
				nli.onCall = cancel
			}
			_, _, err := newEvaluator(t, critic.DefaultConfig(), nli).Evaluate(ctx, sno, critic.Reference{})
			if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want context.Canceled containing %q", err, tc.want)
			}
			if n := len(nli.calls()); n > tc.maxCalls {
				t.Errorf("NLI called %d times after cancellation, want ≤ %d", n, tc.maxCalls)
			}
		})
	}
}
