package storetest

import (
	"testing"

	"github.com/cns-dev/cns"
)

func testPurgeJobs(t *testing.T, s cns.Store) {
	ctx := t.Context()
	type tc struct {
		project, id string
		state       cns.JobState
		at          int
		purged      bool
	}
	jobs := []tc{
		{"p1", "old-ok", cns.JobSucceeded, 1, true},
		{"p1", "old-failed", cns.JobFailed, 2, true},
		{"p1", "old-queued", cns.JobQueued, 3, false},
		{"p1", "old-running", cns.JobRunning, 4, false},
		{"p1", "new-ok", cns.JobSucceeded, 10, false},
		{"p2", "p2-old-ok", cns.JobSucceeded, 2, true},
		{"p2", "p2-new-ok", cns.JobSucceeded, 11, false},
	}
	for _, j := range jobs {
		job := newJob(j.project, j.id, j.state, at(j.at))
		if j.id == "old-ok" {
			job.IdempotencyKey = "k-old"
		}
		mustCreate(t, s, job)
	}
	sno := newSNO("p1", "s1", 0.5, cns.StatusActive)
	sno.CreatedAt = at(30) // its job is created then: after every cutoff below
	addSNO(t, s, sno)
	n, err := s.PurgeJobs(ctx, at(5), 0)
	if err != nil || n != 3 {
		t.Fatalf("PurgeJobs = %d, %v; want 3", n, err)
	}
	for _, j := range jobs {
		_, err := s.GetJob(ctx, j.project, j.id)
		if j.purged {
			wantCode(t, "purged job "+j.id, err, cns.ENOTFOUND)
		} else if err != nil {
			t.Errorf("job %s: %v", j.id, err)
		}
	}
	if got := jobIDs(listAllJobs(t, s, cns.JobFilter{Project: "p1"}, 2, 100)); len(got) != 4 {
		t.Errorf("ListJobs after purge: %v", got)
	}
	st, err := s.Stats(ctx, "p1")
	if err != nil || st.JobsByState[cns.JobSucceeded] != 2 || st.JobsByState[cns.JobFailed] != 0 || st.JobsByState[cns.JobQueued] != 1 {
		t.Errorf("Stats after purge: %+v %v", st, err)
	}
	if _, err := s.GetSNO(ctx, "p1", "s1"); err != nil {
		t.Errorf("purge touched an SNO: %v", err)
	}
	// Nothing more to purge; a limit bounds one call.
	if n, err := s.PurgeJobs(ctx, at(5), 0); err != nil || n != 0 {
		t.Errorf("second purge = %d, %v", n, err)
	}
	if n, err := s.PurgeJobs(ctx, at(20), 1); err != nil || n != 1 {
		t.Errorf("limited purge = %d, %v", n, err)
	}
}
