package cns

import "time"

// JobKind says what a job does.
type JobKind int

// Job kinds.
const (
	JobKindUnspecified JobKind = iota
	JobIngestDocument          // raw document → SNO
	JobSubmitNarrative         // ready structured narrative → SNO
	JobSynthesizePair          // chiral pair → synthesized SNO
)

func (k JobKind) String() string {
	switch k {
	case JobIngestDocument:
		return "ingest_document"
	case JobSubmitNarrative:
		return "submit_narrative"
	case JobSynthesizePair:
		return "synthesize_pair"
	}
	return "unspecified"
}

// JobState is where a job is in its life. Succeeded and Failed are terminal.
type JobState int

// Job states, numbered as in the API's enum.
const (
	JobStateUnspecified JobState = iota
	JobQueued
	JobRunning
	JobSucceeded
	JobFailed
)

func (s JobState) String() string {
	switch s {
	case JobQueued:
		return "queued"
	case JobRunning:
		return "running"
	case JobSucceeded:
		return "succeeded"
	case JobFailed:
		return "failed"
	}
	return "unspecified"
}

// Terminal reports whether the job has ended.
func (s JobState) Terminal() bool { return s == JobSucceeded || s == JobFailed }

// DocumentInput is a raw document to ingest.
type DocumentInput struct {
	Source   string
	Text     string
	Metadata map[string]string
}

// NarrativeInput is a ready SNO submitted by a client that extracts with its own tools. Claim ids are the
// client's; the root claim is the hypothesis, id RootClaimID, and need not be listed.
type NarrativeInput struct {
	Hypothesis string
	Claims     []Claim
	Edges      []Edge
	Evidence   []Evidence // ID may be empty: it is derived canonically from SourceID/Content
	Metadata   map[string]string
}

// Job is an accepted unit of asynchronous work. Its input is stored with it, so a job survives a crash of
// the process that accepted it and can be re-published at the next start.
type Job struct {
	ID             string
	Project        string
	Kind           JobKind
	State          JobState
	SNOID          string
	Error          string // caller-safe failure reason for JobFailed
	ErrorCode      string
	Attempts       int
	IdempotencyKey string
	Document       *DocumentInput
	Narrative      *NarrativeInput
	Synthesis      *SynthesisInput
	CreatedAt      time.Time
	UpdatedAt      time.Time
	StartedAt      time.Time
	FinishedAt     time.Time
}

// DeadLetter is a command that was given up on after worker.max_attempts deliveries. Its job is marked
// failed; redriving puts the job back in the queue with its attempts reset.
type DeadLetter struct {
	ID         string
	Project    string
	JobID      string
	Topic      string // the topic the command came from
	Payload    []byte // the command as published, to re-publish unchanged
	Reason     string // caller-safe reason: the last error
	Deliveries int
	CreatedAt  time.Time
}
