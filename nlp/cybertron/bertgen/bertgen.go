// Package bertgen writes small BERT models with random weights, for tests and benchmarks of the cybertron
// backend: no pretrained transformer can be downloaded on the build machines, yet the real loading and
// inference code must run. Write produces cybertron's layout (config.json, vocab.txt,
// tokenizer_config.json, spago_model.bin); WriteHF produces a Hugging Face directory with the same
// weights in pytorch_model.bin, the input of `cns models convert`.
//
// The weights come from a seeded generator and are laid out exactly as the Hugging Face checkpoint names
// them, so a model written by Write and the conversion of the one written by WriteHF with the same Spec
// are the same network. Known traps of building a cybertron BERT by hand are handled here: the embedding
// tables are filled explicitly (nn.ForEachParam skips them), layer-norm gains start near 1 (spago
// initialises them to 0, which zeroes every activation), the embeddings size equals the hidden size, and
// the model's Embeddings.Vocab is the vocabulary written to vocab.txt.
package bertgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nlpodyssey/cybertron/pkg/models/bert"
	"github.com/nlpodyssey/cybertron/pkg/vocabulary"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"
)

// Special tokens, first in vocab.txt as in Hugging Face BERT vocabularies.
var Specials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// Spec describes a model to generate.
type Spec struct {
	Layers       int // encoder layers
	Hidden       int // hidden (and embedding) size
	Heads        int // attention heads; must divide Hidden
	Intermediate int // feed-forward inner size
	MaxPositions int // longest input in tokens, [CLS] and [SEP] included
	// Words are the vocabulary after the special tokens (sub-word pieces start with "##").
	Words []string
	// Labels makes a sequence classifier (BertForSequenceClassification) with these labels in id2label
	// order; empty makes a sequence encoder (BertModel), as sentence-transformers models are.
	Labels    []string
	Lowercase bool    // tokenizer_config.json do_lower_case
	Seed      uint64  // weights are a function of Spec, Seed included
	Std       float64 // standard deviation of the weights (0 means 0.2)
}

// Tiny returns a fast test model: 2 layers, hidden size 32, 4 heads, 64 positions, over words.
func Tiny(words []string, labels []string, seed uint64) Spec {
	return Spec{Layers: 2, Hidden: 32, Heads: 4, Intermediate: 64, MaxPositions: 64, Words: words,
		Labels: labels, Lowercase: true, Seed: seed}
}

// MiniLM returns the exact shape of sentence-transformers/all-MiniLM-L6-v2 (6 layers, hidden 384, 12
// heads, intermediate 1536, 512 positions), with vocabSize entries in total (30,522 in the real model),
// for benchmarks.
func MiniLM(vocabSize int, seed uint64) Spec {
	words := make([]string, 0, max(0, vocabSize-len(Specials)))
	for i := 0; len(words) < cap(words); i++ {
		words = append(words, "w"+strconv.Itoa(i))
	}
	return Spec{Layers: 6, Hidden: 384, Heads: 12, Intermediate: 1536, MaxPositions: 512, Words: words,
		Lowercase: true, Seed: seed, Std: 0.05}
}

// Vocab returns the full vocabulary: the special tokens, then the words.
func (s Spec) Vocab() []string { return append(append([]string(nil), Specials...), s.Words...) }

func (s Spec) validate() error {
	switch {
	case s.Layers <= 0 || s.Hidden <= 0 || s.Heads <= 0 || s.Intermediate <= 0 || s.MaxPositions < 2:
		return fmt.Errorf("bertgen: layers, hidden, heads, intermediate must be positive and max positions at least 2: %+v", s)
	case s.Hidden%s.Heads != 0:
		return fmt.Errorf("bertgen: %d heads do not divide hidden size %d", s.Heads, s.Hidden)
	}
	seen := map[string]bool{}
	for _, w := range s.Vocab() {
		if w == "" || seen[w] {
			return fmt.Errorf("bertgen: vocabulary entry %q is empty or repeated", w)
		}
		seen[w] = true
	}
	return nil
}

// Config returns the config.json content of the model.
func (s Spec) Config() bert.Config {
	c := bert.Config{
		Architectures:             []string{"BertModel"},
		AttentionProbsDropoutProb: 0.1,
		HiddenAct:                 "gelu",
		HiddenDropoutProb:         0.1,
		HiddenSize:                s.Hidden,
		EmbeddingsSize:            s.Hidden,
		InitializerRange:          0.02,
		IntermediateSize:          s.Intermediate,
		LayerNormEps:              1e-12,
		MaxPositionEmbeddings:     s.MaxPositions,
		ModelType:                 "bert",
		NumAttentionHeads:         s.Heads,
		NumHiddenLayers:           s.Layers,
		PositionEmbeddingType:     "absolute",
		TypeVocabSize:             2,
		VocabSize:                 len(Specials) + len(s.Words),
	}
	if len(s.Labels) > 0 {
		c.Architectures = []string{"BertForSequenceClassification"}
		c.ID2Label = map[string]string{}
		for i, l := range s.Labels {
			c.ID2Label[strconv.Itoa(i)] = l
		}
	}
	return c
}

// tensor is one named weight of the Hugging Face checkpoint, row-major.
type tensor struct {
	name  string
	shape []int
	data  []float32
}

// tensors generates the checkpoint: names and shapes of Hugging Face's BertModel (without the "bert."
// prefix, as sentence-transformers saves it) or BertForSequenceClassification (with it).
func (s Spec) tensors() []tensor {
	r := rand.New(rand.NewPCG(s.Seed, 0x62657274)) // "bert"
	std := s.Std
	if std == 0 {
		std = 0.2
	}
	prefix := ""
	if len(s.Labels) > 0 {
		prefix = "bert."
	}
	var out []tensor
	add := func(name string, init func() float32, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = init()
		}
		out = append(out, tensor{name: name, shape: shape, data: data})
	}
	normal := func() float32 { return float32(r.NormFloat64() * std) }
	gain := func() float32 { return float32(1 + r.NormFloat64()*0.05) }
	bias := func() float32 { return float32(r.NormFloat64() * 0.02) }
	h, v := s.Hidden, len(Specials)+len(s.Words)

	add(prefix+"embeddings.word_embeddings.weight", normal, v, h)
	add(prefix+"embeddings.position_embeddings.weight", normal, s.MaxPositions, h)
	add(prefix+"embeddings.token_type_embeddings.weight", normal, 2, h)
	add(prefix+"embeddings.LayerNorm.weight", gain, h)
	add(prefix+"embeddings.LayerNorm.bias", bias, h)
	for l := range s.Layers {
		p := fmt.Sprintf("%sencoder.layer.%d.", prefix, l)
		for _, qkv := range []string{"query", "key", "value"} {
			add(p+"attention.self."+qkv+".weight", normal, h, h)
			add(p+"attention.self."+qkv+".bias", bias, h)
		}
		add(p+"attention.output.dense.weight", normal, h, h)
		add(p+"attention.output.dense.bias", bias, h)
		add(p+"attention.output.LayerNorm.weight", gain, h)
		add(p+"attention.output.LayerNorm.bias", bias, h)
		add(p+"intermediate.dense.weight", normal, s.Intermediate, h)
		add(p+"intermediate.dense.bias", bias, s.Intermediate)
		add(p+"output.dense.weight", normal, h, s.Intermediate)
		add(p+"output.dense.bias", bias, h)
		add(p+"output.LayerNorm.weight", gain, h)
		add(p+"output.LayerNorm.bias", bias, h)
	}
	add(prefix+"pooler.dense.weight", normal, h, h)
	add(prefix+"pooler.dense.bias", bias, h)
	if len(s.Labels) > 0 {
		add("classifier.weight", normal, len(s.Labels), h)
		add("classifier.bias", bias, len(s.Labels))
	}
	return out
}

// Build returns the spago model of the spec: *bert.ModelForSequenceEncoding, or
// *bert.ModelForSequenceClassification when the spec has labels.
func (s Spec) Build() (nn.Model, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	cfg := s.Config()
	m := bert.New[float32](cfg)
	m.Embeddings.Vocab = vocabulary.New(s.Vocab())
	var cls *linear.Model
	var model nn.Model = bert.NewModelForSequenceEncoding(m)
	if len(s.Labels) > 0 {
		c := bert.NewModelForSequenceClassification[float32](m)
		cls, model = c.Classifier, c
	}
	byName := map[string]tensor{}
	for _, t := range s.tensors() {
		byName[t.name] = t
	}
	prefix := ""
	if len(s.Labels) > 0 {
		prefix = "bert."
	}
	get := func(name string) []float32 { return byName[prefix+name].data }
	set := func(p *nn.Param, data []float32) {
		p.SetData(float.Make(data...))
	}
	h := s.Hidden
	fill := func(table []*nn.Param, data []float32) {
		for i, p := range table {
			set(p, data[i*h:(i+1)*h])
		}
	}
	fill(m.Embeddings.Tokens.Weights, get("embeddings.word_embeddings.weight"))
	fill(m.Embeddings.Positions.Weights, get("embeddings.position_embeddings.weight"))
	fill(m.Embeddings.TokenTypes.Weights, get("embeddings.token_type_embeddings.weight"))
	set(m.Embeddings.Norm.W, get("embeddings.LayerNorm.weight"))
	set(m.Embeddings.Norm.B, get("embeddings.LayerNorm.bias"))
	dk := h / s.Heads
	for l, layer := range m.Encoder.Layers {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		att := layer.SelfAttention.Attention
		for j, head := range att.Heads {
			// Hugging Face keeps one h×h matrix per projection; head j owns rows j·dk … (j+1)·dk.
			for _, pr := range []struct {
				name string
				lin  *linear.Model
			}{{"query", head.Query}, {"key", head.Key}, {"value", head.Value}} {
				set(pr.lin.W, get(p + "attention.self." + pr.name + ".weight")[j*dk*h:(j+1)*dk*h])
				set(pr.lin.B, get(p + "attention.self." + pr.name + ".bias")[j*dk:(j+1)*dk])
			}
		}
		set(att.OutputMerge.W, get(p+"attention.output.dense.weight"))
		set(att.OutputMerge.B, get(p+"attention.output.dense.bias"))
		set(layer.SelfAttention.Norm.W, get(p+"attention.output.LayerNorm.weight"))
		set(layer.SelfAttention.Norm.B, get(p+"attention.output.LayerNorm.bias"))
		in, ok1 := layer.FF.MLP[0].(*linear.Model)
		out, ok2 := layer.FF.MLP[2].(*linear.Model)
		if !ok1 || !ok2 {
			return nil, errors.New("bertgen: unexpected feed-forward layout in cybertron's BERT")
		}
		set(in.W, get(p+"intermediate.dense.weight"))
		set(in.B, get(p+"intermediate.dense.bias"))
		set(out.W, get(p+"output.dense.weight"))
		set(out.B, get(p+"output.dense.bias"))
		set(layer.FF.Norm.W, get(p+"output.LayerNorm.weight"))
		set(layer.FF.Norm.B, get(p+"output.LayerNorm.bias"))
	}
	pool, ok := m.Pooler.Model[0].(*linear.Model)
	if !ok {
		return nil, errors.New("bertgen: unexpected pooler layout in cybertron's BERT")
	}
	set(pool.W, get("pooler.dense.weight"))
	set(pool.B, get("pooler.dense.bias"))
	if cls != nil {
		set(cls.W, byName["classifier.weight"].data)
		set(cls.B, byName["classifier.bias"].data)
	}
	return model, nil
}

// Write writes the model in cybertron's layout into dir (created if needed).
func Write(dir string, s Spec) error {
	model, err := s.Build()
	if err != nil {
		return err
	}
	if err := writeText(dir, s); err != nil {
		return err
	}
	if err := nn.DumpToFile(model, filepath.Join(dir, "spago_model.bin")); err != nil {
		return fmt.Errorf("bertgen: write spago_model.bin: %w", err)
	}
	return nil
}

// WriteHF writes the model as a Hugging Face checkpoint directory (pytorch_model.bin in PyTorch's zip
// format, no spago_model.bin) into dir.
func WriteHF(dir string, s Spec) error {
	if err := s.validate(); err != nil {
		return err
	}
	if err := writeText(dir, s); err != nil {
		return err
	}
	if err := writeTorch(filepath.Join(dir, "pytorch_model.bin"), s.tensors()); err != nil {
		return fmt.Errorf("bertgen: write pytorch_model.bin: %w", err)
	}
	return nil
}

// writeText writes config.json, vocab.txt and tokenizer_config.json.
func writeText(dir string, s Spec) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bertgen: %w", err)
	}
	cfg, err := json.MarshalIndent(s.Config(), "", "  ")
	if err != nil {
		return fmt.Errorf("bertgen: config.json: %w", err)
	}
	tok, err := json.MarshalIndent(map[string]any{
		"do_lower_case": s.Lowercase, "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
		"cls_token": "[CLS]", "mask_token": "[MASK]", "tokenize_chinese_chars": true, "strip_accents": nil,
		"model_max_length": s.MaxPositions,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("bertgen: tokenizer_config.json: %w", err)
	}
	var vocab []byte
	for _, w := range s.Vocab() {
		vocab = append(append(vocab, w...), '\n')
	}
	for name, b := range map[string][]byte{"config.json": cfg, "tokenizer_config.json": tok, "vocab.txt": vocab} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("bertgen: %w", err)
		}
	}
	return nil
}
