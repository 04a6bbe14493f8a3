package pubsub_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	"github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns/internal/redistest"
	"github.com/cns-dev/cns/pubsub"
)

// batchEnv is one throwaway Redis for a test, with helpers to make clients, publishers and subscribers.
type batchEnv struct {
	t   *testing.T
	srv *redistest.Server
}

func newBatchEnv(t *testing.T) *batchEnv {
	return &batchEnv{t: t, srv: redistest.Start(t)}
}

func (e *batchEnv) client() redis.UniversalClient {
	return redis.NewClient(&redis.Options{Addr: e.srv.Addr()})
}

func (e *batchEnv) publisher() message.Publisher {
	return pubsub.NewBatchPublisher(e.client(), 0)
}

// stockPublisher is Watermill's own redisstream publisher (wire compatibility).
func (e *batchEnv) stockPublisher() message.Publisher {
	p, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: e.client()}, watermill.NopLogger{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *batchEnv) subscriber(cfg pubsub.BatchConfig) *pubsub.BatchSubscriber {
	cfg.Client = e.client()
	if cfg.BlockTime == 0 {
		cfg.BlockTime = 50 * time.Millisecond
	}
	s, err := pubsub.NewBatchSubscriber(cfg, watermill.NopLogger{})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func publishN(t *testing.T, p message.Publisher, topic string, n int) map[string]bool {
	t.Helper()
	uuids := map[string]bool{}
	for i := range n {
		m := message.NewMessage(watermill.NewUUID(), fmt.Appendf(nil, "%d", i))
		if err := p.Publish(topic, m); err != nil {
			t.Fatal(err)
		}
		uuids[m.UUID] = true
	}
	return uuids
}

func receive(t *testing.T, ch <-chan *message.Message, within time.Duration) *message.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return m
	case <-time.After(within):
		t.Fatalf("no message within %v", within)
	}
	return nil
}

func pending(t *testing.T, rdb redis.UniversalClient, topic, group string) int64 {
	t.Helper()
	p, err := rdb.XPending(context.Background(), topic, group).Result()
	if err != nil {
		t.Fatal(err)
	}
	return p.Count
}

// TestBatchSubscriberContract runs Watermill's universal Pub/Sub suite (pubsub/tests) against the
// batching publisher and subscriber with the features Watermill's own redisstream subscriber declares, except the
// order of delivery: the window delivers the next message before the previous one is acked. As in
// redisstream's own test, every constructed subscriber has its own consumer group, which reads the stream
// from its start. The suite runs at its short sizes (ForceShort): at full size it pushes 250,000
// deliveries through 50 subscribers, close to a minute under -race on two shared cores, against the
// suite's fixed 15 s timeouts; TestBatchSubscriberCompetingConsumers covers volume.
func TestBatchSubscriberContract(t *testing.T) {
	e := newBatchEnv(t)
	features := tests.Features{
		ConsumerGroups:                      true,
		ExactlyOnceDelivery:                 false,
		GuaranteedOrder:                     false,
		GuaranteedOrderWithSingleSubscriber: true,
		Persistent:                          true,
		NewSubscriberReceivesOldMessages:    true,
		ForceShort:                          true,
	}
	withGroup := func(t *testing.T, group string) (message.Publisher, message.Subscriber) {
		// A small window and batch, so the suite's hundreds of messages go through many windows.
		return e.publisher(), e.subscriber(pubsub.BatchConfig{
			ConsumerGroup: group, Consumer: watermill.NewShortUUID(), Batch: 8, Window: 16,
			ClaimIdle: 5 * time.Second, ClaimInterval: time.Second,
		})
	}
	tests.TestPubSub(t, features,
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			return withGroup(t, watermill.NewShortUUID())
		},
		withGroup)
}

// TestBatchSubscriberCompetingConsumers: three subscribers of one group share the stream; every message
// is delivered and acked, and nothing stays pending.
func TestBatchSubscriberCompetingConsumers(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t)
	const topic, group, n = "jobs", "g", 3000
	pub := e.publisher()
	defer pub.Close()
	want := publishN(t, pub, topic, n)
	var mu sync.Mutex
	got := map[string]int{}
	byConsumer := map[string]int{}
	var wg sync.WaitGroup
	subs := make([]*pubsub.BatchSubscriber, 3)
	for i := range subs {
		subs[i] = e.subscriber(pubsub.BatchConfig{ConsumerGroup: group, Consumer: fmt.Sprint("c", i), Window: 32})
		ch, err := subs[i].Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range ch {
				mu.Lock()
				got[m.UUID]++
				byConsumer[fmt.Sprint("c", i)]++
				mu.Unlock()
				m.Ack()
			}
		}()
	}
	rdb := e.client()
	defer rdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		done := len(got) == n
		mu.Unlock()
		if done && pending(t, rdb, topic, group) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d, pending %d", len(got), n, pending(t, rdb, topic, group))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range subs {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for id, c := range got {
		if !want[id] {
			t.Fatalf("unexpected message %s", id)
		}
		if c != 1 {
			t.Fatalf("message %s delivered %d times without a failure", id, c)
		}
	}
	t.Logf("messages per consumer: %v", byConsumer)
}

// TestBatchSubscriberClaimsDeadConsumer: messages a consumer took and never acked (it died) are claimed
// by a live subscriber once idle for ClaimIdle, delivered, and acked.
func TestBatchSubscriberClaimsDeadConsumer(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t)
	const topic, group, n = "jobs", "g", 25
	pub := e.publisher()
	defer pub.Close()
	rdb := e.client()
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.XGroupCreateMkStream(ctx, topic, group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	want := publishN(t, pub, topic, n)
	// The dead consumer: it read everything and then vanished.
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "dead", Streams: []string{topic, ">"}, Count: n, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	if p := pending(t, rdb, topic, group); p != n {
		t.Fatalf("pending %d, want %d", p, n)
	}
	s := e.subscriber(pubsub.BatchConfig{ConsumerGroup: group, Consumer: "alive", Batch: 10, Window: 8,
		ClaimIdle: 300 * time.Millisecond, ClaimInterval: 100 * time.Millisecond})
	defer s.Close()
	ch, err := s.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for len(got) < n {
		m := receive(t, ch, 10*time.Second)
		if !want[m.UUID] {
			t.Fatalf("unexpected message %s", m.UUID)
		}
		if pubsub.FirstDelivery(m) {
			t.Fatalf("claimed message %s marked as a first delivery", m.UUID)
		}
		got[m.UUID] = true
		m.Ack()
	}
	deadline := time.Now().Add(10 * time.Second)
	for pending(t, rdb, topic, group) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("pending after claim and ack: %d", pending(t, rdb, topic, group))
		}
		time.Sleep(20 * time.Millisecond)
	}
	info, err := rdb.XInfoConsumers(ctx, topic, group).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range info {
		if c.Name == "dead" && c.Pending != 0 {
			t.Fatalf("dead consumer still owns %d messages", c.Pending)
		}
	}
}

// TestBatchSubscriberRereadsOwnPending: a subscriber that closes with messages unacked leaves them
// pending; the next subscriber with the same consumer name (a restarted worker) gets them at once, long
// before the claim time.
func TestBatchSubscriberRereadsOwnPending(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t)
	const topic, group, n = "jobs", "g", 12
	pub := e.publisher()
	defer pub.Close()
	want := publishN(t, pub, topic, n)
	cfg := pubsub.BatchConfig{ConsumerGroup: group, Consumer: "w1-0", Batch: 5, Window: n, ClaimIdle: time.Hour}
	first := e.subscriber(cfg)
	ch, err := first.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	for i := range n {
		m := receive(t, ch, 10*time.Second)
		if !pubsub.FirstDelivery(m) {
			t.Fatalf("new message %s not marked as a first delivery", m.UUID)
		}
		if i%3 == 0 {
			m.Ack()
			acked[m.UUID] = true
		}
	}
	time.Sleep(100 * time.Millisecond) // let the acker send its XACK before the close
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	rdb := e.client()
	defer rdb.Close()
	if p := pending(t, rdb, topic, group); p != int64(n-len(acked)) {
		t.Fatalf("pending after close %d, want %d", p, n-len(acked))
	}
	second := e.subscriber(cfg)
	defer second.Close()
	ch, err = second.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	for range n - len(acked) {
		m := receive(t, ch, 10*time.Second)
		if !want[m.UUID] || acked[m.UUID] {
			t.Fatalf("re-read %s: known %v, acked before %v", m.UUID, want[m.UUID], acked[m.UUID])
		}
		if pubsub.FirstDelivery(m) {
			t.Fatalf("re-read message %s marked as a first delivery", m.UUID)
		}
		m.Ack()
	}
	select {
	case m := <-ch:
		t.Fatalf("extra message %s", m.UUID)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestBatchSubscriberWindow: no more than Window messages are held unacknowledged; each ack lets one
// more in.
func TestBatchSubscriberWindow(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t)
	const topic, group, window = "jobs", "g", 5
	pub := e.publisher()
	defer pub.Close()
	publishN(t, pub, topic, 40)
	s := e.subscriber(pubsub.BatchConfig{ConsumerGroup: group, Consumer: "c", Batch: 100, Window: window})
	defer s.Close()
	ch, err := s.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	held := make([]*message.Message, 0, window)
	for range window {
		held = append(held, receive(t, ch, 10*time.Second))
	}
	select {
	case m := <-ch:
		t.Fatalf("message %s beyond the window of %d", m.UUID, window)
	case <-time.After(300 * time.Millisecond):
	}
	rdb := e.client()
	defer rdb.Close()
	if p := pending(t, rdb, topic, group); p > window {
		t.Fatalf("pending %d beyond the window of %d", p, window)
	}
	held[0].Ack()
	m := receive(t, ch, 10*time.Second)
	m.Ack()
	for _, h := range held[1:] {
		h.Ack()
	}
}

// TestBatchSubscriberSetWindow: a narrowed window delivers no more than its size, takes nothing back
// when narrowed below what is in hand (it waits for acks), and widening it delivers more at once.
func TestBatchSubscriberSetWindow(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t)
	const topic, group = "jobs", "g"
	pub := e.publisher()
	defer pub.Close()
	publishN(t, pub, topic, 40)
	s := e.subscriber(pubsub.BatchConfig{ConsumerGroup: group, Consumer: "c", Batch: 100, Window: 8})
	defer s.Close()
	s.SetWindow(2) // before Subscribe: the first read already keeps to it
	ch, err := s.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	none := func(why string) {
		t.Helper()
		select {
		case m := <-ch:
			t.Fatalf("message %s delivered %s", m.UUID, why)
		case <-time.After(300 * time.Millisecond):
		}
	}
	held := []*message.Message{receive(t, ch, 10*time.Second), receive(t, ch, 10*time.Second)}
	none("beyond a window of 2")
	held[0].Ack()
	held = append(held[1:], receive(t, ch, 10*time.Second))
	none("beyond a window of 2 after one ack")

	s.SetWindow(100) // above the configured 8: the window is 8
	for range 6 {
		held = append(held, receive(t, ch, 10*time.Second))
	}
	none("beyond the configured window of 8")

	s.SetWindow(1) // 8 in hand: none is taken back, and none comes until fewer than 1 are
	for _, m := range held[1:] {
		m.Ack()
	}
	none("with one in hand and a window of 1")
	held[0].Ack()
	m := receive(t, ch, 10*time.Second)
	none("beyond a window of 1")
	m.Ack()
}

// TestBatchSubscriberLeaveWindow: a message whose handler left the window gives its slot to a new
// message before it is acked, yet stays pending in Redis until it is; at most another window's worth
// may leave, so no more than twice the window is ever held unacknowledged; a message nacked after
// leaving comes back, and every one is acked once in the end.
func TestBatchSubscriberLeaveWindow(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t)
	const topic, group, window = "jobs", "g", 4
	pub := e.publisher()
	defer pub.Close()
	want := publishN(t, pub, topic, 40)
	s := e.subscriber(pubsub.BatchConfig{ConsumerGroup: group, Consumer: "c", Batch: 100, Window: window,
		NackResendSleep: 10 * time.Millisecond})
	defer s.Close()
	ch, err := s.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	rdb := e.client()
	defer rdb.Close()
	none := func(what string) {
		t.Helper()
		select {
		case m := <-ch:
			t.Fatalf("message %s delivered %s", m.UUID, what)
		case <-time.After(300 * time.Millisecond):
		}
	}
	var held []*message.Message
	for range window {
		held = append(held, receive(t, ch, 10*time.Second))
	}
	none("beyond the window")
	// Every message leaves: a window's worth more arrives, and those leave too without effect.
	for _, m := range held {
		pubsub.LeaveWindow(m)
		pubsub.LeaveWindow(m) // twice is once
	}
	for range window {
		m := receive(t, ch, 10*time.Second)
		pubsub.LeaveWindow(m)
		held = append(held, m)
	}
	none("beyond twice the window")
	if p := pending(t, rdb, topic, group); p != 2*window {
		t.Fatalf("pending %d, want the %d delivered and not acked", p, 2*window)
	}
	// A nack of a message that left: it comes back once a slot is free.
	held[0].Nack()
	none("while the window is full")
	held[1].Ack() // its XACK frees a left count, not a slot
	none("after an ack of a message that had left")
	held[window].Ack() // one that left when the cap was reached kept its slot: this frees it
	acked := map[string]bool{held[1].UUID: true, held[window].UUID: true}
	for _, m := range held[2:] {
		if m != held[window] {
			m.Ack()
			acked[m.UUID] = true
		}
	}
	// The nacked message competes for the freed slots with new ones; it comes back among the next few.
	for back := false; !back; {
		m := receive(t, ch, 10*time.Second)
		back = m.UUID == held[0].UUID
		if !back && len(acked) > 4*window {
			t.Fatalf("the nacked message %s did not come back", held[0].UUID)
		}
		pubsub.LeaveWindow(m)
		acked[m.UUID] = true
		m.Ack()
	}
	// Drain the rest, leaving the window each time.
	for len(acked) < len(want) {
		m := receive(t, ch, 10*time.Second)
		pubsub.LeaveWindow(m)
		if acked[m.UUID] {
			t.Fatalf("message %s delivered again after its ack", m.UUID)
		}
		acked[m.UUID] = true
		m.Ack()
	}
	deadline := time.Now().Add(10 * time.Second)
	for pending(t, rdb, topic, group) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d still pending after every message was acked", pending(t, rdb, topic, group))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBatchSubscriberNack: a nacked message comes back (a fresh copy with the same UUID) and is acked
// once handled.
func TestBatchSubscriberNack(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t)
	const topic, group = "jobs", "g"
	pub := e.publisher()
	defer pub.Close()
	want := publishN(t, pub, topic, 1)
	s := e.subscriber(pubsub.BatchConfig{ConsumerGroup: group, Consumer: "c", NackResendSleep: 20 * time.Millisecond})
	defer s.Close()
	ch, err := s.Subscribe(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	first := receive(t, ch, 10*time.Second)
	if !pubsub.FirstDelivery(first) {
		t.Fatal("new message not marked as a first delivery")
	}
	first.Nack()
	again := receive(t, ch, 10*time.Second)
	if again.UUID != first.UUID || !want[again.UUID] {
		t.Fatalf("redelivered %s, want %s", again.UUID, first.UUID)
	}
	if pubsub.FirstDelivery(again) {
		t.Fatal("nacked message delivered again marked as a first delivery")
	}
	if again.Context().Err() != nil {
		t.Fatal("redelivered message's context is already done")
	}
	again.Ack()
	rdb := e.client()
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for pending(t, rdb, topic, group) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("acked message still pending")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBatchPublisherWireCompatible: entries of Watermill's redisstream publisher are read by the batching
// subscriber, and entries of the batching publisher by Watermill's redisstream subscriber (the fan-out
// subscriber of SNO events is Watermill's), metadata and payload intact.
func TestBatchPublisherWireCompatible(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t)
	check := func(pub message.Publisher, sub message.Subscriber, topic string) {
		t.Helper()
		ch, err := sub.Subscribe(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		m := message.NewMessage(watermill.NewUUID(), []byte("payload"))
		m.Metadata.Set("correlation_id", "c-1")
		if err := pub.Publish(topic, m); err != nil {
			t.Fatal(err)
		}
		got := receive(t, ch, 10*time.Second)
		if got.UUID != m.UUID || string(got.Payload) != "payload" || got.Metadata.Get("correlation_id") != "c-1" {
			t.Fatalf("received %s %q %v", got.UUID, got.Payload, got.Metadata)
		}
		got.Ack()
	}
	stockPub := e.stockPublisher()
	defer stockPub.Close()
	bsub := e.subscriber(pubsub.BatchConfig{ConsumerGroup: "g", Consumer: "c"})
	defer bsub.Close()
	check(stockPub, bsub, "to-batch")

	bpub := e.publisher()
	defer bpub.Close()
	ssub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{Client: e.client(), ConsumerGroup: "g", Consumer: "s",
		BlockTime: 50 * time.Millisecond}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	defer ssub.Close()
	check(bpub, ssub, "to-stock")
}

// TestBatchPublisherConcurrent: concurrent publishers' messages all land once, each publisher's in its
// order, and a closed publisher refuses more.
func TestBatchPublisherConcurrent(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t)
	pub := e.publisher()
	const writers, each = 40, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m := message.NewMessage(fmt.Sprintf("%02d-%03d", w, i), nil)
				if err := pub.Publish("t", m); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rdb := e.client()
	defer rdb.Close()
	entries, err := rdb.XRange(context.Background(), "t", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != writers*each {
		t.Fatalf("%d entries, want %d", len(entries), writers*each)
	}
	next := map[string]int{}
	for _, x := range entries {
		id := x.Values[redisstream.UUIDHeaderKey].(string)
		var w, i int
		fmt.Sscanf(id, "%02d-%03d", &w, &i)
		if k := fmt.Sprint(w); next[k] != i {
			t.Fatalf("writer %d: message %d where %d was next", w, i, next[k])
		}
		next[fmt.Sprint(w)]++
	}
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish("t", message.NewMessage("late", nil)); err == nil {
		t.Fatal("publish after close succeeded")
	}
}

// TestBatchPublisherCapsEventStreams: an event stream is trimmed to about pubsub.EventsMaxLen entries
// even by a publisher without a cap (or a larger one), while a command stream keeps every entry.
func TestBatchPublisherCapsEventStreams(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t)
	for _, capped := range []int64{0, 1_000_000} {
		pub := pubsub.NewBatchPublisher(e.client(), capped)
		events, commands := fmt.Sprint(pubsub.TopicSNOEvents, "-", capped), fmt.Sprint("cns.commands.test-", capped)
		const n = 3 * pubsub.EventsMaxLen
		for i := 0; i < n; i += 500 {
			msgs := make([]*message.Message, 500)
			for j := range msgs {
				msgs[j] = message.NewMessage(fmt.Sprint(i+j), []byte("x"))
			}
			if err := pub.Publish(events, msgs...); err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(commands, msgs...); err != nil {
				t.Fatal(err)
			}
		}
		rdb := e.client()
		ev, err1 := rdb.XLen(context.Background(), events).Result()
		cmd, err2 := rdb.XLen(context.Background(), commands).Result()
		rdb.Close()
		pub.Close()
		// Approximate trimming removes whole nodes of 100 entries: a node's worth over the cap at most.
		if err1 != nil || err2 != nil || ev < pubsub.EventsMaxLen || ev > pubsub.EventsMaxLen+200 || cmd != n {
			t.Fatalf("publisher cap %d: events stream %d entries (%v), commands stream %d (%v); want ~%d and %d",
				capped, ev, err1, cmd, err2, pubsub.EventsMaxLen, n)
		}
	}
}
