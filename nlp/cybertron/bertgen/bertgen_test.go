package bertgen

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlpodyssey/cybertron/pkg/converter/bert"
	mbert "github.com/nlpodyssey/cybertron/pkg/models/bert"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
)

var words = []string{"the", "drug", "reduces", "pain", "sleep", "##s", "."}

func TestSpecValidation(t *testing.T) {
	cases := []struct {
		spec Spec
		want string
	}{
		{Spec{Layers: 1, Hidden: 30, Heads: 4, Intermediate: 8, MaxPositions: 8, Words: words}, "4 heads do not divide hidden size 30"},
		{Spec{Layers: 0, Hidden: 8, Heads: 2, Intermediate: 8, MaxPositions: 8, Words: words}, "must be positive"},
		{Spec{Layers: 1, Hidden: 8, Heads: 2, Intermediate: 8, MaxPositions: 8, Words: []string{"a", "a"}}, `"a" is empty or repeated`},
		{Spec{Layers: 1, Hidden: 8, Heads: 2, Intermediate: 8, MaxPositions: 8, Words: []string{"[SEP]"}}, `"[SEP]" is empty or repeated`},
	}
	for _, c := range cases {
		if _, err := c.spec.Build(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Build(%+v) err = %v, want %q", c.spec, err, c.want)
		}
		if err := WriteHF(t.TempDir(), c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WriteHF err = %v, want %q", err, c.want)
		}
	}
}

// TestHFCheckpointConvertsToTheSameModel writes the same spec both ways, converts the Hugging Face
// checkpoint with cybertron's own converter, and checks the two spago models compute the same thing: the
// pickle and zip writer, the tensor names and the per-head split all match what the converter expects.
func TestHFCheckpointConvertsToTheSameModel(t *testing.T) {
	for _, labels := range [][]string{nil, {"entailment", "neutral", "contradiction"}} {
		spec := Tiny(words, labels, 5)
		direct, hf := filepath.Join(t.TempDir(), "direct"), filepath.Join(t.TempDir(), "hf")
		if err := Write(direct, spec); err != nil {
			t.Fatal(err)
		}
		if err := WriteHF(hf, spec); err != nil {
			t.Fatal(err)
		}
		if err := bert.Convert[float32](hf, false); err != nil {
			t.Fatalf("cybertron cannot convert the generated checkpoint: %v", err)
		}
		tokens := []string{"[CLS]", "the", "drug", "reduces", "pain", "[SEP]", "sleep", "##s", "[SEP]"}
		var outs [2][]float64
		for i, dir := range []string{direct, hf} {
			if labels == nil {
				m, err := nn.LoadFromFile[*mbert.ModelForSequenceEncoding](filepath.Join(dir, "spago_model.bin"))
				if err != nil {
					t.Fatal(err)
				}
				v, err := m.Encode(tokens, mbert.MeanPooling)
				if err != nil {
					t.Fatal(err)
				}
				outs[i] = v.Value().(mat.Matrix).Data().F64()
			} else {
				m, err := nn.LoadFromFile[*mbert.ModelForSequenceClassification](filepath.Join(dir, "spago_model.bin"))
				if err != nil {
					t.Fatal(err)
				}
				outs[i] = m.Classify(tokens).Value().(mat.Matrix).Data().F64()
			}
		}
		if len(outs[0]) == 0 || len(outs[0]) != len(outs[1]) {
			t.Fatalf("labels %v: outputs of %d and %d values", labels, len(outs[0]), len(outs[1]))
		}
		for j := range outs[0] {
			if outs[0][j] != outs[1][j] {
				t.Fatalf("labels %v: value %d is %v directly, %v after conversion", labels, j, outs[0][j], outs[1][j])
			}
		}
	}
}

// Different seeds give different weights; the same seed the same ones.
func TestSeed(t *testing.T) {
	a, b, c := Tiny(words, nil, 1).tensors(), Tiny(words, nil, 1).tensors(), Tiny(words, nil, 2).tensors()
	if a[0].data[0] != b[0].data[0] || a[0].data[0] == c[0].data[0] {
		t.Errorf("seeded weights: %v %v %v", a[0].data[0], b[0].data[0], c[0].data[0])
	}
}
