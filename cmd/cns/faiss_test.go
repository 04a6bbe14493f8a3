//go:build faiss

package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/internal/redistest"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
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
	// Only the observer: goroutines of a closed process may log after the test ends, which zaptest forbids.
	second := startLogged(t, options{dir: dir, set: set}, zap.New(core))
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

// TestServeAndWorkerWithCybertronAndFaiss: the distributed processes start with both optional backends
// too. A worker embeds and grades with the transformer models and stores in Redis; the API process's FAISS
// replica follows the SNO events and finds each SNO by its own hypothesis.
func TestServeAndWorkerWithCybertronAndFaiss(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	set := cybertronSettings(writeCybertronModels(t))
	set["vector.backend"], set["vector.faiss_index"] = "faiss", "IDMap,Flat"
	env := distEnv(srv.URL(1))
	withInstance := func(name string) map[string]string {
		s := map[string]string{"instance": name}
		for k, v := range set {
			s[k] = v
		}
		return s
	}
	api := startMode(t, ModeServe, env, withInstance("api-1"))
	startMode(t, ModeWorker, env, withInstance("w1"))
	c := clientsFor(api)
	tok := tokenFor(t, "alpha", secretAlpha)

	var jobIDs []string
	for i, h := range narratives {
		resp, err := c.n.SubmitNarrative(context.Background(), authed(tok, &cnsv1.SubmitNarrativeRequest{
			Hypothesis: h,
			Claims:     []*cnsv1.Claim{{ClaimId: "c1", Text: "A randomized trial found a clear effect."}},
			Edges:      []*cnsv1.Edge{{From: "c1", To: "root", Relation: cnsv1.Relation_RELATION_SUPPORTS}},
			Evidence: []*cnsv1.Evidence{{SourceId: fmt.Sprintf("https://doi.org/10.5555/d.%d", i),
				Content: h, SupportsClaimIds: []string{"c1"}}},
		}))
		if err != nil {
			t.Fatal(err)
		}
		jobIDs = append(jobIDs, resp.Msg.JobId)
	}
	jobs := waitAll(t, c, tok, jobIDs, 60*time.Second)
	for i, h := range narratives {
		j := jobs[jobIDs[i]]
		if j.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("job %v", j)
		}
		deadline := time.Now().Add(30 * time.Second) // events, or the periodic resync, under -race on a busy machine
		for {
			sr, err := c.n.SearchSNOs(context.Background(), authed(tok, &cnsv1.SearchSNOsRequest{Query: h, K: 3}))
			if err != nil {
				t.Fatal(err)
			}
			if r := sr.Msg.Results; len(r) > 0 && r[0].Sno.SnoId == j.SnoId && r[0].Score > 0.999 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the API replica does not find %s by its hypothesis: %v", j.SnoId, sr.Msg.Results)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	st, err := c.a.GetSystemStatus(context.Background(), authed(tok, &cnsv1.GetSystemStatusRequest{}))
	if err != nil || !strings.Contains(st.Msg.NlpBackend, "cybertron-bert@1") {
		t.Errorf("status: %v %v", err, st.Msg.GetNlpBackend())
	}
}
