package nlp

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cns-dev/cns"
)

func embed(t testing.TB, e cns.Embedder, text string) []float32 {
	t.Helper()
	v, err := e.Embed(context.Background(), text)
	if err != nil {
		t.Fatalf("Embed(%q): %v", text, err)
	}
	return v
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestHashedEmbedderBasics(t *testing.T) {
	if e := NewHashedEmbedder(0); e.Dim() != DefaultDim || e.Name() != "hashed-ngram@1/256" {
		t.Errorf("default embedder: dim %d name %q", e.Dim(), e.Name())
	}
	e := NewHashedEmbedder(384)
	if e.Dim() != 384 || e.Name() != "hashed-ngram@1/384" {
		t.Errorf("dim %d name %q", e.Dim(), e.Name())
	}
	for _, text := range []string{
		"A man is playing a guitar.",
		"the of and", // stopwords only: still a direction
		"x",
		"42",
		"Über Straße naïve café 日本語",
		strings.Repeat("Vitamin D supplementation increases bone density in older adults. ", 500), // grows the table
	} {
		v := embed(t, e, text)
		if len(v) != 384 {
			t.Fatalf("len = %d", len(v))
		}
		if n := norm(v); math.Abs(n-1) > 1e-5 {
			t.Errorf("norm of Embed(%.20q) = %v, want 1", text, n)
		}
	}
}

func TestHashedEmbedderRejectsEmpty(t *testing.T) {
	e := NewHashedEmbedder(64)
	for _, text := range []string{"", "   \n\t", "?!. — …"} {
		v, err := e.Embed(context.Background(), text)
		if cns.ErrorCode(err) != cns.EINVALID || v != nil {
			t.Errorf("Embed(%q) = %v, %v; want EINVALID", text, v, err)
		}
	}
}

func TestHashedEmbedderDeterministic(t *testing.T) {
	text := "Vitamin D supplementation increases bone density in older adults."
	a := embed(t, NewHashedEmbedder(256), text)
	b := embed(t, NewHashedEmbedder(256), text)
	if !slices.Equal(a, b) {
		t.Fatal("two embedders disagree on the same text")
	}
	// Case and punctuation are not features.
	if c := embed(t, NewHashedEmbedder(256), "VITAMIN D supplementation increases bone-density in older adults"); !slices.Equal(a, c) {
		t.Error("case or punctuation changed the vector")
	}
	// A golden checksum: the features are part of the "hashed-ngram@1" contract, because stored vectors are
	// compared with fresh ones. If this fails on purpose, bump the version in Name so indexes are rebuilt.
	// The tolerance allows for last-bit float differences between architectures (fused multiply-add).
	var sum float64
	for i, x := range a {
		sum += float64(i+1) * float64(x)
	}
	if want := goldenChecksum; math.Abs(sum-want) > 1e-3 {
		t.Errorf("checksum = %.6f, want %.6f: the embedding changed; bump the version in Name", sum, want)
	}
}

const goldenChecksum = -43.235676

func TestHashedEmbedderSimilarity(t *testing.T) {
	e := NewHashedEmbedder(256)
	cases := []struct{ text, paraphrase, unrelated string }{
		{"Vitamin D supplementation increases bone density in older adults.",
			"In older adults, bone density is increased by vitamin D supplements.",
			"The stock market fell sharply on Tuesday after the announcement."},
		{"A man is playing a guitar.",
			"A man plays the guitar on stage.",
			"Quantum computers use qubits to store information."},
		{"Regular exercise lowers the risk of heart disease.",
			"Exercising regularly reduces heart disease risk.",
			"The committee approved the new budget for schools."},
	}
	for _, c := range cases {
		v, p, u := embed(t, e, c.text), embed(t, e, c.paraphrase), embed(t, e, c.unrelated)
		para, unrel := cns.Cosine(v, p), cns.Cosine(v, u)
		if para < 0.4 || unrel > 0.2 || para-unrel < 0.3 {
			t.Errorf("%q: paraphrase cosine %.3f, unrelated %.3f; want paraphrase ≥ 0.4 and well above unrelated", c.text, para, unrel)
		}
		if self := cns.Cosine(v, embed(t, e, c.text)); math.Abs(self-1) > 1e-6 {
			t.Errorf("self cosine %v", self)
		}
	}
}

func TestHashedEmbedderConcurrent(t *testing.T) {
	e := NewHashedEmbedder(128)
	texts := []string{
		"A man is playing a guitar.",
		"Vitamin D supplementation increases bone density in older adults.",
		strings.Repeat("long text with many words to grow the scratch table ", 50),
		"Über naïve café",
	}
	want := make([][]float32, len(texts))
	for i, s := range texts {
		want[i] = embed(t, e, s)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k := (g + i) % len(texts)
				v, err := e.Embed(context.Background(), texts[k])
				if err != nil || !slices.Equal(v, want[k]) {
					t.Errorf("concurrent Embed(%.20q) differs (err %v)", texts[k], err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

const benchSentence = "In a randomized trial of older adults, daily vitamin D supplementation modestly increased bone mineral density at the hip but did not reduce fractures."

func BenchmarkHashedEmbedder(b *testing.B) {
	e := NewHashedEmbedder(256)
	ctx := context.Background()
	b.SetBytes(int64(len(benchSentence)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Embed(ctx, benchSentence); err != nil {
			b.Fatal(err)
		}
	}
}
