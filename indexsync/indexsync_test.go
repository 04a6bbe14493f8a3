package indexsync_test

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/engine"
	"github.com/cns-dev/cns/indexsync"
	busv1 "github.com/cns-dev/cns/proto/gen/cns/bus/v1"
	"github.com/cns-dev/cns/pubsub"
	"github.com/cns-dev/cns/store/bolt"
)

type view struct {
	mu   sync.Mutex
	seen []*cns.SNO
}

func (v *view) Observe(s *cns.SNO) {
	v.mu.Lock()
	v.seen = append(v.seen, s)
	v.mu.Unlock()
}

func (v *view) ids() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	ids := make([]string, len(v.seen))
	for i, s := range v.seen {
		ids[i] = s.ID
	}
	slices.Sort(ids)
	return ids
}

// trusts is the trust of every version of id the view observed, in order.
func (v *view) trusts(id string) []float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []float64
	for _, s := range v.seen {
		if s.ID == id {
			out = append(out, s.Trust)
		}
	}
	return out
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
	publish(t, bus,
		&busv1.SnoChanged{Project: "p", SnoId: "sno_mine", Change: "created", Origin: "api-1-01abc"},
		&busv1.SnoChanged{Project: "p", SnoId: "sno_theirs", Change: "created", Origin: "w0-7-01def"},
		&busv1.SnoChanged{Project: "p", SnoId: "sno_anon", Change: "updated"})
	waitFor(t, v, []string{"sno_anon", "sno_theirs"}, " (its own event skipped)")
}

// TestEntryIsTheReplica: what an announcement carries of an SNO stands for exactly the replica the
// engine's view needs of it (engine.Replica, whose own test shows the view cannot tell it from the SNO).
func TestEntryIsTheReplica(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 29, 20, 1, 2, 345678901, time.UTC)
	full := &cns.SNO{ID: "sno_a", Project: "p", Hypothesis: "h", Embedding: []float32{0.6, 0.8}, Graph: cns.NewGraph("h"),
		Evidence: []cns.Evidence{{ID: "e1", SourceID: "doi:10.1000/x", Content: "c"}}, Trust: 0.73, Status: cns.StatusReview,
		Lineage: cns.Lineage{Parents: []string{"sno_p", "sno_q"}, Strategy: "dialectical", Generator: "synthesis/builtin@1", Chirality: 0.4},
		Source:  "https://example.org/a", Metadata: map[string]string{"source": "doi:10.1000/m", "k": "v"},
		SchemaVersion: cns.SchemaVersion, JobID: "job_a", CreatedAt: created, UpdatedAt: created.Add(time.Second)}
	bare := &cns.SNO{ID: "sno_b", Project: "p", Status: cns.StatusActive, Trust: 0.5}
	for _, s := range []*cns.SNO{full, bare} {
		// Through the wire, as another process receives it.
		b, err := proto.Marshal(indexsync.Entry(s))
		if err != nil {
			t.Fatal(err)
		}
		var e busv1.SnoEntry
		if err := proto.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		if got, want := indexsync.FromEntry("p", &e), engine.Replica(s); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: entry stands for\n%+v\nwant the replica\n%+v", s.ID, got, want)
		}
	}
}

// TestCreatedEntriesAreApplied: a creation that carries its SNOs' entries is applied from them — SNOs
// the store does not have reach the view, with the entries' values — while one without entries (an
// older announcer) is read from the store.
func TestCreatedEntriesAreApplied(t *testing.T) {
	t.Parallel()
	bus, v := start(t, "", "sno_stored")
	publish(t, bus,
		&busv1.SnoChanged{Project: "p", SnoId: "sno_x", MoreSnoIds: []string{"sno_y"}, Change: "created",
			Entries: []*busv1.SnoEntry{{Id: "sno_x", Status: int32(cns.StatusActive), Trust: 0.9}, {Id: "sno_y", Trust: 0.8}}},
		&busv1.SnoChanged{Project: "p", SnoId: "sno_stored", Change: "created"})
	waitFor(t, v, []string{"sno_stored", "sno_x", "sno_y"}, "")
	if got := v.trusts("sno_x"); !slices.Equal(got, []float64{0.9}) {
		t.Fatalf("sno_x observed with trust %v, want the entry's 0.9", got)
	}
	if got := v.trusts("sno_stored"); !slices.Equal(got, []float64{0.5}) {
		t.Fatalf("sno_stored observed with trust %v, want the store's 0.5", got)
	}
}

// TestEntriesDoNotUndoLaterChanges: the creation of an SNO announced after a later change of it was
// applied (a worker's announcement lingers a few ms; an API call can archive the SNO meanwhile) does not
// bring the older version back; an event whose entries do not match its ids is read from the store.
// (The in-process bus does not keep the order of events published one after another: each step waits.)
func TestEntriesDoNotUndoLaterChanges(t *testing.T) {
	t.Parallel()
	bus, v := start(t, "", "sno_a", "sno_b")
	publish(t, bus, &busv1.SnoChanged{Project: "p", SnoId: "sno_a", Change: "archived"})
	waitFor(t, v, []string{"sno_a"}, "")
	// One event, applied at once: sno_a's creation skipped, sno_done's applied.
	publish(t, bus, &busv1.SnoChanged{Project: "p", SnoId: "sno_a", MoreSnoIds: []string{"sno_done"}, Change: "created",
		Entries: []*busv1.SnoEntry{{Id: "sno_a", Trust: 0.9}, {Id: "sno_done", Trust: 0.9}}})
	waitFor(t, v, []string{"sno_a", "sno_done"}, " (sno_a's older version skipped)")
	if got := v.trusts("sno_a"); !slices.Equal(got, []float64{0.5}) {
		t.Fatalf("sno_a observed with trust %v, want only the store's 0.5 (its archival)", got)
	}
	publish(t, bus, &busv1.SnoChanged{Project: "p", SnoId: "sno_b", Change: "created", Entries: []*busv1.SnoEntry{{Id: "sno_other", Trust: 0.9}}})
	waitFor(t, v, []string{"sno_a", "sno_b", "sno_done"}, "")
	if got := v.trusts("sno_b"); !slices.Equal(got, []float64{0.5}) {
		t.Fatalf("sno_b observed with trust %v, want the store's 0.5 (its entry names another SNO)", got)
	}
}
