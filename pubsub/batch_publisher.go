package pubsub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
)

// BatchPublisher is a Watermill message.Publisher to Redis Streams that pipelines concurrent Publish
// calls: the calls made while a pipeline is on the wire go out together in the next one (at most two
// pipelines at once), so a worker announcing many SNOs, or an API accepting many jobs, pays one round trip
// per batch instead of one per message. Entries are encoded as Watermill's redisstream publisher encodes
// them, so either subscriber reads them. Publish returns once Redis has added the call's messages (or
// failed to), as Watermill's publisher does. Safe for concurrent use.
type BatchPublisher struct {
	client    redis.UniversalClient
	maxLen    int64
	marshaler redisstream.Marshaller

	mu      sync.Mutex
	queue   []*publishCall
	flushes int
	closed  bool
}

type publishCall struct {
	ctx   context.Context
	topic string
	msgs  []*message.Message
	err   error
	done  chan struct{}
}

// maxPublishBatch bounds the messages of one pipeline.
const maxPublishBatch = 512

// NewBatchPublisher returns a publisher that adds to streams capped at about maxLen entries (0: no cap)
// and closes client on Close.
func NewBatchPublisher(client redis.UniversalClient, maxLen int64) *BatchPublisher {
	return &BatchPublisher{client: client, maxLen: maxLen, marshaler: redisstream.DefaultMarshallerUnmarshaller{}}
}

// EventsMaxLen caps the event streams (cns.events.*) whatever cap the publisher has for the command
// streams. A process reads events as they arrive (its fan-out reader starts at the end of the stream),
// so only a reader that fell behind ever reads an old entry, and one that fell 10,000 events behind
// gets its view back from the store (redis.resync_interval). SNO events carry what a replica keeps of
// each SNO, its embedding included (~1.5 KB with the built-in 356-dimension embedder), and an event
// the SNOs one worker stored within 5 ms — one or two at real build speeds — so the capped stream holds
// some 15–30 MB; at the commands' cap of 1,000,000 it could hold gigabytes.
const EventsMaxLen = 10_000

// maxLenOf is the approximate cap of topic's stream (0: none).
func (p *BatchPublisher) maxLenOf(topic string) int64 {
	if strings.HasPrefix(topic, eventsPrefix) && (p.maxLen == 0 || p.maxLen > EventsMaxLen) {
		return EventsMaxLen
	}
	return p.maxLen
}

// eventsPrefix starts the name of every event topic.
const eventsPrefix = "cns.events."

// Publish implements message.Publisher.
func (p *BatchPublisher) Publish(topic string, msgs ...*message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ctx := msgs[0].Context()
	c := &publishCall{ctx: ctx, topic: topic, msgs: msgs, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("publisher closed")
	}
	p.queue = append(p.queue, c)
	if p.flushes < 2 {
		p.flushes++
		for len(p.queue) > 0 {
			n, size := 0, 0
			for n < len(p.queue) && (n == 0 || size+len(p.queue[n].msgs) <= maxPublishBatch) {
				size += len(p.queue[n].msgs)
				n++
			}
			batch := p.queue[:n:n]
			p.queue = p.queue[n:]
			p.mu.Unlock()
			p.flush(batch)
			p.mu.Lock()
		}
		p.flushes--
		p.queue = nil
	}
	p.mu.Unlock()
	<-c.done
	return c.err
}

// flush sends the calls' messages in one pipeline and reports each call's outcome.
func (p *BatchPublisher) flush(calls []*publishCall) {
	defer func() {
		for _, c := range calls {
			close(c.done)
		}
	}()
	pipe := p.client.Pipeline()
	cmds := make([][]*redis.StringCmd, len(calls))
	sent := false
	for i, c := range calls {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			continue
		}
		// Encode the whole call first: a call that cannot be encoded sends nothing.
		values := make([]map[string]any, len(c.msgs))
		for j, m := range c.msgs {
			v, err := p.marshaler.Marshal(c.topic, m)
			if err != nil {
				c.err = fmt.Errorf("cannot marshal message %s: %w", m.UUID, err)
				break
			}
			values[j] = v
		}
		if c.err != nil {
			continue
		}
		maxLen := p.maxLenOf(c.topic)
		for _, v := range values {
			cmds[i] = append(cmds[i], pipe.XAdd(context.Background(), &redis.XAddArgs{
				Stream: c.topic, Values: v, MaxLen: maxLen, Approx: maxLen > 0,
			}))
		}
		sent = true
	}
	if !sent {
		return
	}
	_, _ = pipe.Exec(context.Background()) // each command carries its own error
	for i, c := range calls {
		if c.err != nil {
			continue
		}
		for j, cmd := range cmds[i] {
			if err := cmd.Err(); err != nil {
				c.err = fmt.Errorf("cannot xadd message %s: %w", c.msgs[j].UUID, err)
				break
			}
		}
	}
}

// Close implements message.Publisher: later Publish calls fail; the client is closed.
func (p *BatchPublisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	return p.client.Close()
}
