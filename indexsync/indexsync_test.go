package indexsync_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/indexsync"
	busv1 "github.com/cns-dev/cns/proto/gen/cns/bus/v1"
	"github.com/cns-dev/cns/pubsub"
	"github.com/cns-dev/cns/store/bolt"
)

type view struct {
	mu   sync.Mutex
	seen []string
}

func (v *view) Observe(s *cns.SNO) {
	v.mu.Lock()
	v.seen = append(v.seen, s.ID)
	v.mu.Unlock()
}

func (v *view) ids() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Sorted(slices.Values(v.seen))
}

// start stores an SNO (with its job) under each id in a bolt store, registers a view on an in-process
// bus as the process named self, and returns the bus and the view; the router stops with the test.
func start(t *testing.T, self string, ids ...string) (message.Publisher, *view) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	now := time.Now().UTC()
	for _, id := range ids {
		job := &cns.Job{ID: "job_" + id, Project: "p", Kind: cns.JobIngestDocument, State: cns.JobQueued,
			Document: &cns.DocumentInput{Text: "x"}, CreatedAt: now, UpdatedAt: now}
		if _, _, err := st.CreateJob(ctx, job); err != nil {
			t.Fatal(err)
		}
		job.State = cns.JobSucceeded
		sno := &cns.SNO{ID: id, Project: "p", Hypothesis: "h", Graph: cns.NewGraph("h"), Trust: 0.5, Status: cns.StatusActive,
			SchemaVersion: cns.SchemaVersion, JobID: job.ID, CreatedAt: now, UpdatedAt: now}
		if err := st.CompleteJob(ctx, job, sno); err != nil {
			t.Fatal(err)
		}
	}
	log := zap.NewNop()
	bus := pubsub.NewInProcess(pubsub.NewZapLogger(log))
	r, err := message.NewRouter(message.RouterConfig{}, pubsub.NewZapLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	v := &view{}
	indexsync.Register(r, bus, st, v, self, log)
	go r.Run(ctx)
	t.Cleanup(func() { r.Close() }) // before the store closes: cleanups run last-in first-out
	<-r.Running()
	return bus, v
}

// publish sends the events in order.
func publish(t *testing.T, bus message.Publisher, evs ...*busv1.SnoChanged) {
	t.Helper()
	for _, ev := range evs {
		if err := pubsub.Publish(context.Background(), bus, pubsub.TopicSNOEvents, ev); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor waits until the view has seen exactly want (sorted) and fails after 10 s.
func waitFor(t *testing.T, v *view, want []string, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(v.ids(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("view saw %v, want %v%s", v.ids(), want, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEventsOfManySNOs: an event naming several SNOs (a worker's coalesced announcement) brings every
// one of them the store has into the view, and skips the ones it does not.
func TestEventsOfManySNOs(t *testing.T) {
	t.Parallel()
	bus, v := start(t, "", "sno_a", "sno_b", "sno_c")
	publish(t, bus, &busv1.SnoChanged{Project: "p", SnoId: "sno_a", Change: "created", MoreSnoIds: []string{"sno_gone", "sno_c", "sno_b"}})
	waitFor(t, v, []string{"sno_a", "sno_b", "sno_c"}, "")
}

// TestOwnEventsAreSkipped: an event announced by this process (its origin is the name Register was
// given) is not applied — its worker observed those SNOs as it stored them — while another process's
// event, and one without an origin, are.
func TestOwnEventsAreSkipped(t *testing.T) {
	t.Parallel()
	bus, v := start(t, "api-1-01abc", "sno_mine", "sno_theirs", "sno_anon")
	// In order: the in-process bus hands a subscriber the next message once the last one is acked.
	publish(t, bus,
		&busv1.SnoChanged{Project: "p", SnoId: "sno_mine", Change: "created", Origin: "api-1-01abc"},
		&busv1.SnoChanged{Project: "p", SnoId: "sno_theirs", Change: "created", Origin: "w0-7-01def"},
		&busv1.SnoChanged{Project: "p", SnoId: "sno_anon", Change: "updated"})
	waitFor(t, v, []string{"sno_anon", "sno_theirs"}, " (its own event skipped)")
}
