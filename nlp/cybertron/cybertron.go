// Package cybertron is the transformer NLP backend: a sentence embedder over BERT text encoding
// (sentence-transformers models such as all-MiniLM-L6-v2: mean pooling over the last hidden states, then
// L2 normalisation, which cybertron does not do) and an NLI over BERT sequence classification (premise and
// hypothesis as one "[CLS] premise [SEP] hypothesis [SEP]" input, labels read from the model's id2label).
// Both run in pure Go on github.com/nlpodyssey/cybertron and spago, with no native library.
//
// Models are directories in cybertron's layout (config.json, vocab.txt, tokenizer_config.json,
// spago_model.bin) under a configured models directory; `cns models convert` makes one from a Hugging Face
// checkpoint. Nothing is ever downloaded or converted at load: the BERT loaders are imported directly
// (pkg/tasks/textencoding/bert, pkg/tasks/textclassification/bert), which take a directory and have no
// download path, rather than through cybertron's task loader (whose zero-value configuration downloads
// even when the directory is complete, and which pulls in the BART, protobuf and downloader code). A
// missing, partial or mismatched directory fails at load with a message naming the file and the fix.
//
// Inference is CPU-bound and slow next to the built-in backend (tens of milliseconds per sentence for a
// MiniLM), so every inference runs through one bounded worker pool sized to the CPU budget, batches
// (EmbedBatch, ClassifyBatch) fan out over it, and NLI results are cached by (model, premise hash,
// hypothesis hash): the grounding critic asks the same pairs again when an SNO is re-evaluated.
package cybertron

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unicode"

	"github.com/nlpodyssey/cybertron/pkg/tokenizers/wordpiecetokenizer"
	"github.com/nlpodyssey/spago/ag"
	"go.uber.org/zap"
	"golang.org/x/text/unicode/norm"

	"github.com/cns-dev/cns"
)

// DefaultCacheSize is the number of NLI results kept when Options.CacheSize is 0: a few hundred bytes
// each, enough for the claim × evidence pairs of hundreds of SNOs.
const DefaultCacheSize = 16384

// Options tune the backend; the zero value is ready to use.
type Options struct {
	// Workers bounds how many inferences run at once, embedder and NLI together: the CPU budget of the
	// backend. 0 means GOMAXPROCS (the process's CPU budget, which Go derives from the cgroup quota).
	Workers int
	// CacheSize is the number of NLI results kept (least recently used evicted); 0 means
	// DefaultCacheSize, negative disables the cache.
	CacheSize int
	// Log receives load messages; nil means no logging.
	Log *zap.Logger
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func (o Options) log() *zap.Logger {
	if o.Log == nil {
		return zap.NewNop()
	}
	return o.Log
}

// New loads the embedder from modelsDir/embedderModel and the NLI from modelsDir/nliModel, sharing one
// worker pool so that together they stay within the CPU budget. Model names are directory names inside
// modelsDir (a path is refused so configuration cannot point outside it).
func New(modelsDir, embedderModel, nliModel string, opt Options) (*Embedder, *NLI, error) {
	var problems []string
	for _, m := range []struct{ key, name string }{{"nlp.embedder_model", embedderModel}, {"nlp.nli_model", nliModel}} {
		switch {
		case strings.TrimSpace(m.name) == "":
			problems = append(problems, m.key+" is empty: name a model directory inside nlp.models_dir")
		case strings.ContainsAny(m.name, `/\`) || m.name == "." || m.name == "..":
			problems = append(problems, fmt.Sprintf("%s %q must be a directory name inside nlp.models_dir, not a path", m.key, m.name))
		}
	}
	if strings.TrimSpace(modelsDir) == "" {
		problems = append(problems, "nlp.models_dir is empty")
	}
	if len(problems) > 0 {
		return nil, nil, cns.Errorf(cns.EINVALID, "cybertron backend: %s", strings.Join(problems, "; "))
	}
	p := newPool(opt.workers())
	emb, err := loadEmbedder(filepath.Join(modelsDir, embedderModel), opt, p)
	if err != nil {
		return nil, nil, fmt.Errorf("load embedder: %w", err)
	}
	nli, err := loadNLI(filepath.Join(modelsDir, nliModel), opt, p)
	if err != nil {
		return nil, nil, fmt.Errorf("load NLI: %w", err)
	}
	return emb, nli, nil
}

// syncOps switches spago to synchronous operators, once, before the first model loads. By default every
// autograd operator of a forward pass runs on its own goroutine (thousands per sentence); with the pool
// already running one sentence per core, that only adds scheduling: measured 2–5× slower for small
// models and for MiniLM at 12 tokens on 2 cores, and it would let one inference use more CPUs than the
// budget. The switch is process-wide; this package is spago's only user in the service.
var syncOps sync.Once

func useSyncOps() { syncOps.Do(func() { ag.SetForceSyncExecution(true) }) }

// pool bounds concurrent inferences. A semaphore rather than long-lived workers: callers run the model on
// their own goroutine once they hold a slot, so a cancelled caller simply stops waiting.
type pool struct{ slots chan struct{} }

func newPool(n int) *pool { return &pool{slots: make(chan struct{}, max(1, n))} }

func (p *pool) size() int { return cap(p.slots) }

// do runs fn once a slot is free, or returns ctx's error. A panic in fn (spago and cybertron panic on
// inputs they cannot handle) becomes an EINTERNAL error instead of killing the process.
func (p *pool) do(ctx context.Context, what string, fn func() error) (err error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%s: waiting for a worker: %w", what, ctx.Err())
	}
	defer func() { <-p.slots }()
	if err := ctx.Err(); err != nil { // both were ready: do not start work for a gone caller
		return fmt.Errorf("%s: %w", what, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = cns.Errorf(cns.EINTERNAL, "%s: model panicked: %v", what, r)
		}
	}()
	return fn()
}

// each runs fn(i) for i in [0, n) concurrently through the pool and returns the first error; after an
// error the remaining items are skipped.
func (p *pool) each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	// No more goroutines than slots: the others would only wait on the semaphore.
	for range min(n, p.size()) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// tokenizer turns text into BERT word pieces the way the model's Hugging Face tokenizer does: optional
// lower-casing with accent stripping (BERT uncased), then cybertron's basic and word-piece tokenizers.
type tokenizer struct {
	wp        *wordpiecetokenizer.WordPieceTokenizer
	lowercase bool
	maxTokens int
}

// pieces returns the word pieces of text. Special tokens typed in the text ("[SEP]") are removed first,
// before lower-casing would turn them into ordinary brackets: kept as real separators they would shift the
// segment ids and corrupt the input.
func (t *tokenizer) pieces(text string) []string {
	text = specialTokens.Replace(text)
	if t.lowercase {
		text = stripAccents(strings.ToLower(text))
	}
	toks := t.wp.Tokenize(text)
	out := make([]string, 0, len(toks))
	for _, tk := range toks {
		out = append(out, tk.String)
	}
	return out
}

var specialTokens = strings.NewReplacer(tokCLS, " ", tokSEP, " ", tokMask, " ")

// single returns "[CLS] text [SEP]", truncated to the model's input length (as sentence-transformers
// does: the end of a long text is dropped).
func (t *tokenizer) single(text string) []string {
	p := t.pieces(text)
	if len(p) > t.maxTokens-2 {
		p = p[:t.maxTokens-2]
	}
	out := make([]string, 0, len(p)+2)
	return append(append(append(out, tokCLS), p...), tokSEP)
}

// pair returns "[CLS] a [SEP] b [SEP]", truncating the longer side first until it fits (Hugging Face's
// "longest_first"), so a long evidence text does not crowd out the claim. ok is false when either side
// has no token at all.
func (t *tokenizer) pair(a, b string) (tokens []string, ok bool) {
	pa, pb := t.pieces(a), t.pieces(b)
	if len(pa) == 0 || len(pb) == 0 {
		return nil, false
	}
	for budget := t.maxTokens - 3; len(pa)+len(pb) > budget; {
		if len(pa) >= len(pb) {
			pa = pa[:len(pa)-1]
		} else {
			pb = pb[:len(pb)-1]
		}
	}
	out := make([]string, 0, len(pa)+len(pb)+3)
	out = append(append(append(out, tokCLS), pa...), tokSEP)
	return append(append(out, pb...), tokSEP), true
}

// stripAccents removes combining marks after canonical decomposition ("café" → "cafe"), as BERT's
// uncased tokenizer does whenever it lower-cases.
func stripAccents(s string) string {
	isASCII := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			isASCII = false
			break
		}
	}
	if isASCII {
		return s
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
