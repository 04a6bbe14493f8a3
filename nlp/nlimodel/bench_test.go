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
