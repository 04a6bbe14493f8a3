package nlp

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/cns-dev/cns"
)

type label int

const (
	entail label = iota
	neutral
	contradict
)

func (l label) String() string { return [...]string{"entail", "neutral", "contradict"}[l] }

func top(r cns.Entailment) label {
	switch {
	case r.Entail >= r.Neutral && r.Entail >= r.Contradict:
		return entail
	case r.Contradict >= r.Neutral:
		return contradict
	}
	return neutral
}

func classify(t testing.TB, n cns.NLI, p, h string) cns.Entailment {
	t.Helper()
	r, err := n.Classify(context.Background(), p, h)
	if err != nil {
		t.Fatalf("Classify(%q, %q): %v", p, h, err)
	}
	if s := r.Entail + r.Neutral + r.Contradict; math.Abs(s-1) > 1e-12 || r.Entail < 0 || r.Neutral < 0 || r.Contradict < 0 {
		t.Fatalf("Classify(%q, %q) = %+v: not a distribution", p, h, r)
	}
	return r
}

func TestLexicalNLILabels(t *testing.T) {
	n := NewLexicalNLI()
	if n.Name() != "lexical-nli@1" {
		t.Errorf("Name = %q", n.Name())
	}
	cases := []struct {
		premise, hypothesis string
		want                label
	}{
		// The behaviours the critics rely on.
		{"A man is playing a guitar.", "A man is playing a guitar.", entail},
		{"A man is playing a guitar.", "A man is not playing a guitar.", contradict},
		{"Vitamin D increases bone density", "Vitamin D decreases bone density", contradict},
		{"The cat sat on the mat.", "Quantum computers use qubits.", neutral},
		{"The drug reduced mortality by 20%", "The drug reduced mortality by 50%", contradict},

		// Coverage: a more specific premise entails; a less specific one does not.
		{"A man is playing a guitar on stage.", "A man is playing a guitar.", entail},
		{"The drug reduced mortality by 20% in 1,000 patients.", "The drug reduced mortality.", entail},
		{"A man is playing.", "A man is playing a guitar on stage.", neutral},
		// Inflections and contractions are normalised.
		{"Vitamin D supplementation increased bone density.", "Vitamin D supplementation increases bone density.", entail},
		{"The treatment doesn't work.", "The treatment does not work.", entail},
		// Negation cues.
		{"The drug failed to reduce mortality.", "The drug reduced mortality.", contradict},
		{"The vaccine prevents infection.", "The vaccine never prevents infection.", contradict},
		{"The patients lack the mutation.", "The patients have the mutation.", contradict},
		// Antonyms, from the list and by productive prefix.
		{"Smoking causes cancer.", "Smoking prevents cancer.", contradict},
		{"Exercise lowers blood pressure in adults.", "Exercise raises blood pressure in adults.", contradict},
		{"The treatment is safe.", "The treatment is unsafe.", contradict},
		{"The effect was significant.", "The effect was nonsignificant.", contradict},
		// An antonym on both sides is not a contradiction.
		{"Prices can increase or decrease.", "Prices can decrease or increase.", entail},
		// Negation plus antonym roughly cancel: not a contradiction, not an entailment either.
		{"Vitamin D does not increase bone density.", "Vitamin D decreases bone density.", neutral},
		// Quantifiers: "some" does not entail "all", "all" entails "some".
		{"Some patients responded to the drug.", "All patients responded to the drug.", neutral},
		{"All patients responded to the drug.", "Some patients responded to the drug.", entail},
		// Cues between unrelated sentences stay neutral.
		{"The sky is blue.", "Cats do not like water.", neutral},
		{"Stock prices rose in March.", "The bridge collapsed after heavy rain.", neutral},
	}
	for _, c := range cases {
		r := classify(t, n, c.premise, c.hypothesis)
		if got := top(r); got != c.want {
			t.Errorf("Classify(%q, %q) = %s (%+v), want %s", c.premise, c.hypothesis, got, r, c.want)
		}
	}
}

func TestLexicalNLINumbers(t *testing.T) {
	n := NewLexicalNLI()
	r := classify(t, n, "The drug reduced mortality by 20%", "The drug reduced mortality by 50%")
	if r.Contradict <= r.Entail {
		t.Errorf("20%% vs 50%%: %+v, want contradict > entail", r)
	}
	same := classify(t, n, "The drug reduced mortality by 20%", "The drug reduced mortality by 20 %")
	if top(same) != entail {
		t.Errorf("20%% vs 20 %%: %+v, want entail", same)
	}
	// A number the premise does not mention at all is unsupported, not contradicted.
	r = classify(t, n, "The drug reduced mortality.", "The drug reduced mortality by 50%.")
	if r.Contradict >= r.Entail+r.Neutral {
		t.Errorf("unsupported number: %+v, want no contradiction", r)
	}
}

func TestLexicalNLIErrors(t *testing.T) {
	n := NewLexicalNLI()
	for _, c := range [][2]string{{"", "x"}, {"x", ""}, {"  ", "x"}, {"x", "?!"}} {
		if _, err := n.Classify(context.Background(), c[0], c[1]); cns.ErrorCode(err) != cns.EINVALID {
			t.Errorf("Classify(%q, %q) err = %v, want EINVALID", c[0], c[1], err)
		}
	}
	// A text made only of cue words is still a text.
	classify(t, n, "No.", "Not.")
	classify(t, n, "All.", "Some.")
}

// A long premise (an evidence paragraph) goes through the hash index instead of the linear scan.
func TestLexicalNLILongPremise(t *testing.T) {
	n := NewLexicalNLI()
	filler := strings.Repeat("Researchers enrolled participants across several hospitals and measured outcomes carefully. ", 20)
	p := filler + "Vitamin D increases bone density in older adults. " + filler
	if r := classify(t, n, p, "Vitamin D increases bone density."); top(r) != entail {
		t.Errorf("long premise, entailed hypothesis: %+v", r)
	}
	if r := classify(t, n, p, "Vitamin D decreases bone density."); top(r) != contradict {
		t.Errorf("long premise, contradicted hypothesis: %+v", r)
	}
	if r := classify(t, n, p, "Quantum computers store qubits."); top(r) != neutral {
		t.Errorf("long premise, unrelated hypothesis: %+v", r)
	}
}

func TestLexicalNLIZeroValue(t *testing.T) {
	var n LexicalNLI
	if r := classify(t, &n, "A man is playing a guitar.", "A man is playing a guitar."); top(r) != entail {
		t.Errorf("zero LexicalNLI: %+v", r)
	}
}

func TestLexicalNLIConcurrent(t *testing.T) {
	n := NewLexicalNLI()
	pairs := [][2]string{
		{"A man is playing a guitar.", "A man is not playing a guitar."},
		{"Vitamin D increases bone density", "Vitamin D decreases bone density"},
		{"The cat sat on the mat.", "Quantum computers use qubits."},
	}
	want := make([]cns.Entailment, len(pairs))
	for i, p := range pairs {
		want[i] = classify(t, n, p[0], p[1])
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				k := (g + i) % len(pairs)
				r, err := n.Classify(context.Background(), pairs[k][0], pairs[k][1])
				if err != nil || r != want[k] {
					t.Errorf("concurrent Classify differs: %+v vs %+v (err %v)", r, want[k], err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkLexicalNLI(b *testing.B) {
	n := NewLexicalNLI()
	ctx := context.Background()
	premise := benchSentence
	hypothesis := "Daily vitamin D supplementation in older adults decreased bone mineral density at the hip and reduced fractures by 20%."
	b.ReportAllocs()
	for b.Loop() {
		if _, err := n.Classify(ctx, premise, hypothesis); err != nil {
			b.Fatal(err)
		}
	}
}
