// Package worker consumes CNS commands from the bus and runs them through the engine. It is the one place
// where domain errors become delivery decisions: an input error fails the job at once and acks the
// message; any other error is retried (nack, with backoff) until worker.max_attempts, then the job fails
// and the message is acked. Handlers are idempotent: a job that already ended is acked untouched, and the
// SNO id is derived from the job id, so a redelivered command overwrites rather than duplicates.
package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/oklog/ulid/v2"
	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/engine"
	"github.com/cns-dev/cns/indexsync"
	"github.com/cns-dev/cns/internal/coalesce"
	busv1 "github.com/cns-dev/cns/proto/gen/cns/bus/v1"
	"github.com/cns-dev/cns/pubsub"
)

// Config is the worker's part of the service configuration.
type Config struct {
	Concurrency int
	MaxAttempts int
	JobTimeout  time.Duration
}

// Builder turns a job into a scored SNO and keeps the in-memory population view current; *engine.Engine
// is the implementation.
type Builder interface {
	Build(ctx context.Context, job *cns.Job) (*cns.SNO, error)
	Observe(sno *cns.SNO)
}

var _ Builder = (*engine.Engine)(nil)

// Worker handles ProcessJob commands.
type Worker struct {
	cfg    Config
	store  cns.Store
	engine Builder
	pub    message.Publisher
	log    *zap.Logger
	now    func() time.Time
	// announcer coalesces the SNO announcements of concurrent jobs (announce); announcing counts the
	// announcements in flight.
	announcer  coalesce.Batcher[*cns.SNO, struct{}]
	announcing sync.WaitGroup
	// slots bounds the builds running at once (Register).
	slots chan struct{}
	// handlers runs the command handlers on goroutines that keep their grown stacks (pubsub.Pool).
	handlers *pubsub.Pool
	// windows are the subscribers whose prefetch window follows the builds' duration (observeBuild).
	windows  []windowSetter
	buildMu  sync.Mutex
	buildAvg time.Duration // moving average of the builds' duration; 0 before the first
	window   int           // the window last set on windows
	// OnJobEnd, if set, is called after a job reaches a terminal state (metrics).
	OnJobEnd func(job *cns.Job)
	// OnDeadLetter, if set, is called for every dead-lettered command (metrics).
	OnDeadLetter func(dl *cns.DeadLetter)
	// AfterStore, if set, runs after a job's SNO is stored (the operational loop, see PairLoop).
	AfterStore func(ctx context.Context, sno *cns.SNO)
	// Origin, if set, is this process's instance name, carried by the SNO announcements so that this
	// process's own index sync skips SNOs its engine observed already (indexsync.Register).
	Origin string
}

// New returns a worker. When the store implements cns.BatchJobStore, the job bookkeeping of concurrent
// commands is coalesced into batch calls (coalesce.go).
func New(cfg Config, store cns.Store, eng Builder, pub message.Publisher, log *zap.Logger) *Worker {
	w := &Worker{cfg: cfg, store: coalesced(store), engine: eng, pub: pub, log: log, now: time.Now,
		slots: make(chan struct{}, max(cfg.Concurrency, 1)), handlers: pubsub.NewPool(handlerIdle)}
	w.announcer.Flush = w.publishAnnouncements
	// A replica learning of an SNO a few milliseconds later costs nothing; a stream entry per SNO when jobs
	// finish one at a time (long jobs, few workers) costs a round trip each.
	w.announcer.Linger = 5 * time.Millisecond
	return w
}

// Register adds a command handler per subscriber to the router. The in-process bus delivers everything
// to one subscriber at once, and so does the distributed worker's batching subscriber up to its window
// (which follows the builds' duration: observeBuild); either way one shared limit bounds the commands in
// hand, at the largest window (pubsub.WindowFor), and the builds (the CPU work) are bounded at
// worker.concurrency by w.slots: a command loads its job and stores its result outside a build slot, so
// the store's round trips of one job overlap the builds of others instead of leaving a core idle.
func (w *Worker) Register(r *message.Router, subs ...message.Subscriber) {
	limit := pubsub.Limit(pubsub.WindowFor(w.cfg.Concurrency))
	w.window = max(w.cfg.Concurrency, 1) * prefetchPerSlot(0)
	for i, sub := range subs {
		if ws, ok := sub.(windowSetter); ok {
			ws.SetWindow(w.window)
			w.windows = append(w.windows, ws)
		}
		h := r.AddConsumerHandler(fmt.Sprintf("process_job_%d", i), pubsub.TopicJobs, sub, w.handle)
		// The pool inside the limit (which bounds its goroutines); Recoverer innermost, on the pool's
		// goroutine: a panic becomes an error, which counts as a failed attempt.
		h.AddMiddleware(middleware.CorrelationID, limit, w.handlers.Middleware, middleware.Recoverer)
	}
}

// windowSetter is a subscriber whose prefetch window can be narrowed (pubsub.BatchSubscriber).
type windowSetter interface{ SetWindow(n int) }

// prefetchHorizon is how much build time a build slot keeps in hand beyond the build it runs. The next
// command must be read, and then its job loaded, while builds run: each reply waits for a core, and Go
// preempts a running build only after 10 ms, so with every core in a build the read and the load can
// wait that long each. Commands of shorter builds than that are kept several to a slot. (Measured on the
// benchmark's CPU task, ~1.2 ms of CPU and ~1.5–2 ms of wall time per build on 2 shared cores: a
// horizon of 10 ms kept ~6 a slot and ~75% of the compute ceiling; 8 a slot gave ~79%.)
const prefetchHorizon = 20 * time.Millisecond

// prefetchPerSlot is how many commands a build slot keeps in hand, waiting for and in their build,
// for builds that take d on average: enough to cover prefetchHorizon, from 2 (long jobs: the rest stay
// in the stream for any worker to take) to 8 (pubsub.WindowFor); 4 before any build is measured.
func prefetchPerSlot(d time.Duration) int {
	if d <= 0 {
		return 4
	}
	return min(max(int(prefetchHorizon/d)+1, 2), 8)
}

// observeBuild adds a build's duration to the moving average and sets the subscribers' window to
// what the average asks for, when that changed.
func (w *Worker) observeBuild(d time.Duration) {
	if len(w.windows) == 0 {
		return
	}
	w.buildMu.Lock()
	defer w.buildMu.Unlock()
	if w.buildAvg == 0 {
		w.buildAvg = d
	} else {
		w.buildAvg += (d - w.buildAvg) / 8
	}
	if n := max(w.cfg.Concurrency, 1) * prefetchPerSlot(w.buildAvg); n != w.window {
		w.window = n
		for _, ws := range w.windows {
			ws.SetWindow(n) // under the lock: concurrent builds' settings land in order
		}
	}
}

// handlerIdle is how long a handler goroutine waits for the next command before it ends.
const handlerIdle = 10 * time.Second

func (w *Worker) handle(msg *message.Message) error {
	var cmd busv1.ProcessJob
	if err := pubsub.Decode(msg, &cmd); err != nil {
		// A message that cannot be decoded never will be: drop it loudly rather than loop on it.
		w.log.Error("dropping undecodable command", zap.String("message_uuid", msg.UUID), zap.Error(err))
		return nil
	}
	ctx := msg.Context()
	// fields are what each line of this job says. Not w.log.With, which encodes them for every job: the
	// success line is sampled away under load (internal/logging), and the others are rare.
	fields := func(more ...zap.Field) []zap.Field {
		return append([]zap.Field{zap.String("project", cmd.Project), zap.String("job_id", cmd.JobId)}, more...)
	}
	job, err := w.store.GetJob(ctx, cmd.Project, cmd.JobId)
	if cns.ErrorCode(err) == cns.ENOTFOUND {
		w.log.Warn("command for unknown job dropped", fields()...)
		return nil
	}
	if err != nil {
		return fmt.Errorf("load job: %w", err)
	}
	if job.State.Terminal() {
		return nil // redelivery of a finished job
	}
	if job.Attempts >= w.cfg.MaxAttempts {
		// Every attempt is recorded before it runs, so a command whose handler crashed the process (or
		// hung past the claim time) arrives here with its attempts used up: give up without running it.
		reason := job.Error
		if reason == "" {
			reason = fmt.Sprintf("no attempt finished in %d deliveries", job.Attempts)
		}
		return w.deadLetter(ctx, msg, job, cns.EINTERNAL, reason)
	}
	select {
	case w.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err() // shutting down: the job stays queued, the command pending
	}
	job.State = cns.JobRunning
	job.Attempts++
	job.StartedAt = w.now().UTC()
	job.UpdatedAt = job.StartedAt
	var mark *runningMark
	if pubsub.FirstDelivery(msg) && job.Attempts == 1 {
		mark = w.markRunningLater(ctx, job)
	} else if err := w.store.UpdateJob(ctx, job); err != nil {
		<-w.slots
		return fmt.Errorf("mark job running: %w", err)
	}

	jctx, cancel := context.WithTimeout(ctx, w.cfg.JobTimeout)
	started := time.Now()
	sno, err := w.build(jctx, job)
	cancel()
	<-w.slots
	w.observeBuild(time.Since(started))
	// What is left is recording the result: the command's prefetch slot can take the next command now.
	pubsub.LeaveWindow(msg)
	mark.settle()
	if err == nil {
		job.State, job.SNOID, job.Error, job.ErrorCode = cns.JobSucceeded, sno.ID, "", ""
		job.FinishedAt = w.now().UTC()
		job.UpdatedAt = job.FinishedAt
		// The build is done: wait for its record even if the command's context ends meanwhile (shutdown),
		// so a stored result is never taken for a failed attempt (and its SNO left unannounced); the
		// store's own timeouts bound the wait.
		if err = w.store.CompleteJob(context.WithoutCancel(ctx), job, sno); err == nil {
			w.engine.Observe(sno)
			if ce := w.log.Check(zap.InfoLevel, "job succeeded"); ce != nil { // nil when sampled away
				ce.Write(fields(zap.String("sno_id", sno.ID), zap.Float64("trust", sno.Trust),
					zap.Stringer("status", sno.Status), zap.Int("attempt", job.Attempts))...)
			}
			w.ended(job)
			w.announce(ctx, sno)
			if w.AfterStore != nil {
				w.AfterStore(ctx, sno)
			}
			return nil
		}
		err = fmt.Errorf("store result: %w", err)
	}

	code := cns.ErrorCode(err)
	permanent := code == cns.EINVALID || code == cns.EFAILEDPRECOND || code == cns.ENOTFOUND
	if !permanent && job.Attempts < w.cfg.MaxAttempts && ctx.Err() == nil {
		w.log.Warn("job attempt failed; will retry", fields(zap.Int("attempt", job.Attempts), zap.Error(err))...)
		job.State = cns.JobQueued
		job.Error = cns.ErrorMessage(err)
		job.UpdatedAt = w.now().UTC()
		if uerr := w.store.UpdateJob(ctx, job); uerr != nil {
			w.log.Error("record failed attempt", fields(zap.Error(uerr))...)
		}
		sleep(ctx, backoff(job.Attempts))
		return err // nack: the bus redelivers
	}
	if ctx.Err() != nil && !permanent {
		// Shutting down: leave the job queued so the next start (or another worker) runs it.
		return errors.Join(err, ctx.Err())
	}
	if !permanent {
		w.log.Warn("job attempts exhausted", fields(zap.Int("attempts", job.Attempts), zap.Error(err))...)
		reason := cns.ErrorMessage(err)
		if code == cns.EINTERNAL {
			reason = fmt.Sprintf("internal error after %d attempts", job.Attempts)
		}
		return w.deadLetter(ctx, msg, job, code, reason)
	}
	// The input is at fault: the job fails at once and the client reads why from the job.
	job.State = cns.JobFailed
	job.ErrorCode = code
	job.Error = cns.ErrorMessage(err)
	job.FinishedAt = w.now().UTC()
	job.UpdatedAt = job.FinishedAt
	if uerr := w.store.UpdateJob(ctx, job); uerr != nil {
		return fmt.Errorf("mark job failed: %w", uerr)
	}
	w.log.Info("job failed on its input", fields(zap.String("code", code), zap.Error(err))...)
	w.ended(job)
	return nil
}

// deadLetter fails the job and records its command as a dead letter, in one store transaction, then
// acks the message. An operator can redrive it once the cause is fixed.
func (w *Worker) deadLetter(ctx context.Context, msg *message.Message, job *cns.Job, code, reason string) error {
	now := w.now().UTC()
	job.State, job.ErrorCode, job.Error = cns.JobFailed, code, reason
	job.FinishedAt, job.UpdatedAt = now, now
	dl := &cns.DeadLetter{
		ID: "dl_" + strings.ToLower(ulid.Make().String()), Project: job.Project, JobID: job.ID,
		Topic: pubsub.TopicJobs, Payload: msg.Payload, Reason: reason, Deliveries: job.Attempts, CreatedAt: now,
	}
	if err := w.store.AddDeadLetter(ctx, dl, job); err != nil {
		return fmt.Errorf("dead-letter job: %w", err)
	}
	if w.OnDeadLetter != nil {
		w.OnDeadLetter(dl)
	}
	w.log.Warn("job dead-lettered", zap.String("project", job.Project), zap.String("job_id", job.ID),
		zap.String("dead_letter_id", dl.ID), zap.Int("deliveries", job.Attempts), zap.String("reason", reason))
	w.ended(job)
	return nil
}

// build runs the engine; a panic becomes this attempt's error, so it is recorded and counted like any
// failed attempt (the router's recoverer would only see it after the handler is gone).
func (w *Worker) build(ctx context.Context, job *cns.Job) (sno *cns.SNO, err error) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("job panicked", zap.String("project", job.Project), zap.String("job_id", job.ID),
				zap.Any("panic", r), zap.Stack("stack"))
			sno, err = nil, cns.Errorf(cns.EINTERNAL, "panic: %v", r)
		}
	}()
	return w.engine.Build(ctx, job)
}

// markRunningAfter is how long the first attempt of a job runs before it is recorded as running.
//
// Every attempt is recorded before it runs so that a delivery whose worker crashed still counts towards
// worker.max_attempts. For a first delivery from Redis Streams the stream itself counts: if this worker
// dies, the command is claimed by another consumer (or re-read from this consumer's history), arrives
// without pubsub.MetaFirstDelivery and is recorded before it runs — so a command that kills its worker
// every time is still dead-lettered, one delivery later. What the record adds for a first delivery is
// the RUNNING state that the API and the dashboard show, and a job that ends within this time has nothing
// to show: it goes from queued to its end in one write. That is one record write (of three) less per
// job, which is what bounds command throughput (docs/benchmarks.md).
const markRunningAfter = 20 * time.Millisecond

// runningMark is a running record written after markRunningAfter unless the attempt ended before.
type runningMark struct {
	timer *time.Timer
	done  chan struct{}
}

// markRunningLater records a snapshot of job (running, this attempt counted) after markRunningAfter.
func (w *Worker) markRunningLater(ctx context.Context, job *cns.Job) *runningMark {
	snap := *job
	m := &runningMark{done: make(chan struct{})}
	m.timer = time.AfterFunc(markRunningAfter, func() {
		defer close(m.done)
		if err := w.store.UpdateJob(ctx, &snap); err != nil {
			// The attempt's end writes the job anyway; only the running state is not shown meanwhile.
			w.log.Warn("mark job running", zap.String("project", snap.Project), zap.String("job_id", snap.ID), zap.Error(err))
		}
	})
	return m
}

// settle cancels the running record if it has not started, or waits until it is written, so that the
// attempt's end is always the later write. A nil mark (recorded before the run) has nothing to settle.
func (m *runningMark) settle() {
	if m == nil || m.timer.Stop() {
		return
	}
	<-m.done
}

func (w *Worker) ended(job *cns.Job) {
	if w.OnJobEnd != nil {
		w.OnJobEnd(job)
	}
}

// announce tells other processes about the new SNO so their index replicas follow. The announcements of
// concurrent jobs are coalesced into one event per project (SnoChanged.more_sno_ids): one stream entry
// for many SNOs, each with what a replica keeps of it (indexsync.Entry), so no process reads it back.
// It runs beside the handler, which goes on to acknowledge its command without waiting for the event's
// round trip (Wait waits for the announcements in flight). Failing to announce loses nothing: replicas
// rebuild from the store.
func (w *Worker) announce(ctx context.Context, sno *cns.SNO) {
	if w.pub == nil {
		return
	}
	ctx = context.WithoutCancel(ctx) // the message's context ends with its acknowledgement
	w.announcing.Add(1)
	go func() {
		defer w.announcing.Done()
		_, _ = w.announcer.Do(ctx, sno)
	}()
}

// Wait returns once the SNO announcements in flight are published, and ends the idle handler
// goroutines. Call it after the router is closed (no handler runs any more) and before the publisher is.
func (w *Worker) Wait() {
	w.handlers.Close()
	w.announcing.Wait()
}

// publishAnnouncements publishes one SnoChanged per project for a batch of stored SNOs.
func (w *Worker) publishAnnouncements(ctx context.Context, calls []*coalesce.Call[*cns.SNO, struct{}]) {
	byProject := map[string]*busv1.SnoChanged{}
	var events []*busv1.SnoChanged
	for _, c := range calls {
		if ev := byProject[c.In.Project]; ev != nil {
			ev.MoreSnoIds = append(ev.MoreSnoIds, c.In.ID)
			ev.Entries = append(ev.Entries, indexsync.Entry(c.In))
			continue
		}
		ev := &busv1.SnoChanged{Project: c.In.Project, SnoId: c.In.ID, Change: indexsync.ChangeCreated, Origin: w.Origin,
			Entries: []*busv1.SnoEntry{indexsync.Entry(c.In)}}
		byProject[c.In.Project] = ev
		events = append(events, ev)
	}
	for _, ev := range events {
		if err := pubsub.Publish(ctx, w.pub, pubsub.TopicSNOEvents, ev); err != nil {
			w.log.Warn("announce snos", zap.String("project", ev.Project), zap.Int("snos", 1+len(ev.MoreSnoIds)), zap.Error(err))
		}
	}
}

func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 7)
	return min(d, 5*time.Second)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
