package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
	"github.com/cns-dev/cns/proto/gen/cns/v1/cnsv1connect"
	redisstore "github.com/cns-dev/cns/store/redis"
	"github.com/cns-dev/cns/store/storetest"
	"github.com/cns-dev/cns/vector"
)

// ingestSuite: documents/s end to end with the built-in NLP — `cns dev` (bolt, in-process bus), and
// `cns serve` with 1 and 2 `cns worker` processes on Redis (worker.concurrency 2, the default).
func ingestSuite(ctx context.Context, o options, env *benchEnv, res *results) error {
	models, haveModels := modelsDir()
	nlp := "built-in NLP with GloVe/WordNet assets (make models)"
	if !haveModels {
		nlp = "built-in NLP without assets: hashed n-gram embedder and lexical NLI (run make models for GloVe/WordNet)"
	}
	res.notes = append(res.notes, "Ingest: "+nlp+"; ~2 KB documents, 16 concurrent clients.")
	nlpEnv := "CNS_NLP_MODELS_DIR=" + models
	for run := range o.runs {
		logf("ingest: run %d of %d (load %s)", run+1, o.runs, loadAverage())
		docs := make([]string, o.docs)
		for i := range docs {
			docs[i] = doc2k(run*100_000 + i)
		}
		// cns dev
		dir, err := os.MkdirTemp("", "cns-bench-dev-")
		if err != nil {
			return err
		}
		dev, err := startCNS(ctx, []string{nlpEnv}, "dev", "--data", dir)
		if err != nil {
			os.RemoveAll(dir)
			return err
		}
		tok, err := waitFile(filepath.Join(dir, "dev.token"))
		if err == nil {
			var rate float64
			m := startCPU(ctx, env, nil, []*proc{dev})
			if _, rate, err = ingestAll(ctx, narrativeClient(dev.addr), tok, docs); err == nil {
				res.add(series{suite: "ingest", name: "cns dev", metric: "docs/s", higher: true, n: len(docs),
					note: "one process: API, bolt store, in-process bus, worker (concurrency 2)"}, rate)
				m.stop(ctx, len(docs)).add(res, "cns dev", len(docs))
				logf("  cns dev                    %7.1f docs/s", rate)
			}
		}
		dev.stop()
		os.RemoveAll(dir)
		if err != nil {
			return fmt.Errorf("cns dev: %w", err)
		}
		// Redis: serve + k workers, each at concurrency 2 (one worker can already keep both cores of this
		// machine busy) and at concurrency 1 (one core's worth per worker: scaling out by processes).
		for _, conc := range []int{2, 1} {
			for _, workers := range []int{1, 2} {
				if err := env.flush(ctx); err != nil {
					return err
				}
				rate, cpu, err := ingestRedis(ctx, env, []string{nlpEnv, fmt.Sprintf("CNS_WORKER_CONCURRENCY=%d", conc)}, workers, docs)
				if err != nil {
					return fmt.Errorf("redis with %d workers: %w", workers, err)
				}
				res.add(series{suite: "ingest", name: ingestName(workers, conc), metric: "docs/s", higher: true, n: len(docs),
					note: fmt.Sprintf("separate processes on one Redis; each worker concurrency %d", conc)}, rate)
				cpu.add(res, ingestName(workers, conc), len(docs))
				logf("  %-28s %7.1f docs/s", ingestName(workers, conc), rate)
			}
		}
	}
	return nil
}

// ingestName names the Redis ingest rows: "cns serve + 2 worker" (concurrency 2, as the report has always
// named them) or "cns serve + 2 worker × c1".
func ingestName(workers, conc int) string {
	if conc == 2 {
		return fmt.Sprintf("cns serve + %d worker", workers)
	}
	return fmt.Sprintf("cns serve + %d worker × c%d", workers, conc)
}

func ingestRedis(ctx context.Context, env *benchEnv, extraEnv []string, workers int, docs []string) (float64, ingestCPU, error) {
	e := redisEnv(env, extraEnv...)
	api, err := startCNS(ctx, e, "serve", "--instance", "api")
	if err != nil {
		return 0, ingestCPU{}, err
	}
	defer api.stop()
	var ws []*proc
	for i := range workers {
		w, err := startCNS(ctx, e, "worker", "--instance", fmt.Sprint("w", i))
		if err != nil {
			return 0, ingestCPU{}, err
		}
		defer w.stop()
		ws = append(ws, w)
	}
	tok, err := serveToken()
	if err != nil {
		return 0, ingestCPU{}, err
	}
	m := startCPU(ctx, env, api, ws)
	_, rate, err := ingestAll(ctx, narrativeClient(api.addr), tok, docs)
	if err != nil {
		return 0, ingestCPU{}, err
	}
	return rate, m.stop(ctx, len(docs)), nil
}

// ingestCPU is what one ingest run cost each part of the machine, in CPU ms per document: the worker
// processes together (for cns dev, its one process), the API process, Redis and this harness (the
// clients and their polling). NaN for a part the run did not have.
type ingestCPU struct{ workers, api, redis, harness float64 }

// cpuMeter reads the parts' CPU times at the start of an ingest run (startCPU) and at its end (stop).
type cpuMeter struct {
	env     *benchEnv
	api     *proc
	workers []*proc
	at      [4]float64
}

func startCPU(ctx context.Context, env *benchEnv, api *proc, workers []*proc) *cpuMeter {
	m := &cpuMeter{env: env, api: api, workers: workers}
	m.at = m.read(ctx)
	return m
}

func (m *cpuMeter) read(ctx context.Context) [4]float64 {
	var w float64
	for _, p := range m.workers {
		w += p.cpu()
	}
	a, r := math.NaN(), math.NaN()
	if m.api != nil {
		a = m.api.cpu()
		if st, err := m.env.stats(ctx); err == nil {
			r = st.cpu
		}
	}
	return [4]float64{w, a, r, processCPU()}
}

func (m *cpuMeter) stop(ctx context.Context, docs int) ingestCPU {
	now := m.read(ctx)
	per := func(i int) float64 { return 1e3 * (now[i] - m.at[i]) / float64(docs) }
	return ingestCPU{workers: per(0), api: per(1), redis: per(2), harness: per(3)}
}

// add records the parts measured as series of the ingest-cpu suite.
func (c ingestCPU) add(res *results, name string, docs int) {
	for _, p := range []struct {
		metric string
		v      float64
	}{{"workers CPU ms/doc", c.workers}, {"API CPU ms/doc", c.api}, {"Redis CPU ms/doc", c.redis}, {"harness CPU ms/doc", c.harness}} {
		if !math.IsNaN(p.v) {
			res.add(series{suite: "ingest-cpu", name: name, metric: p.metric, n: docs}, p.v)
		}
	}
}

func waitFile(path string) (string, error) {
	for range 600 {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b)), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("%s did not appear", path)
}

// apiRate is the request rate of the latency suite, and apiDuration how long each target is driven.
const apiRate = 1000

// apiSuite: GetSNO and ListSNOs latency through `cns serve` (gRPC over h2c, the real client) at a fixed
// rate, next to a raw Redis GET of an SNO's key at the same rate, from the same open-loop pacer: each
// request is sent at its scheduled time whatever the previous ones do (openLoop), so a stall shows in
// the percentiles instead of slowing the load (no coordinated omission).
func apiSuite(ctx context.Context, o options, env *benchEnv, res *results) error {
	duration := 6 * time.Second
	if o.smoke {
		duration = 300 * time.Millisecond
	}
	if err := env.flush(ctx); err != nil {
		return err
	}
	models, _ := modelsDir()
	e := redisEnv(env, "CNS_NLP_MODELS_DIR="+models)
	api, err := startCNS(ctx, e, "serve", "--instance", "api")
	if err != nil {
		return err
	}
	defer api.stop()
	w, err := startCNS(ctx, e, "worker", "--instance", "w0")
	if err != nil {
		return err
	}
	tok, err := serveToken()
	if err != nil {
		return err
	}
	c := narrativeClient(api.addr)
	docs := make([]string, max(o.docs/3, 4))
	for i := range docs {
		docs[i] = doc2k(i)
	}
	snos, _, err := ingestAll(ctx, c, tok, docs)
	w.stop() // nothing else runs while latencies are measured
	if err != nil {
		return err
	}
	rdb := env.client(0)
	defer rdb.Close()
	size, _ := rdb.StrLen(ctx, "cns:{bench}:sno:"+snos[0]).Result()
	res.notes = append(res.notes, fmt.Sprintf("API latency: %d SNOs in the project; an SNO record is %d bytes in Redis; ListSNOs returns the first page of 20, in its default (basic) view and in the full view; %d req/s for %v per target and run.",
		len(snos), size, apiRate, duration))
	// The gRPC health check: the same transport, server and client as GetSNO with no store and no
	// SNO behind it, so GetSNO's latency splits into the stack's and its own.
	health := grpchealth.NewClient(h2cClient(), "http://"+api.addr, connect.WithGRPC())
	// The same service over the Connect protocol on HTTP/1.1 (binary protobuf), as a Connect client or
	// curl without HTTP/2 calls it: one request and one response per connection at a time, as a Redis
	// client has it, where gRPC multiplexes every call over one HTTP/2 connection.
	c1 := cnsv1connect.NewNarrativeServiceClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}, "http://"+api.addr)
	targets := []apiTarget{
		{pacerAlone, func(int) error { return nil }},
		{"redis GET (SNO key)", func(i int) error {
			return rdb.Get(ctx, "cns:{bench}:sno:"+snos[i%len(snos)]).Err()
		}},
		{healthCheck, func(int) error {
			_, err := health.Check(ctx, &grpchealth.CheckRequest{})
			return err
		}},
		{"GetSNO", func(i int) error {
			_, err := c.GetSNO(ctx, authed(tok, &cnsv1.GetSNORequest{SnoId: snos[i%len(snos)]}))
			return err
		}},
		{getSNOConnect, func(i int) error {
			_, err := c1.GetSNO(ctx, authed(tok, &cnsv1.GetSNORequest{SnoId: snos[i%len(snos)]}))
			return err
		}},
		// From here on, the listings (measured as a group of their own).
		{"ListSNOs", func(i int) error {
			_, err := c.ListSNOs(ctx, authed(tok, &cnsv1.ListSNOsRequest{PageSize: 20}))
			return err
		}},
		{"ListSNOs (full view)", func(i int) error {
			_, err := c.ListSNOs(ctx, authed(tok, &cnsv1.ListSNOsRequest{PageSize: 20, View: cnsv1.SnoView_SNO_VIEW_FULL}))
			return err
		}},
	}
	listings := slices.IndexFunc(targets, func(t apiTarget) bool { return t.name == "ListSNOs" })
	// Warm every path (connections, caches) before measuring.
	for _, t := range targets {
		if _, _, _, err := openLoop(ctx, 100, 200*time.Millisecond, t.do); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	for run := range o.runs {
		logf("api: run %d of %d (load %s)", run+1, o.runs, loadAverage())
		for _, rate := range apiRates {
			// Two groups, each taking turns within itself: the calls the target compares (with the pacer
			// and the health check beside them), then the listings. The full view at 1,000/s overloads
			// this machine (~160 KB a response); in turns with the others its backlog and its garbage
			// would spill into their slices and inflate every p99 there, Redis GET's most of all.
			if err := measureInterleaved(ctx, rate, duration, targets[:listings], res); err != nil {
				return err
			}
			if err := measureInterleaved(ctx, rate, duration, targets[listings:], res); err != nil {
				return err
			}
		}
	}
	return nil
}

// pacerAlone is the latency suite's baseline target: the pacer with no call at all, so its percentiles
// are what the machine itself adds (goroutine start, the scheduler, and the stalls of this VM).
const pacerAlone = "pacer alone (no call)"

// getSNOConnect is GetSNO over the Connect protocol on HTTP/1.1.
const getSNOConnect = "GetSNO (Connect, HTTP/1.1)"

// healthCheck is the latency suite's transport baseline: grpc.health.v1.Health/Check on `cns serve`.
const healthCheck = "gRPC health Check (no store)"

type apiTarget struct {
	name string
	do   func(i int) error
}

// apiSlice is how long one target is driven before the next takes its turn. This VM stops for 3–30 ms
// every few seconds (its host takes the cores: steal time), and a target measured in one block of
// seconds catches those stalls or misses them by luck — enough to make one p99 of a pair 20× the
// other's in one run and 2× in the next. Taking turns in short slices over the same period spreads the
// stalls over every target alike, so the ratios compare the calls, not the moments they were measured.
const apiSlice = 500 * time.Millisecond

// measureInterleaved drives each target at rate for d in all, in turns of apiSlice, and records its
// latency percentiles, its failures and the pacer's lag.
func measureInterleaved(ctx context.Context, rate int, d time.Duration, targets []apiTarget, res *results) error {
	lat, lag, failed := make([][]time.Duration, len(targets)), make([][]time.Duration, len(targets)), make([]int, len(targets))
	errs := make([]error, len(targets))
	for done := time.Duration(0); done < d; done += apiSlice {
		for i, t := range targets {
			l, g, f, err := openLoop(ctx, rate, min(apiSlice, d-done), t.do)
			lat[i], lag[i], failed[i] = append(lat[i], l...), append(lag[i], g...), failed[i]+f
			if errs[i] == nil {
				errs[i] = err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(20 * time.Millisecond) // a saturated server's last responses leave before the next target
		}
	}
	suite := fmt.Sprintf("api-%d", rate)
	for i, t := range targets {
		l, g := lat[i], lag[i]
		if len(l) == 0 {
			return fmt.Errorf("%s: no requests", t.name)
		}
		slices.Sort(l)
		slices.Sort(g)
		pct := func(s []time.Duration, p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
		for _, q := range []struct {
			name string
			p    float64
		}{{"p50", 0.50}, {"p99", 0.99}, {"p999", 0.999}} {
			res.add(series{suite: suite, name: t.name, metric: q.name + " µs", n: len(l), note: fmt.Sprintf("%d req/s", rate)}, float64(pct(l, q.p).Microseconds()))
		}
		res.add(series{suite: suite, name: t.name, metric: "failed %", n: len(l), note: "calls that returned an error"}, 100*float64(failed[i])/float64(len(l)))
		res.add(series{suite: suite, name: t.name, metric: "pacer lag p99 µs", n: len(g), note: "how late the load generator sent requests (counted in the latency above when over 2 ms)"}, float64(pct(g, 0.99).Microseconds()))
		logf("  %5d req/s %-22s p50 %6dµs p99 %6dµs p999 %6dµs (%d requests, %d failed%s; pacer lag p50 %dµs p99 %dµs)", rate, t.name,
			pct(l, 0.5).Microseconds(), pct(l, 0.99).Microseconds(), pct(l, 0.999).Microseconds(), len(l), failed[i],
			map[bool]string{true: ": " + fmt.Sprint(errs[i]), false: ""}[errs[i] != nil], pct(g, 0.5).Microseconds(), pct(g, 0.99).Microseconds())
	}
	return nil
}

// pacerSlack is how late the pacer may send a request before its latency counts from its scheduled time.
const pacerSlack = 2 * time.Millisecond

// apiRates are the request rates of the latency suite: one well inside what the API serves on this
// machine, and the 1,000/s.
var apiRates = []int{200, apiRate}

// openLoop calls do at rate per second for d and returns each call's latency, how late the pacer sent
// it, and how many calls failed (their latency counts too: a failure is as slow as it was). A call's
// latency counts from when it was sent: the pacer sleeps, and a sleep on this machine overshoots by
// ~0.5 ms (p99 ~1.5 ms), which would otherwise be most of a Redis GET's latency. A call sent more than
// pacerSlack late — the load generator starved of CPU, the machine saturated — counts from its
// scheduled time instead, so queueing still shows (no coordinated omission).
func openLoop(ctx context.Context, rate int, d time.Duration, do func(i int) error) (lat, lag []time.Duration, failed int, first error) {
	n := int(float64(rate) * d.Seconds())
	lat, lag = make([]time.Duration, n), make([]time.Duration, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := time.Now()
			if lag[i] = sent.Sub(at); lag[i] > pacerSlack {
				sent = at
			}
			err := do(i)
			lat[i] = time.Since(sent)
			if err != nil {
				mu.Lock()
				failed++
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
		if ctx.Err() != nil {
			break
		}
	}
	wg.Wait()
	return lat, lag, failed, first
}

// vectorSuite: the exact vector index (what every process keeps per project) at 10k, 100k and 1M
// vectors of the built-in embedder's dimension: queries/s of one search (k = 10) and its latency.
// Pair discovery runs the engine's own benchmark (engine.BenchmarkDiscoverPairs: 10k and 100k SNOs).
func vectorSuite(ctx context.Context, o options, res *results) error {
	const dim, k = 256, 10
	sizes := []int{10_000, 100_000, 1_000_000}
	if o.smoke {
		sizes = []int{2_000}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range sizes {
		x := vector.NewExact(dim)
		for i := range n {
			x.Add("sno_"+strconv.Itoa(i), randUnit(r, dim))
		}
		queries := make([][]float32, 64)
		for i := range queries {
			queries[i] = randUnit(r, dim)
		}
		for run := range o.runs {
			lat := make([]time.Duration, 0, 1024)
			deadline := time.Now().Add(2 * time.Second)
			if o.smoke {
				deadline = time.Now().Add(100 * time.Millisecond)
			}
			start := time.Now()
			for i := 0; time.Now().Before(deadline) || i < 16; i++ {
				t0 := time.Now()
				if _, err := x.Search(queries[i%len(queries)], k); err != nil {
					return err
				}
				lat = append(lat, time.Since(t0))
			}
			qps := float64(len(lat)) / time.Since(start).Seconds()
			slices.Sort(lat)
			name := fmt.Sprintf("exact index, %s vectors", humanCount(n))
			res.add(series{suite: "vector", name: name, metric: "queries/s", higher: true, note: fmt.Sprintf("dim %d, k %d", dim, k)}, qps)
			res.add(series{suite: "vector", name: name, metric: "p99 µs", note: fmt.Sprintf("dim %d, k %d", dim, k)}, float64(lat[len(lat)*99/100].Microseconds()))
			if run == 0 {
				logf("vector: %-30s %9.0f queries/s, p99 %v", name, qps, lat[len(lat)*99/100])
			}
		}
	}
	// Pair discovery: the engine's benchmark, in the service module.
	if o.smoke {
		return nil
	}
	logf("vector: pair discovery (engine.BenchmarkDiscoverPairs, %d runs)", min(o.runs, 3))
	out, err := goBench(ctx, "./engine/", "^BenchmarkDiscoverPairs$", min(o.runs, 3)) // each run builds 110k SNOs: a minute
	if err != nil {
		return err
	}
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		label := strings.TrimPrefix(name, "BenchmarkDiscoverPairs/")
		for _, ns := range out[name] {
			res.add(series{suite: "pairs", name: label, metric: "ms/op", note: "one new SNO against the population"}, ns/1e6)
		}
	}
	return nil
}

func humanCount(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}

func randUnit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return cns.Normalize(v)
}

// memorySuite: Redis bytes per SNO (with its job) and the resident memory a `cns serve` process needs per
// 100k SNOs (its index replica and population view), from the difference between an empty and a loaded
// store. SNOs are written through the Redis store with the shape ingesting a 2 KB abstract gives.
func memorySuite(ctx context.Context, o options, env *benchEnv, res *results) error {
	n := 100_000
	if o.smoke {
		n = 500
	}
	if err := env.flush(ctx); err != nil {
		return err
	}
	rdb := env.client(0)
	defer rdb.Close()
	// The hashed embedder (256 dimensions): its SNOs match the ones written here. What the NLP model
	// itself takes cancels out in the difference.
	e := redisEnv(env, "CNS_NLP_MODELS_DIR=/nonexistent")
	empty, err := startCNS(ctx, e, "serve", "--instance", "api")
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	rssEmpty, err := empty.rss()
	empty.stop()
	if err != nil {
		return err
	}
	before := usedMemory(ctx, rdb)
	store := redisstore.New(rdb, "")
	logf("memory: writing %d SNOs", n)
	if err := parallel(n, 16, func(i int) error {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		id := strconv.Itoa(i)
		now := time.Now().UTC()
		job := &cns.Job{ID: "job_" + id, Project: "bench", Kind: cns.JobIngestDocument, State: cns.JobQueued, CreatedAt: now, UpdatedAt: now,
			Document: &cns.DocumentInput{Text: strings.Repeat("x", 2000)}}
		if _, _, err := store.CreateJob(ctx, job); err != nil {
			return err
		}
		job.State, job.SNOID = cns.JobSucceeded, "sno_"+id
		return store.CompleteJob(ctx, job, storetest.RealisticSNO("bench", "sno_"+id, job.ID, r))
	}); err != nil {
		return err
	}
	after := usedMemory(ctx, rdb)
	res.add(series{suite: "memory", name: "Redis, per SNO with its job", metric: "bytes", note: "used_memory delta; job keeps its 2 KB document"}, float64(after-before)/float64(n))
	loaded, err := startCNS(ctx, e, "serve", "--instance", "api")
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	rssLoaded, err := loaded.rss()
	loaded.stop()
	if err != nil {
		return err
	}
	res.add(series{suite: "memory", name: "cns serve RSS, per 100k SNOs", metric: "MiB", note: fmt.Sprintf("RSS with %d SNOs minus RSS empty, scaled", n)},
		float64(rssLoaded-rssEmpty)/(1<<20)*100_000/float64(n))
	logf("memory: Redis %.0f bytes/SNO; serve RSS %.0f MiB empty, %.0f MiB with %d SNOs", float64(after-before)/float64(n),
		float64(rssEmpty)/(1<<20), float64(rssLoaded)/(1<<20), n)
	return nil
}

func usedMemory(ctx context.Context, rdb *redis.Client) int64 {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
