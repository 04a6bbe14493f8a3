package worker

import (
	"context"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/internal/coalesce"
)

// Each command costs the worker three store calls (GetJob, the attempt's UpdateJob, CompleteJob). With
// many commands in flight, one call per job is one round trip and one script per job; coalesced, the calls
// that arrive while a batch is being written wait for the next batch, so under load one round trip (and
// one script per project) serves dozens of jobs, and when idle a call goes out at once, alone.

// coalesced wraps a store that implements cns.BatchJobStore so that the worker's concurrent GetJob,
// UpdateJob and CompleteJob calls become batch calls. Every other method passes through. A store without
// batch methods is returned as it is.
func coalesced(s cns.Store) cns.Store {
	b, ok := s.(cns.BatchJobStore)
	if !ok {
		return s
	}
	c := &coalescer{Store: s}
	c.gets.Flush = func(ctx context.Context, rs []*coalesce.Call[cns.JobRef, *cns.Job]) {
		refs := make([]cns.JobRef, len(rs))
		for i, r := range rs {
			refs[i] = r.In
		}
		jobs, errs := b.GetJobs(ctx, refs)
		for i, r := range rs {
			r.Out, r.Err = jobs[i], errs[i]
		}
	}
	c.updates.Flush = func(ctx context.Context, rs []*coalesce.Call[*cns.Job, struct{}]) {
		jobs := make([]*cns.Job, len(rs))
		for i, r := range rs {
			jobs[i] = r.In
		}
		errs := b.UpdateJobs(ctx, jobs)
		for i, r := range rs {
			r.Err = errs[i]
		}
	}
	c.completes.Flush = func(ctx context.Context, rs []*coalesce.Call[cns.JobCompletion, struct{}]) {
		items := make([]cns.JobCompletion, len(rs))
		for i, r := range rs {
			items[i] = r.In
		}
		errs := b.CompleteJobs(ctx, items)
		for i, r := range rs {
			r.Err = errs[i]
		}
	}
	// Nothing waits for a completion but its own handler (the command left the prefetch window when its
	// build ended), so a completion waits a moment for others: when jobs end one at a time, a script and
	// a round trip per job cost Redis and the worker more CPU than most of the jobs themselves.
	c.completes.Linger = completeLinger
	// The commands of one read arrive within microseconds of each other, but each handler asks for its
	// job as it starts: without a wait the first one's load goes out alone, and with few jobs in flight
	// (CPU-bound work, concurrency of a core or two) most loads did (~0.75 MGETs per job). A job waits for
	// a build slot after its load anyway, so a fraction of a millisecond here costs it nothing.
	c.gets.Linger = getLinger
	return c
}

// getLinger is how long a job load waits for the loads of the other commands of its read.
const getLinger = 200 * time.Microsecond

// completeLinger is how long a job's completion waits for others to share its batch.
const completeLinger = 2 * time.Millisecond

type coalescer struct {
	cns.Store
	gets      coalesce.Batcher[cns.JobRef, *cns.Job]
	updates   coalesce.Batcher[*cns.Job, struct{}]
	completes coalesce.Batcher[cns.JobCompletion, struct{}]
}

func (c *coalescer) GetJob(ctx context.Context, project, id string) (*cns.Job, error) {
	return c.gets.Do(ctx, cns.JobRef{Project: project, ID: id})
}

func (c *coalescer) UpdateJob(ctx context.Context, job *cns.Job) error {
	_, err := c.updates.Do(ctx, job)
	return err
}

func (c *coalescer) CompleteJob(ctx context.Context, job *cns.Job, sno *cns.SNO) error {
	_, err := c.completes.Do(ctx, cns.JobCompletion{Job: job, SNO: sno})
	return err
}
