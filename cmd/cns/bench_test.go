package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"go.uber.org/zap"

	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/configs"
	"github.com/cns-dev/cns/internal/redistest"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
	"github.com/cns-dev/cns/proto/gen/cns/v1/cnsv1connect"
)

func benchMain(b *testing.B) (*Main, string) {
	b.Helper()
	cfg, err := configs.Load(configs.Options{Set: map[string]string{"addr": "127.0.0.1:0", "data_dir": b.TempDir(), "log.level": "error"},
		Environ: func() []string { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	m := &Main{Config: cfg, Log: zap.NewNop()}
	if err := m.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(context.Background()) })
	tok, err := m.MintDevToken(time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	return m, tok
}

// doc2k is a ~2 KB scientific-style document; i makes each one distinct.
func doc2k(i int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Study %d: effects of intervention %d on outcome measures.\n", i, i)
	sentences := []string{
		"We enrolled %d adults in a randomized controlled trial of the intervention (doi:10.1000/trial.%d).",
		"Because the intervention increased physical activity, participants slept longer and reported less fatigue.",
		"However, the effect on blood pressure was small and not statistically significant in study %d.",
		"Previous cohort studies found similar associations between activity and sleep (Smith et al., 2019).",
		"For example, participants in the highest activity tertile gained 32 minutes of sleep per night.",
		"The data show that adherence above 70 percent was required for a measurable benefit.",
		"Adverse events were rare and mild, and no participant left the trial because of them.",
		"In general, lifestyle interventions with supervised sessions produce larger effects than unsupervised ones.",
		"Therefore, supervised programmes should be preferred when resources allow it.",
		"Secondary outcomes included mood, which improved by 12 percent on a standard scale (https://example.org/scale/%d).",
		"These results suggest that intervention %d improves sleep duration in adults with low baseline activity.",
	}
	for sb.Len() < 2000 {
		for _, s := range sentences {
			if strings.Count(s, "%d") > 0 {
				args := make([]any, strings.Count(s, "%d"))
				for j := range args {
					args[j] = i + j
				}
				s = fmt.Sprintf(s, args...)
			}
			sb.WriteString(s + " ")
			if sb.Len() >= 2000 {
				break
			}
		}
	}
	return sb.String()
}

// BenchmarkIngestEndToEnd measures documents/s through the real `cns dev` composition: JSON-free proto
// calls over HTTP/2, job record, in-process bus, worker, ingest, critics, store, until every job ended.
func BenchmarkIngestEndToEnd(b *testing.B) {
	m, tok := benchMain(b)
	client := cnsv1connect.NewNarrativeServiceClient(&http.Client{Transport: &http.Transport{Protocols: h2cOnly()}}, m.URL(), connect.WithGRPC())
	ctx := context.Background()
	n := max(b.N, 1) * 200
	docs := make([]string, n)
	for i := range docs {
		docs[i] = doc2k(i)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	ids := make([]string, n)
	sem := make(chan struct{}, 16)
	for i := range docs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp, err := client.IngestDocument(ctx, authed(tok, &cnsv1.IngestDocumentRequest{Text: docs[i]}))
			if err != nil {
				b.Error(err)
				return
			}
			ids[i] = resp.Msg.JobId
		}()
	}
	wg.Wait()
	for _, id := range ids {
		for {
			r, err := client.GetJob(ctx, authed(tok, &cnsv1.GetJobRequest{JobId: id}))
			if err != nil {
				b.Fatal(err)
			}
			if r.Msg.Job.State == cnsv1.JobState_JOB_STATE_SUCCEEDED {
				break
			}
			if r.Msg.Job.State == cnsv1.JobState_JOB_STATE_FAILED {
				b.Fatalf("job failed: %v", r.Msg.Job)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	el := time.Since(start)
	b.ReportMetric(float64(n)/el.Seconds(), "docs/s")
}

// BenchmarkGetSNOConcurrent measures GetSNO latency with 50 concurrent gRPC clients.
func BenchmarkGetSNOConcurrent(b *testing.B) {
	m, tok := benchMain(b)
	client := cnsv1connect.NewNarrativeServiceClient(&http.Client{Transport: &http.Transport{Protocols: h2cOnly()}}, m.URL(), connect.WithGRPC())
	ctx := context.Background()
	var snoIDs []string
	for i := range 100 {
		resp, err := client.IngestDocument(ctx, authed(tok, &cnsv1.IngestDocumentRequest{Text: doc2k(i)}))
		if err != nil {
			b.Fatal(err)
		}
		for {
			r, err := client.GetJob(ctx, authed(tok, &cnsv1.GetJobRequest{JobId: resp.Msg.JobId}))
			if err != nil {
				b.Fatal(err)
			}
			if r.Msg.Job.State == cnsv1.JobState_JOB_STATE_SUCCEEDED {
				snoIDs = append(snoIDs, r.Msg.Job.SnoId)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	const clients = 50
	per := max(b.N, 1) * 40
	lat := make([][]time.Duration, clients)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				t0 := time.Now()
				if _, err := client.GetSNO(ctx, authed(tok, &cnsv1.GetSNORequest{SnoId: snoIDs[(c+i)%len(snoIDs)]})); err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/el.Seconds(), "req/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkDistributedIngest measures documents/s end to end through `cns serve` and 1 or 2 in-process
// workers on one Redis (each worker with worker.concurrency 2).
func BenchmarkDistributedIngest(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			srv := redistest.Start(b)
			env := distEnv(srv.URL(workers), "CNS_LOG_LEVEL=error")
			api := benchMode(b, ModeServe, env, nil)
			for i := range workers {
				benchMode(b, ModeWorker, env, map[string]string{"instance": fmt.Sprint("w", i)})
			}
			c := clientsFor(api)
			tok := benchToken(b, "alpha", secretAlpha)
			n := max(b.N, 1) * 300
			b.ResetTimer()
			start := time.Now()
			ids := make([]string, n)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for i := range n {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					r, err := c.n.IngestDocument(context.Background(), authed(tok, &cnsv1.IngestDocumentRequest{Text: doc2k(i)}))
					if err != nil {
						b.Error(err)
						return
					}
					ids[i] = r.Msg.JobId
				}()
			}
			wg.Wait()
			for _, id := range ids {
				for {
					r, err := c.n.GetJob(context.Background(), authed(tok, &cnsv1.GetJobRequest{JobId: id}))
					if err != nil {
						b.Fatal(err)
					}
					if r.Msg.Job.State == cnsv1.JobState_JOB_STATE_SUCCEEDED {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "docs/s")
		})
	}
}

// BenchmarkGetSNORedis measures GetSNO latency through `cns serve` on Redis with 50 concurrent clients.
func BenchmarkGetSNORedis(b *testing.B) {
	benchReadsRedis(b, func(ctx context.Context, c apiClients, tok string, ids []string, i int) error {
		_, err := c.n.GetSNO(ctx, authed(tok, &cnsv1.GetSNORequest{SnoId: ids[i%len(ids)]}))
		return err
	})
}

// BenchmarkListSNOsRedis measures ListSNOs (the first page of 20, basic view) the same way.
func BenchmarkListSNOsRedis(b *testing.B) {
	benchReadsRedis(b, func(ctx context.Context, c apiClients, tok string, _ []string, _ int) error {
		_, err := c.n.ListSNOs(ctx, authed(tok, &cnsv1.ListSNOsRequest{PageSize: 20}))
		return err
	})
}

// benchReadsRedis ingests 100 documents through `cns serve` and a worker on Redis, then has 50 concurrent
// clients make 40 calls each per iteration, and reports calls/s and the latency percentiles.
func benchReadsRedis(b *testing.B, call func(ctx context.Context, c apiClients, tok string, snoIDs []string, i int) error) {
	srv := redistest.Start(b)
	env := distEnv(srv.URL(5), "CNS_LOG_LEVEL=error")
	api := benchMode(b, ModeServe, env, nil)
	benchMode(b, ModeWorker, env, map[string]string{"instance": "w"})
	c := clientsFor(api)
	tok := benchToken(b, "alpha", secretAlpha)
	ctx := context.Background()
	var snoIDs []string
	for i := range 100 {
		r, err := c.n.IngestDocument(ctx, authed(tok, &cnsv1.IngestDocumentRequest{Text: doc2k(i)}))
		if err != nil {
			b.Fatal(err)
		}
		for {
			j, err := c.n.GetJob(ctx, authed(tok, &cnsv1.GetJobRequest{JobId: r.Msg.JobId}))
			if err != nil {
				b.Fatal(err)
			}
			if j.Msg.Job.State == cnsv1.JobState_JOB_STATE_SUCCEEDED {
				snoIDs = append(snoIDs, j.Msg.Job.SnoId)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	const clients = 50
	per := max(b.N, 1) * 40
	lat := make([][]time.Duration, clients)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				t0 := time.Now()
				if err := call(ctx, c, tok, snoIDs, cl+i); err != nil {
					b.Error(err)
					return
				}
				lat[cl] = append(lat[cl], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/el.Seconds(), "req/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}

func benchMode(b *testing.B, mode Mode, env []string, set map[string]string) *Main {
	b.Helper()
	s := map[string]string{"addr": "127.0.0.1:0", "worker.addr": "127.0.0.1:0"}
	for k, v := range set {
		s[k] = v
	}
	cfg, err := configs.Load(configs.Options{Set: s, Environ: func() []string { return env }})
	if err != nil {
		b.Fatal(err)
	}
	m := &Main{Config: cfg, Log: zap.NewNop(), Mode: mode}
	if err := m.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close(context.Background()) })
	return m
}

func benchToken(b *testing.B, project string, secret []byte) string {
	now := time.Now()
	tok, err := auth.Mint(secret, auth.Claims{Project: project, Perms: auth.AllPerms(), IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	return tok
}
