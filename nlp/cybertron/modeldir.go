package cybertron

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nlpodyssey/cybertron/pkg/models/bert"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"
	"github.com/nlpodyssey/spago/nn/linear"

	"github.com/cns-dev/cns"
)

// Files of a model directory in cybertron's layout.
const (
	FileConfig    = "config.json"
	FileVocab     = "vocab.txt"
	FileTokenizer = "tokenizer_config.json"
	FileModel     = "spago_model.bin"
	// FileTorch is the Hugging Face checkpoint `cns models convert` turns into FileModel.
	FileTorch = "pytorch_model.bin"
	// fileSentenceBERT is sentence-transformers' config; its max_seq_length bounds the input.
	fileSentenceBERT = "sentence_bert_config.json"
)

// Special tokens the BERT tokenizer and embeddings need in the vocabulary.
const (
	tokCLS  = "[CLS]"
	tokSEP  = "[SEP]"
	tokUNK  = "[UNK]"
	tokMask = "[MASK]"
)

// role is what a model directory is loaded as.
type role int

const (
	roleEncoder    role = iota // embeddings: BertModel, mean pooling
	roleClassifier             // NLI: BertForSequenceClassification
)

func (r role) String() string {
	if r == roleClassifier {
		return "NLI model (BertForSequenceClassification)"
	}
	return "embedding model (BertModel)"
}

// modelDir is a model directory whose files were checked and parsed, before the weights are loaded.
type modelDir struct {
	path      string
	cfg       bert.Config
	lowercase bool
	maxTokens int      // longest input, [CLS] and [SEP] included
	vocab     []string // vocab.txt, one entry per line
	sum       string   // SHA-256 of spago_model.bin, hex
}

// dirError is a boot-time model directory problem: the deployment, not a request, is wrong.
func dirError(dir string, format string, args ...any) error {
	return cns.Errorf(cns.EFAILEDPRECOND, "model directory %s: %s", dir, fmt.Sprintf(format, args...))
}

// inspectDir checks that dir holds a complete model of the given role in cybertron's layout and parses its
// configuration, so that a missing, partial or mismatched directory fails with a message saying what to
// do, before cybertron's loaders run (some of them exit the process on bad input instead of returning an
// error, e.g. a non-numeric id2label key).
func inspectDir(dir string, r role) (*modelDir, error) {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, dirError(dir, "does not exist; copy the %s there in cybertron's layout (%s, %s, %s, %s), or a Hugging Face directory and run `cns models convert %s`",
			r, FileConfig, FileVocab, FileTokenizer, FileModel, dir)
	case err != nil:
		return nil, dirError(dir, "%v", err)
	case !st.IsDir():
		return nil, dirError(dir, "is not a directory")
	}
	var missing []string
	for _, f := range []string{FileConfig, FileVocab, FileTokenizer, FileModel} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.IsDir() || st.Size() == 0 {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		hint := "copy the complete model directory"
		if slices.Equal(missing, []string{FileModel}) {
			if _, err := os.Stat(filepath.Join(dir, FileTorch)); err == nil {
				hint = fmt.Sprintf("it holds a Hugging Face %s: run `cns models convert %s`", FileTorch, dir)
			}
		}
		return nil, dirError(dir, "incomplete: %s missing or empty; %s", strings.Join(missing, ", "), hint)
	}

	md := &modelDir{path: dir}
	if err := readJSON(filepath.Join(dir, FileConfig), &md.cfg); err != nil {
		return nil, dirError(dir, "%s: %v", FileConfig, err)
	}
	c := &md.cfg
	if c.ModelType != "bert" {
		return nil, dirError(dir, "%s: model_type %q is not supported; only BERT models (model_type \"bert\") are", FileConfig, c.ModelType)
	}
	var problems []string
	for _, f := range []struct {
		name string
		v    int
	}{{"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads},
		{"intermediate_size", c.IntermediateSize}, {"vocab_size", c.VocabSize}, {"max_position_embeddings", c.MaxPositionEmbeddings}} {
		if f.v <= 0 {
			problems = append(problems, f.name+" must be positive")
		}
	}
	if c.NumAttentionHeads > 0 && c.HiddenSize%c.NumAttentionHeads != 0 {
		problems = append(problems, fmt.Sprintf("num_attention_heads %d does not divide hidden_size %d", c.NumAttentionHeads, c.HiddenSize))
	}
	if c.EmbeddingsSize != 0 && c.EmbeddingsSize != c.HiddenSize {
		problems = append(problems, fmt.Sprintf("embeddings_size %d differs from hidden_size %d (factorised embeddings are not supported)", c.EmbeddingsSize, c.HiddenSize))
	}
	if len(problems) > 0 {
		return nil, dirError(dir, "%s: %s", FileConfig, strings.Join(problems, "; "))
	}
	if arch := firstArchitecture(c.Architectures); arch != "" {
		want := "BertModel"
		if r == roleClassifier {
			want = "BertForSequenceClassification"
		}
		if arch != want {
			return nil, dirError(dir, "%s: architecture %s cannot serve as the %s", FileConfig, arch, r)
		}
	}
	if r == roleClassifier {
		if _, err := nliLabels(c.ID2Label); err != nil {
			return nil, dirError(dir, "%s: %v", FileConfig, err)
		}
	}

	var tok bert.TokenizerConfig
	if err := readJSON(filepath.Join(dir, FileTokenizer), &tok); err != nil {
		return nil, dirError(dir, "%s: %v", FileTokenizer, err)
	}
	md.lowercase = tok.DoLowerCase
	md.maxTokens = c.MaxPositionEmbeddings
	if n := tok.ModelMaxLength; n > 0 && n < md.maxTokens {
		md.maxTokens = n
	}
	var sbert struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if err := readJSON(filepath.Join(dir, fileSentenceBERT), &sbert); err == nil && sbert.MaxSeqLength > 0 && sbert.MaxSeqLength < md.maxTokens {
		md.maxTokens = sbert.MaxSeqLength // what the model was trained to pool over
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, dirError(dir, "%s: %v", fileSentenceBERT, err)
	}
	if md.maxTokens < 3 {
		return nil, dirError(dir, "the model accepts %d tokens; at least 3 are needed", md.maxTokens)
	}

	md.vocab, err = readLines(filepath.Join(dir, FileVocab))
	if err != nil {
		return nil, dirError(dir, "%s: %v", FileVocab, err)
	}
	// Checkpoints may pad vocab_size beyond the vocabulary (to a multiple of 8); never the other way.
	if len(md.vocab) > c.VocabSize {
		return nil, dirError(dir, "%s has %d entries but %s says vocab_size %d: the files come from different models",
			FileVocab, len(md.vocab), FileConfig, c.VocabSize)
	}
	seen := make(map[string]bool, len(md.vocab))
	for i, w := range md.vocab {
		if seen[w] {
			// cybertron's vocabulary keeps the first id of a repeated entry, shifting every later id.
			return nil, dirError(dir, "%s: entry %q is repeated (line %d)", FileVocab, w, i+1)
		}
		seen[w] = true
	}
	for _, sp := range []string{tokCLS, tokSEP, tokUNK} {
		if !seen[sp] {
			return nil, dirError(dir, "%s lacks the special token %s", FileVocab, sp)
		}
	}
	md.sum, err = fileSHA256(filepath.Join(dir, FileModel))
	if err != nil {
		return nil, dirError(dir, "%s: %v", FileModel, err)
	}
	return md, nil
}

func firstArchitecture(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return a[0]
}

// nliLabels maps the model's class indices to entailment, neutral and contradiction from id2label. Every
// NLI checkpoint orders its classes its own way (e.g. cross-encoder models: contradiction, entailment,
// neutral; MNLI BERTs: entailment, neutral, contradiction), so the order is always read, never assumed.
func nliLabels(id2label map[string]string) (labelIndex, error) {
	idx := labelIndex{entail: -1, neutral: -1, contradict: -1}
	if len(id2label) != 3 {
		return idx, fmt.Errorf("id2label must name exactly 3 classes (entailment, neutral, contradiction), it has %d: %v", len(id2label), id2label)
	}
	for k, v := range id2label {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= 3 {
			return idx, fmt.Errorf("id2label key %q is not a class index 0, 1 or 2", k)
		}
		var slot *int
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "entailment", "entail", "entails":
			slot = &idx.entail
		case "neutral":
			slot = &idx.neutral
		case "contradiction", "contradict", "contradicts":
			slot = &idx.contradict
		default:
			return idx, fmt.Errorf("id2label class %q is not entailment, neutral or contradiction", v)
		}
		if *slot >= 0 {
			return idx, fmt.Errorf("id2label names class %q twice", v)
		}
		*slot = i
	}
	return idx, nil
}

// labelIndex holds the class index of each NLI label.
type labelIndex struct{ entail, neutral, contradict int }

// checkModel verifies that the weights loaded from spago_model.bin are the network config.json and
// vocab.txt describe, tensor by tensor, and that every weight is finite. spago aborts the process on a
// shape mismatch during inference (log.Fatal in the autograd engine) and gob silently decodes one
// architecture's file into another's struct, so this is the only place such a directory can be refused
// cleanly.
func checkModel(md *modelDir, m *bert.Model, classifier *linear.Model, r role) error {
	if m == nil || m.Embeddings == nil || m.Encoder == nil || m.Pooler == nil {
		return dirError(md.path, "%s does not hold a BERT model", FileModel)
	}
	c, mc := md.cfg, m.Config
	for _, f := range []struct {
		name        string
		file, model int
	}{{"hidden_size", c.HiddenSize, mc.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers, mc.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads, mc.NumAttentionHeads}, {"intermediate_size", c.IntermediateSize, mc.IntermediateSize},
		{"vocab_size", c.VocabSize, mc.VocabSize}, {"max_position_embeddings", c.MaxPositionEmbeddings, mc.MaxPositionEmbeddings}} {
		if f.file != f.model {
			return dirError(md.path, "%s was converted from another model: %s is %d in it but %d in %s; reconvert with `cns models convert`",
				FileModel, f.name, f.model, f.file, FileConfig)
		}
	}
	if m.Embeddings.Vocab == nil || !slices.Equal(m.Embeddings.Vocab.Items(), md.vocab) {
		return dirError(md.path, "%s does not match the vocabulary inside %s: the files come from different models", FileVocab, FileModel)
	}

	h, heads := c.HiddenSize, c.NumAttentionHeads
	var bad []string
	check := func(name string, p *nn.Param, shape ...int) {
		if p == nil {
			bad = append(bad, name+" is missing")
			return
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		if p.Size() != n || (len(shape) == 2 && p.Shape()[0] != shape[0]) {
			bad = append(bad, fmt.Sprintf("%s has shape %v, want %v", name, p.Shape(), shape))
			return
		}
		if !finite(p) {
			bad = append(bad, name+" has NaN or infinite weights")
		}
	}
	emb := m.Embeddings
	typeRows := 1 // a single text uses segment 0 only
	if r == roleClassifier {
		typeRows = 2 // premise and hypothesis segments
	}
	for _, t := range []struct {
		name string
		size int
		w    []*nn.Param
		want int
	}{{"word embeddings", emb.Tokens.Size, emb.Tokens.Weights, c.VocabSize},
		{"position embeddings", emb.Positions.Size, emb.Positions.Weights, c.MaxPositionEmbeddings},
		{"token type embeddings", emb.TokenTypes.Size, emb.TokenTypes.Weights, typeRows}} {
		if t.size < t.want || len(t.w) != t.size {
			bad = append(bad, fmt.Sprintf("%s have %d rows, want %d", t.name, t.size, t.want))
			continue
		}
		for i, p := range t.w {
			check(fmt.Sprintf("%s row %d", t.name, i), p, h)
		}
	}
	if emb.Projector != nil {
		bad = append(bad, "embeddings have a projection layer (embeddings size ≠ hidden size), which is not supported")
	}
	if emb.Norm != nil {
		check("embeddings layer norm gain", emb.Norm.W, h)
		check("embeddings layer norm bias", emb.Norm.B, h)
	} else {
		bad = append(bad, "embeddings layer norm is missing")
	}
	if len(m.Encoder.Layers) != c.NumHiddenLayers {
		bad = append(bad, fmt.Sprintf("encoder has %d layers, want %d", len(m.Encoder.Layers), c.NumHiddenLayers))
	}
	for l, layer := range m.Encoder.Layers {
		p := fmt.Sprintf("layer %d ", l)
		if layer == nil || layer.SelfAttention == nil || layer.SelfAttention.Attention == nil || layer.SelfAttention.Norm == nil ||
			layer.FF == nil || layer.FF.Norm == nil || len(layer.FF.MLP) != 3 {
			bad = append(bad, p+"is incomplete")
			continue
		}
		att := layer.SelfAttention.Attention
		if len(att.Heads) != heads {
			bad = append(bad, fmt.Sprintf("%shas %d attention heads, want %d", p, len(att.Heads), heads))
			continue
		}
		for j, hd := range att.Heads {
			for _, lin := range []struct {
				name string
				m    *linear.Model
			}{{"query", hd.Query}, {"key", hd.Key}, {"value", hd.Value}} {
				if lin.m == nil {
					bad = append(bad, fmt.Sprintf("%shead %d %s is missing", p, j, lin.name))
					continue
				}
				check(fmt.Sprintf("%shead %d %s weight", p, j, lin.name), lin.m.W, h/heads, h)
				check(fmt.Sprintf("%shead %d %s bias", p, j, lin.name), lin.m.B, h/heads)
			}
		}
		checkLinear(check, p+"attention output", att.OutputMerge, h, h)
		check(p+"attention layer norm gain", layer.SelfAttention.Norm.W, h)
		check(p+"attention layer norm bias", layer.SelfAttention.Norm.B, h)
		in, _ := layer.FF.MLP[0].(*linear.Model)
		out, _ := layer.FF.MLP[2].(*linear.Model)
		checkLinear(check, p+"intermediate", in, c.IntermediateSize, h)
		checkLinear(check, p+"output", out, h, c.IntermediateSize)
		check(p+"output layer norm gain", layer.FF.Norm.W, h)
		check(p+"output layer norm bias", layer.FF.Norm.B, h)
	}
	if len(m.Pooler.Model) == 0 {
		bad = append(bad, "pooler is missing")
	} else {
		pool, _ := m.Pooler.Model[0].(*linear.Model)
		checkLinear(check, "pooler", pool, h, h)
	}
	if r == roleClassifier {
		if classifier == nil {
			bad = append(bad, "the classification head is missing (is it an embedding model?)")
		} else {
			checkLinear(check, "classifier", classifier, len(c.ID2Label), h)
		}
	}
	if len(bad) > 0 {
		if len(bad) > 5 {
			bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
		}
		return dirError(md.path, "%s does not match %s: %s", FileModel, FileConfig, strings.Join(bad, "; "))
	}
	return nil
}

func checkLinear(check func(string, *nn.Param, ...int), name string, l *linear.Model, out, in int) {
	if l == nil {
		check(name+" weight", nil)
		return
	}
	check(name+" weight", l.W, out, in)
	check(name+" bias", l.B, out)
}

func finite(p *nn.Param) bool {
	var m mat.Matrix = p
	for _, f := range m.Data().F64() {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	return nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
