package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/cns-dev/cns"
)

// base has nanoseconds and a non-UTC zone so that a store truncating to microseconds or comparing
// times with == instead of Equal is caught.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+5:30", 5*3600+1800))

// at returns distinct, increasing times with distinct nanosecond parts.
func at(i int) time.Time { return base.Add(time.Duration(i)*time.Second + time.Duration(i)) }

// newJob returns a minimal document job.
func newJob(project, id string, state cns.JobState, created time.Time) *cns.Job {
	return &cns.Job{
		ID:        id,
		Project:   project,
		Kind:      cns.JobIngestDocument,
		State:     state,
		Document:  &cns.DocumentInput{Source: "src-" + id, Text: "text of " + id},
		CreatedAt: created,
		UpdatedAt: created,
	}
}

// newSNO returns a minimal SNO.
func newSNO(project, id string, trust float64, status cns.Status) *cns.SNO {
	h := "hypothesis " + id
	return &cns.SNO{
		ID:            id,
		Project:       project,
		Hypothesis:    h,
		Embedding:     []float32{0.6, 0.8},
		Graph:         cns.NewGraph(h),
		Trust:         trust,
		Status:        status,
		SchemaVersion: cns.SchemaVersion,
		JobID:         "job-" + id,
		CreatedAt:     base,
		UpdatedAt:     base,
	}
}

// fullDocumentJob sets every field of a document job.
func fullDocumentJob(project, id string) *cns.Job {
	return &cns.Job{
		ID:             id,
		Project:        project,
		Kind:           cns.JobIngestDocument,
		State:          cns.JobRunning,
		Error:          "previous attempt: embedder unavailable",
		ErrorCode:      cns.EUNAVAILABLE,
		Attempts:       3,
		IdempotencyKey: "idem-" + id,
		Document: &cns.DocumentInput{
			Source:   "https://example.org/paper?id=7",
			Text:     "Ünïcode text ✓ with \"quotes\", a tab\tand\nnewlines.",
			Metadata: map[string]string{"author": "Ada", "empty": ""},
		},
		CreatedAt:  base,
		UpdatedAt:  base.Add(1),
		StartedAt:  base.Add(999 * time.Nanosecond).UTC(),
		FinishedAt: base.Add(time.Hour + 7),
	}
}

// fullNarrativeJob sets every field of a narrative job.
func fullNarrativeJob(project, id string) *cns.Job {
	return &cns.Job{
		ID:             id,
		Project:        project,
		Kind:           cns.JobSubmitNarrative,
		State:          cns.JobQueued,
		Error:          "e",
		ErrorCode:      cns.EINTERNAL,
		Attempts:       1,
		IdempotencyKey: "idem-" + id,
		Narrative: &cns.NarrativeInput{
			Hypothesis: "Coffee improves focus",
			Claims:     []cns.Claim{{ID: "c1", Text: "caffeine blocks adenosine"}, {ID: "c2", Text: "adenosine causes drowsiness"}},
			Edges: []cns.Edge{
				{From: "c1", To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: 0.8},
				{From: "c2", To: "c1", Relation: cns.RelationExplains, Strength: 1.0 / 3},
			},
			Evidence: []cns.Evidence{
				{SourceID: "doi:10.1000/XYZ", Content: "a study", Confidence: 0.9, SupportsClaimIDs: []string{"c1", cns.RootClaimID}},
				{ID: "src:notes", SourceID: "notes", Content: "", Confidence: 1},
			},
			Metadata: map[string]string{"client": "cli/1.2"},
		},
		CreatedAt: base.Add(-time.Minute),
		UpdatedAt: base,
		StartedAt: base.Add(2),
	}
}

// fullSNO sets every field of an SNO, with values chosen to catch lossy encodings: float32 extremes, a
// float64 that is not a short decimal, nanosecond times in two zones, empty map values.
func fullSNO(project, id string) *cns.SNO {
	h := "Hypothesis ünïcode ✓ " + id
	return &cns.SNO{
		ID:         id,
		Project:    project,
		Hypothesis: h,
		Embedding:  []float32{0.1, -0.2, 1e-38, 3.4028235e38, 0.70710677, -1},
		Graph: cns.Graph{
			Claims: []cns.Claim{{ID: cns.RootClaimID, Text: h}, {ID: "c1", Text: "claim one"}, {ID: "c2", Text: "claim two"}},
			Edges: []cns.Edge{
				{From: "c1", To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: 0.8},
				{From: "c2", To: "c1", Relation: cns.RelationContradicts, Strength: 1.0 / 3},
				{From: "c2", To: cns.RootClaimID, Relation: cns.RelationGeneralizes, Strength: 0},
			},
		},
		Evidence: []cns.Evidence{
			{ID: "doi:10.1000/xyz", SourceID: "https://doi.org/10.1000/XYZ", Content: "content", Confidence: 0.9, SupportsClaimIDs: []string{"c1", cns.RootClaimID}},
			{ID: "sha256:00ff", Content: "only content", Confidence: 1},
		},
		Trust: 0.1 + 0.2,
		Critics: []cns.CriticScore{
			{Name: "grounding", Score: 0.7, Confidence: 0.9, Weight: 0.4, Explanation: "2 of 3 claims grounded", SubScores: map[string]float64{"coverage": 0.5, "support": 2.0 / 3}},
			{Name: "logic", Score: 1, Confidence: 0.5, Weight: 0.35, Explanation: "acyclic", SubScores: map[string]float64{"cycles": 0}},
			{Name: "novelty", Score: 0, Confidence: 1e-9, Weight: 0.25},
		},
		Status: cns.StatusReview,
		Lineage: cns.Lineage{
			Parents:      []string{"parent-a", "parent-b"},
			Strategy:     "dialectical",
			Generator:    "synthesis/builtin@1",
			Chirality:    0.42,
			Entanglement: 1e-9,
		},
		Source:        "unit-test",
		Metadata:      map[string]string{"k": "v", "empty": ""},
		SchemaVersion: cns.SchemaVersion,
		JobID:         "job-" + id,
		CreatedAt:     base,
		UpdatedAt:     base.Add(1500 * time.Nanosecond).UTC(),
	}
}

// addSNO stores sno the only way the port allows creating one: by completing a job that produced it.
// The job (id "job-"+sno.ID) ends up succeeded.
func addSNO(t *testing.T, s cns.Store, sno *cns.SNO) {
	t.Helper()
	job := newJob(sno.Project, "job-"+sno.ID, cns.JobRunning, sno.CreatedAt)
	if _, _, err := s.CreateJob(t.Context(), job); err != nil {
		t.Fatalf("CreateJob(%s/%s): %v", job.Project, job.ID, err)
	}
	job.State = cns.JobSucceeded
	job.SNOID = sno.ID
	sno.JobID = job.ID
	if err := s.CompleteJob(t.Context(), job, sno); err != nil {
		t.Fatalf("CompleteJob(%s/%s): %v", sno.Project, sno.ID, err)
	}
}

func mustCreate(t *testing.T, s cns.Store, j *cns.Job) *cns.Job {
	t.Helper()
	stored, created, err := s.CreateJob(t.Context(), j)
	if err != nil {
		t.Fatalf("CreateJob(%s/%s): %v", j.Project, j.ID, err)
	}
	if !created {
		t.Fatalf("CreateJob(%s/%s): created=false for a new job", j.Project, j.ID)
	}
	return stored
}

func mustGetJob(t *testing.T, s cns.Store, project, id string) *cns.Job {
	t.Helper()
	j, err := s.GetJob(t.Context(), project, id)
	if err != nil {
		t.Fatalf("GetJob(%s/%s): %v", project, id, err)
	}
	return j
}

func mustGetSNO(t *testing.T, s cns.Store, project, id string) *cns.SNO {
	t.Helper()
	sno, err := s.GetSNO(t.Context(), project, id)
	if err != nil {
		t.Fatalf("GetSNO(%s/%s): %v", project, id, err)
	}
	return sno
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := cns.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v has code %q, want %q", what, err, got, code)
	}
}

func wantEqual(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Fatalf("%s differs:%s", what, d)
	}
}

func jobIDs(js []*cns.Job) []string {
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = j.ID
	}
	return ids
}

func snoIDs(ss []*cns.SNO) []string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}

func key(project, id string) string { return fmt.Sprintf("%s/%s", project, id) }
