package cybertron

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlpodyssey/cybertron/pkg/models/bert"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/nn"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/nlp/cybertron/bertgen"
)

// The grounding critic sends all pairs of an SNO through ClassifyBatch.
var _ critic.BatchNLI = (*NLI)(nil)

// words is the vocabulary of the generated test models: enough for varied sentences, "##" pieces so
// unknown words split, and accented forms to test lower-casing.
var words = []string{"the", "a", "drug", "reduces", "increases", "pain", "sleep", "exercise", "improves",
	"coffee", "risk", "of", "diabetes", "lowers", "is", "not", "trial", "adults", "in", "cafe", ".", ",",
	"re", "##duce", "##s", "##d", "##ing", "un", "##known"}

var nliLabelOrder = []string{"contradiction", "entailment", "neutral"} // as cross-encoder NLI models

// models writes one tiny encoder and one tiny NLI classifier per test binary (milliseconds).
var models struct {
	once     sync.Once
	dir      string
	enc, nli string
	err      error
}

func testModels(t testing.TB) (enc, nli string) {
	t.Helper()
	models.once.Do(func() {
		models.dir, models.err = os.MkdirTemp("", "cns-cybertron-test-")
		if models.err != nil {
			return
		}
		models.enc = filepath.Join(models.dir, "enc")
		models.nli = filepath.Join(models.dir, "nli")
		if models.err = bertgen.Write(models.enc, bertgen.Tiny(words, nil, 1)); models.err != nil {
			return
		}
		models.err = bertgen.Write(models.nli, bertgen.Tiny(words, nliLabelOrder, 2))
	})
	if models.err != nil {
		t.Fatal(models.err)
	}
	return models.enc, models.nli
}

func TestMain(m *testing.M) {
	code := m.Run()
	if models.dir != "" {
		os.RemoveAll(models.dir)
	}
	os.Exit(code)
}

// copyDir copies a model directory so a test can damage the copy.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func loadEmb(t *testing.T, opt Options) *Embedder {
	t.Helper()
	enc, _ := testModels(t)
	e, err := LoadEmbedder(enc, opt)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func loadNLIModel(t *testing.T, opt Options) *NLI {
	t.Helper()
	_, nli := testModels(t)
	n, err := LoadNLI(nli, opt)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func norm2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestEmbedderMeanPoolsAndNormalises(t *testing.T) {
	e := loadEmb(t, Options{})
	ctx := context.Background()
	if e.Dim() != 32 {
		t.Fatalf("Dim = %d, want 32", e.Dim())
	}
	if !strings.HasPrefix(e.Name(), "cybertron-bert@1/enc/32/") || len(e.Name()) != len("cybertron-bert@1/enc/32/")+12 {
		t.Errorf("Name = %q", e.Name())
	}
	text := "The drug reduces pain in adults."
	v, err := e.Embed(ctx, text)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 32 || math.Abs(norm2(v)-1) > 1e-5 {
		t.Fatalf("embedding has dim %d and norm %v, want 32 and 1", len(v), norm2(v))
	}

	// Independent reference: run the encoder, average the last hidden states of every token ([CLS] and
	// [SEP] included, as sentence-transformers' attention mask does), normalise.
	toks := []string{"[CLS]", "the", "drug", "reduces", "pain", "in", "adults", ".", "[SEP]"}
	if got := e.tok.single(text); !slices.Equal(got, toks) {
		t.Fatalf("tokens = %v, want %v", got, toks)
	}
	states := e.model.Bert.EncodeTokens(toks)
	ref := make([]float64, 32)
	for _, s := range states {
		for i, x := range s.Value().(mat.Matrix).Data().F64() {
			ref[i] += x / float64(len(states))
		}
	}
	var n float64
	for _, x := range ref {
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range ref {
		if math.Abs(ref[i]/n-float64(v[i])) > 1e-5 {
			t.Fatalf("component %d = %v, want mean-pooled %v", i, v[i], ref[i]/n)
		}
	}
	// The [CLS] pooler output is something else: make sure that is not what we return.
	cls := e.model.Bert.Pooler.Forward(states[0]).Value().(mat.Matrix).Data().F32()
	if cosine(cns.Normalize(cls), v) > 0.999 {
		t.Error("embedding equals the [CLS] pooler output, want mean pooling")
	}

	// Deterministic, and different texts give different vectors.
	again, _ := e.Embed(ctx, text)
	if !slices.Equal(v, again) {
		t.Error("the same text embedded twice differs")
	}
	other, _ := e.Embed(ctx, "Coffee lowers the risk of diabetes.")
	if c := cosine(v, other); c > 0.9999 {
		t.Errorf("different sentences have cosine %v", c)
	}
}

func cosine(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s / (norm2(a) * norm2(b))
}

func TestTokenizer(t *testing.T) {
	e := loadEmb(t, Options{})
	tok := e.tok
	cases := []struct {
		in   string
		want []string
	}{
		{"The DRUG reduces", []string{"the", "drug", "reduces"}},              // lower-cased
		{"café", []string{"cafe"}},                                            // accents stripped
		{"reduces", []string{"reduces"}},                                      // a vocabulary word stays whole
		{"the [SEP] drug [CLS] [MASK]", []string{"the", "drug"}},              // typed special tokens dropped
		{"zzz", []string{"[UNK]"}},                                            // unknown word
		{"   ", []string{}},                                                   // nothing
		{"pain, sleep.", []string{"pain", ",", "sleep", "."}},                 // punctuation split
		{"unknown reduced", []string{"un", "##known", "re", "##duce", "##d"}}, // word pieces
	}
	for _, c := range cases {
		if got := tok.pieces(c.in); !slices.Equal(got, c.want) {
			t.Errorf("pieces(%q) = %v, want %v", c.in, got, c.want)
		}
	}

	// Truncation keeps [CLS] … [SEP] within the model's 64 positions.
	long := strings.Repeat("pain ", 200)
	if got := tok.single(long); len(got) != 64 || got[0] != "[CLS]" || got[63] != "[SEP]" {
		t.Errorf("single(long) has %d tokens (%v … %v)", len(got), got[0], got[len(got)-1])
	}
	// Pairs: longest first, both sides kept, three special tokens.
	p, ok := tok.pair(long, "drug reduces pain")
	if !ok || len(p) != 64 || p[0] != "[CLS]" || !slices.Equal(p[59:], []string{"[SEP]", "drug", "reduces", "pain", "[SEP]"}) {
		t.Errorf("pair(long, short) = %d tokens, tail %v; want 64 with the short hypothesis whole", len(p), p[len(p)-5:])
	}
	p, _ = tok.pair(long, long)
	if len(p) != 64 || p[31] != "[SEP]" {
		t.Errorf("pair(long, long): %d tokens, separator at %d", len(p), slices.Index(p[1:], "[SEP]")+1)
	}
	if _, ok := tok.pair("the drug", "[SEP]"); ok {
		t.Error("pair with a side of no word pieces must not be ok")
	}
}

func TestEmbedderEquivalences(t *testing.T) {
	e := loadEmb(t, Options{})
	ctx := context.Background()
	same := [][2]string{
		{"The DRUG reduces pain", "the drug reduces pain"},
		{"café", "cafe"},
		{"the drug [SEP] reduces pain", "the drug reduces pain"},
		{strings.Repeat("pain ", 62) + "drug drug drug", strings.Repeat("pain ", 62)}, // truncated tail
	}
	for _, s := range same {
		a, err1 := e.Embed(ctx, s[0])
		b, err2 := e.Embed(ctx, s[1])
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !slices.Equal(a, b) {
			t.Errorf("Embed(%.30q) != Embed(%.30q)", s[0], s[1])
		}
	}
}

func TestEmbedderErrors(t *testing.T) {
	e := loadEmb(t, Options{})
	for _, text := range []string{"", "   \n\t", "[SEP] [CLS]"} {
		if _, err := e.Embed(context.Background(), text); cns.ErrorCode(err) != cns.EINVALID {
			t.Errorf("Embed(%q) err = %v, want EINVALID", text, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Embed(ctx, "the drug"); !errors.Is(err, context.Canceled) {
		t.Errorf("Embed with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func TestEmbedBatch(t *testing.T) {
	e := loadEmb(t, Options{Workers: 3})
	ctx := context.Background()
	texts := []string{"the drug reduces pain", "coffee lowers the risk of diabetes", "exercise improves sleep", "the drug reduces pain"}
	got, err := e.EmbedBatch(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		want, _ := e.Embed(ctx, text)
		if !slices.Equal(got[i], want) {
			t.Errorf("batch item %d differs from Embed", i)
		}
	}
	if _, err := e.EmbedBatch(ctx, []string{"pain", " "}); cns.ErrorCode(err) != cns.EINVALID || !strings.Contains(err.Error(), "text 1") {
		t.Errorf("batch with an empty text: err = %v, want EINVALID naming text 1", err)
	}
	if out, err := e.EmbedBatch(ctx, nil); err != nil || len(out) != 0 {
		t.Errorf("empty batch = %v, %v", out, err)
	}
}

// TestNLILabelOrder checks that probabilities are the softmax of the logits mapped through id2label: two
// models with the same weights and different label orders must swap their probabilities accordingly.
func TestNLILabelOrder(t *testing.T) {
	dir := t.TempDir()
	orders := [][]string{
		{"entailment", "neutral", "contradiction"},
		{"contradiction", "entailment", "neutral"},
		{"NEUTRAL", "Contradiction", "ENTAILMENT"},
	}
	var nlis []*NLI
	for i, order := range orders {
		d := filepath.Join(dir, fmt.Sprint("nli", i))
		if err := bertgen.Write(d, bertgen.Tiny(words, order, 7)); err != nil {
			t.Fatal(err)
		}
		n, err := LoadNLI(d, Options{})
		if err != nil {
			t.Fatal(err)
		}
		nlis = append(nlis, n)
	}
	ctx := context.Background()
	pairs := [][2]string{{"The drug reduces pain.", "The drug increases pain."}, {"Coffee lowers the risk of diabetes.", "exercise improves sleep"}}
	for _, p := range pairs {
		var probs [][3]float64 // in class-index order, recovered through each model's order
		for i, n := range nlis {
			e, err := n.Classify(ctx, p[0], p[1])
			if err != nil {
				t.Fatal(err)
			}
			if s := e.Entail + e.Neutral + e.Contradict; math.Abs(s-1) > 1e-9 {
				t.Errorf("probabilities sum to %v", s)
			}
			byLabel := map[string]float64{"entailment": e.Entail, "neutral": e.Neutral, "contradiction": e.Contradict}
			var c [3]float64
			for j, l := range orders[i] {
				c[j] = byLabel[strings.ToLower(l)]
			}
			probs = append(probs, c)
		}
		for i := 1; i < len(probs); i++ {
			for j := range 3 {
				if math.Abs(probs[i][j]-probs[0][j]) > 1e-9 {
					t.Fatalf("class %d: model %d gives %v, model 0 gives %v: labels not read from id2label", j, i, probs[i], probs[0])
				}
			}
		}
		// And those class probabilities are the softmax of the raw logits.
		toks, _ := nlis[0].tok.pair(p[0], p[1])
		logits := nlis[0].model.Classify(toks).Value().(mat.Matrix).Data().F64()
		sm := softmax(logits)
		for j := range 3 {
			if math.Abs(sm[j]-probs[0][j]) > 1e-9 {
				t.Fatalf("class %d probability %v, softmax of logits %v", j, probs[0][j], sm[j])
			}
		}
		if probs[0][0] == probs[0][1] && probs[0][1] == probs[0][2] {
			t.Fatalf("uniform probabilities %v: the generated model is degenerate", probs[0])
		}
	}
}

func TestNLIInputIsPremiseSepHypothesis(t *testing.T) {
	n := loadNLIModel(t, Options{CacheSize: -1})
	ctx := context.Background()
	got, err := n.Classify(ctx, "The drug reduces pain.", "The drug increases pain.")
	if err != nil {
		t.Fatal(err)
	}
	want, err := n.infer([]string{"[CLS]", "the", "drug", "reduces", "pain", ".", "[SEP]", "the", "drug", "increases", "pain", ".", "[SEP]"})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Classify = %+v, inference on [CLS] premise [SEP] hypothesis [SEP] = %+v", got, want)
	}
	swapped, _ := n.Classify(ctx, "The drug increases pain.", "The drug reduces pain.")
	if swapped == got {
		t.Error("premise and hypothesis are interchangeable: segments are not distinguished")
	}
}

func TestNLIErrors(t *testing.T) {
	n := loadNLIModel(t, Options{})
	ctx := context.Background()
	for _, p := range [][2]string{{"", "h"}, {"p", " "}, {"[SEP]", "the drug"}} {
		if _, err := n.Classify(ctx, p[0], p[1]); cns.ErrorCode(err) != cns.EINVALID {
			t.Errorf("Classify(%q, %q) err = %v, want EINVALID", p[0], p[1], err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := n.Classify(cctx, "the drug", "reduces pain"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if _, err := n.ClassifyBatch(ctx, []string{"a"}, nil); cns.ErrorCode(err) != cns.EINVALID {
		t.Errorf("mismatched batch: err = %v, want EINVALID", err)
	}
	if _, err := n.ClassifyBatch(ctx, []string{"pain", "the drug"}, []string{"sleep", ""}); cns.ErrorCode(err) != cns.EINVALID || !strings.Contains(err.Error(), "pair 1") {
		t.Errorf("batch with an empty hypothesis: err = %v, want EINVALID naming pair 1", err)
	}
}

func TestNLICache(t *testing.T) {
	ctx := context.Background()
	n := loadNLIModel(t, Options{CacheSize: 2})
	base := n.inferences.Load() // the load-time test inference
	a, _ := n.Classify(ctx, "the drug reduces pain", "pain")
	a2, _ := n.Classify(ctx, "the drug reduces pain", "pain")
	if a != a2 || n.inferences.Load()-base != 1 {
		t.Errorf("repeated pair: %d inferences, want 1 (results %v %v)", n.inferences.Load()-base, a, a2)
	}
	n.Classify(ctx, "coffee", "diabetes")
	n.Classify(ctx, "sleep", "exercise") // evicts the least recently used: the first pair
	if n.cache.len() != 2 {
		t.Errorf("cache holds %d entries, capacity 2", n.cache.len())
	}
	before := n.inferences.Load()
	n.Classify(ctx, "sleep", "exercise")
	if n.inferences.Load() != before {
		t.Error("a recent pair was recomputed")
	}
	again, _ := n.Classify(ctx, "the drug reduces pain", "pain")
	if n.inferences.Load() != before+1 || again != a {
		t.Errorf("evicted pair: %d new inferences (want 1), result %v want %v", n.inferences.Load()-before, again, a)
	}
	// Premise and hypothesis are distinct parts of the key.
	if n.cacheKey("ab", "c") == n.cacheKey("a", "bc") || n.cacheKey("x", "y") == n.cacheKey("y", "x") {
		t.Error("cache keys collide for different pairs")
	}

	off := loadNLIModel(t, Options{CacheSize: -1})
	b0 := off.inferences.Load()
	off.Classify(ctx, "pain", "sleep")
	off.Classify(ctx, "pain", "sleep")
	if off.cache != nil || off.inferences.Load()-b0 != 2 {
		t.Errorf("disabled cache: %d inferences, want 2", off.inferences.Load()-b0)
	}
}

func TestNLIBatch(t *testing.T) {
	ctx := context.Background()
	n := loadNLIModel(t, Options{Workers: 3})
	ref := loadNLIModel(t, Options{CacheSize: -1})
	premises := []string{"the drug reduces pain", "coffee lowers the risk of diabetes", "the drug reduces pain", "exercise improves sleep", "the drug reduces pain"}
	hyps := []string{"pain", "diabetes", "pain", "sleep", "the drug increases pain"}
	base := n.inferences.Load()
	got, err := n.ClassifyBatch(ctx, premises, hyps)
	if err != nil {
		t.Fatal(err)
	}
	if d := n.inferences.Load() - base; d != 4 {
		t.Errorf("%d inferences for 4 distinct pairs", d)
	}
	for i := range premises {
		want, err := ref.Classify(ctx, premises[i], hyps[i])
		if err != nil {
			t.Fatal(err)
		}
		if got[i] != want {
			t.Errorf("pair %d: batch %v, single %v", i, got[i], want)
		}
	}
	// Cached now: a second batch runs nothing.
	before := n.inferences.Load()
	if _, err := n.ClassifyBatch(ctx, premises, hyps); err != nil || n.inferences.Load() != before {
		t.Errorf("cached batch: %d inferences, err %v", n.inferences.Load()-before, err)
	}
}

// TestPoolBoundsConcurrency checks the CPU budget: never more inferences at once than workers, and the
// batch does use several.
func TestPoolBoundsConcurrency(t *testing.T) {
	p := newPool(3)
	var cur, peak atomic.Int32
	err := p.each(context.Background(), 40, func(ctx context.Context, i int) error {
		return p.do(ctx, "test", func() error {
			c := cur.Add(1)
			for {
				old := peak.Load()
				if c <= old || peak.CompareAndSwap(old, c) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			cur.Add(-1)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if peak.Load() > 3 || peak.Load() < 2 {
		t.Errorf("peak concurrency %d, want 2..3 with 3 workers", peak.Load())
	}
	// Two batches at once share the same budget.
	peak.Store(0)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			p.each(context.Background(), 10, func(ctx context.Context, i int) error {
				return p.do(ctx, "test", func() error {
					c := cur.Add(1)
					if c > peak.Load() {
						peak.Store(c)
					}
					time.Sleep(time.Millisecond)
					cur.Add(-1)
					return nil
				})
			})
		})
	}
	wg.Wait()
	if peak.Load() > 3 {
		t.Errorf("two batches ran %d inferences at once with 3 workers", peak.Load())
	}
	// An error stops the batch and is returned; a panic becomes EINTERNAL.
	var ran atomic.Int32
	boom := errors.New("boom")
	err = p.each(context.Background(), 100, func(ctx context.Context, i int) error {
		ran.Add(1)
		if i == 0 {
			return boom
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	if !errors.Is(err, boom) || ran.Load() > 50 {
		t.Errorf("err = %v after %d items, want boom and an early stop", err, ran.Load())
	}
	err = p.do(context.Background(), "step", func() error { panic("bad input") })
	if cns.ErrorCode(err) != cns.EINTERNAL || !strings.Contains(err.Error(), "step: model panicked: bad input") {
		t.Errorf("panic: err = %v", err)
	}
	// A full pool makes a caller with a deadline give up.
	full := newPool(1)
	release := make(chan struct{})
	go full.do(context.Background(), "hold", func() error { <-release; return nil })
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := full.do(ctx, "wait", func() error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("full pool: err = %v, want deadline exceeded", err)
	}
	close(release)
}

// Run with -race: concurrent embeddings and classifications on shared models give the sequential results.
func TestConcurrentInference(t *testing.T) {
	enc, nliDir := testModels(t)
	emb, nli, err := New(filepath.Dir(enc), filepath.Base(enc), filepath.Base(nliDir), Options{Workers: 2, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	if emb.pool != nli.pool {
		t.Error("New must share one worker pool between the embedder and the NLI")
	}
	ctx := context.Background()
	texts := []string{"the drug reduces pain", "coffee lowers the risk of diabetes", "exercise improves sleep in adults", "the trial is not"}
	wantV := make([][]float32, len(texts))
	wantE := make([]cns.Entailment, len(texts))
	for i, s := range texts {
		wantV[i], _ = emb.Embed(ctx, s)
		wantE[i], _ = nli.Classify(ctx, s, texts[(i+1)%len(texts)])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for r := range 6 {
				i := (g + r) % len(texts)
				v, err := emb.Embed(ctx, texts[i])
				if err != nil || !slices.Equal(v, wantV[i]) {
					t.Errorf("concurrent Embed(%d) differs (err %v)", i, err)
					return
				}
				e, err := nli.Classify(ctx, texts[i], texts[(i+1)%len(texts)])
				if err != nil || e != wantE[i] {
					t.Errorf("concurrent Classify(%d) = %v, want %v (err %v)", i, e, wantE[i], err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewValidatesNames(t *testing.T) {
	enc, nli := testModels(t)
	dir := filepath.Dir(enc)
	cases := []struct {
		dir, emb, nli, want string
	}{
		{dir, "", filepath.Base(nli), "nlp.embedder_model is empty"},
		{dir, filepath.Base(enc), " ", "nlp.nli_model is empty"},
		{dir, "../enc", filepath.Base(nli), "must be a directory name inside nlp.models_dir"},
		{"", filepath.Base(enc), filepath.Base(nli), "nlp.models_dir is empty"},
	}
	for _, c := range cases {
		_, _, err := New(c.dir, c.emb, c.nli, Options{})
		if cns.ErrorCode(err) != cns.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %q, %q) err = %v, want EINVALID with %q", c.dir, c.emb, c.nli, err, c.want)
		}
	}
	// The roles are checked: the NLI model cannot be the embedder, nor the reverse.
	if _, _, err := New(dir, filepath.Base(nli), filepath.Base(nli), Options{}); err == nil || !strings.Contains(err.Error(), "load embedder") ||
		!strings.Contains(err.Error(), "architecture BertForSequenceClassification cannot serve as the embedding model") {
		t.Errorf("NLI model as embedder: err = %v", err)
	}
	if _, _, err := New(dir, filepath.Base(enc), filepath.Base(enc), Options{}); err == nil || !strings.Contains(err.Error(), "load NLI") {
		t.Errorf("embedding model as NLI: err = %v", err)
	}
}

// TestModelDirectoryErrors damages copies of the test models one way each and checks the load fails with
// a message naming the problem (and never exits the process, as some cybertron paths would).
func TestModelDirectoryErrors(t *testing.T) {
	enc, nli := testModels(t)
	edit := func(path string, f func(string) string) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(f(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setJSON := func(path, from, to string) {
		t.Helper()
		edit(path, func(s string) string {
			if !strings.Contains(s, from) {
				t.Fatalf("%s has no %q", path, from)
			}
			return strings.Replace(s, from, to, 1)
		})
	}
	cases := []struct {
		name   string
		src    string
		nli    bool
		damage func(dir string)
		want   string
	}{
		{"missing directory", enc, false, func(d string) { os.RemoveAll(d) }, "does not exist; copy the embedding model"},
		{"not a directory", enc, false, func(d string) { os.RemoveAll(d); os.WriteFile(d, []byte("x"), 0o644) }, "is not a directory"},
		{"missing weights", enc, false, func(d string) { os.Remove(filepath.Join(d, FileModel)) }, "incomplete: spago_model.bin missing or empty; copy the complete model directory"},
		{"unconverted checkpoint", enc, false, func(d string) {
			os.Rename(filepath.Join(d, FileModel), filepath.Join(d, FileTorch))
		}, "it holds a Hugging Face pytorch_model.bin: run `cns models convert"},
		{"missing vocab and tokenizer", nli, true, func(d string) {
			os.Remove(filepath.Join(d, FileVocab))
			os.WriteFile(filepath.Join(d, FileTokenizer), nil, 0o644)
		}, "vocab.txt, tokenizer_config.json missing or empty"},
		{"truncated weights", enc, false, func(d string) {
			edit(filepath.Join(d, FileModel), func(s string) string { return s[:len(s)/2] })
		}, "load spago_model.bin"},
		{"bad config JSON", enc, false, func(d string) { edit(filepath.Join(d, FileConfig), func(s string) string { return s[1:] }) }, "config.json: not valid JSON"},
		{"not BERT", enc, false, func(d string) {
			setJSON(filepath.Join(d, FileConfig), `"model_type": "bert"`, `"model_type": "roberta"`)
		}, `model_type "roberta" is not supported`},
		{"heads do not divide", enc, false, func(d string) {
			setJSON(filepath.Join(d, FileConfig), `"num_attention_heads": 4`, `"num_attention_heads": 5`)
		}, "num_attention_heads 5 does not divide hidden_size 32"},
		{"config from another model", enc, false, func(d string) {
			setJSON(filepath.Join(d, FileConfig), `"intermediate_size": 64`, `"intermediate_size": 128`)
		}, "spago_model.bin was converted from another model: intermediate_size is 64 in it but 128 in config.json"},
		{"vocab from another model", enc, false, func(d string) {
			edit(filepath.Join(d, FileVocab), func(s string) string { return strings.Replace(s, "drug\n", "drugs\n", 1) })
		}, "vocab.txt does not match the vocabulary inside spago_model.bin"},
		{"vocab longer than vocab_size", enc, false, func(d string) {
			edit(filepath.Join(d, FileVocab), func(s string) string { return s + "extra\n" })
		}, "vocab.txt has 35 entries but config.json says vocab_size 34"},
		{"repeated vocab entry", enc, false, func(d string) {
			edit(filepath.Join(d, FileVocab), func(s string) string { return strings.Replace(s, "drug\n", "pain\n", 1) })
		}, `entry "pain" is repeated`},
		{"no [UNK]", enc, false, func(d string) {
			edit(filepath.Join(d, FileVocab), func(s string) string { return strings.Replace(s, "[UNK]\n", "[UNKNOWN]\n", 1) })
		}, "vocab.txt lacks the special token [UNK]"},
		{"two labels", nli, true, func(d string) {
			setJSON(filepath.Join(d, FileConfig), `"2": "neutral"`, `"x": "neutral"`)
		}, `id2label key "x" is not a class index`},
		{"generic labels", nli, true, func(d string) {
			setJSON(filepath.Join(d, FileConfig), `"0": "contradiction"`, `"0": "LABEL_0"`)
		}, `id2label class "LABEL_0" is not entailment, neutral or contradiction`},
		{"label twice", nli, true, func(d string) {
			setJSON(filepath.Join(d, FileConfig), `"0": "contradiction"`, `"0": "neutral"`)
		}, `id2label names class "neutral" twice`},
		{"encoder weights behind a classifier config", nli, true, func(d string) {
			b, _ := os.ReadFile(filepath.Join(enc, FileModel))
			os.WriteFile(filepath.Join(d, FileModel), b, 0o644)
		}, "classification head is missing"},
		{"classifier config for the embedder", nli, false, func(d string) {}, "architecture BertForSequenceClassification cannot serve as the embedding model"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := copyDir(t, c.src)
			c.damage(d)
			var err error
			if c.nli {
				_, err = LoadNLI(d, Options{})
			} else {
				_, err = LoadEmbedder(d, Options{})
			}
			if cns.ErrorCode(err) != cns.EFAILEDPRECOND || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), d) {
				t.Errorf("err = %v\nwant EFAILEDPRECOND naming %s and containing %q", err, d, c.want)
			}
		})
	}
}

// A model whose weights are not finite, or whose tensors do not have the configured shapes, is refused
// before any inference could abort the process.
func TestModelWeightChecks(t *testing.T) {
	spec := bertgen.Tiny(words, nil, 3)
	cases := []struct {
		name   string
		damage func(m *bert.Model)
		want   string
	}{
		{"NaN weight", func(m *bert.Model) {
			w := m.Encoder.Layers[1].FF.Norm.W
			d := w.Data().F32()
			d[3] = float32(math.NaN())
			w.SetData(mat.NewDense[float32](mat.WithBacking(d)).Data())
		}, "layer 1 output layer norm gain has NaN or infinite weights"},
		{"wrong head size", func(m *bert.Model) {
			m.Encoder.Layers[0].SelfAttention.Attention.Heads[2].Key.W = nn.NewParam(mat.NewDense[float32](mat.WithShape(4, 32)))
		}, "layer 0 head 2 key weight has shape [4 32], want [8 32]"},
		{"missing layer", func(m *bert.Model) { m.Encoder.Layers = m.Encoder.Layers[:1] }, "encoder has 1 layers, want 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "m")
			if err := bertgen.Write(d, spec); err != nil {
				t.Fatal(err)
			}
			model, err := spec.Build()
			if err != nil {
				t.Fatal(err)
			}
			c.damage(model.(*bert.ModelForSequenceEncoding).Bert)
			if err := nn.DumpToFile(model, filepath.Join(d, FileModel)); err != nil {
				t.Fatal(err)
			}
			_, err = LoadEmbedder(d, Options{})
			if cns.ErrorCode(err) != cns.EFAILEDPRECOND || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestSoftmax(t *testing.T) {
	p := softmax([]float64{1000, 1000, -1000}) // stable: no overflow
	if math.Abs(p[0]-0.5) > 1e-12 || math.Abs(p[1]-0.5) > 1e-12 || p[2] != 0 {
		t.Errorf("softmax = %v", p)
	}
}
