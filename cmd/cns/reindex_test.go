package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
)

// TestReindexAfterBackendSwitch: a store written with one embedding dimension is refused at boot under
// another, `cns reindex` re-embeds it, and then it boots and serves search.
func TestReindexAfterBackendSwitch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := start(t, options{dir: dir, set: map[string]string{"nlp.backend": "builtin", "nlp.dim": "64"},
		environ: []string{"CNS_NLP_MODELS_DIR=" + t.TempDir()}}) // no assets: the hashed embedder, 64 dimensions
	r, err := first.grpc.IngestDocument(context.Background(), authed(first.token, &cnsv1.IngestDocumentRequest{Text: abstract}))
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, first, r.Msg.JobId)
	if err := first.m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Same data, 128 dimensions: refused at boot with a message naming cns reindex.
	cfg := mustLoad(t, []string{"CNS_NLP_MODELS_DIR=" + t.TempDir()}, map[string]string{"addr": "127.0.0.1:0", "data_dir": dir, "nlp.dim": "128"})
	m := &Main{Config: cfg, Log: bufferedLogger(t)}
	err = m.Open(context.Background())
	m.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cns reindex") {
		t.Fatalf("mismatched store opened: %v", err)
	}

	// Reindex with the new dimension; reindex reads its configuration from the process environment.
	var out bytes.Buffer
	env := func(k string) string { return os.Getenv(k) }
	if err := runReindexWith(t, dir, "128", &out, env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "re-embedded 1 SNOs (1 changed dimension)") {
		t.Fatalf("reindex output: %s", out.String())
	}
	second := start(t, options{dir: dir, set: map[string]string{"nlp.dim": "128"}, environ: []string{"CNS_NLP_MODELS_DIR=" + t.TempDir()}})
	sr, err := second.grpc.SearchSNOs(context.Background(), authed(second.token, &cnsv1.SearchSNOsRequest{Query: "vitamin D fracture risk", K: 1}))
	if err != nil || len(sr.Msg.Results) != 1 {
		t.Fatalf("search after reindex: %v %v", err, sr)
	}
}

// runReindexWith runs `cns reindex --data dir` with nlp.dim set through a config file (the command reads
// the environment of the process, which parallel tests must not change).
func runReindexWith(t *testing.T, dir, dim string, out io.Writer, getenv func(string) string) error {
	cfg := dir + "/reindex.yaml"
	if err := os.WriteFile(cfg, []byte("nlp:\n  dim: "+dim+"\n  models_dir: "+t.TempDir()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return run(context.Background(), []string{"reindex", "--data", dir, "--config", cfg}, out, io.Discard, getenv)
}
