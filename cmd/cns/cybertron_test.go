package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/nlp/cybertron"
	"github.com/cns-dev/cns/nlp/cybertron/bertgen"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
)

// testWords is the vocabulary of the generated models: the words of the test narratives, so they are
// real word pieces rather than [UNK].
var testWords = []string{"regular", "aerobic", "exercise", "improves", "sleep", "quality", "in", "adults",
	"coffee", "consumption", "reduces", "the", "risk", "of", "type", "2", "diabetes", "urban", "green",
	"space", "lowers", "rates", "depression", "a", "randomized", "trial", "found", "clear", "effect",
	"persisted", "after", "adjustment", "for", "confounders", ".", ",", "and", "is", "not", "##s"}

// writeCybertronModels generates a tiny sentence encoder ("enc") and NLI classifier ("nli") with random
// weights in a models directory, in cybertron's layout: the real loading and inference paths run, in
// milliseconds.
func writeCybertronModels(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := bertgen.Write(filepath.Join(dir, "enc"), bertgen.Tiny(testWords, nil, 1)); err != nil {
		t.Fatal(err)
	}
	if err := bertgen.Write(filepath.Join(dir, "nli"), bertgen.Tiny(testWords, []string{"entailment", "neutral", "contradiction"}, 2)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func cybertronSettings(modelsDir string) map[string]string {
	return map[string]string{
		"nlp.backend": "cybertron", "nlp.models_dir": modelsDir, "nlp.embedder_model": "enc", "nlp.nli_model": "nli",
		// Random weights give arbitrary trust scores; admit everything so every SNO is searchable.
		"admission.min_trust": "0",
	}
}

var narratives = []string{
	"Regular aerobic exercise improves sleep quality in adults.",
	"Coffee consumption reduces the risk of type 2 diabetes.",
	"Urban green space lowers rates of depression.",
}

// submitNarratives stores one SNO per hypothesis and returns their ids.
func submitNarratives(t *testing.T, b *bundle, hyps []string) []string {
	t.Helper()
	var ids []string
	for i, h := range hyps {
		req := &cnsv1.SubmitNarrativeRequest{
			Hypothesis: h,
			Claims:     []*cnsv1.Claim{{ClaimId: "c1", Text: "A randomized trial found a clear effect."}},
			Edges:      []*cnsv1.Edge{{From: "c1", To: "root", Relation: cnsv1.Relation_RELATION_SUPPORTS}},
			Evidence: []*cnsv1.Evidence{{SourceId: fmt.Sprintf("https://doi.org/10.5555/t.%d", i),
				Content: h + " A randomized trial found a clear effect.", SupportsClaimIds: []string{"c1"}}},
		}
		resp, err := b.grpc.SubmitNarrative(context.Background(), authed(b.token, req))
		if err != nil {
			t.Fatal(err)
		}
		job := waitJob(t, b, resp.Msg.JobId)
		if job.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("job %v", job)
		}
		ids = append(ids, job.SnoId)
	}
	return ids
}

// checkSearch searches each hypothesis and expects its own SNO first with cosine ≈ 1 (same text, same
// deterministic embedding).
func checkSearch(t *testing.T, b *bundle, hyps, ids []string) {
	t.Helper()
	for i, h := range hyps {
		res, err := b.grpc.SearchSNOs(context.Background(), authed(b.token, &cnsv1.SearchSNOsRequest{Query: h, K: int32(len(hyps))}))
		if err != nil {
			t.Fatal(err)
		}
		r := res.Msg.Results
		if len(r) != len(hyps) || r[0].Sno.SnoId != ids[i] || r[0].Score < 0.999 {
			t.Fatalf("search %q: %d results, first %s at %.4f; want %s at 1", h, len(r), r[0].GetSno().GetSnoId(), r[0].GetScore(), ids[i])
		}
	}
}

// TestDevWithCybertron starts the `cns dev` composition with nlp.backend cybertron on generated model
// directories: SNOs are embedded and graded by the transformer backend, stored, and found again.
func TestDevWithCybertron(t *testing.T) {
	t.Parallel()
	b := start(t, options{set: cybertronSettings(writeCybertronModels(t))})
	ids := submitNarratives(t, b, narratives)
	got, err := b.grpc.GetSNO(context.Background(), authed(b.token, &cnsv1.GetSNORequest{SnoId: ids[0]}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Msg.Sno.Hypothesis != narratives[0] || len(got.Msg.Sno.Critics) != 3 {
		t.Fatalf("GetSNO: %v", got.Msg.Sno)
	}
	checkSearch(t, b, narratives, ids)
	st, err := b.admin.GetSystemStatus(context.Background(), authed(b.token, &cnsv1.GetSystemStatusRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.Msg.NlpBackend, "cybertron-bert@1/enc/32/") || !strings.Contains(st.Msg.NlpBackend, "cybertron-bert-nli@1/nli/") {
		t.Errorf("status reports NLP %q, want the cybertron models", st.Msg.NlpBackend)
	}
}

// A missing or incomplete model directory stops the boot with the fix in the message.
func TestDevWithCybertronRefusesBadModels(t *testing.T) {
	t.Parallel()
	models := writeCybertronModels(t)
	os.Remove(filepath.Join(models, "nli", cybertron.FileModel))
	for _, c := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"nlp.models_dir": filepath.Join(models, "nope")}, "does not exist; copy the embedding model"},
		{map[string]string{}, "spago_model.bin missing or empty"},
		{map[string]string{"nlp.nli_model": "../nli"}, "must be a directory name inside nlp.models_dir"},
	} {
		set := cybertronSettings(models)
		for k, v := range c.set {
			set[k] = v
		}
		set["addr"], set["data_dir"] = "127.0.0.1:0", t.TempDir()
		cfg, err := configs.Load(configs.Options{Set: set, Environ: func() []string { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		m := &Main{Config: cfg, Log: zaptest.NewLogger(t)}
		err = m.Open(context.Background())
		m.Close(context.Background())
		if err == nil || !strings.Contains(err.Error(), "nlp backend") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open with %v: err = %v, want %q", c.set, err, c.want)
		}
	}
}

// TestModelsConvert converts a generated Hugging Face checkpoint with `cns models convert` and checks the
// result is the same network as the one written directly in cybertron's layout.
func TestModelsConvert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := bertgen.Tiny(testWords, nil, 9)
	hf, direct := filepath.Join(dir, "hf"), filepath.Join(dir, "direct")
	if err := bertgen.WriteHF(hf, spec); err != nil {
		t.Fatal(err)
	}
	if err := bertgen.Write(direct, spec); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"models", "convert", hf}, &out, &errOut, func(string) string { return "" }); err != nil {
		t.Fatalf("convert: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "converted "+hf+": cybertron-bert@1/hf/32/") {
		t.Errorf("output %q", out.String())
	}
	a, err := cybertron.LoadEmbedder(hf, cybertron.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cybertron.LoadEmbedder(direct, cybertron.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range narratives {
		va, _ := a.Embed(ctx, s)
		vb, _ := b.Embed(ctx, s)
		if !slices.Equal(va, vb) {
			t.Fatalf("converted model embeds %q differently from the directly written one", s)
		}
	}
	// Idempotent: a second run does nothing.
	out.Reset()
	if err := run(ctx, []string{"models", "convert", hf}, &out, &errOut, func(string) string { return "" }); err != nil || !strings.Contains(out.String(), "nothing to do") {
		t.Errorf("second convert: %v, %q", err, out.String())
	}

	// Errors name the problem.
	noTorch := filepath.Join(dir, "safetensors")
	bertgen.WriteHF(noTorch, spec)
	os.Rename(filepath.Join(noTorch, cybertron.FileTorch), filepath.Join(noTorch, "model.safetensors"))
	notBert := filepath.Join(dir, "roberta")
	bertgen.WriteHF(notBert, spec)
	cfgPath := filepath.Join(notBert, cybertron.FileConfig)
	raw, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, bytes.Replace(raw, []byte(`"model_type": "bert"`), []byte(`"model_type": "roberta"`), 1), 0o644)
	noVocab := filepath.Join(dir, "novocab")
	bertgen.WriteHF(noVocab, spec)
	os.Remove(filepath.Join(noVocab, cybertron.FileVocab))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"models", "convert", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"models", "convert", noTorch}, "cybertron v0.2.1 converts PyTorch checkpoints only"},
		{[]string{"models", "convert", notBert}, `model_type "roberta"`},
		{[]string{"models", "convert", noVocab}, "lacks vocab.txt"},
		{[]string{"models", "convert"}, "usage: cns models convert"},
		{[]string{"models", "download", hf}, "usage: cns models convert"},
	} {
		err := run(ctx, c.args, &out, &errOut, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.args, err, c.want)
		}
	}
}
