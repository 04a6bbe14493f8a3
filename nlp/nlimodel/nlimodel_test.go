package nlimodel_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/nlp/assets"
	"github.com/cns-dev/cns/nlp/assets/assetstest"
	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/nlimodel"
)

func resources(t *testing.T) *nlimodel.Resources {
	t.Helper()
	a, err := assets.Open(assetstest.Build(t))
	if err != nil {
		t.Fatal(err)
	}
	return &nlimodel.Resources{SIF: glove.NewSIF(a.Vectors, 0), Lexicon: a.Lexicon}
}

func feature(t *testing.T, res *nlimodel.Resources, p, h, name string) float64 {
	t.Helper()
	x := make([]float64, nlimodel.NumFeatures)
	res.Features(p, h, x)
	for i, n := range nlimodel.FeatureNames {
		if n == name {
			return x[i]
		}
	}
	t.Fatalf("no feature %q", name)
	return 0
}

func TestFeatures(t *testing.T) {
	res := resources(t)
	for _, c := range []struct {
		p, h, name string
		want       float64
	}{
		{"The man is playing a guitar", "The man is playing a guitar", "cov_exact", 1},
		{"The man is playing a guitar", "The man is not playing a guitar", "neg_mismatch", 1},
		{"The man is playing a guitar", "The man is playing a guitar", "neg_mismatch", 0},
		{"The dog is playing", "The animal is playing", "wn_hyper", 0.5},
		{"The drug increases risk", "The drug decreases risk", "antonym", 1},
		{"Risk rose by 20 percent", "Risk rose by 50 percent", "num_mismatch", 1},
		{"The man is hitting the woman", "The woman is hitting the man", "order_swap", 1},
	} {
		got := feature(t, res, c.p, c.h, c.name)
		if c.name == "wn_hyper" {
			if got <= 0 {
				t.Errorf("%s(%q, %q) = %v, want > 0", c.name, c.p, c.h, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s(%q, %q) = %v, want %v", c.name, c.p, c.h, got, c.want)
		}
	}
}

// fixture pairs: entailment by repetition or hypernym, contradiction by negation or antonym, neutral by
// unrelated content.
var fixture = []struct {
	p, h string
	y    int
}{
	{"The man is playing a guitar", "The man is playing a guitar", 0},
	{"The dog is playing", "The animal is playing", 0},
	{"The woman is playing", "The person is playing", 0},
	{"The cat is playing", "The animal is playing", 0},
	{"The man is playing a guitar", "The man is not playing a guitar", 2},
	{"The dog is playing", "The dog is not playing", 2},
	{"The drug increases risk", "The drug decreases risk", 2},
	{"It is hot", "It is cold", 2},
	{"The man is playing a guitar", "A cat is icy", 1},
	{"The dog is playing", "The drug reduces cancer risk", 1},
	{"The woman is hot", "A mouse is playing a guitar", 1},
	{"The drug reduces risk", "The man is playing", 1},
}

func train(t *testing.T, res *nlimodel.Resources, cfg nlimodel.TrainConfig) *nlimodel.Model {
	t.Helper()
	var ex []nlimodel.Example
	for _, f := range fixture {
		x := make([]float64, nlimodel.NumFeatures)
		res.Features(f.p, f.h, x)
		ex = append(ex, nlimodel.Example{X: x, Label: f.y})
	}
	m, err := nlimodel.Train(ex, cfg, "fixture")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTrainDeterministicAndLearns(t *testing.T) {
	res := resources(t)
	for _, hidden := range []int{0, 4} {
		cfg := nlimodel.TrainConfig{Hidden: hidden, Epochs: 200, Batch: 4, LR: 0.02, L2: 1e-4, Seed: 7}
		a, _ := train(t, res, cfg).Encode()
		b, _ := train(t, res, cfg).Encode()
		if !bytes.Equal(a, b) {
			t.Fatalf("hidden %d: two trainings on the same data differ", hidden)
		}
		cfg.Seed = 8
		if c, _ := train(t, res, cfg).Encode(); hidden > 0 && bytes.Equal(a, c) {
			t.Errorf("hidden %d: the seed changes nothing", hidden)
		}
		m, err := nlimodel.Decode(a)
		if err != nil {
			t.Fatal(err)
		}
		n, err := nlimodel.New(res, m)
		if err != nil {
			t.Fatal(err)
		}
		right := 0
		for _, f := range fixture {
			e, err := n.Classify(context.Background(), f.p, f.h)
			if err != nil {
				t.Fatal(err)
			}
			if s := e.Entail + e.Neutral + e.Contradict; s < 0.999999 || s > 1.000001 {
				t.Fatalf("probabilities sum to %v", s)
			}
			best := 0
			for k, v := range []float64{e.Entail, e.Neutral, e.Contradict} {
				if v > []float64{e.Entail, e.Neutral, e.Contradict}[best] {
					best = k
				}
			}
			if best == f.y {
				right++
			}
		}
		if right < len(fixture)-1 {
			t.Errorf("hidden %d: %d of %d training pairs right", hidden, right, len(fixture))
		}
	}
}

func TestDecodeAndClassifyErrors(t *testing.T) {
	res := resources(t)
	if _, err := nlimodel.Decode([]byte(`{"features": ["x"]}`)); err == nil || !strings.Contains(err.Error(), "other features") {
		t.Errorf("foreign features: %v", err)
	}
	if _, err := nlimodel.Decode([]byte(`{`)); err == nil {
		t.Error("bad JSON accepted")
	}
	m, err := nlimodel.Default()
	if err != nil {
		t.Fatalf("committed weights: %v", err)
	}
	if m.Training == nil || len(m.Training.Sets) == 0 {
		t.Error("committed weights carry no training provenance")
	}
	n, _ := nlimodel.New(res, m)
	if _, err := n.Classify(context.Background(), " ", "x"); cns.ErrorCode(err) != cns.EINVALID {
		t.Errorf("empty premise: %v", err)
	}
	if _, err := nlimodel.Train(nil, nlimodel.DefaultTrainConfig, "x"); err == nil {
		t.Error("training on nothing succeeded")
	}
}

func TestSplitSentences(t *testing.T) {
	got := nlimodel.SplitSentences("Mice were treated (n = 5). Risk fell by 2.5 percent, e.g. in Fig. 2. The effect held. and more", 10)
	want := []string{"Mice were treated (n = 5).", "Risk fell by 2.5 percent, e.g. in Fig. 2.", "The effect held. and more"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("SplitSentences = %q, want %q", got, want)
	}
}

// TestClassifyBatchIsClassify: a batch shares analyses and word matches between its pairs, and must
// give every pair exactly what Classify gives it alone — whatever the pairs share (a document against
// each claim drawn from it, a hypothesis repeated, the same sentence as premise and hypothesis, numbers,
// negations and opposed words); a bad pair fails the batch naming the pair.
func TestClassifyBatchIsClassify(t *testing.T) {
	res := resources(t)
	m, err := nlimodel.Default()
	if err != nil {
		t.Fatal(err)
	}
	n, err := nlimodel.New(res, m)
	if err != nil {
		t.Fatal(err)
	}
	doc := "The drug increases risk in 20 percent of mice. The man is not playing a guitar. " +
		"It is hot, and the dog is playing. A cat is icy (n = 5). The woman is playing."
	hyps := []string{"The drug decreases risk", "The man is playing a guitar", "The animal is playing",
		"Risk rose by 50 percent", "It is cold", "The drug reduces cancer risk", "The man is playing a guitar"}
	var premises, hypotheses []string
	for _, h := range hyps {
		premises, hypotheses = append(premises, doc), append(hypotheses, h)
	}
	for _, f := range fixture {
		premises, hypotheses = append(premises, f.p), append(hypotheses, f.h)
		premises, hypotheses = append(premises, f.h), append(hypotheses, f.p)
	}
	ctx := context.Background()
	// With the memo's budget as it is, and so small that most texts are analysed afresh.
	for _, budget := range []int{0, 40} {
		if budget > 0 {
			defer nlimodel.SetMemoTokens(budget)()
		}
		got, err := n.ClassifyBatch(ctx, premises, hypotheses)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(premises) {
			t.Fatalf("%d results for %d pairs", len(got), len(premises))
		}
		for i := range premises {
			want, err := n.Classify(ctx, premises[i], hypotheses[i])
			if err != nil {
				t.Fatal(err)
			}
			if got[i] != want {
				t.Errorf("memo budget %d, pair %d (%q ⊨ %q): batch %+v, alone %+v", budget, i, premises[i], hypotheses[i], got[i], want)
			}
		}
	}

	_, err = n.ClassifyBatch(ctx, []string{doc, doc, "x"}, []string{"It is cold", "  ", "It is cold"})
	if cns.ErrorCode(err) != cns.EINVALID || !strings.Contains(err.Error(), "pair 1") {
		t.Errorf("a blank hypothesis in a batch: %v, want EINVALID naming pair 1", err)
	}
	if _, err := n.ClassifyBatch(ctx, []string{doc}, nil); cns.ErrorCode(err) != cns.EINVALID {
		t.Errorf("1 premise for 0 hypotheses: %v", err)
	}
}
