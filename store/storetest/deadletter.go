package storetest

import (
	"testing"

	"github.com/cns-dev/cns"
)

func newDeadLetter(project, id, jobID string, i int) *cns.DeadLetter {
	return &cns.DeadLetter{ID: id, Project: project, JobID: jobID, Topic: "cns.commands.jobs", Payload: []byte{1, 2, byte(i)},
		Reason: "boom", Deliveries: 5, CreatedAt: at(i)}
}

func testDeadLetters(t *testing.T, s cns.Store) {
	ctx := t.Context()
	j := mustCreate(t, s, newJob("p1", "j1", cns.JobRunning, at(1)))
	j.State, j.Error, j.Attempts = cns.JobFailed, "boom", 5
	if err := s.AddDeadLetter(ctx, newDeadLetter("p1", "d1", "j1", 2), j); err != nil {
		t.Fatal(err)
	}
	// The job was stored failed in the same call.
	if got := mustGetJob(t, s, "p1", "j1"); got.State != cns.JobFailed || got.Attempts != 5 {
		t.Fatalf("job after AddDeadLetter: %+v", got)
	}
	if err := s.AddDeadLetter(ctx, newDeadLetter("p1", "d2", "", 3), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDeadLetter(ctx, newDeadLetter("p2", "d3", "", 4), nil); err != nil {
		t.Fatal(err)
	}
	// A dead letter whose job does not exist is refused, and nothing is written.
	ghost := newJob("p1", "ghost", cns.JobFailed, at(5))
	wantCode(t, "dead letter of a missing job", s.AddDeadLetter(ctx, newDeadLetter("p1", "d4", "ghost", 5), ghost), cns.ENOTFOUND)

	list, err := s.ListDeadLetters(ctx, "p1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "d2" || list[1].ID != "d1" {
		t.Fatalf("ListDeadLetters newest first: %+v", list)
	}
	wantEqual(t, "dead letter", newDeadLetter("p1", "d1", "j1", 2), list[1])
	if one, _ := s.ListDeadLetters(ctx, "p1", 1); len(one) != 1 || one[0].ID != "d2" {
		t.Fatalf("limit 1: %+v", one)
	}

	// Take by id removes only those; another project's ids are not reachable.
	got, err := s.TakeDeadLetters(ctx, "p1", []string{"d1", "d3", "nope"})
	if err != nil || len(got) != 1 || got[0].ID != "d1" {
		t.Fatalf("TakeDeadLetters: %+v %v", got, err)
	}
	if rest, _ := s.ListDeadLetters(ctx, "p1", 0); len(rest) != 1 || rest[0].ID != "d2" {
		t.Fatalf("after take: %+v", rest)
	}
	// Take all.
	got, err = s.TakeDeadLetters(ctx, "p1", nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("take all: %+v %v", got, err)
	}
	if rest, _ := s.ListDeadLetters(ctx, "p1", 0); len(rest) != 0 {
		t.Fatalf("after take all: %+v", rest)
	}
	if p2, _ := s.ListDeadLetters(ctx, "p2", 0); len(p2) != 1 {
		t.Fatalf("p2 lost its dead letter: %+v", p2)
	}
}
