// Package ports declares what the dashboard needs from the rest of CNS, as small interfaces and plain
// structs the composition root adapts to: the store's read side, the engine's synchronous calls, the
// dispatcher's actions, queue depth, the process registry, the effective configuration and chiral pairs.
// The page packages depend on these, never on a concrete store, bus or server type, so `cns dev` and the
// distributed mode feed the same pages.
package ports

import (
	"context"
	"time"

	"github.com/cns-dev/cns"
)

// Store is the read side of cns.Store that the pages use.
type Store interface {
	ListSNOs(ctx context.Context, f cns.SNOFilter) ([]*cns.SNO, error)
	GetSNO(ctx context.Context, project, id string) (*cns.SNO, error)
	ListJobs(ctx context.Context, f cns.JobFilter) ([]*cns.Job, error)
	GetJob(ctx context.Context, project, id string) (*cns.Job, error)
	Stats(ctx context.Context, project string) (cns.Stats, error)
	ListDeadLetters(ctx context.Context, project string, limit int) ([]*cns.DeadLetter, error)
}

// Engine is the engine's synchronous side: (what-if) evaluation and archiving.
type Engine interface {
	Evaluate(ctx context.Context, project, id, preset string) (*cns.SNO, bool, error)
	Archive(ctx context.Context, project, id string) (*cns.SNO, error)
}

// Hit is one semantic search result: Score is the cosine similarity of the hypothesis to the query.
type Hit struct {
	SNO   *cns.SNO
	Score float64
}

// SearchFunc returns the k ACTIVE SNOs of a project closest in meaning to the query, best first.
type SearchFunc func(ctx context.Context, project, query string, k int) ([]Hit, error)

// Dispatcher puts work on the queues: new jobs, redriven dead letters; and purges dead letters.
type Dispatcher interface {
	Accept(ctx context.Context, job *cns.Job) (string, error)
	Redrive(ctx context.Context, project string, ids []string) (int, error)
	Purge(ctx context.Context, project string, ids []string) (int, error)
}

// Queue is the depth of one command queue.
type Queue struct {
	Name          string
	Length        int64 // messages not yet acknowledged
	Pending       int64 // delivered to a worker, not yet acknowledged
	Lag           int64 // not yet delivered
	OldestPending time.Duration
}

// QueuesFunc reports a project's queues.
type QueuesFunc func(ctx context.Context, project string) ([]Queue, error)

// Process is one registered cns process.
type Process struct {
	Service, Instance, Version, Address string
	Concurrency                         int
	StartedAt, LastHeartbeat            time.Time
	Online                              bool
}

// ProcessesFunc lists the registered processes.
type ProcessesFunc func(ctx context.Context) ([]Process, error)

// ConfigEntry is one effective configuration value, already redacted by the configuration package.
type ConfigEntry struct {
	Key, Value, Source string
	Secret             bool
}

// SNORef names an SNO with what a list needs to show about it.
type SNORef struct {
	ID, Hypothesis string
	Trust          float64
}

// Pair is a chiral pair as the dashboard shows it.
type Pair struct {
	A, B           SNORef
	Chirality      float64
	Entanglement   float64
	Potential      float64
	SharedEvidence []string // canonical evidence ids
	SynthesisID    string   // the SNO synthesized from the pair, if any
}

// PairsFunc lists a project's chiral pairs by potential, best first (only those of snoID when it is not
// empty).
type PairsFunc func(ctx context.Context, project, snoID string, limit int) ([]Pair, error)
