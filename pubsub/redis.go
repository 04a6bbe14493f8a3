package pubsub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
)

// ConsumerGroup is the one consumer group of command streams: every worker process joins it, so each
// command goes to exactly one worker.
const ConsumerGroup = "cns-workers"

// RedisConfig configures the Redis Streams bus.
type RedisConfig struct {
	// NewClient opens a new client. Watermill's redisstream Publisher and Subscriber close the client
	// they are given, so every one of them gets its own.
	NewClient func() redis.UniversalClient
	// Instance names this process; consumer names are "<instance>-<n>", stable across restarts so a
	// restarted worker finds its own pending messages.
	Instance string
	// ClaimIdle is how long a delivered, unacknowledged message waits before another consumer claims it
	// (a crashed worker's messages). It must exceed the longest job.
	ClaimIdle time.Duration
	// MaxLen caps each stream (approximate trimming). Commands are acked long before the cap matters;
	// it only bounds memory if consumers are gone for long.
	MaxLen int64
}

// NewRedisPublisher returns a publisher to Redis Streams: a BatchPublisher, which pipelines concurrent
// Publish calls and writes entries as Watermill's redisstream publisher does.
func NewRedisPublisher(c RedisConfig, logger watermill.LoggerAdapter) (message.Publisher, error) {
	return NewBatchPublisher(c.NewClient(), c.MaxLen), nil
}

// NewRedisCommandSubscribers returns the subscribers of the command consumer group for a worker running
// n commands at once: one BatchSubscriber, consumer "<instance>-0", whose window (WindowFor(n)) keeps the
// next commands read while n run. (Watermill's redisstream subscriber reads one message and waits for its
// ack before the next, so a worker needed n of those, each costing two round trips per command.)
func NewRedisCommandSubscribers(c RedisConfig, n int, logger watermill.LoggerAdapter) ([]message.Subscriber, error) {
	s, err := NewBatchSubscriber(BatchConfig{
		Client:        c.NewClient(),
		ConsumerGroup: ConsumerGroup,
		Consumer:      c.Instance + "-0",
		Window:        WindowFor(n),
		ClaimIdle:     c.ClaimIdle,
		ClaimInterval: min(c.ClaimIdle/2, 5*time.Second),
		// A nacked command is retried by the same consumer after a pause (the worker also backs off).
		NackResendSleep: 100 * time.Millisecond,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("redis subscriber: %w", err)
	}
	return []message.Subscriber{s}, nil
}

// NewRedisFanOutSubscriber returns a subscriber that gets every event from now on (no consumer group):
// each process keeps its own in-memory index replica in sync with it.
func NewRedisFanOutSubscriber(c RedisConfig, logger watermill.LoggerAdapter) (message.Subscriber, error) {
	s, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{
		Client:                        c.NewClient(),
		FanOutOldestId:                "$",
		BlockTime:                     time.Second,
		DisableIndefiniteInitialBlock: true,
		ShouldStopOnReadErrors:        stopOnlyWhenClosing,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("redis fan-out subscriber: %w", err)
	}
	return s, nil
}

// stopOnlyWhenClosing keeps a subscriber reading through Redis outages (it reconnects by itself) and
// stops it only when its context is cancelled, i.e. when it is being closed.
func stopOnlyWhenClosing(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, redis.ErrClosed)
}

// QueueDepth is the state of one command stream and its consumer group.
type QueueDepth struct {
	Name          string
	Length        int64 // entries in the stream (acked ones included until trimmed)
	Pending       int64 // delivered, not yet acked
	Lag           int64 // not yet delivered to the group
	OldestPending time.Duration
	Consumers     int64
}

// Backlog is what still has to be done: undelivered plus unacknowledged.
func (q QueueDepth) Backlog() int64 { return q.Lag + q.Pending }

// RedisQueueDepth inspects a command stream: XINFO GROUPS for lag and pending (Redis ≥ 7), XPENDING for
// the oldest pending message's idle time.
func RedisQueueDepth(ctx context.Context, rdb redis.UniversalClient, stream string) (QueueDepth, error) {
	q := QueueDepth{Name: stream}
	n, err := rdb.XLen(ctx, stream).Result()
	if err != nil {
		return q, fmt.Errorf("xlen %s: %w", stream, err)
	}
	q.Length = n
	groups, err := rdb.XInfoGroups(ctx, stream).Result()
	if err != nil {
		if isNoSuchKey(err) {
			return q, nil
		}
		return q, fmt.Errorf("xinfo groups %s: %w", stream, err)
	}
	for _, g := range groups {
		if g.Name != ConsumerGroup {
			continue
		}
		q.Pending, q.Consumers = g.Pending, g.Consumers
		q.Lag = max(g.Lag, 0)
		if g.Lag < 0 { // Redis reports an unknown lag (after some deletions) as nil → -1: count the stream.
			q.Lag = max(n-g.EntriesRead, 0)
		}
	}
	if q.Pending > 0 {
		ps, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: stream, Group: ConsumerGroup, Start: "-", End: "+", Count: 1}).Result()
		if err != nil {
			return q, fmt.Errorf("xpending %s: %w", stream, err)
		}
		if len(ps) > 0 {
			q.OldestPending = ps[0].Idle
		}
	}
	return q, nil
}

func isNoSuchKey(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && (re.Error() == "ERR no such key" || re.Error() == "ERR The XINFO subcommand requires the key to exist.")
}
