package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sys/unix"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/dispatch"
	"github.com/cns-dev/cns/engine"
	"github.com/cns-dev/cns/pubsub"
	redisstore "github.com/cns-dev/cns/store/redis"
	"github.com/cns-dev/cns/worker"
)

// Task kinds: a no-op measures the queue and its bookkeeping; the CPU task has a fixed cost, so the
// question is how close to the machine's compute ceiling a system gets.
const (
	kindNoop = "noop"
	kindCPU  = "cpu"
)

// cpuTask is the fixed-cost task of every system: 20 × SHA-256 of 64 KB (the Python one is the same with
// hashlib, which is OpenSSL's SHA-256).
var cpuBlock = make([]byte, 64<<10)

// taskCPU sums the thread CPU time of the CPU tasks run since takeTaskCPU last read it (timedCPUTask).
var taskCPU, taskCount atomic.Int64

// timedCPUTask runs the CPU task and adds its own CPU time to taskCPU: the clock of the OS thread it
// runs on, held for the task, so neither the scheduler's other goroutines nor another process's time
// on the core count. It tells the task's cost inside a system from the system's bookkeeping around it
// (a task sharing its cores with Redis could also run slower than alone; measured, it does not).
func timedCPUTask() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var t0, t1 unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &t0)
	cpuTask()
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &t1)
	taskCPU.Add(t1.Nano() - t0.Nano())
	taskCount.Add(1)
}

// takeTaskCPU returns the mean CPU µs of the tasks timed since its last call (NaN if none) and resets.
func takeTaskCPU() float64 {
	n, ns := taskCount.Swap(0), taskCPU.Swap(0)
	if n == 0 {
		return math.NaN()
	}
	return float64(ns) / 1e3 / float64(n)
}

func cpuTask() [32]byte {
	var sum [32]byte
	for range 20 {
		sum = sha256.Sum256(cpuBlock)
	}
	return sum
}

// throughput is one run of one system: how fast the queue was filled, and how fast it was drained.
type throughput struct {
	enqueue float64   // tasks/s accepted by the producer side
	drain   float64   // tasks/s consumed, run and acknowledged
	atDrain cpuSample // CPU used so far, taken as the drain started
}

// cpuSample is the CPU time (seconds) Redis and this process had used at one moment, and the requests
// Redis had read.
type cpuSample struct {
	redis, process float64
	reads          int64
}

// sample reads both; a failed INFO leaves redis at 0 (the caller then skips the drain's split).
func (e *benchEnv) sample(ctx context.Context) cpuSample {
	st, _ := e.stats(ctx)
	return cpuSample{st.cpu, processCPU(), st.reads}
}

// commandRunner runs n tasks of a kind through one system against the Redis at addr (database db is
// flushed before). It returns the enqueue and drain rates.
type commandRunner struct {
	name        string
	anchor      string // what this row is for the reader
	concurrency int
	kinds       []string
	run         func(ctx context.Context, r *commandRunner, env *benchEnv, kind string, n int) (throughput, error)
}

// The command suite. Concurrencies: the anchors' published settings (Celery prefork 2 and solo, asynq 4),
// and, for CNS, the one its worker is run with for short jobs; asynq also runs at CNS's, so no ratio
// rests on a concurrency difference alone. The CPU task runs everything at 2, the cores of the machine.
func commandRunners(cnsConcurrency int) []*commandRunner {
	both := []string{kindNoop, kindCPU}
	return []*commandRunner{
		{name: "redis-floor-batch100", anchor: "go-redis: XREADGROUP COUNT 100 + one XACK per batch", concurrency: 1, kinds: []string{kindNoop}, run: runRawFloor},
		{name: "redis-floor-single", anchor: "go-redis: XREADGROUP COUNT 1 + XACK per message", concurrency: 1, kinds: []string{kindNoop}, run: runRawFloor},
		{name: "watermill-redisstream-1", anchor: "Watermill redisstream subscriber, 1 subscriber, no bookkeeping", concurrency: 1, kinds: []string{kindNoop}, run: runWatermill},
		{name: "watermill-redisstream-4", anchor: "Watermill redisstream subscriber, 4 subscribers, no bookkeeping", concurrency: 4, kinds: []string{kindNoop}, run: runWatermill},
		{name: "cns-batchsubscriber", anchor: "pubsub.BatchSubscriber alone, no bookkeeping", concurrency: cnsConcurrency, kinds: []string{kindNoop}, run: runWatermill},
		{name: "cns-stock-subscriber", anchor: "CNS worker + job bookkeeping on Watermill's redisstream subscribers (before)", concurrency: cnsConcurrency, kinds: both, run: runCNS},
		{name: "cns-single-bookkeeping", anchor: "CNS worker on the BatchSubscriber, bookkeeping one store call per job", concurrency: cnsConcurrency, kinds: []string{kindNoop}, run: runCNS},
		{name: "cns", anchor: "CNS worker + job bookkeeping as `cns worker` runs it (BatchSubscriber, coalesced bookkeeping)", concurrency: cnsConcurrency, kinds: both, run: runCNS},
		{name: "asynq-4", anchor: "asynq, concurrency 4", concurrency: 4, kinds: both, run: runAsynq},
		{name: fmt.Sprintf("asynq-%d", cnsConcurrency), anchor: "asynq at CNS's concurrency", concurrency: cnsConcurrency, kinds: []string{kindNoop}, run: runAsynq},
		{name: "celery-prefork-2", anchor: "Celery 5 + Redis broker, prefork, 2 processes", concurrency: 2, kinds: both, run: runCelery},
		{name: "celery-solo", anchor: "Celery 5 + Redis broker, solo pool", concurrency: 1, kinds: []string{kindNoop}, run: runCelery},
	}
}

// cpuConcurrency is every system's concurrency for the CPU task: one per core.
const cpuConcurrency = 2

func (r *commandRunner) conc(kind string) int {
	if kind == kindCPU {
		return cpuConcurrency
	}
	return r.concurrency
}

// waitCount waits until done reaches n or the deadline passes.
func waitCount(ctx context.Context, done *atomic.Int64, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for done.Load() < int64(n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d tasks done within %v", done.Load(), n, within)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil
}

// parallel runs f(i) for i in [0,n) on w goroutines and returns the first error.
func parallel(n, w int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// enqueueWorkers is how many goroutines fill a queue in the Go systems (the Celery producer is one
// Python process).
const enqueueWorkers = 16

// runRawFloor is what Redis Streams can do with a bare client: entries added in pipelines, then read and
// acked either a hundred at a time (one XREADGROUP, one XACK) or one at a time.
func runRawFloor(ctx context.Context, r *commandRunner, env *benchEnv, kind string, n int) (throughput, error) {
	rdb := env.client(0)
	defer rdb.Close()
	const stream, group = "floor", "g"
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		p := rdb.Pipeline()
		for j := i; j < min(n, i+1000); j++ {
			p.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"payload", "x"}})
		}
		if _, err := p.Exec(ctx); err != nil {
			return throughput{}, err
		}
	}
	enq := float64(n) / time.Since(start).Seconds()
	if err := rdb.XGroupCreate(ctx, stream, group, "0").Err(); err != nil {
		return throughput{}, err
	}
	count := int64(100)
	if r.name == "redis-floor-single" {
		count = 1
	}
	at := env.sample(ctx)
	start = time.Now()
	for done := 0; done < n; {
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "c", Streams: []string{stream, ">"}, Count: count, Block: -1}).Result()
		if err != nil {
			return throughput{}, err
		}
		ids := make([]string, 0, count)
		for _, m := range res[0].Messages {
			ids = append(ids, m.ID)
		}
		if err := rdb.XAck(ctx, stream, group, ids...).Err(); err != nil {
			return throughput{}, err
		}
		done += len(ids)
	}
	return throughput{enq, float64(n) / time.Since(start).Seconds(), at}, nil
}

func newBusConfig(env *benchEnv, instance string) pubsub.RedisConfig {
	return pubsub.RedisConfig{
		NewClient: func() redis.UniversalClient { return env.client(0) },
		Instance:  instance, ClaimIdle: time.Minute, MaxLen: 10_000_000,
	}
}

// stockSubscribers are Watermill's redisstream subscribers configured as `cns worker` had them before
// the batching subscriber (one per unit of concurrency, each reading and acking one message at a time).
func stockSubscribers(c pubsub.RedisConfig, n int) ([]message.Subscriber, error) {
	subs := make([]message.Subscriber, 0, n)
	for i := range n {
		s, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{
			Client: c.NewClient(), ConsumerGroup: pubsub.ConsumerGroup, Consumer: c.Instance + "-" + strconv.Itoa(i),
			MaxIdleTime: c.ClaimIdle, ClaimInterval: min(c.ClaimIdle/2, 5*time.Second), NackResendSleep: 100 * time.Millisecond,
			BlockTime: time.Second, DisableIndefiniteInitialBlock: true,
		}, watermill.NopLogger{})
		if err != nil {
			return nil, err
		}
		subs = append(subs, s)
	}
	return subs, nil
}

// runWatermill drains the command stream through Watermill's router with a no-op handler: the stock
// subscriber (1 or 4 of them) or the batching one, without any job bookkeeping.
func runWatermill(ctx context.Context, r *commandRunner, env *benchEnv, kind string, n int) (throughput, error) {
	bus := newBusConfig(env, "bench")
	pub, err := pubsub.NewRedisPublisher(bus, watermill.NopLogger{})
	if err != nil {
		return throughput{}, err
	}
	defer pub.Close()
	start := time.Now()
	if err := parallel(n, enqueueWorkers, func(i int) error {
		return pub.Publish(pubsub.TopicJobs, message.NewMessage(watermill.NewULID(), []byte("x")))
	}); err != nil {
		return throughput{}, err
	}
	enq := float64(n) / time.Since(start).Seconds()

	var subs []message.Subscriber
	if r.name == "cns-batchsubscriber" {
		s, err := pubsub.NewBatchSubscriber(pubsub.BatchConfig{Client: bus.NewClient(), ConsumerGroup: pubsub.ConsumerGroup,
			Consumer: "bench-0", Window: pubsub.WindowFor(r.concurrency)}, watermill.NopLogger{})
		if err != nil {
			return throughput{}, err
		}
		subs = []message.Subscriber{s}
	} else if subs, err = stockSubscribers(bus, r.concurrency); err != nil {
		return throughput{}, err
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, watermill.NopLogger{})
	if err != nil {
		return throughput{}, err
	}
	var done atomic.Int64
	for i, s := range subs {
		router.AddConsumerHandler(fmt.Sprint("h", i), pubsub.TopicJobs, s, func(*message.Message) error {
			done.Add(1)
			return nil
		})
	}
	at := env.sample(ctx)
	start = time.Now()
	go router.Run(context.WithoutCancel(ctx))
	defer router.Close()
	if err := waitCount(ctx, &done, n, 10*time.Minute); err != nil {
		return throughput{}, err
	}
	return throughput{enq, float64(n) / time.Since(start).Seconds(), at}, nil
}

// noopBuilder stands in for the engine: the job's "work" is nothing (or the fixed CPU task), and its
// result is a minimal SNO, stored by CompleteJob exactly as a real one.
type noopBuilder struct{ kind string }

func (b noopBuilder) Build(_ context.Context, job *cns.Job) (*cns.SNO, error) {
	if b.kind == kindCPU {
		timedCPUTask()
	}
	now := time.Now().UTC()
	return &cns.SNO{ID: engine.SNOIDForJob(job.ID), Project: job.Project, Hypothesis: "no-op", Trust: 0.5,
		Status: cns.StatusActive, SchemaVersion: 1, JobID: job.ID, CreatedAt: now, UpdatedAt: now,
		Lineage: cns.Lineage{Strategy: "ingest", Generator: "bench/noop"}}, nil
}

func (noopBuilder) Observe(*cns.SNO) {}

// runCNS is the CNS path with its real bookkeeping: the dispatcher creates each job record and publishes
// its command (as the API does), then a worker (worker.Worker, the Redis store, the SNO announcement)
// loads each job, records the attempt, runs the no-op build, completes the job with its SNO and acks.
func runCNS(ctx context.Context, r *commandRunner, env *benchEnv, kind string, n int) (throughput, error) {
	rdb := env.client(0)
	defer rdb.Close()
	store := redisstore.New(rdb, "")
	bus := newBusConfig(env, "bench")
	pub, err := pubsub.NewRedisPublisher(bus, watermill.NopLogger{})
	if err != nil {
		return throughput{}, err
	}
	defer pub.Close()
	log, closeLog, err := env.logger(r.name)
	if err != nil {
		return throughput{}, err
	}
	defer closeLog()
	d := &dispatch.Dispatcher{Store: store, Publisher: pub, Log: log}
	start := time.Now()
	if err := parallel(n, enqueueWorkers, func(i int) error {
		_, err := d.Accept(ctx, &cns.Job{Project: "bench", Kind: cns.JobIngestDocument, Document: &cns.DocumentInput{Text: "no-op"}})
		return err
	}); err != nil {
		return throughput{}, err
	}
	enq := float64(n) / time.Since(start).Seconds()

	conc := r.conc(kind)
	var subs []message.Subscriber
	if r.name == "cns-stock-subscriber" {
		subs, err = stockSubscribers(bus, conc)
	} else {
		subs, err = pubsub.NewRedisCommandSubscribers(bus, conc, watermill.NopLogger{})
	}
	if err != nil {
		return throughput{}, err
	}
	announce, err := pubsub.NewRedisPublisher(bus, watermill.NopLogger{})
	if err != nil {
		return throughput{}, err
	}
	defer announce.Close()
	var st cns.Store = store
	if r.name != "cns" {
		// Before: only the cns.Store methods are visible, so the worker makes one store call per job.
		st = struct{ cns.Store }{store}
	}
	w := worker.New(worker.Config{Concurrency: conc, MaxAttempts: 3, JobTimeout: time.Minute}, st, noopBuilder{kind}, announce, log)
	var done, failed atomic.Int64
	w.OnJobEnd = func(j *cns.Job) {
		if j.State != cns.JobSucceeded {
			failed.Add(1)
		}
		done.Add(1)
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, watermill.NopLogger{})
	if err != nil {
		return throughput{}, err
	}
	w.Register(router, subs...)
	at := env.sample(ctx)
	start = time.Now()
	go router.Run(context.WithoutCancel(ctx))
	defer func() {
		router.Close()
		w.Wait() // the last SNO announcements, before the publisher closes
	}()
	if err := waitCount(ctx, &done, n, 10*time.Minute); err != nil {
		return throughput{}, err
	}
	drain := float64(n) / time.Since(start).Seconds()
	if f := failed.Load(); f > 0 {
		return throughput{}, fmt.Errorf("%d jobs failed", f)
	}
	return throughput{enq, drain, at}, nil
}

// runAsynq enqueues n tasks into a paused queue, starts the server, and times the drain from unpausing.
func runAsynq(ctx context.Context, r *commandRunner, env *benchEnv, kind string, n int) (throughput, error) {
	rdb := env.client(0)
	defer rdb.Close()
	const queue = "bench"
	insp := asynq.NewInspectorFromRedisClient(rdb)
	client := asynq.NewClientFromRedisClient(rdb)
	// Pausing needs the queue to exist: one task creates it and is consumed below with the rest.
	if _, err := client.Enqueue(asynq.NewTask(kind, nil), asynq.Queue(queue)); err != nil {
		return throughput{}, err
	}
	if err := insp.PauseQueue(queue); err != nil {
		return throughput{}, err
	}
	start := time.Now()
	if err := parallel(n-1, enqueueWorkers, func(int) error {
		_, err := client.Enqueue(asynq.NewTask(kind, nil), asynq.Queue(queue), asynq.MaxRetry(3))
		return err
	}); err != nil {
		return throughput{}, err
	}
	enq := float64(n-1) / time.Since(start).Seconds()
	var done atomic.Int64
	srv := asynq.NewServerFromRedisClient(env.client(0), asynq.Config{
		Concurrency: r.conc(kind), Queues: map[string]int{queue: 1}, LogLevel: asynq.FatalLevel,
		// The idle poll: after the unpause the first task waits at most this long.
		TaskCheckInterval: time.Millisecond,
	})
	if err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		if kind == kindCPU {
			timedCPUTask()
		}
		done.Add(1)
		return nil
	})); err != nil {
		return throughput{}, err
	}
	defer srv.Shutdown()
	time.Sleep(100 * time.Millisecond) // the server's goroutines are up and polling
	at := env.sample(ctx)
	start = time.Now()
	if err := insp.UnpauseQueue(queue); err != nil {
		return throughput{}, err
	}
	if err := waitCount(ctx, &done, n, 10*time.Minute); err != nil {
		return throughput{}, err
	}
	return throughput{enq, float64(n) / time.Since(start).Seconds(), at}, nil
}

// computeCeiling is the fixed CPU task run back to back on `workers` goroutines with nothing else: the
// most CPU tasks/s this machine can do, against which each system's CPU-task rate is read.
func computeCeiling(n, workers int) float64 {
	start := time.Now()
	_ = parallel(n, workers, func(int) error { timedCPUTask(); return nil })
	return float64(n) / time.Since(start).Seconds()
}

var errSkip = errors.New("skipped")
