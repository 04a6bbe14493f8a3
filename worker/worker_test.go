package worker_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/dispatch"
	"github.com/cns-dev/cns/internal/redistest"
	busv1 "github.com/cns-dev/cns/proto/gen/cns/bus/v1"
	"github.com/cns-dev/cns/pubsub"
	"github.com/cns-dev/cns/store/bolt"
	redisstore "github.com/cns-dev/cns/store/redis"
	"github.com/cns-dev/cns/worker"
)

// builder is a stand-in for the engine whose behaviour per job the test controls.
type builder struct {
	mu    sync.Mutex
	fail  map[string]func() error // document text → what its next build does
	built atomic.Int64
}

func (b *builder) Build(_ context.Context, job *cns.Job) (*cns.SNO, error) {
	b.mu.Lock()
	f := b.fail[job.Document.Text]
	b.mu.Unlock()
	if f != nil {
		if err := f(); err != nil {
			return nil, err
		}
	}
	b.built.Add(1)
	now := time.Now().UTC()
	return &cns.SNO{ID: "sno_" + job.ID, Project: job.Project, Hypothesis: "h", Graph: cns.NewGraph("h"), Status: cns.StatusActive,
		Trust: 0.5, JobID: job.ID, SchemaVersion: cns.SchemaVersion, CreatedAt: now, UpdatedAt: now}, nil
}

func (b *builder) Observe(*cns.SNO) {}

type bundle struct {
	store cns.Store
	disp  *dispatch.Dispatcher
	b     *builder
}

func setup(t *testing.T, maxAttempts int) *bundle { return setupOn(t, maxAttempts, false) }

// setupOn wires a worker to the embedded store and the in-process bus, or (onRedis) to a throwaway Redis
// with the Redis store and Redis Streams subscribers, as `cns worker` does.
func setupOn(t *testing.T, maxAttempts int, onRedis bool) *bundle {
	t.Helper()
	return setupWith(t, maxAttempts, onRedis, nil)
}

// setupWith is setupOn with the worker's store wrapped by wrap (nil: not wrapped).
func setupWith(t *testing.T, maxAttempts int, onRedis bool, wrap func(cns.Store) cns.Store) *bundle {
	t.Helper()
	log := zaptest.NewLogger(t)
	// Watermill's router may still log from a handler's goroutine after Close returns (after the test
	// ended, which would be a race on t), so Watermill's own logs go nowhere.
	wlog := pubsub.NewZapLogger(zap.NewNop())
	var (
		st   cns.Store
		pub  message.Publisher
		subs []message.Subscriber
	)
	if onRedis {
		srv := redistest.Start(t)
		cfg := pubsub.RedisConfig{
			NewClient: func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: srv.Addr()}) },
			Instance:  "test", ClaimIdle: 10 * time.Second, MaxLen: 10000,
		}
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
		t.Cleanup(func() { rdb.Close() })
		st = redisstore.New(rdb, "")
		var err error
		if pub, err = pubsub.NewRedisPublisher(cfg, wlog); err != nil {
			t.Fatal(err)
		}
		if subs, err = pubsub.NewRedisCommandSubscribers(cfg, 2, wlog); err != nil {
			t.Fatal(err)
		}
	} else {
		bst, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
		if err != nil {
			t.Fatal(err)
		}
		st = bst
		bus := pubsub.NewInProcess(wlog)
		pub, subs = bus, []message.Subscriber{bus}
	}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, wlog)
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{fail: map[string]func() error{}}
	wst := st
	if wrap != nil {
		wst = wrap(st)
	}
	w := worker.New(worker.Config{Concurrency: 2, MaxAttempts: maxAttempts, JobTimeout: 5 * time.Second}, wst, b, nil, log)
	w.Register(r, subs...)
	go r.Run(context.Background())
	<-r.Running()
	t.Cleanup(func() {
		r.Close()
		pub.Close()
		st.Close()
	})
	return &bundle{store: st, disp: &dispatch.Dispatcher{Store: st, Publisher: pub, Log: log}, b: b}
}

func (b *bundle) submit(t *testing.T, text string) string {
	t.Helper()
	id, err := b.disp.Accept(t.Context(), &cns.Job{Project: "p", Kind: cns.JobIngestDocument, Document: &cns.DocumentInput{Text: text}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func waitState(t *testing.T, s cns.Store, id string) *cns.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		j, err := s.GetJob(context.Background(), "p", id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State.Terminal() {
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("job %s did not end", id)
	return nil
}

func TestPanickingJobIsDeadLetteredAndRedriven(t *testing.T) {
	t.Parallel()
	for _, onRedis := range []bool{false, true} {
		t.Run(map[bool]string{false: "in-process", true: "redis"}[onRedis], func(t *testing.T) {
			t.Parallel()
			testPanicking(t, setupOn(t, 3, onRedis))
		})
	}
}

func testPanicking(t *testing.T, b *bundle) {
	var panics atomic.Int64
	b.b.fail["panic"] = func() error {
		if panics.Load() < 3 {
			panics.Add(1)
			panic("handler bug")
		}
		return nil
	}
	id := b.submit(t, "panic")
	j := waitState(t, b.store, id)
	if j.State != cns.JobFailed || j.Attempts != 3 || panics.Load() != 3 {
		t.Fatalf("job %+v after %d panics", j, panics.Load())
	}
	dls, err := b.store.ListDeadLetters(t.Context(), "p", 0)
	if err != nil || len(dls) != 1 || dls[0].JobID != id || dls[0].Deliveries != 3 || dls[0].Topic != pubsub.TopicJobs {
		t.Fatalf("dead letters: %+v %v", dls, err)
	}
	n, err := b.disp.Redrive(t.Context(), "p", []string{dls[0].ID})
	if err != nil || n != 1 {
		t.Fatalf("redrive: %d %v", n, err)
	}
	if j := waitState(t, b.store, id); j.State != cns.JobSucceeded || j.Attempts != 1 {
		t.Fatalf("redriven job: %+v", j)
	}
	if dls, _ := b.store.ListDeadLetters(t.Context(), "p", 0); len(dls) != 0 {
		t.Fatalf("dead letter still listed after redrive: %+v", dls)
	}
}

func TestInputErrorFailsAtOnceAndTransientErrorRetries(t *testing.T) {
	t.Parallel()
	b := setup(t, 5)
	var flakes atomic.Int64
	b.b.fail["bad"] = func() error { return cns.Errorf(cns.EINVALID, "no hypothesis found") }
	b.b.fail["flaky"] = func() error {
		if flakes.Add(1) <= 2 {
			return errors.New("store hiccup")
		}
		return nil
	}
	bad, flaky := b.submit(t, "bad"), b.submit(t, "flaky")
	jb := waitState(t, b.store, bad)
	jf := waitState(t, b.store, flaky)
	if jb.State != cns.JobFailed || jb.ErrorCode != cns.EINVALID || jb.Error != "no hypothesis found" || jb.Attempts != 1 {
		t.Fatalf("input error: %+v", jb)
	}
	if jf.State != cns.JobSucceeded || jf.Attempts != 3 {
		t.Fatalf("transient error: %+v", jf)
	}
	if dls, _ := b.store.ListDeadLetters(t.Context(), "p", 0); len(dls) != 0 {
		t.Fatalf("input errors are not dead letters: %+v", dls)
	}
}

// recordingStore remembers the job states written by UpdateJob (it hides the batch methods, so every
// write is a single call it sees).
type recordingStore struct {
	cns.Store
	mu      sync.Mutex
	updates map[string][]cns.JobState
}

func (s *recordingStore) UpdateJob(ctx context.Context, j *cns.Job) error {
	s.mu.Lock()
	s.updates[j.ID] = append(s.updates[j.ID], j.State)
	s.mu.Unlock()
	return s.Store.UpdateJob(ctx, j)
}

func (s *recordingStore) written(id string) []cns.JobState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]cns.JobState(nil), s.updates[id]...)
}

// TestRunningRecordOfFirstDeliveries: on Redis Streams a first delivery that ends quickly goes from
// queued to succeeded in one write; one that runs longer is shown as running (its attempt counted)
// while it runs. On the in-process bus, which cannot tell a first delivery, the attempt is recorded
// before the job runs.
func TestRunningRecordOfFirstDeliveries(t *testing.T) {
	t.Parallel()
	for _, onRedis := range []bool{true, false} {
		t.Run(map[bool]string{false: "in-process", true: "redis"}[onRedis], func(t *testing.T) {
			t.Parallel()
			rec := &recordingStore{updates: map[string][]cns.JobState{}}
			b := setupWith(t, 3, onRedis, func(s cns.Store) cns.Store { rec.Store = s; return rec })
			release := make(chan struct{})
			b.b.fail["slow"] = func() error { <-release; return nil }

			fast := b.submit(t, "fast")
			if j := waitState(t, b.store, fast); j.State != cns.JobSucceeded || j.Attempts != 1 {
				t.Fatalf("fast job: %+v", j)
			}
			wantFast := []cns.JobState{cns.JobRunning}
			if onRedis {
				wantFast = nil
			}
			if got := rec.written(fast); !slices.Equal(got, wantFast) {
				t.Errorf("fast job: UpdateJob wrote %v, want %v", got, wantFast)
			}

			slow := b.submit(t, "slow")
			deadline := time.Now().Add(20 * time.Second)
			for {
				j, err := b.store.GetJob(t.Context(), "p", slow)
				if err != nil {
					t.Fatal(err)
				}
				if j.State == cns.JobRunning {
					if j.Attempts != 1 {
						t.Fatalf("running job counts %d attempts, want 1", j.Attempts)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("slow job never shown as running: %+v", j)
				}
				time.Sleep(5 * time.Millisecond)
			}
			close(release)
			if j := waitState(t, b.store, slow); j.State != cns.JobSucceeded || j.Attempts != 1 {
				t.Fatalf("slow job: %+v", j)
			}
			if got := rec.written(slow); !slices.Equal(got, []cns.JobState{cns.JobRunning}) {
				t.Errorf("slow job: UpdateJob wrote %v, want [running]", got)
			}
		})
	}
}

// eventRecorder records published SNO events.
type eventRecorder struct {
	mu  sync.Mutex
	ids map[string]int
}

func (p *eventRecorder) Publish(_ string, msgs ...*message.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range msgs {
		var ev busv1.SnoChanged
		if err := pubsub.Decode(m, &ev); err != nil {
			return err
		}
		for _, id := range append([]string{ev.SnoId}, ev.MoreSnoIds...) {
			p.ids[id]++
		}
	}
	return nil
}

func (p *eventRecorder) Close() error { return nil }

// TestEverySNOIsAnnouncedOnce: the announcements, made beside the handlers and coalesced, name every
// stored SNO exactly once by the time Wait returns.
func TestEverySNOIsAnnouncedOnce(t *testing.T) {
	t.Parallel()
	// Watermill's router may still log from a handler's goroutine after Close returns, so nothing here
	// logs to t (a log after the test ended is a race).
	log := zap.NewNop()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bus := pubsub.NewInProcess(pubsub.NewZapLogger(log))
	defer bus.Close()
	events := &eventRecorder{ids: map[string]int{}}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, pubsub.NewZapLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	b := &builder{fail: map[string]func() error{}}
	w := worker.New(worker.Config{Concurrency: 8, MaxAttempts: 3, JobTimeout: 5 * time.Second}, st, b, events, log)
	w.Register(r, bus)
	go r.Run(context.Background())
	<-r.Running()
	d := &dispatch.Dispatcher{Store: st, Publisher: bus, Log: log}
	const n = 60
	ids := make([]string, n)
	for i := range n {
		if ids[i], err = d.Accept(t.Context(), &cns.Job{Project: "p", Kind: cns.JobIngestDocument, Document: &cns.DocumentInput{Text: fmt.Sprint("d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		if j := waitState(t, st, id); j.State != cns.JobSucceeded {
			t.Fatalf("job %+v", j)
		}
	}
	r.Close()
	w.Wait()
	events.mu.Lock()
	defer events.mu.Unlock()
	for _, id := range ids {
		if c := events.ids["sno_"+id]; c != 1 {
			t.Errorf("SNO of job %s announced %d times, want 1", id, c)
		}
	}
	if len(events.ids) != n {
		t.Errorf("%d SNOs announced, want %d", len(events.ids), n)
	}
}
