package critic

import (
	"context"
	"fmt"
	"strings"

	"github.com/cns-dev/cns"
)

// contradictionPenalty (λ) is how much a contradiction probability takes off an entailment probability
// for one (evidence, claim) pair. NLI models spread mass between entailment and contradiction on hedged
// or mixed passages; λ = 1 would let a weak contradiction cancel a strong entailment outright, λ = 0
// would ignore that the evidence argues against the claim. 0.5 counts a contradiction as half an
// entailment, so a pair with entail 0.6 / contradict 0.4 still grounds the claim a little (0.4), while a
// pair that mostly contradicts grounds nothing.
const contradictionPenalty = 0.5

// entailedThreshold is the per-claim score from which the explanation calls a claim "entailed".
const entailedThreshold = 0.5

// BatchNLI is implemented by NLI backends that classify many pairs in one call, e.g. concurrently within
// a CPU budget (the cybertron transformer backend). Grounding then submits every (evidence, claim) pair of
// the SNO at once instead of one call after another; the scores are the same.
type BatchNLI interface {
	ClassifyBatch(ctx context.Context, premises, hypotheses []string) ([]cns.Entailment, error)
}

// Grounding scores how well the evidence entails every claim of the reasoning graph, the root hypothesis
// included.
//
// For a claim c, each evidence item e with readable content gives
//
//	clip(entail(e, c) − λ·contradict(e, c), 0, 1) · confidence(e)
//
// and the claim's score is the best of these: one good source is enough to ground a claim, and a weak or
// contradicting source must not drag down a claim another source establishes. The critic's score is the
// mean over claims, so every unsupported claim costs the same.
//
// Every claim is checked against every evidence item even when the item lists SupportsClaimIDs: the link
// is the author's hint, not a restriction. Items are often linked to one claim but bear on several, and an
// item contradicting a claim it is not linked to must still count against it. The price is
// claims × evidence NLI calls.
//
// Evidence whose content is empty (or only spaces) cannot be read by NLI and contributes nothing. The
// confidence is the fraction of evidence items that were readable: because every claim sees every item,
// "claims with at least one readable item" would be all or none, while the share of the evidence the
// critic could actually judge says how much of the cited material the score rests on. With no evidence
// at all the score is 0 with confidence 1: an SNO citing nothing is certainly ungrounded.
func (e *Evaluator) Grounding(ctx context.Context, sno *cns.SNO) (cns.CriticScore, error) {
	claims := claimsOf(sno)
	readable := make([]int, 0, len(sno.Evidence))
	for i, ev := range sno.Evidence {
		if strings.TrimSpace(ev.Content) != "" {
			readable = append(readable, i)
		}
	}
	cs := cns.CriticScore{
		Name: NameGrounding,
		SubScores: map[string]float64{
			"claims":            float64(len(claims)),
			"evidence":          float64(len(sno.Evidence)),
			"readable_evidence": float64(len(readable)),
			"mean_entailment":   0,
			"max_contradiction": 0,
			"entailed_claims":   0,
		},
	}
	switch {
	case len(sno.Evidence) == 0:
		cs.Confidence = 1
		cs.Explanation = fmt.Sprintf("no evidence: none of the %d claims can be grounded", len(claims))
		return cs, nil
	case len(readable) == 0:
		// Nothing could be judged: the score is 0 because no grounding was shown, and the confidence
		// is 0 because the cited items may well support the claims.
		cs.Explanation = fmt.Sprintf("no evidence with readable content: all %d evidence items are empty, none of the %d claims can be grounded",
			len(sno.Evidence), len(claims))
		return cs, nil
	}

	// With a batch backend, classify every pair up front; the loop below then only reads the results.
	var batched map[[2]int]cns.Entailment // (claim index, evidence index) → probabilities
	if b, ok := e.nli.(BatchNLI); ok {
		var premises, hypotheses []string
		var keys [][2]int
		for ci, c := range claims {
			if strings.TrimSpace(c.Text) == "" {
				continue
			}
			for _, i := range readable {
				premises, hypotheses = append(premises, sno.Evidence[i].Content), append(hypotheses, c.Text)
				keys = append(keys, [2]int{ci, i})
			}
		}
		res, err := b.ClassifyBatch(ctx, premises, hypotheses)
		if err == nil && len(res) != len(keys) {
			err = cns.Errorf(cns.EINTERNAL, "NLI %s returned %d results for %d pairs", e.nli.Name(), len(res), len(keys))
		}
		if err != nil {
			return cns.CriticScore{}, fmt.Errorf("grounding: classify %d claim-evidence pairs: %w", len(keys), err)
		}
		batched = make(map[[2]int]cns.Entailment, len(keys))
		for j, k := range keys {
			batched[k] = res[j]
		}
	}

	var sum, sumEntail, maxContra float64
	entailed := 0
	weakestID, weakest := "", 2.0
	for ci, c := range claims {
		best, bestEntail := 0.0, 0.0
		// A claim without text cannot be entailed by anything; asking NLI would only invite an error.
		if strings.TrimSpace(c.Text) != "" {
			for _, i := range readable {
				ev := sno.Evidence[i]
				if err := ctx.Err(); err != nil {
					return cns.CriticScore{}, fmt.Errorf("grounding: classify claim %s: %w", c.ID, err)
				}
				p, err := batched[[2]int{ci, i}], error(nil)
				if batched == nil {
					p, err = e.nli.Classify(ctx, ev.Content, c.Text)
				}
				if err != nil {
					return cns.CriticScore{}, fmt.Errorf("grounding: classify claim %s against evidence %s: %w", c.ID, evidenceName(ev, i), err)
				}
				if !finite(p.Entail) || !finite(p.Contradict) || !finite(p.Neutral) {
					return cns.CriticScore{}, fmt.Errorf("grounding: classify claim %s against evidence %s: NLI %s returned non-finite probabilities",
						c.ID, evidenceName(ev, i), e.nli.Name())
				}
				ent, con := clamp01(p.Entail), clamp01(p.Contradict)
				best = max(best, clamp01(ent-contradictionPenalty*con)*evidenceConfidence(ev))
				bestEntail = max(bestEntail, ent)
				maxContra = max(maxContra, con)
			}
		}
		sum += best
		sumEntail += bestEntail
		if best >= entailedThreshold {
			entailed++
		}
		if best < weakest {
			weakestID, weakest = c.ID, best
		}
	}
	n := float64(len(claims))
	cs.Score = clamp01(sum / n)
	cs.Confidence = float64(len(readable)) / float64(len(sno.Evidence))
	cs.SubScores["mean_entailment"] = sumEntail / n
	cs.SubScores["max_contradiction"] = maxContra
	cs.SubScores["entailed_claims"] = float64(entailed)
	cs.Explanation = fmt.Sprintf("%d of %d claims entailed by evidence; weakest: claim %s (%.2f); mean grounding %.2f, strongest contradiction %.2f; %d of %d evidence items readable",
		entailed, len(claims), weakestID, weakest, cs.Score, maxContra, len(readable), len(sno.Evidence))
	return cs, nil
}

// claimsOf returns the claims to ground. The root claim's text falls back to the SNO's hypothesis (they
// are the same statement), and a graph without claims is judged as its hypothesis alone.
func claimsOf(sno *cns.SNO) []cns.Claim {
	if len(sno.Graph.Claims) == 0 {
		return []cns.Claim{{ID: cns.RootClaimID, Text: sno.Hypothesis}}
	}
	claims := append([]cns.Claim(nil), sno.Graph.Claims...)
	for i := range claims {
		if claims[i].ID == cns.RootClaimID && strings.TrimSpace(claims[i].Text) == "" {
			claims[i].Text = sno.Hypothesis
		}
	}
	return claims
}

// evidenceConfidence follows the domain's convention that an omitted confidence (0) means 1.0, which
// cns.BuildNarrative applies on the way in; other producers may build Evidence directly and leave it 0.
func evidenceConfidence(ev cns.Evidence) float64 {
	if ev.Confidence == 0 {
		return 1
	}
	return clamp01(ev.Confidence)
}

// evidenceName names an evidence item in errors by id (never by content, which may be sensitive).
func evidenceName(ev cns.Evidence, i int) string {
	if ev.ID != "" {
		return ev.ID
	}
	return fmt.Sprintf("#%d", i)
}
