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
	srv := redistest.Start(t)
	rdb := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	s := redis.New(rdb, "")
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
