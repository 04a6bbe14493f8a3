package critic

import (
	"fmt"
	"strings"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/nlp"
)

// Weights of the logic critic's three terms. Connectivity dominates: a claim that does not bear on the
// hypothesis is dead weight in the argument. Coherence comes next; parsimony is a mild style penalty.
const (
	connectivityWeight = 0.5
	coherenceWeight    = 0.3
	parsimonyWeight    = 0.2
)

// singleClaimConfidence is the confidence for a graph holding only its root: nothing is wrong with it,
// but there is no structure to judge either.
const singleClaimConfidence = 0.3

// Logic scores the health of the reasoning graph:
//
//	0.5·connectivity + 0.3·coherence + 0.2·parsimony
//
// connectivity is the fraction of claims joined to the root, ignoring edge direction
// (cns.Graph.ConnectedToRoot): premises point at what they support, so direction says nothing about
// relevance. Orphans, reported but not scored separately, are only the isolated claims (no edge at all,
// root excepted); a leaf premise with a single edge is the normal end of an argument, not an orphan.
// A detached cluster of claims lowers connectivity without containing orphans.
//
// coherence is 0 when the graph is structurally invalid (cns.Graph.Validate fails: a cycle, a duplicate
// or dangling edge, no root), since then there is no well-founded argument to speak of. Otherwise it is
// 1 − the fraction of claims that argue both for and against the same target. Following bipolar
// argumentation (Cayrol & Lagasquie-Schiex's supported and secondary attacks), a directed path argues
// for its target when all its edges are positive, against it when exactly one edge is negative
// (contradicts, weakens), and is left undetermined with two or more negative edges: "the enemy of my
// enemy" is not assumed to be a friend. A direct pair of opposite edges to one target is the simplest
// case, though Validate already rejects it as a duplicate edge.
//
// Self-supporting reasoning (fallacy injection in the CNS threat model; cycles themselves never reach a
// critic, the domain rejects them at input) also costs coherence: a claim that argues for a target by a
// path of positive edges while merely restating it — the content-word sets of the two texts (nlp's
// tokenizer and stemmer, negations kept) overlap, as Jaccard, at or above Config.RestatementSimilarity —
// begs the question: "Vaccines cause autism" supporting "Autism is caused by vaccines" adds nothing, and
// a chain c2 → c1 → root whose premise c2 restates the hypothesis is circular however long it is. A
// premise that adds content ("In a trial of 200 adults, exercise improved sleep" for "Exercise improves
// sleep") overlaps far less and is not flagged. So coherence is 1 − the fraction of claims that are
// conflicted or self-supporting (a claim that is both counts once); the explanation names the restating
// claims and what they restate.
//
// parsimony is 1 while no claim has more than MaxBranching outgoing edges, else MaxBranching divided by
// the largest out-degree.
//
// Confidence is 1, except for a valid graph holding only the root (score 1, confidence 0.3).
func (e *Evaluator) Logic(sno *cns.SNO) cns.CriticScore {
	g := &sno.Graph
	nClaims, nEdges := len(g.Claims), len(g.Edges)
	cs := cns.CriticScore{
		Name:       NameLogic,
		Confidence: 1,
		SubScores: map[string]float64{
			"claims":       float64(nClaims),
			"edges":        float64(nEdges),
			"connectivity": 0,
			"coherence":    0,
			"parsimony":    0,
			"orphans":      0,
		},
	}
	if nClaims == 0 {
		cs.Explanation = "empty reasoning graph: no claims to judge"
		return cs
	}

	connected := g.ConnectedToRoot()
	in, out := g.Degrees()
	nConnected, orphans := 0, 0
	for _, c := range g.Claims {
		if connected[c.ID] {
			nConnected++
		}
		if c.ID != cns.RootClaimID && in[c.ID]+out[c.ID] == 0 {
			orphans++
		}
	}
	connectivity := float64(nConnected) / float64(nClaims)

	var coherence float64
	conflicted := 0
	var restating []restatement
	verr := g.Validate()
	if verr == nil {
		reach := reachAll(g)
		bad := map[string]bool{}
		for _, id := range conflictedClaims(g, reach) {
			bad[id] = true
		}
		conflicted = len(bad)
		if e.cfg.RestatementSimilarity > 0 {
			restating = restatements(claimsOf(sno), reach, e.cfg.RestatementSimilarity)
			for _, r := range restating {
				bad[r.claim] = true
			}
		}
		coherence = 1 - float64(len(bad))/float64(nClaims)
	}

	maxOut := 0
	for _, d := range out {
		maxOut = max(maxOut, d)
	}
	parsimony := 1.0
	if maxOut > e.cfg.MaxBranching {
		parsimony = float64(e.cfg.MaxBranching) / float64(maxOut)
	}

	cs.Score = clamp01(connectivityWeight*connectivity + coherenceWeight*coherence + parsimonyWeight*parsimony)
	cs.SubScores["connectivity"] = connectivity
	cs.SubScores["coherence"] = coherence
	cs.SubScores["parsimony"] = parsimony
	cs.SubScores["orphans"] = float64(orphans)
	cs.SubScores["conflicted_claims"] = float64(conflicted)
	cs.SubScores["self_supporting_claims"] = float64(len(restating))
	cs.SubScores["max_out_degree"] = float64(maxOut)

	if verr == nil && nClaims == 1 && nEdges == 0 {
		cs.Confidence = singleClaimConfidence
		cs.Explanation = "single claim: the graph holds only the hypothesis, so there is no structure to fault (health 1.00, low confidence)"
		return cs
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d claims connected to the root (%d isolated)", nConnected, nClaims, orphans)
	if verr != nil {
		fmt.Fprintf(&b, "; graph is invalid (%s), coherence 0", cns.ErrorMessage(verr))
	} else {
		fmt.Fprintf(&b, "; %d of %d claims argue both for and against the same target", conflicted, nClaims)
	}
	if len(restating) > 0 {
		fmt.Fprintf(&b, "; SELF-SUPPORTING: %d of %d claims merely restate what they argue for (", len(restating), nClaims)
		for k, r := range restating {
			if k == maxNamed {
				fmt.Fprintf(&b, "; and %d more", len(restating)-k)
				break
			}
			if k > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "claim %s restates %s, which it argues for: word overlap %.2f", r.claim, r.target, r.overlap)
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "; largest branching %d (limit %d); health %.3f = 0.5·%.2f + 0.3·%.2f + 0.2·%.2f",
		maxOut, e.cfg.MaxBranching, cs.Score, connectivity, coherence, parsimony)
	cs.Explanation = b.String()
	return cs
}

// Polarity bits of the paths from one claim to a target.
const (
	argFor     = 1 << iota // a path of positive edges only
	argAgainst             // a path with exactly one negative edge
)

// reachAll returns, for every claim of g, the targets it reaches by a directed path and the polarity of
// those paths. g must be a valid DAG (Validate passed). Each claim's targets are computed once, children
// first, so the cost is O(edges × claims).
func reachAll(g *cns.Graph) map[string]map[string]uint8 {
	adj := make(map[string][]cns.Edge, len(g.Claims))
	for _, e := range g.Edges {
		adj[e.From] = append(adj[e.From], e)
	}
	memo := make(map[string]map[string]uint8, len(g.Claims))
	var reach func(id string) map[string]uint8
	reach = func(id string) map[string]uint8 {
		if m, ok := memo[id]; ok {
			return m
		}
		m := map[string]uint8{}
		for _, e := range adj[id] {
			sign := uint8(argFor)
			if e.Relation.Negative() {
				sign = argAgainst
			}
			m[e.To] |= sign
			for t, p := range reach(e.To) {
				if sign == argFor {
					m[t] |= p
				} else if p&argFor != 0 {
					// Against a claim that argues for t is against t; against a claim that argues
					// against t is undetermined and dropped.
					m[t] |= argAgainst
				}
			}
		}
		memo[id] = m
		return m
	}
	for _, c := range g.Claims {
		reach(c.ID)
	}
	return memo
}

// conflictedClaims returns the claims that reach some target both by a path arguing for it and by one
// arguing against it, in graph order.
func conflictedClaims(g *cns.Graph, reach map[string]map[string]uint8) []string {
	var out []string
	for _, c := range g.Claims {
		for _, p := range reach[c.ID] {
			if p == argFor|argAgainst {
				out = append(out, c.ID)
				break
			}
		}
	}
	return out
}

// restatement is a claim that argues for a target it merely restates.
type restatement struct {
	claim, target string
	overlap       float64
}

// restatements returns the claims that argue for some target (a path of positive edges) whose text they
// restate (content-word Jaccard ≥ threshold), in graph order, each with its most similar such target
// (ties: the first in graph order). Claims without content words restate nothing.
func restatements(claims []cns.Claim, reach map[string]map[string]uint8, threshold float64) []restatement {
	words := make(map[string]map[string]struct{}, len(claims))
	for _, c := range claims {
		w := map[string]struct{}{}
		for _, t := range nlp.ContentWords(c.Text) {
			w[t] = struct{}{}
		}
		words[c.ID] = w
	}
	var out []restatement
	for _, c := range claims {
		best := restatement{overlap: -1}
		for _, t := range claims {
			if t.ID == c.ID || reach[c.ID][t.ID]&argFor == 0 {
				continue
			}
			if j := jaccard(words[c.ID], words[t.ID]); j >= threshold && j > best.overlap {
				best = restatement{claim: c.ID, target: t.ID, overlap: j}
			}
		}
		if best.overlap >= 0 {
			out = append(out, best)
		}
	}
	return out
}

// jaccard is |a ∩ b| / |a ∪ b|, and 0 when either set is empty.
func jaccard(a, b map[string]struct{}) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for w := range a {
		if _, ok := b[w]; ok {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
