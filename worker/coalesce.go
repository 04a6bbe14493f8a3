package worker

import (
	"context"
	"sync"

	"github.com/cns-dev/cns"
)

// Each command costs the worker three store calls (GetJob, the attempt's UpdateJob, CompleteJob). With
// many commands in flight, one call per job is one round trip and one script per job; coalesced, the calls
// that arrive while a batch is being written wait for the next batch, so under load one round trip (and
// one script per project) serves dozens of jobs, and when idle a call goes out at once, alone.

// maxBatch bounds one batch; maxFlushes is how many batches of one kind may be on the wire at once.
const (
	maxBatch   = 256
	maxFlushes = 2
)

// coalesced wraps a store that implements cns.BatchJobStore so that the worker's concurrent GetJob,
// UpdateJob and CompleteJob calls become batch calls. Every other method passes through. A store without
// batch methods is returned as it is.
func coalesced(s cns.Store) cns.Store {
	b, ok := s.(cns.BatchJobStore)
	if !ok {
		return s
	}
	c := &coalescer{Store: s}
	c.gets.flush = func(ctx context.Context, rs []*call[cns.JobRef, *cns.Job]) {
		refs := make([]cns.JobRef, len(rs))
		for i, r := range rs {
			refs[i] = r.in
		}
		jobs, errs := b.GetJobs(ctx, refs)
		for i, r := range rs {
			r.out, r.err = jobs[i], errs[i]
		}
	}
	c.updates.flush = func(ctx context.Context, rs []*call[*cns.Job, struct{}]) {
		jobs := make([]*cns.Job, len(rs))
		for i, r := range rs {
			jobs[i] = r.in
		}
		errs := b.UpdateJobs(ctx, jobs)
		for i, r := range rs {
			r.err = errs[i]
		}
	}
	c.completes.flush = func(ctx context.Context, rs []*call[cns.JobCompletion, struct{}]) {
		items := make([]cns.JobCompletion, len(rs))
		for i, r := range rs {
			items[i] = r.in
		}
		errs := b.CompleteJobs(ctx, items)
		for i, r := range rs {
			r.err = errs[i]
		}
	}
	return c
}

type coalescer struct {
	cns.Store
	gets      batcher[cns.JobRef, *cns.Job]
	updates   batcher[*cns.Job, struct{}]
	completes batcher[cns.JobCompletion, struct{}]
}

func (c *coalescer) GetJob(ctx context.Context, project, id string) (*cns.Job, error) {
	return c.gets.do(ctx, cns.JobRef{Project: project, ID: id})
}

func (c *coalescer) UpdateJob(ctx context.Context, job *cns.Job) error {
	_, err := c.updates.do(ctx, job)
	return err
}

func (c *coalescer) CompleteJob(ctx context.Context, job *cns.Job, sno *cns.SNO) error {
	_, err := c.completes.do(ctx, cns.JobCompletion{Job: job, SNO: sno})
	return err
}

// call is one caller's item in a batch.
type call[In, Out any] struct {
	ctx  context.Context
	in   In
	out  Out
	err  error
	done chan struct{}
}

// batcher queues calls; a caller that finds fewer than maxFlushes batches on the wire writes the queue
// itself (its own call included) and goes on writing whatever queued meanwhile, so no goroutine outlives
// the calls and an idle store sees single calls without delay.
type batcher[In, Out any] struct {
	flush func(ctx context.Context, calls []*call[In, Out])

	mu      sync.Mutex
	queue   []*call[In, Out]
	flushes int
}

func (b *batcher[In, Out]) do(ctx context.Context, in In) (Out, error) {
	var zero Out
	if err := ctx.Err(); err != nil {
		return zero, err // as the single call would: nothing is written
	}
	c := &call[In, Out]{ctx: ctx, in: in, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if b.flushes < maxFlushes {
		b.flushes++
		for len(b.queue) > 0 {
			n := min(len(b.queue), maxBatch)
			batch := b.queue[:n:n]
			b.queue = b.queue[n:]
			b.mu.Unlock()
			// The batch is written whatever happens to the first caller's context (the others still
			// wait for it); the store's own timeouts bound it.
			b.flush(context.WithoutCancel(batch[0].ctx), batch)
			for _, bc := range batch {
				close(bc.done)
			}
			b.mu.Lock()
		}
		b.flushes--
		b.queue = nil
		b.mu.Unlock()
	} else {
		b.mu.Unlock()
	}
	select {
	case <-c.done:
		return c.out, c.err
	case <-ctx.Done():
		// Like a single call abandoned mid-flight: the write may or may not happen.
		return zero, ctx.Err()
	}
}
