package redis_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/internal/redistest"
	"github.com/cns-dev/cns/store/redis"
	"github.com/cns-dev/cns/store/storetest"
)

func openBatchOn(rdb goredis.UniversalClient) func(t *testing.T) storetest.BatchStore {
	return func(t *testing.T) storetest.BatchStore {
		s := redis.New(rdb, fmt.Sprintf("t%d:", namespaces.Add(1)))
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// standaloneStore is a store on a throwaway standalone server of its own.
func standaloneStore(t *testing.T) *redis.Store {
	t.Helper()
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return redis.New(rdb, "")
}

// TestBatchContract runs the batch bookkeeping contract on a standalone server and on a cluster, where
// each project's batch must stay in its own hash slot.
func TestBatchContract(t *testing.T) {
	t.Run("Standalone", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Start(t)
		rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
		t.Cleanup(func() { rdb.Close() })
		storetest.RunBatch(t, openBatchOn(rdb))
	})
	t.Run("Cluster", func(t *testing.T) {
		t.Parallel()
		c := redistest.StartCluster(t)
		rdb := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs()})
		t.Cleanup(func() { rdb.Close() })
		storetest.RunBatch(t, openBatchOn(rdb))
	})
}

// TestBatchesBeyondLuaLimits: batches larger than one Lua unpack can take (ZMSCORE, MSET and ZADD go in
// chunks) create and complete every job.
func TestBatchesBeyondLuaLimits(t *testing.T) {
	t.Parallel()
	s := standaloneStore(t)
	ctx := t.Context()
	const n = 5000
	now := time.Now().UTC()
	jobs := make([]*cns.Job, n)
	for i := range jobs {
		jobs[i] = &cns.Job{ID: fmt.Sprintf("job_%05d", i), Project: "p", Kind: cns.JobIngestDocument, State: cns.JobQueued,
			Document: &cns.DocumentInput{Text: "x"}, CreatedAt: now, UpdatedAt: now}
	}
	_, created, errs := s.CreateJobs(ctx, jobs)
	for i := range jobs {
		if errs[i] != nil || !created[i] {
			t.Fatalf("create %d: created %v, %v", i, created[i], errs[i])
		}
	}
	items := make([]cns.JobCompletion, n)
	for i, j := range jobs {
		j.State = cns.JobSucceeded
		items[i] = cns.JobCompletion{Job: j, SNO: &cns.SNO{ID: "sno_" + j.ID, Project: "p", Hypothesis: "h", Graph: cns.NewGraph("h"),
			Trust: 0.5, Status: cns.StatusActive, Evidence: []cns.Evidence{{ID: fmt.Sprintf("doi:10.1/%d", i%7), Confidence: 1}},
			SchemaVersion: cns.SchemaVersion, JobID: j.ID, CreatedAt: now, UpdatedAt: now}}
	}
	for i, err := range s.CompleteJobs(ctx, items) {
		if err != nil {
			t.Fatalf("complete %d: %v", i, err)
		}
	}
	st, err := s.Stats(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if st.SNOsByStatus[cns.StatusActive] != n || st.JobsByState[cns.JobSucceeded] != n || math.Abs(st.ActiveTrustSum-n*0.5) > 1e-6 {
		t.Fatalf("stats %+v, want %d active SNOs, %d succeeded jobs, trust sum %v", st, n, n, n*0.5)
	}
	ids, err := s.SNOIDsByEvidence(ctx, "p", []string{"doi:10.1/3"})
	if err != nil || len(ids["doi:10.1/3"]) != (n+3)/7 {
		t.Fatalf("evidence index: %d SNOs for one evidence id, %v", len(ids["doi:10.1/3"]), err)
	}
}

// TestBatchGuardFallback: a batch that looks like the common case to the client (no idempotency key,
// no id twice) but not to Redis — an id taken, a job missing, an SNO stored before — is written item by
// item instead, with each item's own result, and nothing of a failed item stored.
func TestBatchGuardFallback(t *testing.T) {
	t.Parallel()
	s := standaloneStore(t)
	ctx := t.Context()
	now := time.Now().UTC()
	job := func(id string) *cns.Job {
		return &cns.Job{ID: id, Project: "p", Kind: cns.JobIngestDocument, State: cns.JobQueued,
			Document: &cns.DocumentInput{Text: "x"}, CreatedAt: now, UpdatedAt: now}
	}
	if _, _, err := s.CreateJob(ctx, job("taken")); err != nil {
		t.Fatal(err)
	}
	_, created, errs := s.CreateJobs(ctx, []*cns.Job{job("a"), job("taken"), job("b")})
	if errs[0] != nil || errs[2] != nil || !created[0] || !created[2] {
		t.Fatalf("new jobs beside a taken id: created %v, errors %v", created, errs)
	}
	if cns.ErrorCode(errs[1]) != cns.ECONFLICT || created[1] {
		t.Fatalf("taken id: created %v, %v; want a conflict", created[1], errs[1])
	}

	sno := func(id, jobID string, trust float64) *cns.SNO {
		return &cns.SNO{ID: id, Project: "p", Hypothesis: "h", Graph: cns.NewGraph("h"), Trust: trust, Status: cns.StatusActive,
			Evidence: []cns.Evidence{{ID: "doi:10.1/" + id, Confidence: 1}}, SchemaVersion: cns.SchemaVersion, JobID: jobID,
			CreatedAt: now, UpdatedAt: now}
	}
	done := func(id string) *cns.Job {
		j := job(id)
		j.State, j.Attempts, j.FinishedAt = cns.JobSucceeded, 1, now
		return j
	}
	if err := s.CompleteJob(ctx, done("taken"), sno("sno-old", "taken", 0.2)); err != nil {
		t.Fatal(err)
	}
	errs = s.CompleteJobs(ctx, []cns.JobCompletion{
		{Job: done("a"), SNO: sno("sno-a", "a", 0.9)},
		{Job: done("ghost"), SNO: sno("sno-ghost", "ghost", 0.5)},
		{Job: done("b"), SNO: sno("sno-old", "b", 0.4)}, // an SNO stored before: updated
	})
	if errs[0] != nil || errs[2] != nil || cns.ErrorCode(errs[1]) != cns.ENOTFOUND {
		t.Fatalf("completions beside a missing job: %v", errs)
	}
	if _, err := s.GetSNO(ctx, "p", "sno-ghost"); cns.ErrorCode(err) != cns.ENOTFOUND {
		t.Fatalf("the missing job's SNO: %v, want not found", err)
	}
	for id, want := range map[string]cns.JobState{"a": cns.JobSucceeded, "b": cns.JobSucceeded, "taken": cns.JobSucceeded} {
		if j, err := s.GetJob(ctx, "p", id); err != nil || j.State != want {
			t.Fatalf("job %s: %v, %v; want %v", id, j, err, want)
		}
	}
	st, err := s.Stats(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	// sno-old was counted at 0.2, then replaced at 0.4: 0.9 + 0.4 in all.
	if st.SNOsByStatus[cns.StatusActive] != 2 || math.Abs(st.ActiveTrustSum-1.3) > 1e-9 || st.JobsByState[cns.JobSucceeded] != 3 || st.JobsByState[cns.JobQueued] != 0 {
		t.Fatalf("stats %+v: want 2 active SNOs with trust sum 1.3, 3 succeeded jobs and none queued", st)
	}
	ids, err := s.SNOIDsByEvidence(ctx, "p", []string{"doi:10.1/sno-old", "doi:10.1/sno-a", "doi:10.1/sno-ghost"})
	if err != nil || len(ids["doi:10.1/sno-old"]) != 1 || len(ids["doi:10.1/sno-a"]) != 1 || len(ids["doi:10.1/sno-ghost"]) != 0 {
		t.Fatalf("evidence index %v, %v", ids, err)
	}
}
