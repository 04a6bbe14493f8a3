// Package indexsync keeps a process's in-memory population view (vector index, trust per SNO) in step
// with the store: every process publishes an SnoChanged event when it stores an SNO, and every process
// applies all events (a fan-out subscription). A process that starts, or misses events, rebuilds from the
// store, which stays the source of truth.
package indexsync

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
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
// SNOs as it stored them, so reading them back would only cost Redis and this process a ~10 KB record
// each.
func Register(r *message.Router, sub message.Subscriber, store cns.Store, view Observer, self string, log *zap.Logger) {
	r.AddConsumerHandler("index_sync", pubsub.TopicSNOEvents, sub, func(msg *message.Message) error {
		var ev busv1.SnoChanged
		if err := pubsub.Decode(msg, &ev); err != nil {
			log.Warn("dropping undecodable sno event", zap.Error(err))
			return nil
		}
		if self != "" && ev.Origin == self {
			return nil
		}
		snos, err := load(msg.Context(), store, ev.Project, append([]string{ev.SnoId}, ev.MoreSnoIds...))
		if err != nil {
			return err // retried; the periodic rebuild covers a long outage
		}
		for _, sno := range snos {
			view.Observe(sno)
		}
		return nil
	})
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
