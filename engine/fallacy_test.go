package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/nlp"
)

// TestFallacyInjection: a circular reasoning graph is refused at input, and a self-supporting one — a
// premise that merely restates the hypothesis, two steps down a chain — is named by the logic critic and
// scores lower than the same argument without it, through the real engine.
func TestFallacyInjection(t *testing.T) {
	t.Parallel()
	emb, nli, err := nlp.New(nlp.BackendBuiltin, 256)
	if err != nil {
		t.Fatal(err)
	}
	// Building a submitted narrative reads no store.
	eng, err := New(Config{Limits: cns.DefaultLimits(), Critic: critic.DefaultConfig(), MinTrust: 0.3}, nil, emb, nli)
	if err != nil {
		t.Fatal(err)
	}
	supports := func(from, to string) cns.Edge {
		return cns.Edge{From: from, To: to, Relation: cns.RelationSupports, Strength: 1}
	}
	narrative := func(claims []cns.Claim, edges ...cns.Edge) cns.NarrativeInput {
		return cns.NarrativeInput{
			Hypothesis: "Regular exercise improves sleep quality in older adults.",
			Claims:     claims,
			Edges:      edges,
			Evidence: []cns.Evidence{{SourceID: "doi:10.1000/sleep-trial", SupportsClaimIDs: []string{"c1"},
				Content: "In a trial of 200 older adults, regular exercise improved deep sleep and sleep quality."}},
		}
	}
	build := func(id string, in cns.NarrativeInput) (*cns.SNO, error) {
		return eng.Build(context.Background(), &cns.Job{ID: id, Project: "p", Kind: cns.JobSubmitNarrative, Narrative: &in})
	}
	premise := cns.Claim{ID: "c1", Text: "In a trial of 200 older adults, exercise improved deep sleep."}
	restating := cns.Claim{ID: "c2", Text: "Sleep quality in older adults is improved by regular exercise."}

	if _, err := build("job_circular", narrative([]cns.Claim{premise, restating},
		supports("c1", cns.RootClaimID), supports("c2", "c1"), supports(cns.RootClaimID, "c2"))); cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("circular graph: %v, want EINVALID", err)
	}

	honest, err := build("job_honest", narrative([]cns.Claim{premise}, supports("c1", cns.RootClaimID)))
	if err != nil {
		t.Fatal(err)
	}
	injected, err := build("job_injected", narrative([]cns.Claim{premise, restating}, supports("c1", cns.RootClaimID), supports("c2", "c1")))
	if err != nil {
		t.Fatal(err)
	}
	hl, _ := honest.Critic(critic.NameLogic)
	il, _ := injected.Critic(critic.NameLogic)
	t.Logf("honest logic %.3f; injected logic %.3f: %s", hl.Score, il.Score, il.Explanation)
	if hl.SubScores["self_supporting_claims"] != 0 || il.SubScores["self_supporting_claims"] != 1 {
		t.Fatalf("self-supporting claims: honest %v, injected %v", hl.SubScores["self_supporting_claims"], il.SubScores["self_supporting_claims"])
	}
	if il.Score >= hl.Score || il.SubScores["coherence"] >= 1 {
		t.Errorf("injected logic %.3f (coherence %v) not below honest %.3f", il.Score, il.SubScores["coherence"], hl.Score)
	}
	if !strings.Contains(il.Explanation, "claim c2 restates root") {
		t.Errorf("explanation does not name the restating claim: %s", il.Explanation)
	}
}
