package nlimodel_test

import (
	"context"
	"os"
	"testing"

	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/nlp/assets"
	"github.com/cns-dev/cns/nlp/glove"
	"github.com/cns-dev/cns/nlp/nlimodel"
)

// The benchmarks measure the real assets: CNS_MODELS_DIR=$PWD/models go test -bench . ./nlp/nlimodel/
func realResources(b *testing.B) *nlimodel.Resources {
	dir := os.Getenv("CNS_MODELS_DIR")
	if dir == "" {
		b.Skip("CNS_MODELS_DIR not set (run make models)")
	}
	a, err := assets.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	return &nlimodel.Resources{SIF: glove.NewSIF(a.Vectors, 0), Lexicon: a.Lexicon}
}

func BenchmarkEmbedHybrid(b *testing.B) {
	res := realResources(b)
	h, _ := glove.NewHybrid(res.SIF, nlp.NewHashedEmbedder(0), glove.DefaultLexicalWeight)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.Embed(ctx, "Regular aerobic exercise improves sleep quality in older adults with insomnia."); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	res := realResources(b)
	m, _ := nlimodel.Default()
	n, _ := nlimodel.New(res, m)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := n.Classify(ctx, "In a trial of 200 adults, exercise increased deep sleep by 20 percent.", "Exercise does not improve sleep."); err != nil {
			b.Fatal(err)
		}
	}
}

// groundingPairs are what the grounding critic asks about an ingested document: the document (evidence
// of every claim) against each claim drawn from it — here its sentences.
func groundingPairs() (premises, hypotheses []string) {
	doc := "We enrolled 120 adults in a randomized controlled trial of the intervention. " +
		"Because the intervention increased physical activity, participants slept longer and reported less fatigue. " +
		"However, the effect on blood pressure was small and not statistically significant. " +
		"Previous cohort studies found similar associations between activity and sleep (Smith et al., 2019). " +
		"For example, participants in the highest activity tertile gained 32 minutes of sleep per night. " +
		"The data show that adherence above 70 percent was required for a measurable benefit. " +
		"Adverse events were rare and mild, and no participant left the trial because of them. " +
		"In general, lifestyle interventions with supervised sessions produce larger effects than unsupervised ones. " +
		"Therefore, supervised programmes should be preferred when resources allow it. " +
		"Secondary outcomes included mood, which improved by 12 percent on a standard scale. " +
		"These results suggest that the intervention improves sleep duration in adults with low baseline activity."
	for _, h := range nlimodel.SplitSentences(doc, 40) {
		premises, hypotheses = append(premises, doc), append(hypotheses, h)
	}
	return premises, hypotheses
}

// BenchmarkGroundingPairs: one op is every pair of groundingPairs, one Classify after another or as one
// ClassifyBatch (what the grounding critic does).
func BenchmarkGroundingPairs(b *testing.B) {
	res := realResources(b)
	m, _ := nlimodel.Default()
	n, _ := nlimodel.New(res, m)
	ctx := context.Background()
	premises, hypotheses := groundingPairs()
	b.Run("classify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for i := range premises {
				if _, err := n.Classify(ctx, premises[i], hypotheses[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("batch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := n.ClassifyBatch(ctx, premises, hypotheses); err != nil {
				b.Fatal(err)
			}
		}
	})
}
