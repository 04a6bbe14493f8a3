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

// Register subscribes the view to SNO change events.
func Register(r *message.Router, sub message.Subscriber, store cns.Store, view Observer, log *zap.Logger) {
	r.AddConsumerHandler("index_sync", pubsub.TopicSNOEvents, sub, func(msg *message.Message) error {
		var ev busv1.SnoChanged
		if err := pubsub.Decode(msg, &ev); err != nil {
			log.Warn("dropping undecodable sno event", zap.Error(err))
			return nil
		}
		sno, err := store.GetSNO(msg.Context(), ev.Project, ev.SnoId)
		if cns.ErrorCode(err) == cns.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err // retried; the periodic rebuild covers a long outage
		}
		view.Observe(sno)
		return nil
	})
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
