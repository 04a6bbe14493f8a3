package critic

import (
	"context"
	"fmt"
	"strings"

	"github.com/cns-dev/cns"
)

// complexitySaturation is the number of edges per claim at which the complexity penalty reaches its
// full β: a graph that dense is already a tangle, and more edges should not push the score further down.
const complexitySaturation = 5.0

// emptyReferenceConfidence is the novelty confidence when there is nothing to compare with: the score
// then says "new because nothing is known", which is true but weak.
const emptyReferenceConfidence = 0.5

// maxFloodScan bounds how many neighbours flood detection reads. Same-source near-duplicates can sit
// behind near-duplicates from other sources (corroboration), so the search widens past those, but a
// topic that thousands of independent sources repeat must not make every evaluation read the whole index.
const maxFloodScan = 1024

// Unattributed is the source key of an SNO that names no source (SourceKey): all of a project's
// unattributed SNOs count as one source, so leaving the source out cannot hide a flood.
const Unattributed = "unattributed"

// SourceKey returns the source an SNO speaks for, which flood detection compares:
//
//   - the SNO's Source (the document's source), canonicalised as evidence ids are (cns.CanonicalEvidenceID:
//     "doi:10.1000/x", "url:https://…", "src:…"), so two spellings of one DOI or URL are one source;
//   - else its Metadata["source"], canonicalised the same way (a submitted narrative naming its origin);
//   - else, for a synthesis (it has parents), "generator:" + its generator: the system's own output is
//     one voice per generator;
//   - else Unattributed.
//
// Sources are what the submitter says they are. A flooder who invents a new source per copy is no
// longer caught here; its copies then differ in the one thing that identifies them.
func SourceKey(s *cns.SNO) string {
	if k := cns.CanonicalEvidenceID(s.Source, ""); k != "" {
		return k
	}
	if k := cns.CanonicalEvidenceID(s.Metadata["source"], ""); k != "" {
		return k
	}
	if len(s.Lineage.Parents) > 0 {
		return "generator:" + s.Lineage.Generator
	}
	return Unattributed
}

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
// Flooding (narrative flooding in the CNS threat model: many near-copies of one narrative pushed to fake
// a consensus) is checked by consistency clustering when Config.FloodCluster > 0 and ref.SourceOf is
// set. The near-duplicates of the hypothesis (cosine ≥ FloodSimilarity) among the indexed SNOs that
// come from the SNO's own source (SourceKey) form its cluster: near-copies from one source count as one
// voice. When the cluster, the SNO included, reaches FloodCluster, the SNO is flagged: novelty 0 and, in
// Evaluate, trust capped at FloodTrustCap. The trust floor does not apply here (an admitted copy is a
// copy whatever its trust), and near-duplicates from other sources are corroboration, reported but never
// penalised.
//
// Sub-scores: min_distance (d), complexity_penalty (the β term subtracted), neighbours (reference
// neighbours looked at), edges_per_claim; with flood detection on also near_duplicates (indexed
// near-duplicates seen, any source), flood_cluster (same-source near-duplicates, the SNO included) and
// flooding (1 when flagged). The nearest neighbour's id is not a number, so it is named in the
// explanation.
func (e *Evaluator) Novelty(ctx context.Context, sno *cns.SNO, ref Reference) (cns.CriticScore, error) {
	cs, _, err := e.novelty(ctx, sno, ref)
	return cs, err
}

// novelty is Novelty that also reports whether the SNO is flooding, for the trust cap.
func (e *Evaluator) novelty(ctx context.Context, sno *cns.SNO, ref Reference) (cns.CriticScore, bool, error) {
	nClaims, nEdges := len(sno.Graph.Claims), len(sno.Graph.Edges)
	edgesPerClaim := 0.0
	if nClaims > 0 {
		edgesPerClaim = float64(nEdges) / float64(nClaims)
	}
	penalty := e.cfg.NoveltyBeta * min(1, edgesPerClaim/complexitySaturation)

	s, err := e.newSearcher(sno, ref)
	if err != nil {
		return cns.CriticScore{}, false, err
	}
	neighbours, err := e.references(ctx, s, sno, ref)
	if err != nil {
		return cns.CriticScore{}, false, err
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

	if e.cfg.FloodCluster == 0 || ref.SourceOf == nil {
		return cs, false, nil
	}
	fc, err := e.floodCluster(ctx, s, sno, ref)
	if err != nil {
		return cns.CriticScore{}, false, err
	}
	cluster := 1 + len(fc.same)
	cs.SubScores["near_duplicates"] = float64(fc.near)
	cs.SubScores["flood_cluster"] = float64(cluster)
	cs.SubScores["flooding"] = 0
	if cluster < e.cfg.FloodCluster {
		if fc.near > 0 {
			cs.Explanation += fmt.Sprintf("; %d near-duplicates (cosine ≥ %.2f), %d from its own source %s: no flooding (flagged from %d)",
				fc.near, e.cfg.FloodSimilarity, len(fc.same), fc.source, e.cfg.FloodCluster)
		}
		return cs, false, nil
	}
	cs.Score = 0
	cs.Confidence = 1
	cs.SubScores["flooding"] = 1
	cs.Explanation = fmt.Sprintf("FLOODING: near-duplicate %d of a cluster from source %s (cosine ≥ %.2f; already in the population: %s); near-copies from one source count once, so novelty is 0 and trust is capped at %.2f; %s",
		cluster, fc.source, e.cfg.FloodSimilarity, nameSome(fc.same, maxNamed), e.cfg.FloodTrustCap, cs.Explanation)
	return cs, true, nil
}

// searcher runs the nearest-neighbour searches of one evaluation. Novelty and flood detection both
// read the same ranking, so a wider search made for one serves the other.
type searcher struct {
	idx  cns.VectorIndex
	q    []float32
	size int
	k    int // the k of the last search; hits holds its answer
	hits []cns.Hit
}

// newSearcher prepares the searches of sno's embedding; nil when there is no population to search.
func (e *Evaluator) newSearcher(sno *cns.SNO, ref Reference) (*searcher, error) {
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
	return &searcher{idx: idx, q: q, size: size}, nil
}

// upTo returns the k nearest hits, best first, reusing the last search when it was at least as wide.
func (s *searcher) upTo(ctx context.Context, k int) ([]cns.Hit, error) {
	k = min(k, s.size)
	if s.hits != nil && s.k >= k {
		return s.hits[:min(k, len(s.hits))], nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("novelty: search: %w", err)
	}
	hits, err := s.idx.Search(s.q, k)
	if err != nil {
		return nil, fmt.Errorf("novelty: search %d neighbours: %w", k, err)
	}
	for _, h := range hits {
		if !finite(h.Score) {
			return nil, fmt.Errorf("novelty: search: neighbour %s has non-finite score %v", h.ID, h.Score)
		}
	}
	s.k, s.hits = k, hits
	return hits, nil
}

// references returns up to NoveltyK reference neighbours of sno, nearest first.
func (e *Evaluator) references(ctx context.Context, s *searcher, sno *cns.SNO, ref Reference) ([]cns.Hit, error) {
	if s == nil {
		return nil, nil
	}
	want := e.cfg.NoveltyK
	k := s.size
	if want < s.size {
		k = want + 1 // room for the SNO's own entry
	}
	for {
		hits, err := s.upTo(ctx, k)
		if err != nil {
			return nil, err
		}
		var out []cns.Hit
		for _, h := range hits {
			if e.isReference(sno.ID, h.ID, ref) {
				out = append(out, h)
				if len(out) == want {
					return out, nil
				}
			}
		}
		// Stop once the index has nothing more to give; otherwise skipped hits crowded out reference
		// neighbours, so look further.
		if len(hits) < k || k >= s.size {
			return out, nil
		}
		k = min(2*k, s.size)
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

// flood is what flood detection found around one SNO.
type flood struct {
	source string
	near   int      // indexed near-duplicates, any source
	same   []string // those from the SNO's own source, nearest first
}

// floodCluster collects the indexed near-duplicates of sno (cosine ≥ FloodSimilarity), skipping the SNO
// itself and entries TrustOf or SourceOf do not know (stale). It stops as soon as the cluster is large
// enough to flag, when the hits fall below the similarity, or after maxFloodScan neighbours.
func (e *Evaluator) floodCluster(ctx context.Context, s *searcher, sno *cns.SNO, ref Reference) (flood, error) {
	f := flood{source: SourceKey(sno)}
	if s == nil {
		return f, nil
	}
	need := e.cfg.FloodCluster - 1 // same-source near-duplicates that make the SNO flooding
	// Start from what novelty already searched: those hits are at hand.
	k := max(min(e.cfg.FloodCluster+1, s.size), s.k)
	for {
		hits, err := s.upTo(ctx, k)
		if err != nil {
			return flood{}, err
		}
		f.near, f.same = 0, f.same[:0]
		below := false
		for _, h := range hits {
			if h.Score < e.cfg.FloodSimilarity {
				below = true // best first: nothing further is a near-duplicate
				break
			}
			if h.ID == sno.ID {
				continue
			}
			if ref.TrustOf != nil {
				if _, ok := ref.TrustOf(h.ID); !ok {
					continue
				}
			}
			src, ok := ref.SourceOf(h.ID)
			if !ok {
				continue
			}
			f.near++
			if src == f.source {
				f.same = append(f.same, h.ID)
				if len(f.same) == need {
					return f, nil
				}
			}
		}
		if below || len(hits) < k || k >= s.size || k >= maxFloodScan {
			return f, nil
		}
		k = min(2*k, s.size, maxFloodScan)
	}
}

// nameSome lists up to n ids, then how many more there are.
func nameSome(ids []string, n int) string {
	if len(ids) <= n {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:n], ", "), len(ids)-n)
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}
