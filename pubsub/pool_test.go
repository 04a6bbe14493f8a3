package pubsub

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"go.uber.org/goleak"
)

// TestPool: handlers run on reused goroutines (one for messages handled one after another, as many as
// were busy at once for concurrent ones), results and errors come back to the caller, a panic recovered
// on the pool's goroutine leaves it usable, and Close ends the idle goroutines.
func TestPool(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p := NewPool(time.Minute)
	release := make(chan struct{})
	h := p.Middleware(middleware.Recoverer(func(msg *message.Message) ([]*message.Message, error) {
		switch msg.UUID {
		case "panic":
			panic("boom")
		case "block":
			<-release
		case "fail":
			return nil, errors.New("failed")
		}
		return []*message.Message{message.NewMessage("out-"+msg.UUID, nil)}, nil
	}))

	for i := range 50 {
		out, err := h(message.NewMessage(fmt.Sprint(i), nil))
		if err != nil || len(out) != 1 || out[0].UUID != fmt.Sprint("out-", i) {
			t.Fatalf("message %d: got %v, %v", i, out, err)
		}
	}
	if _, err := h(message.NewMessage("fail", nil)); err == nil || err.Error() != "failed" {
		t.Fatalf("handler error: got %v", err)
	}
	if _, err := h(message.NewMessage("panic", nil)); err == nil {
		t.Fatal("a panic came back without an error")
	}
	if got := p.started.Load(); got != 1 {
		t.Fatalf("messages handled one at a time started %d goroutines, want 1", got)
	}

	const busy = 8
	for round := range 2 {
		var wg sync.WaitGroup
		for range busy {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := h(message.NewMessage("block", nil)); err != nil {
					t.Error(err)
				}
			}()
		}
		// Every handler is handed over before any is released, so busy goroutines are needed at once
		// (round 0 starts all but the one left from above; round 1 finds them all parked).
		for p.started.Load() < busy && round == 0 {
			time.Sleep(time.Millisecond)
		}
		for range busy {
			release <- struct{}{}
		}
		wg.Wait()
		if got := p.started.Load(); got != busy {
			t.Fatalf("round %d: %d handlers at once started %d goroutines in all, want %d", round, busy, got, busy)
		}
	}
	p.Close()
	// After Close a handler still runs, on a goroutine that ends with it (goleak above).
	if out, err := h(message.NewMessage("late", nil)); err != nil || len(out) != 1 {
		t.Fatalf("handler after Close: %v, %v", out, err)
	}
}

// TestPoolIdle: a goroutine idle for the pool's idle time ends, and the next message starts another.
func TestPoolIdle(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p := NewPool(time.Millisecond)
	defer p.Close()
	h := p.Middleware(func(*message.Message) ([]*message.Message, error) { return nil, nil })
	if _, err := h(message.NewMessage("a", nil)); err != nil {
		t.Fatal(err)
	}
	for {
		p.mu.Lock()
		n := len(p.idle)
		p.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := h(message.NewMessage("b", nil)); err != nil {
		t.Fatal(err)
	}
	if got := p.started.Load(); got != 2 {
		t.Fatalf("started %d goroutines, want 2 (the first ended idle)", got)
	}
}
