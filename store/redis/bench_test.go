package redis_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/internal/redistest"
	"github.com/cns-dev/cns/store/redis"
	"github.com/cns-dev/cns/store/storetest"
)

// BenchmarkMemoryPer100kSNOs stores 100,000 SNOs (each with its job) and reports Redis memory per SNO
// and for 100k.
func BenchmarkMemoryPer100kSNOs(b *testing.B) {
	srv := redistest.Start(b)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), PoolSize: 32})
	defer rdb.Close()
	s := redis.New(rdb, "")
	ctx := context.Background()
	const n = 100_000
	before := usedMemory(b, rdb)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := w; i < n; i += 16 {
				id := strconv.Itoa(i)
				now := time.Now().UTC()
				job := &cns.Job{ID: "job_" + id, Project: "p", Kind: cns.JobIngestDocument, State: cns.JobQueued, CreatedAt: now, UpdatedAt: now,
					Document: &cns.DocumentInput{Text: strings.Repeat("x", 2000)}}
				if _, _, err := s.CreateJob(ctx, job); err != nil {
					b.Error(err)
					return
				}
				job.State, job.SNOID = cns.JobSucceeded, "sno_"+id
				if err := s.CompleteJob(ctx, job, storetest.RealisticSNO("p", "sno_"+id, job.ID, r)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	after := usedMemory(b, rdb)
	b.ReportMetric(float64(after-before)/n, "bytes/sno+job")
	b.ReportMetric(float64(after-before)/(1<<20), "MiB/100k")
	b.ReportMetric(float64(n)/el.Seconds(), "writes/s")

	// GetSNO latency against this population.
	lat := make([]time.Duration, 0, 20000)
	for i := range 20000 {
		t0 := time.Now()
		if _, err := s.GetSNO(ctx, "p", "sno_"+strconv.Itoa((i*7919)%n)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	p := percentiles(lat)
	b.ReportMetric(float64(p[0].Microseconds()), "get-p50-µs")
	b.ReportMetric(float64(p[1].Microseconds()), "get-p99-µs")
}

func usedMemory(b *testing.B, rdb *goredis.Client) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory in INFO")
	return 0
}

func percentiles(d []time.Duration) [2]time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return [2]time.Duration{s[len(s)/2], s[len(s)*99/100]}
}

// BenchmarkBatchBookkeeping is the store's share of a no-op command: jobs created and completed with a
// small SNO in batches of 1 (jobs that end one at a time), 8 and 256 (the coalescers' largest). It
// reports Redis CPU time and time inside commands per job, read from INFO before and after.
func BenchmarkBatchBookkeeping(b *testing.B) {
	srv := redistest.Start(b)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	for _, batch := range []int{1, 8, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			rdb.FlushAll(context.Background())
			rdb.ConfigResetStat(context.Background())
			benchBookkeeping(b, rdb, batch)
		})
	}
}

func benchBookkeeping(b *testing.B, rdb *goredis.Client, batch int) {
	s := redis.New(rdb, "")
	ctx := context.Background()
	n := max(b.N, batch)
	jobs := make([]*cns.Job, n)
	now := time.Now().UTC()
	for i := range jobs {
		jobs[i] = &cns.Job{ID: fmt.Sprintf("job_%08d", i), Project: "bench", Kind: cns.JobIngestDocument, State: cns.JobQueued,
			Document: &cns.DocumentInput{Text: "no-op"}, CreatedAt: now, UpdatedAt: now}
	}
	cpu0, cmd0 := redisCPU(b, rdb)
	b.ResetTimer()
	for i := 0; i < n; i += batch {
		part := jobs[i:min(i+batch, n)]
		_, _, errs := s.CreateJobs(ctx, part)
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		items := make([]cns.JobCompletion, len(part))
		for j, job := range part {
			job.State, job.Attempts, job.FinishedAt = cns.JobSucceeded, 1, now
			items[j] = cns.JobCompletion{Job: job, SNO: &cns.SNO{ID: "sno_" + job.ID, Project: "bench", Hypothesis: "no-op", Trust: 0.5,
				Status: cns.StatusActive, SchemaVersion: 1, JobID: job.ID, CreatedAt: now, UpdatedAt: now}}
		}
		for _, err := range s.CompleteJobs(ctx, items) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	cpu1, cmd1 := redisCPU(b, rdb)
	if os.Getenv("CNS_BENCH_COMMANDSTATS") != "" {
		info, _ := rdb.Info(ctx, "commandstats").Result()
		b.Log(info)
	}
	b.ReportMetric((cpu1-cpu0)/float64(n), "redis-cpu-µs/job")
	b.ReportMetric((cmd1-cmd0)/float64(n), "redis-cmd-µs/job")
}

// redisCPU returns Redis's CPU time (user + system) and the time spent inside commands, in µs.
func redisCPU(b *testing.B, rdb *goredis.Client) (cpu, inCommands float64) {
	info, err := rdb.Info(context.Background(), "cpu", "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			cpu += f * 1e6
		}
		if strings.HasPrefix(line, "cmdstat_") {
			for _, kv := range strings.Split(line[strings.Index(line, ":")+1:], ",") {
				if k, v, ok := strings.Cut(kv, "="); ok && k == "usec" {
					f, _ := strconv.ParseFloat(v, 64)
					inCommands += f
				}
			}
		}
	}
	return cpu, inCommands
}
