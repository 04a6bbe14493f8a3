// Package dispatch turns accepted work into commands on the bus: it creates job records and publishes
// their ProcessJob commands, re-publishes unfinished jobs at start, and redrives or purges dead letters.
// The API server and the dashboard both use it, so a job enters the queue the same way from everywhere.
package dispatch

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/internal/coalesce"
	busv1 "github.com/cns-dev/cns/proto/gen/cns/bus/v1"
	"github.com/cns-dev/cns/pubsub"
)

// Dispatcher publishes job commands. Safe for concurrent use.
type Dispatcher struct {
	Store     cns.Store
	Publisher message.Publisher
	Log       *zap.Logger
	Now       func() time.Time
	// OnAccepted, if set, is called for every new job (metrics).
	OnAccepted func(*cns.Job)

	// creates coalesces the job creations of concurrent requests when Store implements
	// cns.BatchJobStore: on Redis one round trip and one script then create dozens of jobs.
	createsOnce sync.Once
	creates     *coalesce.Batcher[*cns.Job, created]
}

// created is one coalesced CreateJob's result.
type created struct {
	job *cns.Job
	new bool
}

// createJob is Store.CreateJob, coalesced with concurrent calls when the store can batch.
func (d *Dispatcher) createJob(ctx context.Context, job *cns.Job) (*cns.Job, bool, error) {
	d.createsOnce.Do(func() {
		b, ok := d.Store.(cns.BatchJobStore)
		if !ok {
			return
		}
		d.creates = &coalesce.Batcher[*cns.Job, created]{Flush: func(ctx context.Context, calls []*coalesce.Call[*cns.Job, created]) {
			jobs := make([]*cns.Job, len(calls))
			for i, c := range calls {
				jobs[i] = c.In
			}
			stored, isNew, errs := b.CreateJobs(ctx, jobs)
			for i, c := range calls {
				c.Out, c.Err = created{stored[i], isNew[i]}, errs[i]
			}
		}}
	})
	if d.creates == nil {
		return d.Store.CreateJob(ctx, job)
	}
	r, err := d.creates.Do(ctx, job)
	return r.job, r.new, err
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// NewJobID returns a new, time-ordered job id.
func NewJobID() string { return "job_" + strings.ToLower(ulid.Make().String()) }

// Accept stores a new queued job and publishes its command. With an idempotency key already used in the
// project it returns the first job's id and publishes nothing. The job is durable before the command is
// published; if publishing fails the job stays queued and is recovered by Resume.
func (d *Dispatcher) Accept(ctx context.Context, job *cns.Job) (string, error) {
	now := d.now().UTC()
	job.ID = NewJobID()
	job.State = cns.JobQueued
	job.CreatedAt, job.UpdatedAt = now, now
	stored, isNew, err := d.createJob(ctx, job)
	if err != nil {
		return "", fmt.Errorf("create job: %w", err)
	}
	if !isNew {
		return stored.ID, nil
	}
	if d.OnAccepted != nil {
		d.OnAccepted(stored)
	}
	if err := d.publish(context.WithoutCancel(ctx), stored); err != nil {
		d.Log.Error("publish job; it stays queued for recovery", zap.String("project", stored.Project), zap.String("job_id", stored.ID), zap.Error(err))
	}
	if ce := d.Log.Check(zap.InfoLevel, "job accepted"); ce != nil { // nil when sampled away under load
		ce.Write(zap.String("project", stored.Project), zap.String("job_id", stored.ID), zap.Stringer("kind", stored.Kind))
	}
	return stored.ID, nil
}

func (d *Dispatcher) publish(ctx context.Context, j *cns.Job) error {
	return pubsub.Publish(ctx, d.Publisher, pubsub.TopicJobs, &busv1.ProcessJob{Project: j.Project, JobId: j.ID})
}

// Resume re-publishes the unfinished jobs of every project that have not changed for olderThan (0: all
// of them) — after a restart of the in-process bus, or to recover commands whose publishing failed.
// Handlers are idempotent, so a job whose command is still on the bus is at worst acked twice.
func (d *Dispatcher) Resume(ctx context.Context, olderThan time.Duration) (int, error) {
	jobs, err := d.Store.UnfinishedJobs(ctx)
	if err != nil {
		return 0, fmt.Errorf("resume jobs: %w", err)
	}
	cutoff := d.now().Add(-olderThan)
	n := 0
	for _, j := range jobs {
		if olderThan > 0 && j.UpdatedAt.After(cutoff) {
			continue
		}
		if err := d.publish(ctx, j); err != nil {
			return n, fmt.Errorf("resume job %s: %w", j.ID, err)
		}
		n++
	}
	return n, nil
}

// Redrive puts the named dead letters' jobs (all of the project's when ids is empty) back in the queue
// with their attempts reset, and returns how many were redriven.
func (d *Dispatcher) Redrive(ctx context.Context, project string, ids []string) (int, error) {
	dls, err := d.Store.TakeDeadLetters(ctx, project, ids)
	if err != nil {
		return 0, fmt.Errorf("take dead letters: %w", err)
	}
	n := 0
	for _, dl := range dls {
		if dl.JobID == "" {
			// A command without a job: re-publish it as it was.
			msg := message.NewMessage(NewJobID(), dl.Payload)
			if err := d.Publisher.Publish(dl.Topic, msg); err != nil {
				return n, fmt.Errorf("republish dead letter %s: %w", dl.ID, err)
			}
			n++
			continue
		}
		j, err := d.Store.GetJob(ctx, project, dl.JobID)
		if cns.ErrorCode(err) == cns.ENOTFOUND {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("load job %s: %w", dl.JobID, err)
		}
		j.State, j.Attempts, j.Error, j.ErrorCode = cns.JobQueued, 0, "", ""
		j.FinishedAt = time.Time{}
		j.UpdatedAt = d.now().UTC()
		if err := d.Store.UpdateJob(ctx, j); err != nil {
			return n, fmt.Errorf("requeue job %s: %w", j.ID, err)
		}
		if err := d.publish(ctx, j); err != nil {
			return n, fmt.Errorf("publish job %s: %w", j.ID, err)
		}
		n++
	}
	d.Log.Info("dead letters redriven", zap.String("project", project), zap.Int("count", n))
	return n, nil
}

// Purge deletes the named dead letters (all of the project's when ids is empty); their jobs stay failed.
func (d *Dispatcher) Purge(ctx context.Context, project string, ids []string) (int, error) {
	dls, err := d.Store.TakeDeadLetters(ctx, project, ids)
	if err != nil {
		return 0, fmt.Errorf("take dead letters: %w", err)
	}
	d.Log.Info("dead letters purged", zap.String("project", project), zap.Int("count", len(dls)))
	return len(dls), nil
}
