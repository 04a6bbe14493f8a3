package critic

import (
	"context"
	"fmt"

	"github.com/cns-dev/cns"
)

// complexitySaturation is the number of edges per claim at which the complexity penalty reaches its
// full β: a graph that dense is already a tangle, and more edges should not push the score further down.
const complexitySaturation = 5.0

// emptyReferenceConfidence is the novelty confidence when there is nothing to compare with: the score
// then says "new because nothing is known", which is true but weak.
const emptyReferenceConfidence = 0.5

// Novelty scores how far the hypothesis is from existing knowledge, less a penalty for complexity:
//
//	clip(α·d − β·min(1, (|edges|/|claims|)/5), 0, 1)
//
// where d = 1 − cosine to the nearest reference SNO, clamped to [0,1]. The reference set is the
// population in ref.Index (the caller puts only ACTIVE SNOs there) minus the SNO itself (it is being
// re-evaluated and is trivially identical to itself) minus neighbours whose trust, per ref.TrustOf, is
// below Config.TrustFloor. The critic looks at up to NoveltyK reference neighbours; when the nearest hits
// are skipped it widens the search, so a distant trusted SNO is still found behind close untrusted ones.
// With no reference neighbour d is 1 (the first SNO of a project is entirely new) and the confidence
// drops to 0.5.
//
// Sub-scores: min_distance (d), complexity_penalty (the β term subtracted), neighbours (reference
// neighbours looked at), edges_per_claim. The nearest neighbour's id is not a number, so it is named in
// the explanation.
func (e *Evaluator) Novelty(ctx context.Context, sno *cns.SNO, ref Reference) (cns.CriticScore, error) {
	nClaims, nEdges := len(sno.Graph.Claims), len(sno.Graph.Edges)
	edgesPerClaim := 0.0
	if nClaims > 0 {
		edgesPerClaim = float64(nEdges) / float64(nClaims)
	}
	penalty := e.cfg.NoveltyBeta * min(1, edgesPerClaim/complexitySaturation)

	neighbours, err := e.references(ctx, sno, ref)
	if err != nil {
		return cns.CriticScore{}, err
	}
	d, confidence := 1.0, emptyReferenceConfidence
	if len(neighbours) > 0 {
		// Hits come best first, so the nearest is the first.
		d, confidence = clamp01(1-neighbours[0].Score), 1
	}
	cs := cns.CriticScore{
		Name:       NameNovelty,
		Score:      clamp01(e.cfg.NoveltyAlpha*d - penalty),
		Confidence: confidence,
		SubScores: map[string]float64{
			"min_distance":       d,
			"complexity_penalty": penalty,
			"neighbours":         float64(len(neighbours)),
			"edges_per_claim":    edgesPerClaim,
		},
	}
	var where string
	if len(neighbours) == 0 {
		where = "no reference SNO to compare with, distance taken as 1"
	} else {
		where = fmt.Sprintf("nearest reference SNO %s at distance %.2f (of %d looked at)", neighbours[0].ID, d, len(neighbours))
	}
	cs.Explanation = fmt.Sprintf("%s; complexity penalty %.2f for %.2f edges per claim; novelty %.2f = %.2f·%.2f − %.2f, clipped to [0,1]",
		where, penalty, edgesPerClaim, cs.Score, e.cfg.NoveltyAlpha, d, penalty)
	return cs, nil
}

// references returns up to NoveltyK reference neighbours of sno, nearest first.
func (e *Evaluator) references(ctx context.Context, sno *cns.SNO, ref Reference) ([]cns.Hit, error) {
	idx := ref.Index
	if idx == nil {
		return nil, nil
	}
	size := idx.Len()
	if size == 0 {
		return nil, nil
	}
	q := cns.Normalize(append([]float32(nil), sno.Embedding...))
	if len(q) == 0 || isZero(q) {
		// Without an embedding the distance is unknown; guessing either 0 or 1 would silently mis-score a
		// populated project, so this is the caller's error.
		return nil, cns.Errorf(cns.EINVALID, "novelty: SNO %s has no embedding to compare with %d reference SNOs", sno.ID, size)
	}
	if d := idx.Dim(); d > 0 && d != len(q) {
		return nil, cns.Errorf(cns.EINVALID, "novelty: SNO %s embedding has dimension %d, the index %d", sno.ID, len(q), d)
	}

	want := e.cfg.NoveltyK
	k := size
	if want < size {
		k = want + 1 // room for the SNO's own entry
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("novelty: search: %w", err)
		}
		hits, err := idx.Search(q, k)
		if err != nil {
			return nil, fmt.Errorf("novelty: search %d neighbours: %w", k, err)
		}
		var out []cns.Hit
		for _, h := range hits {
			if !finite(h.Score) {
				return nil, fmt.Errorf("novelty: search: neighbour %s has non-finite score %v", h.ID, h.Score)
			}
			if e.isReference(sno.ID, h.ID, ref) {
				out = append(out, h)
				if len(out) == want {
					return out, nil
				}
			}
		}
		// Stop once the index has nothing more to give; otherwise skipped hits crowded out reference
		// neighbours, so look further.
		if len(hits) < k || k >= size {
			return out, nil
		}
		k = min(2*k, size)
	}
}

// isReference reports whether neighbour id belongs to the reference set for the SNO self.
func (e *Evaluator) isReference(self, id string, ref Reference) bool {
	if id == self {
		return false
	}
	if ref.TrustOf == nil {
		return true
	}
	t, ok := ref.TrustOf(id)
	return ok && t >= e.cfg.TrustFloor
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
