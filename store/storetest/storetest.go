// Package storetest is the contract test suite of cns.Store: every implementation (the embedded bolt
// store, a future server store, test fakes) runs the same behaviour checks, so callers can rely on the
// port rather than on one adapter.
//
// Where the port's comments leave a choice open, the suite checks only what any reasonable reading
// agrees on (for instance it never relies on Limit 0, nor on the tie order of jobs created at the same
// instant), and says so at the check.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/cns-dev/cns"
)

// Run runs the contract against stores made by open. open must return a new, empty store and arrange
// for it to be closed when the test ends (t.Cleanup); Run may close a store itself first, so Close must
// tolerate being called twice. Subtests run in parallel, each with its own store.
func Run(t *testing.T, open func(t *testing.T) cns.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s cns.Store)
	}{
		{"CreateJob/New", testCreateJobNew},
		{"CreateJob/IdempotencySameProject", testCreateJobIdempotent},
		{"CreateJob/IdempotencyOtherProject", testCreateJobKeyOtherProject},
		{"CreateJob/DuplicateID", testCreateJobDuplicateID},
		{"CreateJob/ConcurrentSameKey", testCreateJobConcurrent},
		{"GetJob/NotFound", testGetJobNotFound},
		{"UpdateJob", testUpdateJob},
		{"UpdateJob/EveryTransition", testUpdateJobEveryTransition},
		{"CompleteJob", testCompleteJob},
		{"CompleteJob/MissingJob", testCompleteJobMissing},
		{"ListJobs", testListJobs},
		{"UnfinishedJobs", testUnfinishedJobs},
		{"GetSNO/NotFound", testGetSNONotFound},
		{"PutSNO", testPutSNO},
		{"ListSNOs", testListSNOs},
		{"ListSNOs/TrustChangeMoves", testListSNOsTrustChange},
		{"ScanSNOs", testScanSNOs},
		{"Stats", testStats},
		{"ProjectIsolation", testProjectIsolation},
		{"RoundTrip/Job", testRoundTripJob},
		{"RoundTrip/SNO", testRoundTripSNO},
		{"DeadLetters", testDeadLetters},
		{"PurgeJobs", testPurgeJobs},
		{"ContextCancelled", testContextCancelled},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func testCreateJobNew(t *testing.T, s cns.Store) {
	ctx := t.Context()
	in := fullDocumentJob("p1", "j1")
	stored, created, err := s.CreateJob(ctx, in)
	if err != nil || !created {
		t.Fatalf("CreateJob: created=%v err=%v, want created", created, err)
	}
	wantEqual(t, "returned job", fullDocumentJob("p1", "j1"), stored)

	// The store must not alias the caller's job: changing it afterwards changes nothing stored.
	in.State = cns.JobFailed
	in.Document.Metadata["author"] = "mutated"
	wantEqual(t, "stored job", fullDocumentJob("p1", "j1"), mustGetJob(t, s, "p1", "j1"))

	// The state given is kept, whatever it is (here: queued and running).
	for _, st := range []cns.JobState{cns.JobQueued, cns.JobRunning} {
		j := newJob("p1", "state-"+st.String(), st, at(1))
		mustCreate(t, s, j)
		if got := mustGetJob(t, s, "p1", j.ID).State; got != st {
			t.Fatalf("job created %s is stored %s", st, got)
		}
	}
}

func testCreateJobIdempotent(t *testing.T, s cns.Store) {
	ctx := t.Context()
	first := newJob("p1", "a", cns.JobQueued, at(1))
	first.IdempotencyKey = "key-1"
	mustCreate(t, s, first)

	second := newJob("p1", "b", cns.JobRunning, at(2))
	second.IdempotencyKey = "key-1"
	second.Document.Text = "another text"
	stored, created, err := s.CreateJob(ctx, second)
	if err != nil {
		t.Fatalf("CreateJob with a used key: %v", err)
	}
	if created {
		t.Fatal("CreateJob with a used key: created=true")
	}
	want := newJob("p1", "a", cns.JobQueued, at(1))
	want.IdempotencyKey = "key-1"
	wantEqual(t, "job returned for a used key", want, stored)

	_, err = s.GetJob(ctx, "p1", "b")
	wantCode(t, "GetJob of the job not created", err, cns.ENOTFOUND)
	jobs, err := s.ListJobs(ctx, cns.JobFilter{Project: "p1", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ids := jobIDs(jobs); !slices.Equal(ids, []string{"a"}) {
		t.Fatalf("ListJobs after a duplicate key = %v, want [a]", ids)
	}
	wantEqual(t, "first job", want, mustGetJob(t, s, "p1", "a"))
}

func testCreateJobKeyOtherProject(t *testing.T, s cns.Store) {
	ctx := t.Context()
	j1 := newJob("p1", "a", cns.JobQueued, at(1))
	j1.IdempotencyKey = "shared"
	mustCreate(t, s, j1)

	// The same key, and even the same id, in another project is another job.
	j2 := newJob("p2", "a", cns.JobRunning, at(2))
	j2.IdempotencyKey = "shared"
	j2.Document.Text = "p2 text"
	stored, created, err := s.CreateJob(ctx, j2)
	if err != nil || !created {
		t.Fatalf("CreateJob with the key of another project: created=%v err=%v, want created", created, err)
	}
	wantEqual(t, "p2 job", j2, stored)
	wantEqual(t, "p1 job", j1, mustGetJob(t, s, "p1", "a"))
	wantEqual(t, "p2 job", j2, mustGetJob(t, s, "p2", "a"))
}

func testCreateJobDuplicateID(t *testing.T, s cns.Store) {
	ctx := t.Context()
	first := newJob("p1", "a", cns.JobQueued, at(1))
	mustCreate(t, s, first)
	// The port does not name the code, but silently overwriting an accepted job would lose it.
	again := newJob("p1", "a", cns.JobFailed, at(5))
	again.Document.Text = "different"
	if _, created, err := s.CreateJob(ctx, again); err == nil || created {
		t.Fatalf("CreateJob of an existing id: created=%v err=%v, want an error", created, err)
	}
	wantEqual(t, "job after a duplicate create", first, mustGetJob(t, s, "p1", "a"))
}

func testCreateJobConcurrent(t *testing.T, s cns.Store) {
	ctx := t.Context()
	const n = 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		ids     = map[string]bool{}
		errs    []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := newJob("p1", fmt.Sprintf("job-%02d", i), cns.JobQueued, at(i))
			j.IdempotencyKey = "same"
			stored, c, err := s.CreateJob(ctx, j)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if c {
				created++
			}
			ids[stored.ID] = true
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent CreateJob: %d errors, first: %v", len(errs), errs[0])
	}
	if created != 1 || len(ids) != 1 {
		t.Fatalf("concurrent CreateJob with one key: %d created, %d distinct jobs returned; want 1 and 1", created, len(ids))
	}
	jobs, err := s.ListJobs(ctx, cns.JobFilter{Project: "p1", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || !ids[jobs[0].ID] {
		t.Fatalf("after concurrent CreateJob the project has jobs %v, want the one returned", jobIDs(jobs))
	}
}

func testGetJobNotFound(t *testing.T, s cns.Store) {
	ctx := t.Context()
	_, err := s.GetJob(ctx, "p1", "missing")
	wantCode(t, "GetJob of a missing job", err, cns.ENOTFOUND)
	mustCreate(t, s, newJob("p1", "a", cns.JobQueued, at(1)))
	_, err = s.GetJob(ctx, "p2", "a")
	wantCode(t, "GetJob of another project's job", err, cns.ENOTFOUND)
}

// testUpdateJobEveryTransition moves jobs from every state to every state (the usual ones and the rare
// ones: a dead letter from queued, a redrive from failed, an update within a state) and checks that a
// listing by state finds each job in its state only.
func testUpdateJobEveryTransition(t *testing.T, s cns.Store) {
	ctx := t.Context()
	states := []cns.JobState{cns.JobQueued, cns.JobRunning, cns.JobSucceeded, cns.JobFailed}
	want := map[string]cns.JobState{}
	i := 0
	for _, from := range states {
		for _, to := range states {
			i++
			j := newJob("p1", fmt.Sprintf("%s-to-%s", from, to), from, at(i))
			mustCreate(t, s, j)
			j.State = to
			j.UpdatedAt = at(i + 1)
			if err := s.UpdateJob(ctx, j); err != nil {
				t.Fatalf("UpdateJob %s: %v", j.ID, err)
			}
			want[j.ID] = to
		}
	}
	for _, st := range states {
		got, err := s.ListJobs(ctx, cns.JobFilter{Project: "p1", States: []cns.JobState{st}, Limit: 100})
		if err != nil {
			t.Fatalf("ListJobs %s: %v", st, err)
		}
		n := 0
		for _, id := range jobIDs(got) {
			if want[id] != st {
				t.Errorf("ListJobs %s lists %s, which is %s", st, id, want[id])
			}
			n++
		}
		if wantN := len(states); n != wantN {
			t.Errorf("ListJobs %s: %d jobs, want %d", st, n, wantN)
		}
	}
	all, err := s.ListJobs(ctx, cns.JobFilter{Project: "p1", Limit: 100})
	if err != nil || len(all) != len(want) {
		t.Fatalf("ListJobs: %d jobs, err %v; want %d", len(all), err, len(want))
	}
}

func testUpdateJob(t *testing.T, s cns.Store) {
	ctx := t.Context()
	j := newJob("p1", "a", cns.JobQueued, at(1))
	j.IdempotencyKey = "k"
	mustCreate(t, s, j)

	j.State = cns.JobRunning
	j.Attempts = 2
	j.Error = "transient"
	j.ErrorCode = cns.EUNAVAILABLE
	j.StartedAt = at(2)
	j.UpdatedAt = at(3)
	if err := s.UpdateJob(ctx, j); err != nil {
		t.Fatalf("UpdateJob: %v", err)
	}
	wantEqual(t, "updated job", j, mustGetJob(t, s, "p1", "a"))

	// The idempotency key still leads to the (updated) job.
	dup := newJob("p1", "b", cns.JobQueued, at(4))
	dup.IdempotencyKey = "k"
	stored, created, err := s.CreateJob(ctx, dup)
	if err != nil || created {
		t.Fatalf("CreateJob with the updated job's key: created=%v err=%v", created, err)
	}
	wantEqual(t, "job found by key after update", j, stored)

	err = s.UpdateJob(ctx, newJob("p1", "missing", cns.JobRunning, at(1)))
	wantCode(t, "UpdateJob of a missing job", err, cns.ENOTFOUND)

	other := newJob("p2", "a", cns.JobFailed, at(9))
	err = s.UpdateJob(ctx, other)
	wantCode(t, "UpdateJob of another project's job", err, cns.ENOTFOUND)
	wantEqual(t, "job after a foreign update", j, mustGetJob(t, s, "p1", "a"))
	_, err = s.GetJob(ctx, "p2", "a")
	wantCode(t, "GetJob after a failed UpdateJob", err, cns.ENOTFOUND)
}

func testCompleteJob(t *testing.T, s cns.Store) {
	ctx := t.Context()
	j := newJob("p1", "job-1", cns.JobRunning, at(1))
	mustCreate(t, s, j)

	sno := fullSNO("p1", "sno-1")
	sno.JobID = j.ID
	j.State = cns.JobSucceeded
	j.SNOID = sno.ID
	j.FinishedAt = at(2)
	if err := s.CompleteJob(ctx, j, sno); err != nil {
		t.Fatalf("CompleteJob: %v", err)
	}
	got := mustGetJob(t, s, "p1", "job-1")
	if got.State != cns.JobSucceeded || got.SNOID != "sno-1" {
		t.Fatalf("completed job: state %s, SNOID %q; want succeeded, sno-1", got.State, got.SNOID)
	}
	wantEqual(t, "completed job", j, got)
	wantEqual(t, "completed sno", fullSNOWithJob("p1", "sno-1", j.ID), mustGetSNO(t, s, "p1", "sno-1"))

	unfinished, err := s.UnfinishedJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(unfinished) != 0 {
		t.Fatalf("UnfinishedJobs after completion = %v, want none", jobIDs(unfinished))
	}
	list, err := s.ListSNOs(ctx, cns.SNOFilter{Project: "p1", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if ids := snoIDs(list); !slices.Equal(ids, []string{"sno-1"}) {
		t.Fatalf("ListSNOs after completion = %v, want [sno-1]", ids)
	}
	_, err = s.GetSNO(ctx, "p2", "sno-1")
	wantCode(t, "GetSNO of another project's sno", err, cns.ENOTFOUND)
}

func fullSNOWithJob(project, id, jobID string) *cns.SNO {
	s := fullSNO(project, id)
	s.JobID = jobID
	return s
}

func testCompleteJobMissing(t *testing.T, s cns.Store) {
	ctx := t.Context()
	j := newJob("p1", "never-created", cns.JobSucceeded, at(1))
	sno := newSNO("p1", "orphan", 0.5, cns.StatusActive)
	j.SNOID = sno.ID
	err := s.CompleteJob(ctx, j, sno)
	wantCode(t, "CompleteJob of a missing job", err, cns.ENOTFOUND)
	// Atomic: the SNO of a failed completion is not stored either.
	_, err = s.GetSNO(ctx, "p1", "orphan")
	wantCode(t, "GetSNO after a failed CompleteJob", err, cns.ENOTFOUND)

	// Nor may a job be completed through another project.
	mustCreate(t, s, newJob("p1", "real", cns.JobRunning, at(1)))
	foreign := newJob("p2", "real", cns.JobSucceeded, at(1))
	fsno := newSNO("p2", "foreign", 0.5, cns.StatusActive)
	foreign.SNOID = fsno.ID
	err = s.CompleteJob(ctx, foreign, fsno)
	wantCode(t, "CompleteJob of another project's job", err, cns.ENOTFOUND)
	if got := mustGetJob(t, s, "p1", "real").State; got != cns.JobRunning {
		t.Fatalf("job after a foreign completion is %s, want running", got)
	}
}

// listAllJobs pages through f with the given page size and returns every job, checking page sizes.
func listAllJobs(t *testing.T, s cns.Store, f cns.JobFilter, limit, max int) []*cns.Job {
	t.Helper()
	f.Limit, f.After = limit, nil
	var all []*cns.Job
	for {
		page, err := s.ListJobs(t.Context(), f)
		if err != nil {
			t.Fatalf("ListJobs(%+v): %v", f, err)
		}
		if len(page) > limit {
			t.Fatalf("ListJobs with Limit %d returned %d jobs", limit, len(page))
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		if len(all) > max {
			t.Fatalf("ListJobs pagination with Limit %d returned more than %d jobs: %v", limit, max, jobIDs(all))
		}
		last := page[len(page)-1]
		f.After = &cns.JobCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
}

func testListJobs(t *testing.T, s cns.Store) {
	ctx := t.Context()
	states := []cns.JobState{cns.JobQueued, cns.JobRunning, cns.JobSucceeded, cns.JobFailed}
	var p1 []*cns.Job
	for i := range 23 {
		// Pairs of jobs share a creation time, so pages also break between equal times.
		j := newJob("p1", fmt.Sprintf("j%02d", (i*7)%23), states[i%len(states)], at(i/2))
		mustCreate(t, s, j)
		p1 = append(p1, j)
	}
	for i := range 5 {
		mustCreate(t, s, newJob("p2", fmt.Sprintf("other-%d", i), cns.JobQueued, at(i)))
	}

	check := func(t *testing.T, f cns.JobFilter, want []*cns.Job) {
		wantSet := map[string]bool{}
		for _, j := range want {
			wantSet[j.ID] = true
		}
		for _, limit := range []int{1, 4, 10, 100} {
			got := listAllJobs(t, s, f, limit, 2*len(want)+1)
			seen := map[string]bool{}
			for i, j := range got {
				if j.Project != f.Project {
					t.Fatalf("Limit %d: job %s of project %q listed for %q", limit, j.ID, j.Project, f.Project)
				}
				if !wantSet[j.ID] {
					t.Fatalf("Limit %d: job %s (%s) should not be listed", limit, j.ID, j.State)
				}
				if seen[j.ID] {
					t.Fatalf("Limit %d: job %s listed twice: %v", limit, j.ID, jobIDs(got))
				}
				seen[j.ID] = true
				// Newest first. The order of jobs created at the same instant is the store's choice.
				if i > 0 && j.CreatedAt.After(got[i-1].CreatedAt) {
					t.Fatalf("Limit %d: job %s is newer than the job before it: %v", limit, j.ID, jobIDs(got))
				}
			}
			if len(seen) != len(wantSet) {
				t.Fatalf("Limit %d: listed %d jobs %v, want %d", limit, len(seen), jobIDs(got), len(wantSet))
			}
		}
	}
	t.Run("all", func(t *testing.T) { check(t, cns.JobFilter{Project: "p1"}, p1) })
	t.Run("states", func(t *testing.T) {
		var want []*cns.Job
		for _, j := range p1 {
			if j.State == cns.JobQueued || j.State == cns.JobFailed {
				want = append(want, j)
			}
		}
		check(t, cns.JobFilter{Project: "p1", States: []cns.JobState{cns.JobQueued, cns.JobFailed}}, want)
	})
	t.Run("empty project", func(t *testing.T) {
		jobs, err := s.ListJobs(ctx, cns.JobFilter{Project: "nobody", Limit: 10})
		if err != nil || len(jobs) != 0 {
			t.Fatalf("ListJobs of an empty project = %v, %v; want none", jobIDs(jobs), err)
		}
	})
}

func testUnfinishedJobs(t *testing.T, s cns.Store) {
	ctx := t.Context()
	states := []cns.JobState{cns.JobQueued, cns.JobSucceeded, cns.JobRunning, cns.JobFailed, cns.JobQueued}
	var want []string
	// Creation times interleave the projects and are inserted out of order.
	for i := range 20 {
		n := (i * 13) % 20
		project := []string{"p1", "p2", "p3"}[n%3]
		st := states[n%len(states)]
		mustCreate(t, s, newJob(project, fmt.Sprintf("j%02d", n), st, at(n)))
	}
	for n := range 20 {
		if st := states[n%len(states)]; st == cns.JobQueued || st == cns.JobRunning {
			want = append(want, key([]string{"p1", "p2", "p3"}[n%3], fmt.Sprintf("j%02d", n)))
		}
	}
	got := func() []string {
		jobs, err := s.UnfinishedJobs(ctx)
		if err != nil {
			t.Fatalf("UnfinishedJobs: %v", err)
		}
		keys := make([]string, len(jobs))
		for i, j := range jobs {
			if j.State.Terminal() {
				t.Fatalf("UnfinishedJobs returned %s job %s", j.State, j.ID)
			}
			keys[i] = key(j.Project, j.ID)
		}
		return keys
	}
	if g := got(); !slices.Equal(g, want) {
		t.Fatalf("UnfinishedJobs = %v, want oldest first %v", g, want)
	}

	// A job that ends leaves the list; one that starts running stays.
	j0 := mustGetJob(t, s, "p1", "j00") // queued
	j0.State = cns.JobFailed
	if err := s.UpdateJob(ctx, j0); err != nil {
		t.Fatal(err)
	}
	j4 := mustGetJob(t, s, "p2", "j04") // queued
	j4.State = cns.JobRunning
	if err := s.UpdateJob(ctx, j4); err != nil {
		t.Fatal(err)
	}
	if g := got(); !slices.Equal(g, want[1:]) {
		t.Fatalf("UnfinishedJobs after updates = %v, want %v", g, want[1:])
	}
}

func testGetSNONotFound(t *testing.T, s cns.Store) {
	ctx := t.Context()
	_, err := s.GetSNO(ctx, "p1", "missing")
	wantCode(t, "GetSNO of a missing sno", err, cns.ENOTFOUND)
	addSNO(t, s, newSNO("p1", "a", 0.5, cns.StatusActive))
	_, err = s.GetSNO(ctx, "p2", "a")
	wantCode(t, "GetSNO of another project's sno", err, cns.ENOTFOUND)
}

func testPutSNO(t *testing.T, s cns.Store) {
	ctx := t.Context()
	err := s.PutSNO(ctx, newSNO("p1", "missing", 0.5, cns.StatusActive))
	wantCode(t, "PutSNO of a missing sno", err, cns.ENOTFOUND)
	_, err = s.GetSNO(ctx, "p1", "missing")
	wantCode(t, "GetSNO after a failed PutSNO", err, cns.ENOTFOUND)

	sno := newSNO("p1", "a", 0.5, cns.StatusReview)
	addSNO(t, s, sno)
	err = s.PutSNO(ctx, newSNO("p2", "a", 0.9, cns.StatusActive))
	wantCode(t, "PutSNO of another project's sno", err, cns.ENOTFOUND)
	_, err = s.GetSNO(ctx, "p2", "a")
	wantCode(t, "GetSNO after a foreign PutSNO", err, cns.ENOTFOUND)

	upd := fullSNOWithJob("p1", "a", sno.JobID)
	upd.Status = cns.StatusArchived
	upd.Trust = 0.75
	if err := s.PutSNO(ctx, upd); err != nil {
		t.Fatalf("PutSNO: %v", err)
	}
	want := fullSNOWithJob("p1", "a", sno.JobID)
	want.Status = cns.StatusArchived
	want.Trust = 0.75
	wantEqual(t, "sno after PutSNO", want, mustGetSNO(t, s, "p1", "a"))
}

// listAllSNOs pages through f with the given page size, using the last item as the cursor.
func listAllSNOs(t *testing.T, s cns.Store, f cns.SNOFilter, limit, max int) []*cns.SNO {
	t.Helper()
	f.Limit, f.After = limit, nil
	var all []*cns.SNO
	for {
		page, err := s.ListSNOs(t.Context(), f)
		if err != nil {
			t.Fatalf("ListSNOs(%+v): %v", f, err)
		}
		if len(page) > limit {
			t.Fatalf("ListSNOs with Limit %d returned %d snos", limit, len(page))
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		if len(all) > max {
			t.Fatalf("ListSNOs pagination with Limit %d returned more than %d snos: %v", limit, max, snoIDs(all))
		}
		last := page[len(page)-1]
		f.After = &cns.SNOCursor{Trust: last.Trust, ID: last.ID}
	}
}

// expectSNOs applies f to the fixtures the way the port describes and sorts by trust desc, id asc.
func expectSNOs(all []*cns.SNO, f cns.SNOFilter) []string {
	var out []*cns.SNO
	for _, s := range all {
		if s.Project != f.Project || s.Trust < f.MinTrust || (f.MaxTrust != 0 && s.Trust > f.MaxTrust) {
			continue
		}
		if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, s.Status) {
			continue
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Trust != out[j].Trust {
			return out[i].Trust > out[j].Trust
		}
		return out[i].ID < out[j].ID
	})
	return snoIDs(out)
}

func testListSNOs(t *testing.T, s cns.Store) {
	statuses := []cns.Status{cns.StatusActive, cns.StatusReview, cns.StatusArchived, cns.StatusRejected}
	trusts := []float64{0, 0.1, 0.25, 0.75, 0.9, 1, 0.5 + 1e-12, 0.5 - 1e-12}
	var all []*cns.SNO
	for i := range 48 {
		// Ids are inserted out of order; 20 SNOs share trust 0.5 so pages break inside a tie.
		id := fmt.Sprintf("s%02d", (i*29)%48)
		trust := 0.5
		if i >= 20 {
			trust = trusts[i%len(trusts)]
		}
		sno := newSNO("p1", id, trust, statuses[i%len(statuses)])
		addSNO(t, s, sno)
		all = append(all, sno)
	}
	for i := range 4 {
		sno := newSNO("p2", fmt.Sprintf("s%02d", i), 0.5, cns.StatusActive)
		addSNO(t, s, sno)
		all = append(all, sno)
	}

	filters := []struct {
		name string
		f    cns.SNOFilter
	}{
		{"all", cns.SNOFilter{Project: "p1"}},
		{"active", cns.SNOFilter{Project: "p1", Statuses: []cns.Status{cns.StatusActive}}},
		{"review or rejected", cns.SNOFilter{Project: "p1", Statuses: []cns.Status{cns.StatusReview, cns.StatusRejected}}},
		{"min 0.5 inclusive", cns.SNOFilter{Project: "p1", MinTrust: 0.5}},
		{"max 0.5 inclusive", cns.SNOFilter{Project: "p1", MaxTrust: 0.5}},
		{"exactly 0.5", cns.SNOFilter{Project: "p1", MinTrust: 0.5, MaxTrust: 0.5}},
		{"range", cns.SNOFilter{Project: "p1", MinTrust: 0.1, MaxTrust: 0.9}},
		{"range and status", cns.SNOFilter{Project: "p1", MinTrust: 0.25, MaxTrust: 1, Statuses: []cns.Status{cns.StatusArchived, cns.StatusActive}}},
		{"max 1", cns.SNOFilter{Project: "p1", MaxTrust: 1}},
		{"empty range", cns.SNOFilter{Project: "p1", MinTrust: 0.3, MaxTrust: 0.4}},
		{"other project", cns.SNOFilter{Project: "p2"}},
		{"empty project", cns.SNOFilter{Project: "nobody"}},
	}
	for _, tc := range filters {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := expectSNOs(all, tc.f)
			for _, limit := range []int{1, 3, 7, 100} {
				got := listAllSNOs(t, s, tc.f, limit, len(want)+1)
				if ids := snoIDs(got); !slices.Equal(ids, want) {
					t.Fatalf("Limit %d: ListSNOs = %v\nwant (trust desc, id asc) %v", limit, ids, want)
				}
				for _, sno := range got {
					if sno.Project != tc.f.Project {
						t.Fatalf("sno %s of project %q listed for %q", sno.ID, sno.Project, tc.f.Project)
					}
				}
			}
		})
	}
}

func testListSNOsTrustChange(t *testing.T, s cns.Store) {
	ctx := t.Context()
	var all []*cns.SNO
	for i, trust := range []float64{0.1, 0.2, 0.3, 0.4, 0.5} {
		sno := newSNO("p1", fmt.Sprintf("s%d", i+1), trust, cns.StatusActive)
		addSNO(t, s, sno)
		all = append(all, sno)
	}
	list := func(f cns.SNOFilter) []string {
		t.Helper()
		f.Project, f.Limit = "p1", 100
		got, err := s.ListSNOs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return snoIDs(got)
	}
	if got, want := list(cns.SNOFilter{}), []string{"s5", "s4", "s3", "s2", "s1"}; !slices.Equal(got, want) {
		t.Fatalf("ListSNOs = %v, want %v", got, want)
	}
	all[0].Trust = 0.9 // s1 to the top
	all[3].Trust = 0.3 // s4 ties with s3 and sorts after it by id
	all[4].Status = cns.StatusArchived
	for _, i := range []int{0, 3, 4} {
		if err := s.PutSNO(ctx, all[i]); err != nil {
			t.Fatalf("PutSNO: %v", err)
		}
	}
	if got, want := list(cns.SNOFilter{}), []string{"s1", "s5", "s3", "s4", "s2"}; !slices.Equal(got, want) {
		t.Fatalf("ListSNOs after trust changes = %v, want %v", got, want)
	}
	if got, want := list(cns.SNOFilter{MinTrust: 0.35}), []string{"s1", "s5"}; !slices.Equal(got, want) {
		t.Fatalf("ListSNOs MinTrust 0.35 after trust changes = %v, want %v", got, want)
	}
	if got, want := list(cns.SNOFilter{Statuses: []cns.Status{cns.StatusActive}}), []string{"s1", "s3", "s4", "s2"}; !slices.Equal(got, want) {
		t.Fatalf("ListSNOs active after a status change = %v, want %v", got, want)
	}
}

func testScanSNOs(t *testing.T, s cns.Store) {
	ctx := t.Context()
	want := map[string]bool{}
	for i := range 7 {
		for _, p := range []string{"p1", "p2"} {
			if p == "p2" && i >= 3 {
				continue
			}
			sno := newSNO(p, fmt.Sprintf("s%d", i), float64(i)/10, cns.StatusActive)
			addSNO(t, s, sno)
			want[key(p, sno.ID)] = true
		}
	}
	seen := map[string]int{}
	err := s.ScanSNOs(ctx, func(sno *cns.SNO) error {
		seen[key(sno.Project, sno.ID)]++
		return nil
	})
	if err != nil {
		t.Fatalf("ScanSNOs: %v", err)
	}
	for k, n := range seen {
		if n != 1 || !want[k] {
			t.Fatalf("ScanSNOs visited %s %d times (expected: %v)", k, n, want[k])
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("ScanSNOs visited %d snos, want %d", len(seen), len(want))
	}

	stop := errors.New("stop")
	calls := 0
	err = s.ScanSNOs(ctx, func(*cns.SNO) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("ScanSNOs with a failing fn: err=%v after %d calls; want fn's error after 1 call", err, calls)
	}
}

func testStats(t *testing.T, s cns.Store) {
	ctx := t.Context()
	for i, x := range []struct {
		status cns.Status
		trust  float64
	}{
		{cns.StatusActive, 0.5}, {cns.StatusActive, 0.25}, {cns.StatusActive, 0.125},
		{cns.StatusReview, 0.9}, {cns.StatusReview, 0.9},
		{cns.StatusArchived, 0.3}, {cns.StatusRejected, 0.05},
	} {
		addSNO(t, s, newSNO("p1", fmt.Sprintf("s%d", i), x.trust, x.status)) // each adds a succeeded job
	}
	for i, st := range []cns.JobState{cns.JobQueued, cns.JobQueued, cns.JobRunning, cns.JobFailed} {
		mustCreate(t, s, newJob("p1", fmt.Sprintf("j%d", i), st, at(i)))
	}
	addSNO(t, s, newSNO("p2", "s0", 0.7, cns.StatusActive))
	mustCreate(t, s, newJob("p2", "j0", cns.JobQueued, at(1)))

	check := func(project string, snos map[cns.Status]int, jobs map[cns.JobState]int, sum float64) {
		t.Helper()
		st, err := s.Stats(ctx, project)
		if err != nil {
			t.Fatalf("Stats(%s): %v", project, err)
		}
		for _, x := range []cns.Status{cns.StatusUnspecified, cns.StatusActive, cns.StatusReview, cns.StatusArchived, cns.StatusRejected} {
			if st.SNOsByStatus[x] != snos[x] {
				t.Fatalf("Stats(%s).SNOsByStatus = %v, want %v", project, st.SNOsByStatus, snos)
			}
		}
		for _, x := range []cns.JobState{cns.JobStateUnspecified, cns.JobQueued, cns.JobRunning, cns.JobSucceeded, cns.JobFailed} {
			if st.JobsByState[x] != jobs[x] {
				t.Fatalf("Stats(%s).JobsByState = %v, want %v", project, st.JobsByState, jobs)
			}
		}
		if math.Abs(st.ActiveTrustSum-sum) > 1e-9 {
			t.Fatalf("Stats(%s).ActiveTrustSum = %v, want %v", project, st.ActiveTrustSum, sum)
		}
	}
	check("p1",
		map[cns.Status]int{cns.StatusActive: 3, cns.StatusReview: 2, cns.StatusArchived: 1, cns.StatusRejected: 1},
		map[cns.JobState]int{cns.JobQueued: 2, cns.JobRunning: 1, cns.JobSucceeded: 7, cns.JobFailed: 1},
		0.875)
	check("p2", map[cns.Status]int{cns.StatusActive: 1}, map[cns.JobState]int{cns.JobQueued: 1, cns.JobSucceeded: 1}, 0.7)
	check("nobody", nil, nil, 0)

	// A review SNO admitted with new trust, and a job that ends, move the counts.
	sno := mustGetSNO(t, s, "p1", "s3")
	sno.Status, sno.Trust = cns.StatusActive, 0.8
	if err := s.PutSNO(ctx, sno); err != nil {
		t.Fatal(err)
	}
	j := mustGetJob(t, s, "p1", "j2")
	j.State = cns.JobFailed
	if err := s.UpdateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	check("p1",
		map[cns.Status]int{cns.StatusActive: 4, cns.StatusReview: 1, cns.StatusArchived: 1, cns.StatusRejected: 1},
		map[cns.JobState]int{cns.JobQueued: 2, cns.JobSucceeded: 7, cns.JobFailed: 2},
		1.675)
}

func testProjectIsolation(t *testing.T, s cns.Store) {
	ctx := t.Context()
	// The same ids and keys in two projects, with different contents.
	for i, p := range []string{"p1", "p2"} {
		j := newJob(p, "x", cns.JobQueued, at(i))
		j.IdempotencyKey = "k"
		j.Document.Text = "text of " + p
		mustCreate(t, s, j)
		sno := newSNO(p, "x", 0.1*float64(i+1), cns.StatusActive)
		sno.Hypothesis = "hypothesis of " + p
		addSNO(t, s, sno)
	}
	for i, p := range []string{"p1", "p2"} {
		if got := mustGetJob(t, s, p, "x").Document.Text; got != "text of "+p {
			t.Fatalf("GetJob(%s, x) returned the text %q", p, got)
		}
		if got := mustGetSNO(t, s, p, "x").Hypothesis; got != "hypothesis of "+p {
			t.Fatalf("GetSNO(%s, x) returned the hypothesis %q", p, got)
		}
		jobs, err := s.ListJobs(ctx, cns.JobFilter{Project: p, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		snos, err := s.ListSNOs(ctx, cns.SNOFilter{Project: p, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 2 || len(snos) != 1 {
			t.Fatalf("project %s lists %d jobs and %d snos, want 2 and 1", p, len(jobs), len(snos))
		}
		for _, j := range jobs {
			if j.Project != p {
				t.Fatalf("ListJobs(%s) returned a job of %s", p, j.Project)
			}
		}
		st, err := s.Stats(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if st.SNOsByStatus[cns.StatusActive] != 1 || math.Abs(st.ActiveTrustSum-0.1*float64(i+1)) > 1e-9 {
			t.Fatalf("Stats(%s) = %+v", p, st)
		}
	}
	// Changing one project's SNO leaves the other's alone.
	sno := mustGetSNO(t, s, "p2", "x")
	sno.Status = cns.StatusArchived
	if err := s.PutSNO(ctx, sno); err != nil {
		t.Fatal(err)
	}
	if got := mustGetSNO(t, s, "p1", "x").Status; got != cns.StatusActive {
		t.Fatalf("p1's sno became %s after a change in p2", got)
	}
}

func testRoundTripJob(t *testing.T, s cns.Store) {
	ctx := t.Context()
	for _, mk := range []func(string, string) *cns.Job{fullDocumentJob, fullNarrativeJob} {
		want := mk("p1", "j")
		want.ID = want.Kind.String()
		want.IdempotencyKey = "idem-" + want.ID
		mustCreate(t, s, want)
		wantEqual(t, "GetJob "+want.ID, want, mustGetJob(t, s, "p1", want.ID))

		want.Attempts++
		want.UpdatedAt = want.UpdatedAt.Add(3)
		if err := s.UpdateJob(ctx, want); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "GetJob after update "+want.ID, want, mustGetJob(t, s, "p1", want.ID))

		jobs, err := s.ListJobs(ctx, cns.JobFilter{Project: "p1", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(jobs, func(j *cns.Job) bool { return j.ID == want.ID })
		if i < 0 {
			t.Fatalf("ListJobs does not list %s", want.ID)
		}
		wantEqual(t, "ListJobs "+want.ID, want, jobs[i])

		unfinished, err := s.UnfinishedJobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i = slices.IndexFunc(unfinished, func(j *cns.Job) bool { return j.ID == want.ID })
		if i < 0 {
			t.Fatalf("UnfinishedJobs does not list %s", want.ID)
		}
		wantEqual(t, "UnfinishedJobs "+want.ID, want, unfinished[i])
	}
}

func testRoundTripSNO(t *testing.T, s cns.Store) {
	ctx := t.Context()
	want := fullSNO("p1", "full")
	addSNO(t, s, want)
	wantEqual(t, "GetSNO", want, mustGetSNO(t, s, "p1", "full"))

	list, err := s.ListSNOs(ctx, cns.SNOFilter{Project: "p1", Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListSNOs = %d snos, %v", len(list), err)
	}
	wantEqual(t, "ListSNOs", want, list[0])

	var scanned []*cns.SNO
	if err := s.ScanSNOs(ctx, func(sno *cns.SNO) error { scanned = append(scanned, sno); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(scanned) != 1 {
		t.Fatalf("ScanSNOs visited %d snos, want 1", len(scanned))
	}
	wantEqual(t, "ScanSNOs", want, scanned[0])

	// Empty collections come back empty (nil or not), not invented.
	bare := &cns.SNO{ID: "bare", Project: "p1", Status: cns.StatusRejected}
	addSNO(t, s, bare)
	wantEqual(t, "bare sno", bare, mustGetSNO(t, s, "p1", "bare"))
}

func testContextCancelled(t *testing.T, s cns.Store) {
	// Something to find, so a store cannot pass by failing for lack of data.
	job := newJob("p1", "j", cns.JobRunning, at(1))
	mustCreate(t, s, job)
	sno := newSNO("p1", "s", 0.5, cns.StatusActive)
	addSNO(t, s, sno)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	fresh := newJob("p1", "fresh", cns.JobQueued, at(2))
	done := newJob("p1", "j", cns.JobSucceeded, at(1))
	done.SNOID = "s2"
	calls := map[string]func() error{
		"CreateJob":      func() error { _, _, err := s.CreateJob(ctx, fresh); return err },
		"GetJob":         func() error { _, err := s.GetJob(ctx, "p1", "j"); return err },
		"UpdateJob":      func() error { return s.UpdateJob(ctx, job) },
		"CompleteJob":    func() error { return s.CompleteJob(ctx, done, newSNO("p1", "s2", 0.5, cns.StatusActive)) },
		"ListJobs":       func() error { _, err := s.ListJobs(ctx, cns.JobFilter{Project: "p1", Limit: 10}); return err },
		"UnfinishedJobs": func() error { _, err := s.UnfinishedJobs(ctx); return err },
		"GetSNO":         func() error { _, err := s.GetSNO(ctx, "p1", "s"); return err },
		"PutSNO":         func() error { return s.PutSNO(ctx, sno) },
		"ListSNOs":       func() error { _, err := s.ListSNOs(ctx, cns.SNOFilter{Project: "p1", Limit: 10}); return err },
		"ScanSNOs": func() error {
			return s.ScanSNOs(ctx, func(*cns.SNO) error { t.Error("ScanSNOs called fn with a cancelled context"); return nil })
		},
		"Stats": func() error { _, err := s.Stats(ctx, "p1"); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s with a cancelled context returned no error", name)
		}
	}
	_, err := s.GetJob(t.Context(), "p1", "fresh")
	wantCode(t, "GetJob of a job created with a cancelled context", err, cns.ENOTFOUND)
	_, err = s.GetSNO(t.Context(), "p1", "s2")
	wantCode(t, "GetSNO of an sno completed with a cancelled context", err, cns.ENOTFOUND)
}

func testClose(t *testing.T, s cns.Store) {
	mustCreate(t, s, newJob("p1", "j", cns.JobQueued, at(1)))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Using a closed store is a caller bug, but it must fail cleanly, not panic or pretend.
	if _, err := s.GetJob(t.Context(), "p1", "j"); err == nil {
		t.Fatal("GetJob after Close returned no error")
	}
}
