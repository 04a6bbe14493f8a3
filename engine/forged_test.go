package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/nlp/assets"
	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/nlimodel"
	"github.com/cns-dev/cns/store/bolt"
)

// fastingNarrative is a submitted narrative about intermittent fasting. The honest evidence says what
// its claims say (the trial abstract also reports, in another sentence, that no adverse events occurred);
// in the forged version the item cited for c2 says the opposite of c2, and two more citations point at
// ids with nothing behind them.
func fastingNarrative(forged bool) cns.NarrativeInput {
	in := cns.NarrativeInput{
		Hypothesis: "Intermittent fasting improves insulin sensitivity in adults with prediabetes.",
		Claims: []cns.Claim{
			{ID: "c1", Text: "Intermittent fasting lowered fasting insulin in a randomized trial."},
			{ID: "c2", Text: "Insulin resistance fell more with fasting than in the control group."},
		},
		Edges: []cns.Edge{
			{From: "c1", To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: 1},
			{From: "c2", To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: 1},
		},
		Evidence: []cns.Evidence{
			{SourceID: "https://doi.org/10.1000/if-trial", SupportsClaimIDs: []string{"c1"},
				Content: "In a 12-week randomized trial of 120 adults with prediabetes, participants assigned to intermittent fasting had lower fasting insulin than controls. No serious adverse events occurred."},
			{SourceID: "doi:10.1000/if-homa", SupportsClaimIDs: []string{"c2"},
				Content: "Insulin resistance fell more in the fasting group than in the control group over the 12 weeks."},
			{SourceID: "doi:10.1000/if-review", SupportsClaimIDs: []string{cns.RootClaimID},
				Content: "A review of eight trials concludes that intermittent fasting improves insulin sensitivity in adults with prediabetes."},
		},
	}
	if forged {
		in.Evidence[1].Content = "Insulin resistance did not fall more in the fasting group than in the control group over the 12 weeks."
		in.Evidence = append(in.Evidence,
			cns.Evidence{SourceID: "doi:10.1000/if-meta-2024", SupportsClaimIDs: []string{cns.RootClaimID}},
			cns.Evidence{SourceID: "https://journal.example/fasting/2023", SupportsClaimIDs: []string{"c1"}})
	}
	return in
}

// realNLIs are the NLI backends of `cns dev`: the lexical fallback, always, and the GloVe-based model
// when `make models` has installed the assets (make test does).
func realNLIs(t *testing.T) map[string]cns.NLI {
	t.Helper()
	_, lexical, err := nlp.New(nlp.BackendBuiltin, 256)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]cns.NLI{"lexical": lexical}
	dir := filepath.Join("..", "models")
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.json")); err != nil {
		t.Logf("GloVe-based NLI not tested: no assets in %s (make models)", dir)
		return out
	}
	a, err := assets.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nlimodel.Default()
	if err != nil {
		t.Fatal(err)
	}
	gl, err := nlimodel.New(&nlimodel.Resources{SIF: glove.NewSIF(a.Vectors, 0), Lexicon: a.Lexicon}, m)
	if err != nil {
		t.Fatal(err)
	}
	out["glove"] = gl
	return out
}

// TestForgedEvidence is issue 7's forged-evidence test: the same narrative submitted with honest and with
// forged evidence through the real engine and NLI. Forgery lowers grounding and trust, and the grounding
// explanation names the item contradicting the claim it is cited for and the citations with nothing
// behind them; the honest narrative is not flagged.
func TestForgedEvidence(t *testing.T) {
	t.Parallel()
	for name, nli := range realNLIs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			emb, _, err := nlp.New(nlp.BackendBuiltin, 256)
			if err != nil {
				t.Fatal(err)
			}
			eng, err := New(Config{Limits: cns.DefaultLimits(), Critic: critic.DefaultConfig(), MinTrust: 0.3}, st, emb, nli)
			if err != nil {
				t.Fatal(err)
			}
			build := func(id string, in cns.NarrativeInput) (*cns.SNO, cns.CriticScore) {
				t.Helper()
				sno, err := eng.Build(context.Background(), &cns.Job{ID: id, Project: "p", Kind: cns.JobSubmitNarrative, Narrative: &in})
				if err != nil {
					t.Fatal(err)
				}
				g, ok := sno.Critic(critic.NameGrounding)
				if !ok {
					t.Fatal("no grounding score")
				}
				return sno, g
			}
			honest, hg := build("job_honest", fastingNarrative(false))
			forged, fg := build("job_forged", fastingNarrative(true))
			// The forged narrative without its miscited item: what its other evidence alone grounds.
			partial := fastingNarrative(true)
			partial.Evidence = append(partial.Evidence[:1:1], partial.Evidence[2:]...)
			_, pg := build("job_partial", partial)
			t.Logf("honest: grounding %.3f, trust %.3f: %s", hg.Score, honest.Trust, hg.Explanation)
			t.Logf("forged: grounding %.3f, trust %.3f: %s", fg.Score, forged.Trust, fg.Explanation)
			t.Logf("forged without the miscited item: grounding %.3f", pg.Score)

			if hg.SubScores["miscited_evidence"] != 0 || hg.SubScores["unverifiable_evidence"] != 0 || strings.Contains(hg.Explanation, "MISCITED") {
				t.Errorf("honest narrative flagged: %v: %s", hg.SubScores, hg.Explanation)
			}
			if hg.Score < 0.5 {
				t.Errorf("honest grounding %.3f: the honest evidence should ground the narrative", hg.Score)
			}
			if fg.Score >= hg.Score || forged.Trust >= honest.Trust {
				t.Errorf("forged grounding %.3f / trust %.3f not below honest %.3f / %.3f", fg.Score, forged.Trust, hg.Score, honest.Trust)
			}
			// A forged item never raises grounding: the narrative is worse with it than without it.
			if fg.Score >= pg.Score {
				t.Errorf("forged grounding %.3f is not below the same narrative without the miscited item (%.3f)", fg.Score, pg.Score)
			}
			if fg.SubScores["miscited_evidence"] != 1 || fg.SubScores["unverifiable_evidence"] != 2 {
				t.Errorf("forged sub-scores %v, want one miscited and two unverifiable items", fg.SubScores)
			}
			for _, want := range []string{
				"evidence doi:10.1000/if-homa contradicts claim c2 it is cited for",
				"unverifiable (no readable content, grounds nothing): doi:10.1000/if-meta-2024, url:https://journal.example/fasting/2023",
			} {
				if !strings.Contains(fg.Explanation, want) {
					t.Errorf("forged explanation lacks %q: %s", want, fg.Explanation)
				}
			}
		})
	}
}
