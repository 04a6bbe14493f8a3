package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"go.uber.org/zap"

	"github.com/cns-dev/cns/configs"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
	"github.com/cns-dev/cns/proto/gen/cns/v1/cnsv1connect"
)

// BenchmarkSynthesisEndToEnd measures synthesis jobs/s with the built-in synthesizer through the real
// `cns dev` composition: SynthesizePair over HTTP/2 (claim and job in the store, command on the bus),
// then the worker (measure the pair, synthesize, embed, score against the population, admit, store),
// until every job ended. The pairs (two submitted narratives each, sharing their evidence) are made
// before the timer starts. The environment is read (CNS_NLP_MODELS_DIR=/path/to/models measures with the
// GloVe/WordNet backend; without it the fallback lexical NLP is used).
func BenchmarkSynthesisEndToEnd(b *testing.B) {
	cfg, err := configs.Load(configs.Options{Set: map[string]string{"addr": "127.0.0.1:0", "data_dir": b.TempDir(), "log.level": "error",
		"synthesis.auto_per_sno": "0", "synthesis.max_per_hour": "0", "synthesis.cooldown": "0s"}, Environ: os.Environ})
	if err != nil {
		b.Fatal(err)
	}
	m := &Main{Config: cfg, Log: zap.NewNop()}
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		b.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(context.Background()) })
	tok, err := m.MintDevToken(time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	client := cnsv1connect.NewNarrativeServiceClient(&http.Client{Transport: &http.Transport{Protocols: h2cOnly()}}, m.URL(), connect.WithGRPC())
	wait := func(id string) *cnsv1.Job {
		for {
			j, err := client.GetJob(ctx, authed(tok, &cnsv1.GetJobRequest{JobId: id}))
			if err != nil {
				b.Fatal(err)
			}
			if s := j.Msg.Job.State; s == cnsv1.JobState_JOB_STATE_SUCCEEDED || s == cnsv1.JobState_JOB_STATE_FAILED {
				return j.Msg.Job
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	submit := func(h string, i int) string {
		resp, err := client.SubmitNarrative(ctx, authed(tok, &cnsv1.SubmitNarrativeRequest{
			Hypothesis: h,
			Claims:     []*cnsv1.Claim{{ClaimId: "c1", Text: fmt.Sprintf("Trial %d measured the outcome in 300 adults.", i)}},
			Edges:      []*cnsv1.Edge{{From: "c1", To: "root", Relation: cnsv1.Relation_RELATION_SUPPORTS, Strength: 0.8}},
			Evidence: []*cnsv1.Evidence{{SourceId: fmt.Sprintf("doi:10.5555/bench.%d", i), Content: fmt.Sprintf("Trial %d: the intervention changed outcome %d in 300 adults.", i, i)},
				{SourceId: fmt.Sprintf("https://example.org/bench/%d", i), Content: "A cohort followed the same adults for two years."}},
		}))
		if err != nil {
			b.Fatal(err)
		}
		return resp.Msg.JobId
	}
	// Prepare b.N pairs, submitting in parallel.
	pairs := make([][2]string, b.N)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range pairs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			a := wait(submit(fmt.Sprintf("Intervention %d improves outcome %d in adults.", i, i), i)).SnoId
			c := wait(submit(fmt.Sprintf("Intervention %d does not improve outcome %d in adults.", i, i), i)).SnoId
			pairs[i] = [2]string{a, c}
		}()
	}
	wg.Wait()

	b.ResetTimer()
	start := time.Now()
	jobs := make([]string, b.N)
	for i, p := range pairs {
		resp, err := client.SynthesizePair(ctx, authed(tok, &cnsv1.SynthesizePairRequest{SnoA: p[0], SnoB: p[1]}))
		if err != nil {
			b.Fatal(err)
		}
		jobs[i] = resp.Msg.JobId
	}
	for _, id := range jobs {
		if j := wait(id); j.State != cnsv1.JobState_JOB_STATE_SUCCEEDED {
			b.Fatalf("synthesis job %v", j)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
}
