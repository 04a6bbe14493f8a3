package pairseval_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/pairseval"
)

func TestLoadSciFact(t *testing.T) {
	t.Parallel()
	ds, err := pairseval.LoadSciFact("testdata/scifact", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Narratives) != 7 || ds.Name != "scifact/dev" {
		t.Fatalf("%s: %d narratives", ds.Name, len(ds.Narratives))
	}
	// One SUPPORTs and the other CONTRADICTs the same abstract.
	want := [][2]string{{"scifact:1", "scifact:2"}, {"scifact:2", "scifact:3"}, {"scifact:4", "scifact:5"}}
	if len(ds.Gold) != len(want) {
		t.Fatalf("gold = %v", ds.Gold)
	}
	for _, g := range want {
		if !ds.Gold[g] {
			t.Fatalf("gold lacks %v: %v", g, ds.Gold)
		}
	}
	n := ds.Narratives[0]
	if n.Key != "scifact:1" || n.Input.Hypothesis != "Regular exercise improves sleep quality in older adults." || len(n.Input.Evidence) != 1 ||
		n.Input.Evidence[0].SourceID != "scifact:100" || n.Input.Evidence[0].Content[:19] != "Exercise and sleep " {
		t.Fatalf("narrative = %+v", n)
	}
	if _, err := pairseval.LoadSciFact("testdata/scifact", "train"); err == nil {
		t.Fatal("a missing split loads")
	}
}

func TestLoadPerspectrum(t *testing.T) {
	t.Parallel()
	ds, err := pairseval.LoadPerspectrum("testdata/perspectrum", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Narratives) != 5 {
		t.Fatalf("%d narratives, want the 5 clusters of the two dev claims", len(ds.Narratives))
	}
	want := [][2]string{{"perspectrum:1:0", "perspectrum:1:1"}, {"perspectrum:1:1", "perspectrum:1:2"}, {"perspectrum:2:0", "perspectrum:2:1"}}
	if len(ds.Gold) != len(want) {
		t.Fatalf("gold = %v", ds.Gold)
	}
	for _, g := range want {
		if !ds.Gold[g] {
			t.Fatalf("gold lacks %v", g)
		}
	}
	n := ds.Narratives[1]
	var ids []string
	for _, e := range n.Input.Evidence {
		ids = append(ids, e.SourceID)
	}
	if n.Input.Hypothesis != "Compulsory vaccination does not protect the vulnerable." ||
		!slices.Equal(ids, []string{"perspectrum:claim:1", "perspectrum:evidence:500", "perspectrum:evidence:501"}) ||
		n.Input.Evidence[0].Content != "Vaccination should be compulsory." {
		t.Fatalf("narrative = %+v", n)
	}
}

// TestCollectAndCalibrate is the small version of `cns calibrate pairs`: the fixture's negation pairs
// share their abstract, so the real engine discovers them and ranks them first.
func TestCollectAndCalibrate(t *testing.T) {
	t.Parallel()
	ds, err := pairseval.LoadSciFact("testdata/scifact", "dev")
	if err != nil {
		t.Fatal(err)
	}
	emb, nli, err := nlp.New(nlp.BackendBuiltin, 128)
	if err != nil {
		t.Fatal(err)
	}
	run, err := pairseval.Collect(context.Background(), ds, pairseval.Options{Embedder: emb, NLI: nli, Critic: critic.DefaultConfig(), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	// Candidates are the pairs sharing an abstract: 3 on doc 100, 1 on 200, 1 on 300.
	if run.Admitted != 7 || run.Gold != 3 || len(run.Candidates) != 5 {
		t.Fatalf("admitted %d, gold %d, candidates %+v", run.Admitted, run.Gold, run.Candidates)
	}
	p := pairseval.Params{Lambda: 0.75, Mu: 1, MinChirality: 0.175, MinEntanglement: 0.55}
	s := run.Evaluate(p)
	if s.CandidateGold != 3 || s.CandidateAll != 5 {
		t.Fatalf("score %+v", s)
	}
	// The two negation pairs (exercise, coffee) lead the ranking and are kept.
	if s.AP < 0.8 || s.TruePositives < 2 || s.P10 < 0.2 {
		t.Fatalf("score %+v", s)
	}
	if math.Abs(s.Precision-float64(s.TruePositives)/float64(s.Kept)) > 1e-12 || math.Abs(s.Recall-float64(s.TruePositives)/3) > 1e-12 {
		t.Fatalf("precision or recall inconsistent: %+v", s)
	}
	// Nothing kept above C = 1.
	if s := run.Evaluate(pairseval.Params{Lambda: 0.75, Mu: 1, MinChirality: 1.01}); s.Kept != 0 || s.P10 != 0 || s.F1 != 0 {
		t.Fatalf("C ≥ 1.01 kept %+v", s)
	}
	best, bs := pairseval.Calibrate(run)
	if !slices.Contains(pairseval.LambdaGrid, best.Lambda) || !slices.Contains(pairseval.MuGrid, best.Mu) || bs.F05 < s.F05 {
		t.Fatalf("calibrated %+v %+v is worse than %+v", best, bs, s)
	}
}
