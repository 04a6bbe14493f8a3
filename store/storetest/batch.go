package storetest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/cns-dev/cns"
)

// BatchStore is a store with the batch bookkeeping methods.
type BatchStore interface {
	cns.Store
	cns.BatchJobStore
}

// RunBatch checks cns.BatchJobStore: every item of a batch behaves exactly as the single-job call on the
// same arguments. Each check runs the same operations on two fresh stores, one item at a time on the
// first and as batches on the second, and compares the errors item by item and then everything the port
// can read back (jobs, SNOs, listings by state and status, stats).
func RunBatch(t *testing.T, open func(t *testing.T) BatchStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, single, batch BatchStore)
	}{
		{"CreateJobs", testCreateJobs},
		{"GetJobs", testGetJobs},
		{"UpdateJobs", testUpdateJobs},
		{"CompleteJobs", testCompleteJobs},
		{"Empty", testBatchEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t), open(t))
		})
	}
}

// seedBatch creates the same jobs in both stores: three projects' queued jobs.
func seedBatch(t *testing.T, stores ...cns.Store) {
	for _, s := range stores {
		for i := range 6 {
			mustCreate(t, s, newJob("p1", fmt.Sprintf("j%d", i), cns.JobQueued, at(i)))
		}
		mustCreate(t, s, fullDocumentJob("p2", "j0"))
		mustCreate(t, s, newJob("p3", "j0", cns.JobRunning, at(9)))
	}
}

func wantSameErrors(t *testing.T, what string, single, batch []error) {
	t.Helper()
	if len(single) != len(batch) {
		t.Fatalf("%s: %d errors, want %d", what, len(batch), len(single))
	}
	for i := range single {
		if (single[i] == nil) != (batch[i] == nil) || cns.ErrorCode(single[i]) != cns.ErrorCode(batch[i]) {
			t.Fatalf("%s: item %d: batch error %v (%s), single error %v (%s)", what, i,
				batch[i], cns.ErrorCode(batch[i]), single[i], cns.ErrorCode(single[i]))
		}
	}
}

// wantSameContent compares what the port reads back from both stores.
func wantSameContent(t *testing.T, single, batch cns.Store) {
	t.Helper()
	ctx := t.Context()
	for _, p := range []string{"p1", "p2", "p3"} {
		for _, st := range [][]cns.JobState{nil, {cns.JobQueued}, {cns.JobRunning}, {cns.JobSucceeded}, {cns.JobFailed}} {
			f := cns.JobFilter{Project: p, States: st, Limit: 100}
			a, err := single.ListJobs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := batch.ListJobs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, fmt.Sprintf("jobs of %s in states %v", p, st), a, b)
		}
		for _, st := range [][]cns.Status{nil, {cns.StatusActive}, {cns.StatusReview}, {cns.StatusRejected}} {
			f := cns.SNOFilter{Project: p, Statuses: st, Limit: 100}
			a, err := single.ListSNOs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := batch.ListSNOs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, fmt.Sprintf("SNOs of %s with status %v", p, st), a, b)
		}
		a, err := single.Stats(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := batch.Stats(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		// A batch adds its trusts up before adding them to the sum: the same total, up to rounding.
		if math.Abs(a.ActiveTrustSum-b.ActiveTrustSum) > 1e-9*max(1, math.Abs(a.ActiveTrustSum)) {
			t.Fatalf("stats of %s: active trust sum %v, want %v", p, b.ActiveTrustSum, a.ActiveTrustSum)
		}
		b.ActiveTrustSum = a.ActiveTrustSum
		wantEqual(t, "stats of "+p, a, b)
	}
	a, err := single.UnfinishedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := batch.UnfinishedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "unfinished jobs", a, b)
}

func testCreateJobs(t *testing.T, single, batch BatchStore) {
	seedBatch(t, single, batch)
	ctx := t.Context()
	for _, s := range []cns.Store{single, batch} {
		keyed := newJob("p1", "keyed", cns.JobQueued, at(30))
		keyed.IdempotencyKey = "k-old"
		mustCreate(t, s, keyed)
	}
	mk := func() []*cns.Job {
		replay := newJob("p1", "new-replay", cns.JobQueued, at(31))
		replay.IdempotencyKey = "k-old" // names p1/keyed
		first := newJob("p2", "new-k1", cns.JobQueued, at(32))
		first.IdempotencyKey = "k-new"
		second := newJob("p2", "new-k2", cns.JobQueued, at(33))
		second.IdempotencyKey = "k-new" // the same key again in this batch
		return []*cns.Job{
			newJob("p1", "new-a", cns.JobQueued, at(40)), fullDocumentJob("p3", "new-b"), replay,
			newJob("p1", "j0", cns.JobQueued, at(41)), // id taken
			first, second,
			newJob("p1", "new-bad", cns.JobStateUnspecified, at(42)), {Project: "p1"},
			newJob("p4", "new-c", cns.JobRunning, at(43)),
		}
	}
	jobs := mk()
	want := make([]error, len(jobs))
	wantStored := make([]*cns.Job, len(jobs))
	wantCreated := make([]bool, len(jobs))
	for i, j := range jobs {
		wantStored[i], wantCreated[i], want[i] = single.CreateJob(ctx, j)
	}
	stored, created, errs := batch.CreateJobs(ctx, mk())
	if len(stored) != len(jobs) || len(created) != len(jobs) {
		t.Fatalf("CreateJobs returned %d jobs and %d flags for %d jobs", len(stored), len(created), len(jobs))
	}
	wantSameErrors(t, "CreateJobs", want, errs)
	for i := range jobs {
		if want[i] != nil {
			continue
		}
		if created[i] != wantCreated[i] {
			t.Fatalf("CreateJobs item %d: created %v, want %v", i, created[i], wantCreated[i])
		}
		wantEqual(t, fmt.Sprintf("CreateJobs item %d", i), wantStored[i], stored[i])
	}
	wantSameContent(t, single, batch)
}

func testGetJobs(t *testing.T, single, batch BatchStore) {
	seedBatch(t, single, batch)
	ref := func(p, id string) cns.JobRef { return cns.JobRef{Project: p, ID: id} }
	refs := []cns.JobRef{ref("p1", "j3"), ref("p2", "j0"), ref("p1", "missing"), ref("p2", "j1"), ref("", "j0"), ref("p3", "j0"), ref("p1", "j3")}
	jobs, errs := batch.GetJobs(t.Context(), refs)
	if len(jobs) != len(refs) {
		t.Fatalf("GetJobs returned %d jobs for %d refs", len(jobs), len(refs))
	}
	want := make([]error, len(refs))
	for i, r := range refs {
		j, err := single.GetJob(t.Context(), r.Project, r.ID)
		want[i] = err
		if err == nil {
			wantEqual(t, fmt.Sprintf("GetJobs item %d", i), j, jobs[i])
		} else if jobs[i] != nil {
			t.Fatalf("GetJobs item %d: job %v with error %v", i, jobs[i], errs[i])
		}
	}
	wantSameErrors(t, "GetJobs", want, errs)
}

func testUpdateJobs(t *testing.T, single, batch BatchStore) {
	seedBatch(t, single, batch)
	mk := func() []*cns.Job {
		running := newJob("p1", "j0", cns.JobRunning, at(0))
		running.Attempts, running.StartedAt, running.UpdatedAt = 1, at(20), at(20)
		failed := newJob("p1", "j1", cns.JobFailed, at(1))
		failed.Error, failed.ErrorCode, failed.FinishedAt = "boom", cns.EINTERNAL, at(21)
		requeued := newJob("p3", "j0", cns.JobQueued, at(9)) // running → queued
		other := fullDocumentJob("p2", "j0")
		other.State, other.Attempts = cns.JobRunning, 2
		bad := newJob("p1", "j2", cns.JobStateUnspecified, at(2))
		return []*cns.Job{running, newJob("p1", "ghost", cns.JobRunning, at(3)), failed, requeued, other, bad,
			newJob("p9", "j0", cns.JobRunning, at(0)), {Project: "p1"}}
	}
	ctx := t.Context()
	jobs := mk()
	want := make([]error, len(jobs))
	for i, j := range jobs {
		want[i] = single.UpdateJob(ctx, j)
	}
	wantSameErrors(t, "UpdateJobs", want, batch.UpdateJobs(ctx, mk()))
	wantSameContent(t, single, batch)
	for _, j := range jobs[:5] {
		if j.ID == "ghost" {
			continue
		}
		wantEqual(t, "job "+j.ID, mustGetJob(t, single, j.Project, j.ID), mustGetJob(t, batch, j.Project, j.ID))
	}
}

func testCompleteJobs(t *testing.T, single, batch BatchStore) {
	seedBatch(t, single, batch)
	mk := func() []cns.JobCompletion {
		var out []cns.JobCompletion
		for i := range 4 {
			j := newJob("p1", fmt.Sprintf("j%d", i), cns.JobSucceeded, at(i))
			j.Attempts, j.FinishedAt = 1, at(30+i)
			s := fullSNOWithJob("p1", fmt.Sprintf("sno-%d", i), j.ID)
			s.Trust = []float64{0.9, 0.2, 0.55, 0.7}[i]
			s.Status = []cns.Status{cns.StatusActive, cns.StatusRejected, cns.StatusReview, cns.StatusActive}[i]
			out = append(out, cns.JobCompletion{Job: j, SNO: s})
		}
		// p2's job, already naming its SNO.
		j2 := fullDocumentJob("p2", "j0")
		j2.State, j2.SNOID = cns.JobSucceeded, "sno-x"
		out = append(out, cns.JobCompletion{Job: j2, SNO: fullSNOWithJob("p2", "sno-x", j2.ID)})
		// Failures, each alone: a missing job (its SNO must not be stored), a job not marked succeeded,
		// an SNO of another project, a job naming another SNO.
		ghost := newJob("p1", "ghost", cns.JobSucceeded, at(5))
		out = append(out, cns.JobCompletion{Job: ghost, SNO: newSNO("p1", "orphan", 0.5, cns.StatusActive)})
		out = append(out, cns.JobCompletion{Job: newJob("p1", "j4", cns.JobRunning, at(4)), SNO: newSNO("p1", "sno-4", 0.5, cns.StatusActive)})
		out = append(out, cns.JobCompletion{Job: newJob("p1", "j5", cns.JobSucceeded, at(5)), SNO: newSNO("p2", "sno-5", 0.5, cns.StatusActive)})
		named := newJob("p3", "j0", cns.JobSucceeded, at(9))
		named.SNOID = "other"
		out = append(out, cns.JobCompletion{Job: named, SNO: newSNO("p3", "sno-6", 0.5, cns.StatusActive)})
		// The same completion twice in one batch (identical, so either order ends the same): the SNO is
		// counted once in the stats and indexed once.
		for range 2 {
			twin := newJob("p1", "j5", cns.JobSucceeded, at(5))
			twin.Attempts, twin.FinishedAt = 1, at(35)
			ts := fullSNOWithJob("p1", "sno-twin", twin.ID)
			ts.Status, ts.Trust = cns.StatusActive, 0.8
			out = append(out, cns.JobCompletion{Job: twin, SNO: ts})
		}
		// A redelivered completion: the same job and SNO again, with a different trust.
		again := newJob("p1", "j0", cns.JobSucceeded, at(0))
		again.Attempts, again.FinishedAt = 2, at(40)
		s := fullSNOWithJob("p1", "sno-0", again.ID)
		s.Trust = 0.3
		return append(out, cns.JobCompletion{Job: again, SNO: s})
	}
	ctx := t.Context()
	items := mk()
	want := make([]error, len(items))
	for i, it := range items {
		want[i] = single.CompleteJob(ctx, it.Job, it.SNO)
	}
	// The redelivery is the last item: run it after the rest, as the single calls did, since items in
	// one batch that touch the same job may apply in either order.
	// The first four (one project, new SNOs of every status, with evidence) make a batch of their own:
	// the common case, which a store may write differently from a batch that mixes in the rest.
	b := mk()
	errs := batch.CompleteJobs(ctx, b[:4])
	errs = append(errs, batch.CompleteJobs(ctx, b[4:len(b)-1])...)
	errs = append(errs, batch.CompleteJobs(ctx, b[len(b)-1:])...)
	wantSameErrors(t, "CompleteJobs", want, errs)
	wantSameContent(t, single, batch)
	for _, id := range []string{"sno-0", "sno-1", "sno-2", "sno-3", "sno-twin"} {
		wantEqual(t, "sno "+id, mustGetSNO(t, single, "p1", id), mustGetSNO(t, batch, "p1", id))
	}
	type byEvidence interface {
		SNOIDsByEvidence(ctx context.Context, project string, evidenceIDs []string) (map[string][]string, error)
	}
	if se, ok := cns.Store(single).(byEvidence); ok {
		be := cns.Store(batch).(byEvidence)
		for _, p := range []string{"p1", "p2"} {
			ev := []string{"doi:10.1000/xyz", "sha256:00ff"}
			a, err := se.SNOIDsByEvidence(ctx, p, ev)
			if err != nil {
				t.Fatal(err)
			}
			b, err := be.SNOIDsByEvidence(ctx, p, ev)
			if err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "evidence index of "+p, a, b)
		}
	}
	if _, err := batch.GetSNO(ctx, "p1", "orphan"); cns.ErrorCode(err) != cns.ENOTFOUND {
		t.Fatalf("SNO of a failed completion: %v, want not found", err)
	}
	if !slices.Contains([]string{"sno-x"}, mustGetJob(t, batch, "p2", "j0").SNOID) {
		t.Fatal("p2's job does not name its SNO")
	}
}

func testBatchEmpty(t *testing.T, _, batch BatchStore) {
	ctx := context.Background()
	if j, e := batch.GetJobs(ctx, nil); len(j) != 0 || len(e) != 0 {
		t.Fatalf("GetJobs(nil) = %v, %v", j, e)
	}
	if e := batch.UpdateJobs(ctx, nil); len(e) != 0 {
		t.Fatalf("UpdateJobs(nil) = %v", e)
	}
	if e := batch.CompleteJobs(ctx, nil); len(e) != 0 {
		t.Fatalf("CompleteJobs(nil) = %v", e)
	}
}
