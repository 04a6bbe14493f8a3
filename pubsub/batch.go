package pubsub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
)

// MetaFirstDelivery is the metadata a BatchSubscriber sets (to "1") on a message read from the stream as
// new: no consumer has had it before. Messages claimed from a dead consumer, re-read from this consumer's
// own history after a restart, or delivered again after a nack do not carry it. A handler may use it to
// skip bookkeeping that only matters when a delivery is repeated (the worker records the attempt of a
// first delivery only if the job runs long enough to be worth showing as running).
const MetaFirstDelivery = "cns_first_delivery"

// FirstDelivery reports whether msg carries MetaFirstDelivery.
func FirstDelivery(msg *message.Message) bool { return msg.Metadata.Get(MetaFirstDelivery) == "1" }

type leaveKey struct{}

// LeaveWindow tells the BatchSubscriber that delivered msg that the handler's own work on it is over
// and only its result is being recorded: the message's window slot may go to a new message now, not
// after the XACK. The message is still acked or nacked as usual, and stays pending in Redis until then.
// Without it, the round trips after the work (the worker's job completion, the ack's XACK, the next
// XREADGROUP) happen inside the window and a short CPU-bound job leaves cores idle waiting for work;
// moving them out keeps the window what a prefetch is for: messages waiting for, or in, their work.
// At most Window messages may have left at once (the rest keep their slot until acked), so messages
// held unacknowledged stay bounded at twice the window. A message not delivered by a BatchSubscriber
// (gochannel in `cns dev`) ignores it.
func LeaveWindow(msg *message.Message) {
	if leave, ok := msg.Context().Value(leaveKey{}).(func()); ok {
		leave()
	}
}

// BatchConfig configures a BatchSubscriber.
type BatchConfig struct {
	// Client is closed by Close, as Watermill's own subscriber does.
	Client redis.UniversalClient
	// ConsumerGroup is created (with the stream) at OldestID when missing.
	ConsumerGroup string
	// Consumer names this subscriber in the group. Keep it stable across restarts: a new subscriber
	// first re-reads the messages delivered to its name and never acknowledged (a crashed predecessor's).
	Consumer string
	// OldestID is where a new consumer group starts: "0" (default) reads the whole stream, "$" only new
	// messages.
	OldestID string
	// Batch is the most messages one XREADGROUP (and one XAUTOCLAIM) asks for. Default 100.
	Batch int
	// Window bounds the messages delivered or queued for delivery and not yet acknowledged in Redis: the
	// subscriber reads only as many as the window has room for. It is the prefetch: a small window keeps
	// slow jobs spread across workers, a large one keeps fast ones flowing. Default 256.
	Window int
	// BlockTime is how long one XREADGROUP waits for new messages; Close waits at most this long for the
	// read in progress. Default 500 ms.
	BlockTime time.Duration
	// ClaimIdle is how long a delivered, unacknowledged message waits before this subscriber claims it
	// (a dead consumer's messages). It must exceed the longest handler. Default 60 s.
	ClaimIdle time.Duration
	// ClaimInterval is how often idle messages are looked for. Default ClaimIdle/2, at most 5 s.
	ClaimInterval time.Duration
	// NackResendSleep is the pause before a nacked message is delivered again (to this subscriber, as
	// Watermill's subscriber does). Default none.
	NackResendSleep time.Duration
	// Unmarshaller decodes stream entries; the default is the one of Watermill's redisstream publisher.
	Unmarshaller redisstream.Unmarshaller
	// ShouldStopOnReadErrors decides whether a failed read stops the subscriber; by default it reads on
	// (after a pause) until closed.
	ShouldStopOnReadErrors func(error) bool
	// AckBatch is the most ids one XACK carries. Default 1000.
	AckBatch int
}

// WindowFor is the window for a worker running concurrency jobs at once: the most it keeps in hand,
// eight per build slot (at least 8). The worker leaves the window when a build ends (LeaveWindow), so the
// window counts the commands waiting for or in a build, not those being recorded and acknowledged; and
// it narrows the window to what its builds need (SetWindow, worker.prefetchPerSlot): a couple per slot
// for long jobs, so they do not wait in one worker's window while another worker is idle, up to eight
// for jobs of a millisecond or two, whose next commands must be read and loaded while cores run others
// (measured on the benchmark's CPU task: 48% of the compute ceiling at 2 per slot, ~71% at 4, ~81% at 8).
func WindowFor(concurrency int) int { return max(8*concurrency, 8) }

func (c *BatchConfig) setDefaults() {
	if c.OldestID == "" {
		c.OldestID = "0"
	}
	if c.Batch <= 0 {
		c.Batch = 100
	}
	if c.Window <= 0 {
		c.Window = 256
	}
	if c.BlockTime <= 0 {
		c.BlockTime = 500 * time.Millisecond
	}
	if c.ClaimIdle <= 0 {
		c.ClaimIdle = time.Minute
	}
	if c.ClaimInterval <= 0 {
		c.ClaimInterval = min(c.ClaimIdle/2, 5*time.Second)
	}
	if c.Unmarshaller == nil {
		c.Unmarshaller = redisstream.DefaultMarshallerUnmarshaller{}
	}
	if c.ShouldStopOnReadErrors == nil {
		c.ShouldStopOnReadErrors = stopOnlyWhenClosing
	}
	if c.AckBatch <= 0 {
		c.AckBatch = 1000
	}
}

// BatchSubscriber is a Watermill message.Subscriber of a Redis Streams consumer group that reads and
// acknowledges in batches. Watermill's redisstream subscriber reads one message, waits for its ack and
// sends one XACK: two round trips per message, and one handler busy per subscriber. This one reads up to
// Batch messages per XREADGROUP, keeps up to Window of them in flight (delivered one by one to the
// output channel, so Watermill's router runs them concurrently), and acknowledges whatever was acked
// meanwhile with one XACK. The delivery guarantees are Watermill's subscriber's: at least once; an
// unacknowledged message is claimed by a live consumer after ClaimIdle; a nacked one is delivered again.
// Safe for concurrent use; each Subscribe call starts its own consumer of the topic.
type BatchSubscriber struct {
	cfg     BatchConfig
	log     watermill.LoggerAdapter
	closing chan struct{}
	wg      sync.WaitGroup
	// window is the window in force (SetWindow): at most cfg.Window, which is what 0 means.
	window    atomic.Int64
	mu        sync.Mutex
	closed    bool
	consumers []*consumer
}

// SetWindow narrows the window to n messages (at least 1; at most BatchConfig.Window, the window's
// size, which n above it means) or widens it back. It takes effect as messages in hand are
// acknowledged or leave the window: none is taken back. The worker sets it from how long its builds
// take (worker.prefetchPerSlot), so a worker keeps a few milliseconds of short jobs in hand but only a couple
// of long ones, which other workers can take instead.
func (s *BatchSubscriber) SetWindow(n int) {
	s.window.Store(int64(min(max(n, 1), s.cfg.Window)))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.consumers {
		c.resize()
	}
}

// currentWindow is the window in force.
func (s *BatchSubscriber) currentWindow() int {
	if n := s.window.Load(); n > 0 {
		return int(n)
	}
	return s.cfg.Window
}

// NewBatchSubscriber returns a batching subscriber of cfg.ConsumerGroup.
func NewBatchSubscriber(cfg BatchConfig, logger watermill.LoggerAdapter) (*BatchSubscriber, error) {
	if cfg.Client == nil {
		return nil, errors.New("batch subscriber: redis client is nil")
	}
	if cfg.ConsumerGroup == "" || cfg.Consumer == "" {
		return nil, errors.New("batch subscriber: consumer group and consumer name are required")
	}
	cfg.setDefaults()
	if logger == nil {
		logger = watermill.NopLogger{}
	}
	return &BatchSubscriber{cfg: cfg, log: logger, closing: make(chan struct{})}, nil
}

// Subscribe implements message.Subscriber. The channel closes when ctx ends or the subscriber closes.
func (s *BatchSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("batch subscriber: closed")
	}
	err := s.cfg.Client.XGroupCreateMkStream(ctx, topic, s.cfg.ConsumerGroup, s.cfg.OldestID).Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil, fmt.Errorf("batch subscriber: create group %s on %s: %w", s.cfg.ConsumerGroup, topic, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &consumer{
		s: s, topic: topic, ctx: ctx, cancel: cancel,
		out:      make(chan *message.Message),
		queue:    make(chan *delivery, s.cfg.Window),
		acks:     make(chan ack, 2*s.cfg.Window),
		tokens:   make(chan struct{}, s.cfg.Window),
		inflight: map[string]struct{}{},
		fields: watermill.LogFields{"topic": topic, "consumer_group": s.cfg.ConsumerGroup,
			"consumer": s.cfg.Consumer},
	}
	c.held = s.cfg.Window - s.currentWindow()
	for range s.cfg.Window - c.held {
		c.tokens <- struct{}{}
	}
	s.consumers = append(s.consumers, c)
	s.wg.Add(1)
	go c.run()
	return c.out, nil
}

// Close implements message.Subscriber: it stops reading, cancels the contexts of messages not yet
// acknowledged (they stay pending in Redis and are claimed later, or re-read by the next subscriber with
// this consumer name), sends the acks already given, and closes the client.
func (s *BatchSubscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.wg.Wait()
	return s.cfg.Client.Close()
}

// delivery is one stream entry on its way through the subscriber.
type delivery struct {
	id  string
	msg *message.Message
	// slot: holding while the delivery holds its window token, left after LeaveWindow gave it back
	// early, settled once its ack, nack or abandonment took the token (holding) or the left count.
	slot atomic.Int32
}

const (
	holding int32 = iota
	left
	settled
)

// settle ends a delivery's claim on the window and reports whether it still held its token (the caller
// gives it back); a delivery that had left is taken off the left count instead.
func (c *consumer) settle(d *delivery) (token bool) {
	if d.slot.CompareAndSwap(holding, settled) {
		return true
	}
	if d.slot.CompareAndSwap(left, settled) {
		c.left.Add(-1)
	}
	return false
}

// leave is LeaveWindow for d.
func (c *consumer) leave(d *delivery) {
	if c.left.Add(1) > int64(c.cfg().Window) {
		c.left.Add(-1) // as many have left as the window holds: this one keeps its slot until acked
		return
	}
	if !d.slot.CompareAndSwap(holding, left) {
		c.left.Add(-1)
		return
	}
	c.release(1)
}

// ack is one id for the acker, and whether its window token goes back after the XACK.
type ack struct {
	id    string
	token bool
}

// consumer is one Subscribe call: a reader and a claimer fill queue, the deliverer hands messages to
// out and watches for their ack or nack, and the acker batches XACKs. tokens is the window: one token
// per message between its read and its XACK, or its LeaveWindow.
type consumer struct {
	s      *BatchSubscriber
	topic  string
	ctx    context.Context
	cancel context.CancelFunc
	out    chan *message.Message
	queue  chan *delivery
	acks   chan ack
	tokens chan struct{}
	// held counts the tokens kept out of the window while it is narrower than cfg.Window (SetWindow);
	// tokens that come back while fewer are held than that go to held, not to tokens.
	tokenMu sync.Mutex
	held    int
	fields  watermill.LogFields
	// left counts the delivered messages that gave their token back early (LeaveWindow) and are not
	// yet settled.
	left atomic.Int64

	mu       sync.Mutex
	inflight map[string]struct{} // stream ids read or claimed and not yet acked: never delivered twice at once
}

func (c *consumer) cfg() *BatchConfig { return &c.s.cfg }

func (c *consumer) stopping() <-chan struct{} { return c.ctx.Done() }

func (c *consumer) run() {
	defer c.s.wg.Done()
	go func() { // Close or the caller's ctx ends the consumer
		select {
		case <-c.s.closing:
		case <-c.ctx.Done():
		}
		c.cancel()
	}()
	var producers, watchers sync.WaitGroup
	producers.Add(2)
	go func() { defer producers.Done(); c.read() }()
	go func() { defer producers.Done(); c.claimLoop() }()
	ackerDone := make(chan struct{})
	go func() { defer close(ackerDone); c.ack() }()

	c.deliver(&watchers)
	producers.Wait()
	// Handlers may still ack what they were given; those acks are sent until every watcher has seen its
	// message acked, nacked or abandoned (their contexts are cancelled now).
	watchers.Wait()
	close(c.acks)
	<-ackerDone
	// Last: Watermill's router takes the closed channel as the subscriber being done, and returns from
	// Close; nothing of this consumer may still run (or log) after that.
	close(c.out)
}

// take waits for one window token; more returns up to n-1 more without waiting.
func (c *consumer) take() bool {
	select {
	case <-c.tokens:
		return true
	case <-c.stopping():
		return false
	}
}

func (c *consumer) more(n int) int {
	got := 0
	for got < n {
		select {
		case <-c.tokens:
			got++
		default:
			return got
		}
	}
	return got
}

// gather waits up to d for up to n more tokens and returns how many it got.
func (c *consumer) gather(n int, d time.Duration) int {
	t := time.NewTimer(d)
	defer t.Stop()
	got := 0
	for got < n {
		select {
		case <-c.tokens:
			got++
		case <-t.C:
			return got
		case <-c.stopping():
			return got
		}
	}
	return got
}

// readLinger bounds how long a read waits for more window slots when few are free (read).
const readLinger = 2 * time.Millisecond

// release gives n tokens back: to held while the window is narrower than that, else to the window.
func (c *consumer) release(n int) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	hold := c.cfg().Window - c.s.currentWindow()
	for range n {
		if c.held < hold {
			c.held++
		} else {
			c.tokens <- struct{}{} // never blocks: no more than cfg.Window tokens exist
		}
	}
}

// resize brings held to the window in force: tokens held beyond it go back; tokens free in the window
// are taken now, and the rest as messages in hand give theirs back (release).
func (c *consumer) resize() {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	hold := c.cfg().Window - c.s.currentWindow()
	for ; c.held > hold; c.held-- {
		c.tokens <- struct{}{}
	}
	for c.held < hold {
		select {
		case <-c.tokens:
			c.held++
		default:
			return
		}
	}
}

// read fetches first this consumer's own pending messages (a restarted worker's), then new ones.
func (c *consumer) read() {
	cfg := c.cfg()
	start := "0" // own history first
	for {
		if !c.take() {
			return
		}
		n := 1 + c.more(cfg.Batch-1)
		if want := min(cfg.Batch, c.s.currentWindow()/2); n < want {
			// Over half the window is taken, so the handlers have work in hand: rather than a read per
			// message as slots come back one by one, wait a moment for half the window.
			n += c.gather(want-n, readLinger)
		}
		block := cfg.BlockTime
		if start != ">" {
			block = -1 // history never blocks
		}
		res, err := cfg.Client.XReadGroup(c.ctx, &redis.XReadGroupArgs{
			Group: cfg.ConsumerGroup, Consumer: cfg.Consumer, Streams: []string{c.topic, start},
			Count: int64(n), Block: block,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			c.release(n)
			if c.ctx.Err() != nil || cfg.ShouldStopOnReadErrors(err) {
				return
			}
			c.s.log.Error("batch subscriber: read failed; retrying", err, c.fields)
			if !c.pause(500 * time.Millisecond) {
				return
			}
			continue
		}
		var msgs []redis.XMessage
		if len(res) > 0 {
			msgs = res[0].Messages
		}
		fresh := start == ">" // new entries, not this consumer's history
		if start != ">" && len(msgs) < n {
			start = ">" // history drained
		}
		used := 0
		for _, m := range msgs {
			if start != ">" {
				start = m.ID // page through the history
			}
			if m.Values == nil { // a pending entry trimmed from the stream: nothing left to run
				c.ackLater(m.ID, true)
				used++
				continue
			}
			if c.enqueue(m, fresh) {
				used++
			}
		}
		c.release(n - used)
	}
}

// claimLoop claims messages idle for ClaimIdle (a dead consumer's) at start and every ClaimInterval.
func (c *consumer) claimLoop() {
	t := time.NewTicker(c.cfg().ClaimInterval)
	defer t.Stop()
	for {
		c.claim()
		select {
		case <-c.stopping():
			return
		case <-t.C:
		}
	}
}

func (c *consumer) claim() {
	cfg := c.cfg()
	cursor := "0-0"
	for c.ctx.Err() == nil {
		msgs, next, err := cfg.Client.XAutoClaim(c.ctx, &redis.XAutoClaimArgs{
			Stream: c.topic, Group: cfg.ConsumerGroup, Consumer: cfg.Consumer,
			MinIdle: cfg.ClaimIdle, Start: cursor, Count: int64(cfg.Batch),
		}).Result()
		if err != nil {
			if c.ctx.Err() == nil {
				c.s.log.Error("batch subscriber: claim failed", err, c.fields)
			}
			return
		}
		for _, m := range msgs {
			if !c.take() {
				return
			}
			if m.Values == nil { // deleted from the stream (Redis 6.2 reports these): nothing to run
				c.ackLater(m.ID, true) // the acker gives the token back
				continue
			}
			if !c.enqueue(m, false) {
				c.release(1)
			}
		}
		if next == "0-0" || next == "" {
			return
		}
		cursor = next
	}
}

// enqueue decodes an entry and queues it for delivery unless it is already in flight here (a claim of
// a message this subscriber still holds). The caller holds a window token for it; false gives it back.
// first says the entry was read as new (XREADGROUP ">"): no consumer has had it before.
func (c *consumer) enqueue(m redis.XMessage, first bool) bool {
	c.mu.Lock()
	if _, dup := c.inflight[m.ID]; dup {
		c.mu.Unlock()
		return false
	}
	c.inflight[m.ID] = struct{}{}
	c.mu.Unlock()
	msg, err := c.cfg().Unmarshaller.Unmarshal(m.Values)
	if err != nil {
		// It will never decode: acknowledge it rather than redeliver it forever.
		c.s.log.Error("batch subscriber: dropping undecodable entry", err, c.fields.Add(watermill.LogFields{"xid": m.ID}))
		c.ackLater(m.ID, true)
		return true // the token goes back with the XACK
	}
	if first {
		msg.Metadata.Set(MetaFirstDelivery, "1")
	}
	select {
	case c.queue <- &delivery{id: m.ID, msg: msg}:
		return true
	case <-c.stopping():
		c.forget(m.ID)
		return false
	}
}

func (c *consumer) forget(id string) {
	c.mu.Lock()
	delete(c.inflight, id)
	c.mu.Unlock()
}

// ackLater hands an id to the acker; token says its window token goes back after the XACK. The acker
// outlives every sender (run closes acks only after the producers and watchers are done), so this never
// blocks for long.
func (c *consumer) ackLater(id string, token bool) { c.acks <- ack{id, token} }

// deliver hands queued messages to the output channel one at a time and starts a watcher for each.
func (c *consumer) deliver(watchers *sync.WaitGroup) {
	for {
		var d *delivery
		select {
		case d = <-c.queue:
		case <-c.stopping():
			c.abandonQueued()
			return
		}
		ctx, cancel := context.WithCancel(c.ctx)
		d.msg.SetContext(context.WithValue(ctx, leaveKey{}, func() { c.leave(d) }))
		select {
		case c.out <- d.msg:
		case <-c.stopping():
			cancel()
			c.abandon(d)
			c.abandonQueued()
			return
		}
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			c.watch(d, cancel)
		}()
	}
}

// watch waits for the handler's verdict on one delivered message.
func (c *consumer) watch(d *delivery, cancel context.CancelFunc) {
	select {
	case <-d.msg.Acked():
		cancel()
		c.ackLater(d.id, c.settle(d))
	case <-d.msg.Nacked():
		cancel()
		c.redeliver(d)
	case <-c.stopping():
		cancel()
		// The handler may still ack in the moment the subscriber closes: send that ack too.
		select {
		case <-d.msg.Acked():
			c.ackLater(d.id, c.settle(d))
		default:
			c.abandon(d)
		}
	}
}

// redeliver puts a nacked message back in the queue after NackResendSleep, as a fresh copy (Watermill
// messages are acked or nacked once).
func (c *consumer) redeliver(d *delivery) {
	if sl := c.cfg().NackResendSleep; sl > 0 && !c.pause(sl) {
		c.abandon(d)
		return
	}
	if !c.settle(d) && !c.take() { // it had left the window: it waits for a slot again
		c.forget(d.id)
		return
	}
	again := &delivery{id: d.id, msg: d.msg.Copy()}
	delete(again.msg.Metadata, MetaFirstDelivery)
	select {
	case c.queue <- again: // room: it holds a token
	case <-c.stopping():
		c.abandon(again)
	}
}

// abandon leaves a message pending in Redis (another consumer claims it, or this consumer name re-reads
// it) and frees its window slot.
func (c *consumer) abandon(d *delivery) {
	c.forget(d.id)
	if c.settle(d) {
		c.release(1)
	}
}

func (c *consumer) abandonQueued() {
	for {
		select {
		case d := <-c.queue:
			c.abandon(d)
		default:
			return
		}
	}
}

// ack sends acknowledged ids in batches: whatever arrived while the previous XACK was on the wire goes
// in the next one, so under load one round trip acknowledges many messages. A batch whose messages all
// left the window already (LeaveWindow) waits up to ackLinger for more: nobody waits for those acks,
// and when jobs end one at a time it saves a round trip per message.
func (c *consumer) ack() {
	cfg := c.cfg()
	ids := make([]string, 0, cfg.AckBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for a := range c.acks {
		ids = ids[:0]
		tokens := 0
		add := func(a ack) {
			ids = append(ids, a.id)
			if a.token {
				tokens++
			}
		}
		add(a)
		closed := false
	fill:
		for len(ids) < cfg.AckBatch {
			select {
			case a, ok := <-c.acks:
				if !ok {
					closed = true
					break fill
				}
				add(a)
			default:
				break fill
			}
		}
		if tokens == 0 && !closed && len(ids) < cfg.AckBatch {
			linger.Reset(ackLinger)
		wait:
			for len(ids) < cfg.AckBatch && tokens == 0 {
				select {
				case a, ok := <-c.acks:
					if !ok {
						break wait
					}
					add(a)
				case <-linger.C:
					break wait
				}
			}
			if !linger.Stop() {
				select {
				case <-linger.C:
				default:
				}
			}
		}
		c.xack(ids)
		c.mu.Lock()
		for _, id := range ids {
			delete(c.inflight, id)
		}
		c.mu.Unlock()
		c.release(tokens)
	}
}

// ackLinger is how long acks that hold no window slot wait for company (ack).
const ackLinger = 2 * time.Millisecond

// xack retries until Redis takes the acks or the subscriber is closing and the client gives up: a lost
// ack only means a redelivery, which handlers tolerate.
func (c *consumer) xack(ids []string) {
	cfg := c.cfg()
	// Not c.ctx: acks given before Close must still be sent after the consumer's context ends.
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		err := cfg.Client.XAck(ctx, c.topic, cfg.ConsumerGroup, ids...).Err()
		if err == nil {
			return
		}
		closing := c.ctx.Err() != nil
		if closing && attempt >= 2 {
			c.s.log.Error("batch subscriber: acks lost at close; the messages will be redelivered", err, c.fields)
			return
		}
		if !closing {
			c.s.log.Error("batch subscriber: ack failed; retrying", err, c.fields)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pause sleeps for d unless the consumer stops first.
func (c *consumer) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stopping():
		return false
	}
}
