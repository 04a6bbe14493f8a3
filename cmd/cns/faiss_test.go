//go:build faiss

package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/proto/gen/cns/v1/cnsv1connect"
)

// TestDevWithCybertronAndFaiss runs `cns dev` with both optional backends — nlp.backend cybertron on
// generated models and vector.backend faiss (HNSW) — ingests, searches, restarts on the same data
// directory and searches again: the saved index is loaded and confirmed by the rebuild, not rebuilt.
func TestDevWithCybertronAndFaiss(t *testing.T) {
	t.Parallel()
	set := cybertronSettings(writeCybertronModels(t))
	set["vector.backend"], set["vector.faiss_index"], set["vector.hnsw_ef_search"] = "faiss", "IDMap,HNSW32", "32"
	dir := t.TempDir()

	first := start(t, options{dir: dir, set: set})
	ids := submitNarratives(t, first, narratives)
	checkSearch(t, first, narratives, ids)
	if err := first.m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	saved, _ := filepath.Glob(filepath.Join(dir, "faiss", "p-*"))
	if len(saved) != 2 {
		t.Fatalf("saved index files: %v, want the dev project's .faiss and .meta", saved)
	}

	// Restart with a logger that records, to see where the index came from.
	core, logs := observer.New(zap.InfoLevel)
	second := startLogged(t, options{dir: dir, set: set}, zap.New(zapcore.NewTee(core, zaptest.NewLogger(t).Core())))
	loaded := logs.FilterMessage("vector index loaded from disk").All()
	if len(loaded) != 1 || loaded[0].ContextMap()["vectors"] != int64(3) {
		t.Fatalf("restart did not load the saved index: %v", loaded)
	}
	checkSearch(t, second, narratives, ids)
	more := submitNarratives(t, second, []string{"Coffee consumption improves sleep quality."})
	checkSearch(t, second, append(narratives, "Coffee consumption improves sleep quality."), append(ids, more...))
}

// startLogged starts `cns dev` like start, with a chosen logger.
func startLogged(t *testing.T, o options, log *zap.Logger) *bundle {
	t.Helper()
	set := map[string]string{"addr": "127.0.0.1:0", "data_dir": o.dir}
	for k, v := range o.set {
		set[k] = v
	}
	cfg, err := configs.Load(configs.Options{Set: set, Environ: func() []string { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: cfg, Log: log}
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		m.Close(ctx)
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tok, err := m.MintDevToken(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h2c := &http.Client{Transport: &http.Transport{Protocols: h2cOnly()}}
	return &bundle{m: m, dir: o.dir, token: tok,
		grpc:  cnsv1connect.NewNarrativeServiceClient(h2c, m.URL(), connect.WithGRPC()),
		admin: cnsv1connect.NewAdminServiceClient(h2c, m.URL(), connect.WithGRPC())}
}

// A FAISS description the service cannot use stops the boot.
func TestDevWithFaissRefusesBadIndex(t *testing.T) {
	t.Parallel()
	for desc, want := range map[string]string{
		"IDMap,IVF64,Flat": "needs training",
		"IDMap,Bogus":      "index description",
	} {
		cfg, err := configs.Load(configs.Options{Set: map[string]string{"addr": "127.0.0.1:0", "data_dir": t.TempDir(),
			"vector.backend": "faiss", "vector.faiss_index": desc}, Environ: func() []string { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		m := &Main{Config: cfg, Log: zaptest.NewLogger(t)}
		err = m.Open(context.Background())
		m.Close(context.Background())
		if err == nil || !strings.Contains(err.Error(), "vector backend") || !strings.Contains(err.Error(), want) {
			t.Errorf("faiss_index %q: err = %v, want %q", desc, err, want)
		}
	}
}
