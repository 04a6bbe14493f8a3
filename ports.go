package cns

import (
	"context"
	"time"
)

// Embedder turns text into a unit-length vector of fixed dimension. Implementations are deterministic and
// safe for concurrent use.
type Embedder interface {
	Embed(ctx context.Context, text string) ([]float32, error)
	Dim() int
	Name() string // backend and version, e.g. "hashed-ngram@1"; stored with indexes to detect a switch
}

// Entailment holds NLI probabilities; the three sum to 1.
type Entailment struct {
	Entail     float64
	Neutral    float64
	Contradict float64
}

// NLI judges whether a premise entails, is neutral to, or contradicts a hypothesis. Implementations are
// deterministic and safe for concurrent use.
type NLI interface {
	Classify(ctx context.Context, premise, hypothesis string) (Entailment, error)
	Name() string
}

// Hit is one vector-search result: Score is the inner product (cosine for unit vectors).
type Hit struct {
	ID    string
	Score float64
}

// SNOViewer is implemented by stores that keep decoded SNOs. ViewSNO is GetSNO without the copy: it
// hands out the store's own SNO, the same one for as long as its record is unchanged, and the caller
// must not modify it. An API that only encodes what it reads saves a deep copy per call, and may keep
// what it derives from an SNO (its encoded form) for as long as it is handed the same one.
type SNOViewer interface {
	ViewSNO(ctx context.Context, project, id string) (*SNO, error)
	// ViewSNOs is ListSNOs handing out the store's own SNOs, whole whatever f.Summary says.
	ViewSNOs(ctx context.Context, f SNOFilter) ([]*SNO, error)
}

// VectorIndex is a nearest-neighbour index over unit vectors. Safe for concurrent readers and writers.
type VectorIndex interface {
	Add(id string, v []float32) error // replaces any vector already stored under id
	Remove(id string)
	Search(q []float32, k int) ([]Hit, error) // best first
	Len() int
	Dim() int
}

// SNOFilter selects SNOs of one project for listing, ordered by trust (descending) then id.
type SNOFilter struct {
	Project  string
	Statuses []Status // empty = any
	MinTrust float64
	MaxTrust float64 // 0 means no upper bound
	Limit    int
	After    *SNOCursor // start after this position
	// Summary asks for what a listing shows only: a store may leave Embedding, Graph and Evidence empty
	// (SNO.Summary) to spare copying them.
	Summary bool
}

// SNOCursor is a position in the trust ordering.
type SNOCursor struct {
	Trust float64
	ID    string
}

// JobFilter selects jobs of one project, newest first.
type JobFilter struct {
	Project string
	States  []JobState // empty = any
	Limit   int
	After   *JobCursor
}

// JobCursor is a position in the newest-first job ordering.
type JobCursor struct {
	CreatedAt time.Time
	ID        string
}

// Stats summarises a project's population and jobs.
type Stats struct {
	SNOsByStatus   map[Status]int
	JobsByState    map[JobState]int
	ActiveTrustSum float64 // sum of trust over ACTIVE SNOs, for the average
}

// Store is the system of record for jobs and SNOs. Every write of one operation is atomic: a crash never
// leaves half an SNO or a succeeded job without its SNO. Entities of another project are ENOTFOUND.
type Store interface {
	// CreateJob stores a new queued job. When the job carries an idempotency key already used in its
	// project, nothing is written and the existing job is returned with created=false.
	CreateJob(ctx context.Context, job *Job) (stored *Job, created bool, err error)
	GetJob(ctx context.Context, project, id string) (*Job, error)
	// UpdateJob overwrites the job's record (state, attempts, error).
	UpdateJob(ctx context.Context, job *Job) error
	// CompleteJob atomically stores the SNO and the job, which the caller has marked succeeded.
	CompleteJob(ctx context.Context, job *Job, sno *SNO) error
	ListJobs(ctx context.Context, f JobFilter) ([]*Job, error)
	// UnfinishedJobs returns the queued and running jobs of every project, oldest first.
	UnfinishedJobs(ctx context.Context) ([]*Job, error)
	// PurgeJobs deletes up to limit succeeded or failed jobs of any project created before the cutoff
	// (job history retention) and returns how many it deleted. SNOs and unfinished jobs stay.
	PurgeJobs(ctx context.Context, before time.Time, limit int) (int, error)

	GetSNO(ctx context.Context, project, id string) (*SNO, error)
	// PutSNO overwrites an existing SNO (status change, re-evaluation).
	PutSNO(ctx context.Context, sno *SNO) error
	ListSNOs(ctx context.Context, f SNOFilter) ([]*SNO, error)
	// ScanSNOs calls fn for every SNO of every project (index rebuilds); fn's error stops the scan.
	ScanSNOs(ctx context.Context, fn func(*SNO) error) error
	Stats(ctx context.Context, project string) (Stats, error)

	// AddDeadLetter records a dead letter and, in the same transaction, stores its job (which the caller
	// has marked failed). job may be nil when the command names no stored job.
	AddDeadLetter(ctx context.Context, dl *DeadLetter, job *Job) error
	// ListDeadLetters returns a project's dead letters, newest first (limit <= 0: all).
	ListDeadLetters(ctx context.Context, project string, limit int) ([]*DeadLetter, error)
	// TakeDeadLetters removes and returns the named dead letters of a project (ids empty: all of them);
	// unknown ids are skipped. Used by redrive and purge.
	TakeDeadLetters(ctx context.Context, project string, ids []string) ([]*DeadLetter, error)

	Close() error
}

// JobRef names one job of a project.
type JobRef struct {
	Project string
	ID      string
}

// JobCompletion is one job, marked succeeded by the caller, and the SNO it produced: CompleteJob's
// arguments, for CompleteJobs.
type JobCompletion struct {
	Job *Job
	SNO *SNO
}

// BatchJobStore is implemented by stores that can do the per-command bookkeeping for many jobs in one go
// (one round trip or one transaction instead of one per job): the dispatcher coalesces the job creations
// of concurrent requests into these, and the worker the calls of its concurrent commands. Item i has exactly the semantics, errors and atomicity of the
// single-job method (CreateJob, GetJob, UpdateJob, CompleteJob) on the same arguments; a batch as a whole is not
// atomic: errs[i] is item i's error (nil when it was written), and items that succeeded stay written when
// another fails. The returned slices have the length of the input. Items of several projects may be
// mixed; the same job twice in one batch ends as two concurrent single calls would (one of them wins).
type BatchJobStore interface {
	// CreateJobs is CreateJob per item: stored[i] is the job as stored (or the one its idempotency key
	// names when created[i] is false). Of items with one idempotency key the first creates the job and the
	// others get it back.
	CreateJobs(ctx context.Context, jobs []*Job) (stored []*Job, created []bool, errs []error)
	GetJobs(ctx context.Context, refs []JobRef) (jobs []*Job, errs []error)
	UpdateJobs(ctx context.Context, jobs []*Job) (errs []error)
	CompleteJobs(ctx context.Context, items []JobCompletion) (errs []error)
}
