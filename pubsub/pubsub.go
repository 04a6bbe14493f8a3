// Package pubsub wires Watermill for CNS: topic names, protobuf message encoding, a zap logger adapter,
// router middleware, and the buses themselves (in-process gochannel for `cns dev`; Redis Streams for the
// distributed mode). Commands carry only ids: the job's input lives in the store, so a message that is
// lost (in-process bus, crash) is recovered by re-publishing unfinished jobs at start.
package pubsub

import (
	"context"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"google.golang.org/protobuf/proto"
)

// Topics.
const (
	// TopicJobs carries busv1.ProcessJob commands, consumed by one worker (competing consumers).
	TopicJobs = "cns.commands.jobs"
	// TopicSNOEvents carries busv1.SnoChanged events, fanned out to every process.
	TopicSNOEvents = "cns.events.sno"
)

// Bus is a publisher and subscriber pair.
type Bus interface {
	message.Publisher
	message.Subscriber
}

// NewInProcess returns Watermill's in-process gochannel bus. It keeps nothing across restarts; CNS
// recovers by re-publishing unfinished jobs from the store at start.
func NewInProcess(logger watermill.LoggerAdapter) Bus {
	return gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 256}, logger)
}

// NewMessage encodes a protobuf message as a Watermill message with a fresh UUID.
func NewMessage(ctx context.Context, m proto.Message) (*message.Message, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", m, err)
	}
	msg := message.NewMessage(watermill.NewULID(), b)
	msg.SetContext(ctx)
	// Carried through every handler (middleware.CorrelationID) so logs of one request can be joined.
	middleware.SetCorrelationID(msg.UUID, msg)
	return msg, nil
}

// Decode decodes a Watermill message's payload into m.
func Decode(msg *message.Message, m proto.Message) error {
	if err := proto.Unmarshal(msg.Payload, m); err != nil {
		return fmt.Errorf("decode %T: %w", m, err)
	}
	return nil
}

// Publish encodes m and publishes it to topic.
func Publish(ctx context.Context, p message.Publisher, topic string, m proto.Message) error {
	msg, err := NewMessage(ctx, m)
	if err != nil {
		return err
	}
	if err := p.Publish(topic, msg); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	return nil
}

// Limit bounds how many messages a handler processes at once. Watermill's router starts a goroutine per
// delivered message, and the in-process bus delivers everything at once, so without this bound a burst
// would run every job concurrently. A message's slot goes back when its handler returns or, earlier,
// when the handler calls LeaveWindow (which also reaches the subscriber's window).
func Limit(n int) message.HandlerMiddleware {
	sem := make(chan struct{}, n)
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			ctx := msg.Context()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			var once sync.Once
			free := func() { once.Do(func() { <-sem }) }
			defer free()
			outer, _ := ctx.Value(leaveKey{}).(func())
			msg.SetContext(context.WithValue(ctx, leaveKey{}, func() {
				free()
				if outer != nil {
					outer()
				}
			}))
			return h(msg)
		}
	}
}
