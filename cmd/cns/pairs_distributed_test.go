package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cns-dev/cns/internal/redistest"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
)

// TestChiralPairsOnRedis is the end-to-end check of the operational loop in the distributed mode: an API
// process and two workers over one Redis. The worker that admits the second narrative discovers the pair
// and queues its synthesis; the API answers the pair and, asked again from many clients at once, the same
// synthesis job: the claim is shared by every process.
func TestChiralPairsOnRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	env := distEnv(srv.URL(2))
	api := startMode(t, ModeServe, env, map[string]string{"instance": "api-pairs"})
	startMode(t, ModeWorker, env, map[string]string{"instance": "wp1"})
	startMode(t, ModeWorker, env, map[string]string{"instance": "wp2"})
	c := clientsFor(api)
	tok := tokenFor(t, "alpha", secretAlpha)
	ctx := context.Background()

	var snos []string
	for _, req := range []*cnsv1.SubmitNarrativeRequest{proExercise, contraExercise} {
		resp, err := c.n.SubmitNarrative(ctx, authed(tok, req))
		if err != nil {
			t.Fatal(err)
		}
		j := waitAll(t, c, tok, []string{resp.Msg.JobId}, 30*time.Second)[resp.Msg.JobId]
		if j.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
			t.Fatalf("submit: %v", j)
		}
		snos = append(snos, j.SnoId)
	}
	a, b := min(snos[0], snos[1]), max(snos[0], snos[1])

	// The API process computes the pair from the evidence index in Redis.
	fp, err := c.n.FindChiralPairs(ctx, authed(tok, &cnsv1.FindChiralPairsRequest{SnoId: snos[1]}))
	if err != nil || len(fp.Msg.Pairs) != 1 || fp.Msg.Pairs[0].SnoA != a || fp.Msg.Pairs[0].SnoB != b || fp.Msg.Pairs[0].Entanglement != 1 {
		t.Fatalf("FindChiralPairs on Redis: %v, %v", fp, err)
	}

	// Eight clients ask for the synthesis at once, while discovery in a worker has queued it too: one job.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, y := a, b
			if i%2 == 1 {
				x, y = b, a
			}
			resp, err := c.n.SynthesizePair(ctx, authed(tok, &cnsv1.SynthesizePairRequest{SnoA: x, SnoB: y}))
			if err == nil {
				ids[i] = resp.Msg.JobId
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("SynthesizePair %d: %q, %v; first answered %q", i, ids[i], errs[i], ids[0])
		}
	}
	job := waitAll(t, c, tok, ids[:1], 30*time.Second)[ids[0]]
	if job.State != cnsv1.JobState_JOB_STATE_SUCCEEDED || job.Kind != cnsv1.JobKind_JOB_KIND_SYNTHESIZE_PAIR {
		t.Fatalf("synthesis job %v", job)
	}
	list, err := c.n.ListJobs(ctx, authed(tok, &cnsv1.ListJobsRequest{PageSize: 100}))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range list.Msg.Jobs {
		if j.Kind == cnsv1.JobKind_JOB_KIND_SYNTHESIZE_PAIR {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d synthesis jobs on Redis, want 1", n)
	}
	got, err := c.n.GetSNO(ctx, authed(tok, &cnsv1.GetSNORequest{SnoId: job.SnoId}))
	if err != nil {
		t.Fatal(err)
	}
	s := got.Msg.Sno
	var ev []string
	for _, e := range s.Evidence {
		ev = append(ev, e.EvidenceId)
	}
	if !slices.Equal(s.Lineage.Parents, []string{a, b}) || s.Lineage.Generator != "synthesis/builtin@1" || s.TrustScore <= 0 ||
		!slices.Contains(ev, "doi:10.5555/sleep.trial") || !slices.Contains(ev, "url:https://example.org/cohort/sleep") {
		t.Fatalf("synthesized SNO on Redis: lineage %v trust %v evidence %v", s.Lineage, s.TrustScore, ev)
	}
	// The pair the worker stored is listed by the API process (discovery follows the job's end).
	waitFor(t, "the discovered pair on Redis", func() bool {
		lp, err := c.n.ListPairs(ctx, authed(tok, &cnsv1.ListPairsRequest{}))
		return err == nil && len(lp.Msg.Pairs) == 1 && lp.Msg.Pairs[0].SnoA == a
	})
}
