// Package indexsync keeps a process's in-memory population view (vector index, trust per SNO) in step
// with the store: every process publishes an SnoChanged event when it stores an SNO, and every process
// applies all events (a fan-out subscription). A process that starts, or misses events, rebuilds from the
// store, which stays the source of truth.
package indexsync

import (
	"context"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	lru "github.com/hashicorp/golang-lru/v2"
	"go.uber.org/zap"

	"github.com/cns-dev/cns"
	busv1 "github.com/cns-dev/cns/proto/gen/cns/bus/v1"
	"github.com/cns-dev/cns/pubsub"
)

// Observer is the in-memory view to keep current (*engine.Engine).
type Observer interface {
	Observe(sno *cns.SNO)
}

// Register subscribes the view to SNO change events. self names this process (unique to it; "" for
// none): an event whose origin it is was announced by this process's own worker, which observed its
// SNOs as it stored them.
//
// A "created" event that carries the SNOs' entries (Entry) is applied as it is: the store is not read.
// Every other event is applied by reading its SNOs from the store, which has their latest version,
// whatever order events arrive in. An entry is a version, though: one that arrives after a later change
// of its SNO was applied (the worker announces a few ms after storing, and an API call can archive the
// SNO meanwhile) must not bring the older version back, so the SNOs that had other changes are
// remembered and their "created" entries skipped.
func Register(r *message.Router, sub message.Subscriber, store cns.Store, view Observer, self string, log *zap.Logger) {
	a := newApplier(view)
	r.AddConsumerHandler("index_sync", pubsub.TopicSNOEvents, sub, func(msg *message.Message) error {
		var ev busv1.SnoChanged
		if err := pubsub.Decode(msg, &ev); err != nil {
			log.Warn("dropping undecodable sno event", zap.Error(err))
			return nil
		}
		if self != "" && ev.Origin == self {
			return nil
		}
		ids := append([]string{ev.SnoId}, ev.MoreSnoIds...)
		if ev.Change == ChangeCreated && entriesMatch(ids, ev.Entries) {
			a.created(ev.Project, ev.Entries)
			return nil
		}
		if ev.Change != ChangeCreated {
			a.changed(ev.Project, ids)
		}
		snos, err := load(msg.Context(), store, ev.Project, ids)
		if err != nil {
			return err // retried; the periodic rebuild covers a long outage
		}
		a.observe(snos)
		return nil
	})
}

// ChangeCreated is the change of an SnoChanged event announcing new SNOs.
const ChangeCreated = "created"

// changedMemory is how many SNOs with a change other than their creation a process remembers: the race
// it guards is a few ms long, so the last 65,536 such changes are plenty.
const changedMemory = 1 << 16

// applier applies events to the view; mu orders the creations against the other changes (Register).
type applier struct {
	view    Observer
	mu      sync.Mutex
	changes *lru.Cache[string, struct{}] // project "/" id of SNOs that had a change other than creation
}

func newApplier(view Observer) *applier {
	c, err := lru.New[string, struct{}](changedMemory)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &applier{view: view, changes: c}
}

// changed records, before their SNOs are read, that they changed since their creation.
func (a *applier) changed(project string, ids []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		a.changes.Add(project+"/"+id, struct{}{})
	}
}

// created observes the entries of new SNOs, but for those that changed since.
func (a *applier) created(project string, entries []*busv1.SnoEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range entries {
		if !a.changes.Contains(project + "/" + e.GetId()) {
			a.view.Observe(FromEntry(project, e))
		}
	}
}

func (a *applier) observe(snos []*cns.SNO) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, sno := range snos {
		a.view.Observe(sno)
	}
}

// entriesMatch reports whether an event's entries are those of its SNO ids, in order.
func entriesMatch(ids []string, entries []*busv1.SnoEntry) bool {
	if len(entries) != len(ids) {
		return false
	}
	for i, e := range entries {
		if e.GetId() != ids[i] {
			return false
		}
	}
	return true
}

// Entry is what an announcement carries of a stored SNO: the fields of engine.Replica, which are all
// that engine.Observe reads (TestEntryIsTheReplica).
func Entry(sno *cns.SNO) *busv1.SnoEntry {
	e := &busv1.SnoEntry{Id: sno.ID, Status: int32(sno.Status), Trust: sno.Trust, Embedding: sno.Embedding,
		Parents: sno.Lineage.Parents, Generator: sno.Lineage.Generator, Source: sno.Source, MetadataSource: sno.Metadata["source"]}
	if !sno.CreatedAt.IsZero() {
		e.CreatedAtUnixNano = sno.CreatedAt.UnixNano()
	}
	return e
}

// FromEntry is the SNO an entry of project stands for, with the fields engine.Observe reads.
func FromEntry(project string, e *busv1.SnoEntry) *cns.SNO {
	s := &cns.SNO{ID: e.GetId(), Project: project, Status: cns.Status(e.GetStatus()), Trust: e.GetTrust(), Embedding: e.GetEmbedding(),
		Source: e.GetSource(), Lineage: cns.Lineage{Parents: e.GetParents(), Generator: e.GetGenerator()}}
	if n := e.GetCreatedAtUnixNano(); n != 0 {
		s.CreatedAt = time.Unix(0, n).UTC()
	}
	if src := e.GetMetadataSource(); src != "" {
		s.Metadata = map[string]string{"source": src}
	}
	return s
}

// multiGetter is the store's multi-get (cns.PairStore has it): one round trip for an event's SNOs.
type multiGetter interface {
	GetSNOs(ctx context.Context, project string, ids []string) ([]*cns.SNO, error)
}

// load reads the named SNOs, skipping the ones the store does not have.
func load(ctx context.Context, store cns.Store, project string, ids []string) ([]*cns.SNO, error) {
	if m, ok := store.(multiGetter); ok && len(ids) > 1 {
		return m.GetSNOs(ctx, project, ids)
	}
	var out []*cns.SNO
	for _, id := range ids {
		sno, err := store.GetSNO(ctx, project, id)
		if cns.ErrorCode(err) == cns.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sno)
	}
	return out, nil
}

// Announcer returns a function that publishes an SnoChanged event; failures are logged, never fatal,
// because replicas also rebuild from the store.
func Announcer(pub message.Publisher, log *zap.Logger) func(ctx context.Context, sno *cns.SNO, change string) {
	return func(ctx context.Context, sno *cns.SNO, change string) {
		ev := &busv1.SnoChanged{Project: sno.Project, SnoId: sno.ID, Change: change}
		if err := pubsub.Publish(context.WithoutCancel(ctx), pub, pubsub.TopicSNOEvents, ev); err != nil {
			log.Warn("announce sno change", zap.String("sno_id", sno.ID), zap.Error(err))
		}
	}
}
