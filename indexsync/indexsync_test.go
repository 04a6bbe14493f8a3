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

// TestEventsOfManySNOs: an event naming several SNOs (a worker's coalesced announcement) brings every
// one of them the store has into the view, and skips the ones it does not.
func TestEventsOfManySNOs(t *testing.T) {
	t.Parallel()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	for _, id := range []string{"sno_a", "sno_b", "sno_c"} {
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
	indexsync.Register(r, bus, st, v, "", log)
	go r.Run(ctx)
	defer r.Close()
	<-r.Running()
	ev := &busv1.SnoChanged{Project: "p", SnoId: "sno_a", Change: "created", MoreSnoIds: []string{"sno_gone", "sno_c", "sno_b"}}
	if err := pubsub.Publish(ctx, bus, pubsub.TopicSNOEvents, ev); err != nil {
		t.Fatal(err)
	}
	want := []string{"sno_a", "sno_b", "sno_c"}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(v.ids(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("view saw %v, want %v", v.ids(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOwnEventsAreSkipped: an event announced by this process (its origin is the name Register was
// given) is not applied — its worker observed those SNOs as it stored them — while another process's
// event, and one without an origin, are.
func TestOwnEventsAreSkipped(t *testing.T) {
	t.Parallel()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	for _, id := range []string{"sno_mine", "sno_theirs", "sno_anon"} {
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
	indexsync.Register(r, bus, st, v, "api-1-01abc", log)
	go r.Run(ctx)
	defer r.Close()
	<-r.Running()
	// In order: the in-process bus hands a subscriber the next message once the last one is acked.
	for _, ev := range []*busv1.SnoChanged{
		{Project: "p", SnoId: "sno_mine", Change: "created", Origin: "api-1-01abc"},
		{Project: "p", SnoId: "sno_theirs", Change: "created", Origin: "w0-7-01def"},
		{Project: "p", SnoId: "sno_anon", Change: "updated"},
	} {
		if err := pubsub.Publish(ctx, bus, pubsub.TopicSNOEvents, ev); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"sno_anon", "sno_theirs"}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(v.ids(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("view saw %v, want %v (its own event skipped)", v.ids(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
