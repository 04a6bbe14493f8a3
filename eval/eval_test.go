package eval_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cns-dev/cns/eval"
	"github.com/cns-dev/cns/nlp/assets"
	"github.com/cns-dev/cns/nlp/assets/assetstest"
	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/nlimodel"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestMetrics(t *testing.T) {
	if got := eval.Accuracy([]int{0, 1, 2, 2}, []int{0, 1, 1, 2}); !near(got, 0.75) {
		t.Errorf("accuracy %v", got)
	}
	// class 0: tp1 fp0 fn0 → 1; class 1: tp1 fn1 → 2/3; class 2: tp1 fp1 → 2/3.
	if got := eval.MacroF1([]int{0, 1, 2, 2}, []int{0, 1, 1, 2}, []int{0, 1, 2}); !near(got, (1+2.0/3+2.0/3)/3) {
		t.Errorf("macro-F1 %v", got)
	}
	if got := eval.AUROC([]float64{0.9, 0.8, 0.3, 0.1}, []bool{true, false, true, false}); !near(got, 0.75) {
		t.Errorf("AUROC %v, want 0.75", got)
	}
	if got := eval.AUROC([]float64{1, 1}, []bool{true, false}); !near(got, 0.5) {
		t.Errorf("AUROC of ties %v, want 0.5", got)
	}
	if got := eval.Spearman([]float64{1, 2, 3, 4}, []float64{10, 20, 30, 100}); !near(got, 1) {
		t.Errorf("Spearman %v", got)
	}
	if got := eval.Spearman([]float64{1, 2, 3}, []float64{3, 2, 1}); !near(got, -1) {
		t.Errorf("Spearman %v", got)
	}
	// Two bins: 0.2 with outcome rate 0 (gap .2), 0.9 with rate 1 (gap .1), equal weight.
	if got := eval.ECE([]float64{0.2, 0.2, 0.9, 0.9}, []bool{false, false, true, true}, 10); !near(got, 0.15) {
		t.Errorf("ECE %v, want 0.15", got)
	}
}

// TestHarnessOnFixture runs the SICK and STS-B parts of the harness on a tiny data root whose metrics are
// known: a perfect embedder ranking and the majority baseline.
func TestHarnessOnFixture(t *testing.T) {
	root := t.TempDir()
	sick := "pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\tentailment_AB\tentailment_BA\tA\tB\tdA\tdB\tSemEval_set\n"
	rows := []struct{ a, b, l, split string }{
		{"The man is playing a guitar", "The man is playing a guitar", "ENTAILMENT", "TRAIN"},
		{"The man is playing a guitar", "The man is not playing a guitar", "CONTRADICTION", "TRAIN"},
		{"The dog is playing", "The drug reduces cancer risk", "NEUTRAL", "TRAIN"},
		{"The cat is playing", "The mouse is icy", "NEUTRAL", "TRAIN"},
		{"The dog is playing", "The dog is playing", "ENTAILMENT", "TEST"},
		{"The woman is hot", "The drug reduces risk", "NEUTRAL", "TEST"},
		{"The cat is playing", "The cat is not playing", "CONTRADICTION", "TEST"},
		{"The man is playing", "A mouse is icy", "NEUTRAL", "TEST"},
	}
	for i, r := range rows {
		sick += strings.Join([]string{string(rune('1' + i)), r.a, r.b, r.l, "3.0", "x", "x", r.a, r.b, "d", "d", r.split}, "\t") + "\n"
	}
	os.MkdirAll(filepath.Join(root, "sick"), 0o755)
	os.WriteFile(filepath.Join(root, eval.SICKFile), []byte(sick), 0o644)
	sts := "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n" +
		"0\tg\tf\ty\t0\ts\ts\tThe dog is playing\tThe dog is playing\t5.0\n" +
		"1\tg\tf\ty\t1\ts\ts\tThe dog is playing\tThe cat is playing\t3.0\n" +
		"2\tg\tf\ty\t2\ts\ts\tThe dog is playing\tThe drug reduces cancer risk\t0.0\n"
	os.MkdirAll(filepath.Join(root, "stsb"), 0o755)
	os.WriteFile(filepath.Join(root, eval.STSBFile), []byte(sts), 0o644)

	a, err := assets.Open(assetstest.Build(t))
	if err != nil {
		t.Fatal(err)
	}
	res := &nlimodel.Resources{SIF: glove.NewSIF(a.Vectors, 0), Lexicon: a.Lexicon}
	m, err := nlimodel.Default()
	if err != nil {
		t.Fatal(err)
	}
	n, err := nlimodel.New(res, m)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := eval.Run(context.Background(), eval.Options{Root: root, Resources: res, NLI: n, Only: []string{"sick", "stsb"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 3 {
		t.Fatalf("%d rows, want 3: %+v", len(rep.Rows), rep.Rows)
	}
	// The TRAIN majority is NEUTRAL (2 of 4); on TEST it is right 2 times of 4.
	if r := rep.Rows[0]; r.Metric != "accuracy" || r.N != 4 || !near(r.Majority, 0.5) {
		t.Errorf("SICK row %+v, want majority accuracy 0.5 on 4 pairs", r)
	}
	if r := rep.Rows[2]; r.Task != "STS-B dev" || !near(r.Value, 1) || !near(r.Jaccard, 1) || !math.IsNaN(r.Majority) {
		t.Errorf("STS-B row %+v, want Spearman 1 for the embedder and Jaccard, majority undefined", r)
	}
	if !strings.Contains(rep.Format(), "| STS-B dev |") {
		t.Error("table lacks the STS-B row")
	}
	// A missing dataset is an error, not a silently shorter table.
	if _, err := eval.Run(context.Background(), eval.Options{Root: root, Resources: res, NLI: n, Only: []string{"rte3"}}); err == nil {
		t.Error("missing RTE-3 file did not fail")
	}
}
