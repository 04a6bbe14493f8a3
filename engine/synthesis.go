package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/cns-dev/cns"
)

// Admit returns the status a synthesized SNO of trust t gets: ACTIVE at or above AcceptTrust, REJECTED
// below RejectTrust, REVIEW in between. (The design note's "accept 0.75, review below 0.65, reject below
// 0.45" overlaps; we read it as two thresholds, docs/pairs.md.)
func (c LoopConfig) Admit(t float64) cns.Status {
	switch {
	case t >= c.AcceptTrust:
		return cns.StatusActive
	case t < c.RejectTrust:
		return cns.StatusRejected
	}
	return cns.StatusReview
}

// synthesize builds the SNO of a synthesize_pair job: it measures the pair, asks the synthesizer for a
// candidate, checks it (a DAG, evidence ⊇ the shared evidence), embeds and scores it against the
// population, and admits it with the synthesis thresholds. Nothing is stored here.
func (e *Engine) synthesize(ctx context.Context, job *cns.Job) (*cns.SNO, error) {
	l, err := e.needLoop()
	if err != nil {
		return nil, err
	}
	in := job.Synthesis
	if in.Generator != l.synth.Name() {
		// Claimed for another generator version (a worker of another build or configuration): leave it to
		// a worker that runs that generator; retries end in a dead letter an operator can redrive.
		return nil, cns.Errorf(cns.EUNAVAILABLE, "pair claimed for generator %s, this worker runs %s", in.Generator, l.synth.Name())
	}
	pair, parents, err := e.MeasurePair(ctx, job.Project, in.A, in.B)
	if err != nil {
		if cns.ErrorCode(err) == cns.ENOTFOUND {
			return nil, cns.Errorf(cns.ENOTFOUND, "synthesis parent missing: %s", cns.ErrorMessage(err))
		}
		return nil, fmt.Errorf("measure pair: %w", err)
	}
	a, b := parents[0], parents[1]
	cand, err := l.synth.Synthesize(ctx, cns.SynthesisRequest{A: a, B: b, Pair: pair})
	if err != nil {
		return nil, fmt.Errorf("synthesize with %s: %w", l.synth.Name(), err)
	}
	if err := cand.Graph.Validate(); err != nil {
		return nil, cns.Errorf(cns.EFAILEDPRECOND, "%s produced an invalid reasoning graph: %s", l.synth.Name(), cns.ErrorMessage(err))
	}
	if strings.TrimSpace(cand.Hypothesis) == "" {
		return nil, cns.Errorf(cns.EFAILEDPRECOND, "%s produced an empty hypothesis", l.synth.Name())
	}
	evidence := withSharedEvidence(cand.Evidence, pair.SharedEvidenceIDs, a, b)
	vec, err := e.emb.Embed(ctx, cand.Hypothesis)
	if err != nil {
		return nil, fmt.Errorf("embed synthesis: %w", err)
	}
	now := e.now().UTC()
	md := map[string]string{
		"synthesis.rationale":     cand.Rationale,
		"synthesis.contradiction": strconv.FormatFloat(pair.Contradiction, 'f', 4, 64),
		"synthesis.engagement":    strconv.FormatFloat(pair.EvidenceEngagement, 'f', 4, 64),
		"synthesis.potential":     strconv.FormatFloat(pair.Potential, 'f', 4, 64),
		"synthesis.trigger":       "api",
	}
	if in.Auto {
		md["synthesis.trigger"] = "discovery"
	}
	if cand.TokensUsed > 0 {
		md["synthesis.tokens"] = strconv.Itoa(cand.TokensUsed)
	}
	sno := &cns.SNO{
		ID:            SNOIDForJob(job.ID),
		Project:       job.Project,
		Hypothesis:    cand.Hypothesis,
		Embedding:     vec,
		Graph:         cand.Graph,
		Evidence:      evidence,
		Source:        "synthesis:" + a.ID + "+" + b.ID,
		Metadata:      md,
		SchemaVersion: cns.SchemaVersion,
		JobID:         job.ID,
		Lineage: cns.Lineage{Parents: []string{a.ID, b.ID}, Strategy: cand.Strategy, Generator: l.synth.Name(),
			Chirality: pair.Chirality, Entanglement: pair.Entanglement},
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := e.score(ctx, sno, e.eval); err != nil {
		return nil, err
	}
	sno.Status = l.cfg.Admit(sno.Trust)
	return sno, nil
}

// withSharedEvidence returns the candidate's evidence with canonical ids, plus every shared item it
// left out (taken from the parents): a synthesis must answer to all the evidence its parents dispute.
// Items referring to claims the candidate does not have keep only the links that resolve.
func withSharedEvidence(ev []cns.Evidence, shared []string, a, b *cns.SNO) []cns.Evidence {
	out := make([]cns.Evidence, 0, len(ev)+len(shared))
	seen := map[string]bool{}
	for _, e := range ev {
		if e.ID == "" {
			e.ID = cns.CanonicalEvidenceID(e.SourceID, e.Content)
		}
		if e.ID == "" || seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	for _, id := range shared {
		if seen[id] {
			continue
		}
		for _, p := range []*cns.SNO{a, b} {
			if it, ok := evidenceByID(p, id); ok {
				it.SupportsClaimIDs = nil
				out = append(out, it)
				seen[id] = true
				break
			}
		}
	}
	return out
}

func evidenceByID(s *cns.SNO, id string) (cns.Evidence, bool) {
	for _, e := range s.Evidence {
		if e.ID == id {
			return e, true
		}
	}
	return cns.Evidence{}, false
}
