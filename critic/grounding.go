package critic

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

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
// Evidence whose content is empty (or only spaces) cannot be read by NLI and contributes nothing: a
// citation of an id that resolves to nothing we can read grounds nothing, however many there are. The
// explanation names these unverifiable items (the first few) and the sub-score unverifiable_evidence
// counts them. The confidence is the fraction of evidence items that were readable: because every claim
// sees every item, "claims with at least one readable item" would be all or none, while the share of the
// evidence the critic could actually judge says how much of the cited material the score rests on. With no
// evidence at all the score is 0 with confidence 1: an SNO citing nothing is certainly ungrounded.
//
// Miscitation (forged evidence in the CNS threat model): an item whose contradiction of a claim it is
// cited for (SupportsClaimIDs) reaches Config.MiscitationContradiction, and exceeds its entailment, is
// named in the explanation ("evidence doi:… contradicts claim c2 it is cited for"). Its author vouched
// for it, so unlike an uncited contradiction it costs more than its own contribution: the item grounds
// no claim at all (its content is not what it claims to be), and each claim it is miscited for loses the
// full contradiction probability (λ = 1) from the best grounding its other items give. Adding a miscited
// item to a narrative can therefore only lower its grounding. Before an item is called miscited, a
// passage of several sentences is read sentence by sentence: one sentence entailing the claim clears it
// (confirmMiscitations), so a negation elsewhere in an honest abstract is not taken for a forgery. Only
// links a submitter asserted are checked (linksAsserted): not those of ingested documents (ingestion's
// guess from the layout: the document is linked to every claim, a reference in a sentence that is not a
// claim to the root) nor those a synthesis inherits from its two opposing parents. Sub-score
// miscited_evidence counts the items.
func (e *Evaluator) Grounding(ctx context.Context, sno *cns.SNO) (cns.CriticScore, error) {
	claims := claimsOf(sno)
	readable := make([]int, 0, len(sno.Evidence))
	var unverifiable []string
	for i, ev := range sno.Evidence {
		if strings.TrimSpace(ev.Content) != "" {
			readable = append(readable, i)
		} else {
			unverifiable = append(unverifiable, evidenceName(ev, i))
		}
	}
	cs := cns.CriticScore{
		Name: NameGrounding,
		SubScores: map[string]float64{
			"claims":                float64(len(claims)),
			"evidence":              float64(len(sno.Evidence)),
			"readable_evidence":     float64(len(readable)),
			"unverifiable_evidence": float64(len(unverifiable)),
			"miscited_evidence":     0,
			"mean_entailment":       0,
			"max_contradiction":     0,
			"entailed_claims":       0,
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
		cs.Explanation = fmt.Sprintf("no evidence with readable content: all %d evidence items are empty, none of the %d claims can be grounded; unverifiable: %s",
			len(sno.Evidence), len(claims), nameSome(unverifiable, maxNamed))
		return cs, nil
	}

	// With a batch backend, classify every pair up front; otherwise pair by pair, claim after claim.
	probs := make([][]cns.Entailment, len(claims)) // [claim index][position in readable]
	if b, ok := e.nli.(BatchNLI); ok {
		var premises, hypotheses []string
		var keys [][2]int
		for ci, c := range claims {
			if strings.TrimSpace(c.Text) == "" {
				continue
			}
			for j, i := range readable {
				premises, hypotheses = append(premises, sno.Evidence[i].Content), append(hypotheses, c.Text)
				keys = append(keys, [2]int{ci, j})
			}
		}
		res, err := b.ClassifyBatch(ctx, premises, hypotheses)
		if err == nil && len(res) != len(keys) {
			err = cns.Errorf(cns.EINTERNAL, "NLI %s returned %d results for %d pairs", e.nli.Name(), len(res), len(keys))
		}
		if err != nil {
			return cns.CriticScore{}, fmt.Errorf("grounding: classify %d claim-evidence pairs: %w", len(keys), err)
		}
		for n, k := range keys {
			if probs[k[0]] == nil {
				probs[k[0]] = make([]cns.Entailment, len(readable))
			}
			probs[k[0]][k[1]] = res[n]
		}
	}
	for ci, c := range claims {
		// A claim without text cannot be entailed by anything; asking NLI would only invite an error.
		if strings.TrimSpace(c.Text) == "" {
			continue
		}
		batched := probs[ci] != nil
		if !batched {
			probs[ci] = make([]cns.Entailment, len(readable))
		}
		for j, i := range readable {
			ev := sno.Evidence[i]
			if err := ctx.Err(); err != nil {
				return cns.CriticScore{}, fmt.Errorf("grounding: classify claim %s: %w", c.ID, err)
			}
			p := probs[ci][j]
			if !batched {
				var err error
				if p, err = e.nli.Classify(ctx, ev.Content, c.Text); err != nil {
					return cns.CriticScore{}, fmt.Errorf("grounding: classify claim %s against evidence %s: %w", c.ID, evidenceName(ev, i), err)
				}
			}
			if !finite(p.Entail) || !finite(p.Contradict) || !finite(p.Neutral) {
				return cns.CriticScore{}, fmt.Errorf("grounding: classify claim %s against evidence %s: NLI %s returned non-finite probabilities",
					c.ID, evidenceName(ev, i), e.nli.Name())
			}
			probs[ci][j] = cns.Entailment{Entail: clamp01(p.Entail), Neutral: clamp01(p.Neutral), Contradict: clamp01(p.Contradict)}
		}
	}

	// Miscitations first: a miscited item is discredited for every claim, not only the one it is cited for.
	discredited := make([]bool, len(readable))
	penalty := make([]float64, len(claims))
	var miscited []miscitation
	if e.cfg.MiscitationContradiction > 0 && linksAsserted(sno) {
		var suspects []miscitation
		for ci, c := range claims {
			if probs[ci] == nil {
				continue
			}
			for j, i := range readable {
				p := probs[ci][j]
				if slices.Contains(sno.Evidence[i].SupportsClaimIDs, c.ID) && p.Contradict >= e.cfg.MiscitationContradiction && p.Contradict > p.Entail {
					suspects = append(suspects, miscitation{ci: ci, j: j, evidence: evidenceName(sno.Evidence[i], i), claim: c.ID, contradiction: p.Contradict})
				}
			}
		}
		var err error
		if miscited, err = e.confirmMiscitations(ctx, sno, claims, readable, suspects); err != nil {
			return cns.CriticScore{}, err
		}
		for _, m := range miscited {
			discredited[m.j] = true
			penalty[m.ci] = max(penalty[m.ci], m.contradiction)
		}
	}

	var sum, sumEntail, maxContra float64
	entailed := 0
	weakestID, weakest := "", 2.0
	for ci, c := range claims {
		best, bestEntail := 0.0, 0.0
		for j, i := range readable {
			if probs[ci] == nil {
				break
			}
			p := probs[ci][j]
			maxContra = max(maxContra, p.Contradict)
			if discredited[j] {
				continue
			}
			best = max(best, clamp01(p.Entail-contradictionPenalty*p.Contradict)*evidenceConfidence(sno.Evidence[i]))
			bestEntail = max(bestEntail, p.Entail)
		}
		best = clamp01(best - penalty[ci])
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
	nDiscredited := 0
	for _, d := range discredited {
		if d {
			nDiscredited++
		}
	}
	cs.SubScores["miscited_evidence"] = float64(nDiscredited)
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d claims entailed by evidence; weakest: claim %s (%.2f); mean grounding %.2f, strongest contradiction %.2f; %d of %d evidence items readable",
		entailed, len(claims), weakestID, weakest, cs.Score, maxContra, len(readable), len(sno.Evidence))
	if len(unverifiable) > 0 {
		fmt.Fprintf(&b, "; unverifiable (no readable content, grounds nothing): %s", nameSome(unverifiable, maxNamed))
	}
	if len(miscited) > 0 {
		b.WriteString("; MISCITED EVIDENCE: ")
		for k, m := range miscited {
			if k == maxNamed {
				fmt.Fprintf(&b, "; and %d more", len(miscited)-k)
				break
			}
			if k > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "evidence %s contradicts claim %s it is cited for (contradiction %.2f)", m.evidence, m.claim, m.contradiction)
		}
		b.WriteString(" — miscited items ground nothing, and each claim they are cited for loses the contradiction")
	}
	cs.Explanation = b.String()
	return cs, nil
}

// strategyIngest is the lineage strategy of SNOs extracted from documents (engine.Build), whose evidence
// links are ingestion's guesses rather than an author's assertions.
const strategyIngest = "ingest"

// linksAsserted reports whether the SNO's SupportsClaimIDs are its submitter's assertions, which the
// miscitation check holds them to. An ingested document's links are ingestion's guesses from the layout.
// A synthesis inherits its parents' links: an item both parents cite is linked to both opposing
// positions, so it contradicts one of them by construction, and each parent's own citations were judged
// when it was scored.
func linksAsserted(sno *cns.SNO) bool {
	return sno.Lineage.Strategy != strategyIngest && len(sno.Lineage.Parents) == 0
}

// maxNamed is how many evidence items or claims an explanation names before it only counts the rest.
const maxNamed = 3

// miscitation is an evidence item (readable[j]) that contradicts a claim (claims[ci]) it is cited for.
type miscitation struct {
	ci, j           int
	evidence, claim string
	contradiction   float64
}

// maxConfirmSentences bounds the sentences of one evidence item read to confirm a miscitation. Beyond
// it the item is judged on what was read, which can only keep the flag: a sentence clears it.
const maxConfirmSentences = 64

// confirmMiscitations keeps the suspects that no single sentence of their evidence clears. A passage can
// support a claim in one sentence and mention a negation in another ("… had lower insulin than controls.
// No serious adverse events occurred."); an NLI that judges the passage as a whole (the lexical one
// reads any negation that way) then reports a contradiction the source does not make. So a suspect
// whose evidence has several sentences is cleared when one of them entails the claim (entailment ≥ 0.5
// and above its contradiction). The extra NLI calls are made only for suspects, which honest narratives
// rarely have, in one batch when the backend batches.
func (e *Evaluator) confirmMiscitations(ctx context.Context, sno *cns.SNO, claims []cns.Claim, readable []int, suspects []miscitation) ([]miscitation, error) {
	var premises, hypotheses []string
	var owner []int
	for k, m := range suspects {
		sents := splitSentences(sno.Evidence[readable[m.j]].Content, maxConfirmSentences)
		if len(sents) < 2 {
			continue // the passage is the sentence: its verdict stands
		}
		for _, st := range sents {
			premises, hypotheses, owner = append(premises, st), append(hypotheses, claims[m.ci].Text), append(owner, k)
		}
	}
	cleared := make([]bool, len(suspects))
	if len(premises) > 0 {
		var res []cns.Entailment
		var err error
		if b, ok := e.nli.(BatchNLI); ok {
			res, err = b.ClassifyBatch(ctx, premises, hypotheses)
			if err == nil && len(res) != len(premises) {
				err = cns.Errorf(cns.EINTERNAL, "NLI %s returned %d results for %d pairs", e.nli.Name(), len(res), len(premises))
			}
		} else {
			res = make([]cns.Entailment, len(premises))
			for n := range premises {
				if err = ctx.Err(); err != nil {
					break
				}
				if res[n], err = e.nli.Classify(ctx, premises[n], hypotheses[n]); err != nil {
					break
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("grounding: confirm %d suspected miscitations sentence by sentence: %w", len(suspects), err)
		}
		for n, p := range res {
			if finite(p.Entail) && finite(p.Contradict) && p.Entail >= entailedThreshold && p.Entail > p.Contradict {
				cleared[owner[n]] = true
			}
		}
	}
	var out []miscitation
	for k, m := range suspects {
		if !cleared[k] {
			out = append(out, m)
		}
	}
	return out, nil
}

// splitSentences splits text at a line break, or a '.', '!' or '?' followed by white space or the end, keeping
// only pieces with a letter or digit, at most limit of them. It is deliberately simple: a piece cut at an
// abbreviation ("et al.") is still judged, and can only clear a suspect by entailing the claim itself.
func splitSentences(text string, limit int) []string {
	var out []string
	start := 0
	flush := func(end int) {
		if piece := strings.TrimSpace(text[start:end]); strings.IndexFunc(piece, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			out = append(out, piece)
		}
		start = end
	}
	for i := 0; i < len(text) && len(out) < limit; i++ {
		switch text[i] {
		case '\n':
			flush(i + 1)
		case '.', '!', '?':
			// Not inside "3.5" or "doi:10.1000/x.y": only before white space or the end.
			if i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\n' || text[i+1] == '\t' || text[i+1] == '\r' {
				flush(i + 1)
			}
		}
	}
	if len(out) < limit && start < len(text) {
		flush(len(text))
	}
	return out
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
