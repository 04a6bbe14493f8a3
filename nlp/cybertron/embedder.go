package cybertron

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/nlpodyssey/cybertron/pkg/models/bert"
	textencoding "github.com/nlpodyssey/cybertron/pkg/tasks/textencoding/bert"
	"github.com/nlpodyssey/spago/mat"
	"go.uber.org/zap"

	"github.com/cns-dev/cns"
)

// Embedder is the cns.Embedder over a BERT sentence encoder: mean pooling of the last hidden states,
// L2-normalised. Safe for concurrent use; inferences are bounded by the worker pool.
type Embedder struct {
	model *bert.ModelForSequenceEncoding
	tok   *tokenizer
	pool  *pool
	dim   int
	name  string
}

var _ cns.Embedder = (*Embedder)(nil)

// LoadEmbedder loads the sentence encoder in dir (cybertron's layout) with its own worker pool.
func LoadEmbedder(dir string, opt Options) (*Embedder, error) {
	return loadEmbedder(dir, opt, newPool(opt.workers()))
}

func loadEmbedder(dir string, opt Options, p *pool) (*Embedder, error) {
	start := time.Now()
	useSyncOps()
	md, err := inspectDir(dir, roleEncoder)
	if err != nil {
		return nil, err
	}
	te, err := textencoding.LoadTextEncoding(dir)
	if err != nil {
		return nil, dirError(dir, "load %s: %v (is it a model converted by cybertron?)", FileModel, err)
	}
	if te.Model == nil {
		return nil, dirError(dir, "%s does not hold a BERT sequence encoder", FileModel)
	}
	if err := checkModel(md, te.Model.Bert, nil, roleEncoder); err != nil {
		return nil, err
	}
	e := &Embedder{
		model: te.Model,
		tok:   &tokenizer{wp: te.Tokenizer, lowercase: md.lowercase, maxTokens: md.maxTokens},
		pool:  p,
		dim:   md.cfg.HiddenSize,
		name:  fmt.Sprintf("cybertron-bert@1/%s/%d/%s", filepath.Base(dir), md.cfg.HiddenSize, md.sum[:12]),
	}
	// One inference at load: a model that cannot run fails at boot, not on the first request.
	if _, err := e.encode([]string{tokCLS, tokSEP}); err != nil {
		return nil, dirError(dir, "test inference failed: %v", err)
	}
	opt.log().Info("cybertron embedder loaded", zap.String("dir", dir), zap.String("name", e.name),
		zap.Int("layers", md.cfg.NumHiddenLayers), zap.Int("dim", e.dim), zap.Int("max_tokens", md.maxTokens),
		zap.Int("workers", p.size()), zap.Duration("took", time.Since(start)))
	return e, nil
}

// Dim returns the hidden size of the model.
func (e *Embedder) Dim() int { return e.dim }

// Name returns "cybertron-bert@1/<model directory>/<dim>/<first 12 hex digits of spago_model.bin's
// SHA-256>": another model, or the same name with other weights, is another embedding space.
func (e *Embedder) Name() string { return e.name }

// Embed returns the unit-length embedding of text. Text without any word piece is EINVALID. ctx bounds
// the wait for a worker; an inference, once started, runs to the end (tens of milliseconds).
func (e *Embedder) Embed(ctx context.Context, text string) ([]float32, error) {
	if strings.TrimSpace(text) == "" {
		return nil, cns.Errorf(cns.EINVALID, "text to embed is empty")
	}
	toks := e.tok.single(text)
	if len(toks) <= 2 {
		return nil, cns.Errorf(cns.EINVALID, "text to embed has no word pieces")
	}
	var v []float32
	err := e.pool.do(ctx, "embed", func() (err error) {
		v, err = e.encode(toks)
		return err
	})
	return v, err
}

// EmbedBatch embeds texts concurrently within the worker pool and returns their embeddings in order. The
// first failure (an empty text, ctx's end) fails the batch.
func (e *Embedder) EmbedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	err := e.pool.each(ctx, len(texts), func(ctx context.Context, i int) error {
		v, err := e.Embed(ctx, texts[i])
		if err != nil {
			return fmt.Errorf("text %d: %w", i, err)
		}
		out[i] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// encode runs the model: mean pooling, then L2 normalisation (cybertron returns the raw mean).
func (e *Embedder) encode(tokens []string) ([]float32, error) {
	t, err := e.model.Encode(tokens, bert.MeanPooling)
	if err != nil {
		return nil, cns.Errorf(cns.EINTERNAL, "encode: %v", err)
	}
	m, ok := t.Value().(mat.Matrix)
	if !ok {
		return nil, cns.Errorf(cns.EINTERNAL, "encode: unexpected output %T", t.Value())
	}
	v := m.Data().F32() // a copy: safe to normalise in place
	if len(v) != e.dim {
		return nil, cns.Errorf(cns.EINTERNAL, "encode: output has dimension %d, want %d", len(v), e.dim)
	}
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if math.IsNaN(ss) || math.IsInf(ss, 0) || ss == 0 {
		return nil, cns.Errorf(cns.EINTERNAL, "encode: the model returned a zero or non-finite vector")
	}
	return cns.Normalize(v), nil
}
