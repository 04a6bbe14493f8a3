package nlimodel

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cns-dev/cns"
)

//go:embed weights.json
var defaultWeights []byte

// Default returns the committed model (weights.json beside this file; see NOTICE for what it was trained
// on and under which licences).
func Default() (*Model, error) { return Decode(defaultWeights) }

// NLI is the trained feature classifier behind cns.NLI. Safe for concurrent use.
type NLI struct {
	res   *Resources
	model *Model
	name  string
	// Whole, when set, classifies a multi-sentence premise as one text instead of sentence by sentence.
	Whole bool
}

var _ cns.NLI = (*NLI)(nil)

// New returns the NLI of a model over the resources. The model must match this build's features.
func New(res *Resources, m *Model) (*NLI, error) {
	if res == nil || res.SIF == nil {
		return nil, fmt.Errorf("nlimodel: GloVe vectors are required")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("nlimodel: %w", err)
	}
	return &NLI{res: res, model: m, name: m.Name}, nil
}

// Name returns the model's name, e.g. "nli-mlp@1".
func (n *NLI) Name() string { return n.name }

// Model returns the model.
func (n *NLI) Model() *Model { return n.model }

// maxSentences bounds the sentences of a premise judged one by one; the rest are judged together, so a
// huge evidence text costs a bounded number of passes.
const maxSentences = 40

// Classify returns the probabilities that premise entails, is neutral to, or contradicts hypothesis.
//
// A premise of several sentences (an abstract, an evidence paragraph) is judged sentence by sentence and
// the most decisive sentence (lowest neutral probability) speaks for it: evidence for a claim usually sits
// in one or two sentences, and averaging word alignments over a whole paragraph drowns them (on SciFact
// TRAIN abstracts this raises the AUROC of entail − contradict, see docs/eval.md).
func (n *NLI) Classify(ctx context.Context, premise, hypothesis string) (cns.Entailment, error) {
	return n.classify(ctx, premise, hypothesis, nil)
}

// ClassifyBatch implements critic.BatchNLI: Classify of every pair, with the pairs sharing their work
// (memo): each distinct text is split and analysed once, so a document checked against every claim
// drawn from it is read once, not once per claim. The results are Classify's, bit for bit.
func (n *NLI) ClassifyBatch(ctx context.Context, premises, hypotheses []string) ([]cns.Entailment, error) {
	if len(premises) != len(hypotheses) {
		return nil, cns.Errorf(cns.EINVALID, "%d premises for %d hypotheses", len(premises), len(hypotheses))
	}
	m := newMemo()
	out := make([]cns.Entailment, len(premises))
	for i := range premises {
		e, err := n.classify(ctx, premises[i], hypotheses[i], m)
		if err != nil {
			return nil, fmt.Errorf("pair %d: %w", i, err)
		}
		out[i] = e
	}
	return out, nil
}

func (n *NLI) classify(ctx context.Context, premise, hypothesis string, m *memo) (cns.Entailment, error) {
	if strings.TrimSpace(premise) == "" || strings.TrimSpace(hypothesis) == "" {
		return cns.Entailment{}, cns.Errorf(cns.EINVALID, "premise and hypothesis must not be empty")
	}
	h := n.res.analyzeIn(hypothesis, m)
	if len(h.toks) == 0 {
		return cns.Entailment{}, cns.Errorf(cns.EINVALID, "premise and hypothesis must contain words")
	}
	sents := []string{premise}
	if !n.Whole {
		sents = m.split(premise)
	}
	x := make([]float64, NumFeatures)
	best, found := [3]float64{}, false
	for _, s := range sents {
		if err := ctx.Err(); err != nil {
			return cns.Entailment{}, err
		}
		p := n.res.analyzeIn(s, m)
		if len(p.toks) == 0 {
			continue
		}
		n.res.features(p, h, x)
		pr := n.model.Predict(x)
		if !found || pr[1] < best[1] {
			best, found = pr, true
		}
	}
	if !found {
		return cns.Entailment{}, cns.Errorf(cns.EINVALID, "premise and hypothesis must contain words")
	}
	return cns.Entailment{Entail: best[0], Neutral: 1 - best[0] - best[2], Contradict: best[2]}, nil
}

// SplitSentences splits text after '.', '!' or '?' followed by space and an upper-case letter, digit or
// opening bracket, except after common abbreviations ("e.g.", "et al.", "Fig."). At most max sentences
// are returned; the last one holds the rest of the text.
func SplitSentences(text string, max int) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '.' && c != '!' && c != '?' {
			continue
		}
		j := i + 1
		for j < len(text) && (text[j] == '"' || text[j] == '\'' || text[j] == ')') {
			j++
		}
		if j >= len(text) || (text[j] != ' ' && text[j] != '\n' && text[j] != '\t') {
			continue
		}
		k := j
		for k < len(text) && (text[k] == ' ' || text[k] == '\n' || text[k] == '\t') {
			k++
		}
		if k >= len(text) {
			continue
		}
		r, _ := utf8.DecodeRuneInString(text[k:])
		if !unicode.IsUpper(r) && !unicode.IsDigit(r) && r != '(' && r != '[' {
			continue
		}
		if c == '.' && abbreviation(text[start:i]) {
			continue
		}
		if s := strings.TrimSpace(text[start:j]); s != "" {
			out = append(out, s)
		}
		start = k
		if len(out) == max-1 {
			break
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

func abbreviation(before string) bool {
	w := before
	if i := strings.LastIndexAny(before, " \n\t("); i >= 0 {
		w = before[i+1:]
	}
	switch strings.ToLower(w) {
	case "e.g", "i.e", "al", "fig", "figs", "vs", "approx", "dr", "mr", "mrs", "ms", "no", "st", "ref", "refs", "eq", "ca", "cf", "u.s", "inc", "ltd", "jr", "sr":
		return true
	}
	return len(w) == 1 && unicode.IsUpper(rune(w[0])) // an initial: "J. Smith"
}
