package cybertron

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nlpodyssey/cybertron/pkg/models/bert"
	textclassification "github.com/nlpodyssey/cybertron/pkg/tasks/textclassification/bert"
	"github.com/nlpodyssey/spago/mat"
	"go.uber.org/zap"

	"github.com/cns-dev/cns"
)

// NLI is the cns.NLI over a BERT sequence classifier fine-tuned for natural language inference. Safe for
// concurrent use; inferences are bounded by the worker pool and results are cached.
type NLI struct {
	model  *bert.ModelForSequenceClassification
	tok    *tokenizer
	pool   *pool
	labels labelIndex
	name   string
	key    [8]byte // model part of cache keys
	cache  *lru    // nil when disabled

	inferences atomic.Int64 // model runs, for tests and metrics
}

var _ cns.NLI = (*NLI)(nil)

// LoadNLI loads the NLI classifier in dir (cybertron's layout) with its own worker pool.
func LoadNLI(dir string, opt Options) (*NLI, error) {
	return loadNLI(dir, opt, newPool(opt.workers()))
}

func loadNLI(dir string, opt Options, p *pool) (*NLI, error) {
	start := time.Now()
	useSyncOps()
	md, err := inspectDir(dir, roleClassifier)
	if err != nil {
		return nil, err
	}
	labels, err := nliLabels(md.cfg.ID2Label) // validated by inspectDir; read again for the indices
	if err != nil {
		return nil, dirError(dir, "%s: %v", FileConfig, err)
	}
	tc, err := textclassification.LoadTextClassification(dir)
	if err != nil {
		return nil, dirError(dir, "load %s: %v (is it a model converted by cybertron?)", FileModel, err)
	}
	if tc.Model == nil {
		return nil, dirError(dir, "%s does not hold a BERT sequence classifier", FileModel)
	}
	if err := checkModel(md, tc.Model.Bert, tc.Model.Classifier, roleClassifier); err != nil {
		return nil, err
	}
	n := &NLI{
		model:  tc.Model,
		tok:    &tokenizer{wp: tc.Tokenizer, lowercase: md.lowercase, maxTokens: md.maxTokens},
		pool:   p,
		labels: labels,
		name:   fmt.Sprintf("cybertron-bert-nli@1/%s/%s", filepath.Base(dir), md.sum[:12]),
	}
	sum, _ := hex.DecodeString(md.sum)
	copy(n.key[:], sum)
	switch {
	case opt.CacheSize == 0:
		n.cache = newLRU(DefaultCacheSize)
	case opt.CacheSize > 0:
		n.cache = newLRU(opt.CacheSize)
	}
	if _, err := n.infer([]string{tokCLS, tokSEP, tokSEP}); err != nil {
		return nil, dirError(dir, "test inference failed: %v", err)
	}
	opt.log().Info("cybertron NLI loaded", zap.String("dir", dir), zap.String("name", n.name),
		zap.Int("layers", md.cfg.NumHiddenLayers), zap.Int("max_tokens", md.maxTokens),
		zap.Any("id2label", md.cfg.ID2Label), zap.Int("workers", p.size()), zap.Duration("took", time.Since(start)))
	return n, nil
}

// Name returns "cybertron-bert-nli@1/<model directory>/<first 12 hex digits of spago_model.bin's SHA-256>".
func (n *NLI) Name() string { return n.name }

// Classify returns the entailment probabilities of hypothesis given premise. Empty texts, or texts
// without word pieces, are EINVALID. ctx bounds the wait for a worker.
func (n *NLI) Classify(ctx context.Context, premise, hypothesis string) (cns.Entailment, error) {
	if strings.TrimSpace(premise) == "" || strings.TrimSpace(hypothesis) == "" {
		return cns.Entailment{}, cns.Errorf(cns.EINVALID, "premise and hypothesis must not be empty")
	}
	k := n.cacheKey(premise, hypothesis)
	if n.cache != nil {
		if v, ok := n.cache.get(k); ok {
			return v, nil
		}
	}
	toks, ok := n.tok.pair(premise, hypothesis)
	if !ok {
		return cns.Entailment{}, cns.Errorf(cns.EINVALID, "premise or hypothesis has no word pieces")
	}
	var out cns.Entailment
	err := n.pool.do(ctx, "classify", func() (err error) {
		out, err = n.infer(toks)
		return err
	})
	if err != nil {
		return cns.Entailment{}, err
	}
	if n.cache != nil {
		n.cache.put(k, out)
	}
	return out, nil
}

// ClassifyBatch classifies premises[i] against hypotheses[i] for every i, concurrently within the worker
// pool, and returns the results in order. Repeated pairs are computed once and cached pairs not at all.
// The first failure (an empty text, ctx's end) fails the batch.
func (n *NLI) ClassifyBatch(ctx context.Context, premises, hypotheses []string) ([]cns.Entailment, error) {
	if len(premises) != len(hypotheses) {
		return nil, cns.Errorf(cns.EINVALID, "%d premises for %d hypotheses", len(premises), len(hypotheses))
	}
	out := make([]cns.Entailment, len(premises))
	first := map[cacheKey]int{} // pair → index of its first occurrence
	var todo []int
	for i := range premises {
		k := n.cacheKey(premises[i], hypotheses[i])
		if _, dup := first[k]; dup {
			continue
		}
		first[k] = i
		todo = append(todo, i)
	}
	err := n.pool.each(ctx, len(todo), func(ctx context.Context, j int) error {
		i := todo[j]
		e, err := n.Classify(ctx, premises[i], hypotheses[i])
		if err != nil {
			return fmt.Errorf("pair %d: %w", i, err)
		}
		out[i] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range premises {
		out[i] = out[first[n.cacheKey(premises[i], hypotheses[i])]]
	}
	return out, nil
}

func (n *NLI) cacheKey(premise, hypothesis string) cacheKey {
	k := cacheKey{model: n.key}
	p, h := sha256.Sum256([]byte(premise)), sha256.Sum256([]byte(hypothesis))
	copy(k.premise[:], p[:])
	copy(k.hypothesis[:], h[:])
	return k
}

// infer runs the classifier on "[CLS] premise [SEP] hypothesis [SEP]" and maps the softmax of the logits
// to the three labels through id2label.
func (n *NLI) infer(tokens []string) (cns.Entailment, error) {
	n.inferences.Add(1)
	m, ok := n.model.Classify(tokens).Value().(mat.Matrix)
	if !ok {
		return cns.Entailment{}, cns.Errorf(cns.EINTERNAL, "classify: unexpected model output")
	}
	logits := m.Data().F64()
	if len(logits) != 3 {
		return cns.Entailment{}, cns.Errorf(cns.EINTERNAL, "classify: the model returned %d logits, want 3", len(logits))
	}
	p := softmax(logits)
	e := cns.Entailment{Entail: p[n.labels.entail], Neutral: p[n.labels.neutral], Contradict: p[n.labels.contradict]}
	if !finite3(e) {
		return cns.Entailment{}, cns.Errorf(cns.EINTERNAL, "classify: the model returned non-finite logits %v", logits)
	}
	return e, nil
}

// softmax is the numerically stable softmax (the maximum is subtracted before exponentiation).
func softmax(x []float64) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, v)
	}
	out := make([]float64, len(x))
	var sum float64
	for i, v := range x {
		out[i] = math.Exp(v - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func finite3(e cns.Entailment) bool {
	for _, v := range []float64{e.Entail, e.Neutral, e.Contradict} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
