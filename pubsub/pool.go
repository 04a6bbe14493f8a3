package pubsub

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Pool runs the rest of the handler chain on long-lived goroutines. Watermill's router starts a new
// goroutine for every message, whose stack starts at the runtime's average (a few KB) and is copied each
// time the handler's calls go deeper — decoding, the store, the coalescers: for a no-op command that
// copying was ~10 µs of CPU, an eighth of the worker's per-command cost (pprof of the bench's drain). A
// pool goroutine keeps the stack it grew, so the router's goroutine only hands the message over and
// waits. Goroutines are started when none is idle (no cap here: put the pool inside Limit, which bounds
// the messages in hand) and end after idle without work, so a burst does not keep its goroutines.
//
// Put middleware.Recoverer after the pool's middleware: a panic must be recovered on the goroutine that
// raised it. Close ends the idle goroutines once the router is closed.
type Pool struct {
	idleFor time.Duration
	mu      sync.Mutex
	idle    []*poolWorker // parked goroutines, most recent last (its stack is the warmest)
	closed  bool
	doneCh  sync.Pool // chan poolResult, reused: one allocation less per message
	started atomic.Int64
}

// NewPool returns a pool whose goroutines end after idle without work.
func NewPool(idle time.Duration) *Pool { return &Pool{idleFor: idle} }

type poolWorker struct{ tasks chan poolTask } // buffered: a handoff never waits

type poolTask struct {
	h    message.HandlerFunc
	msg  *message.Message
	done chan poolResult
}

type poolResult struct {
	msgs []*message.Message
	err  error
}

// Middleware runs the handlers after it on the pool's goroutines.
func (p *Pool) Middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		done, _ := p.doneCh.Get().(chan poolResult)
		if done == nil {
			done = make(chan poolResult, 1)
		}
		t := poolTask{h: h, msg: msg, done: done}
		p.mu.Lock()
		var w *poolWorker
		if n := len(p.idle); n > 0 {
			w, p.idle = p.idle[n-1], p.idle[:n-1]
		}
		p.mu.Unlock()
		if w != nil {
			w.tasks <- t
		} else {
			w = &poolWorker{tasks: make(chan poolTask, 1)}
			w.tasks <- t
			p.started.Add(1)
			go p.run(w)
		}
		r := <-done
		p.doneCh.Put(done)
		return r.msgs, r.err
	}
}

// Close ends the idle goroutines; busy ones end when their message is handled. Handlers called after
// Close still run, each on a goroutine of its own.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, w := range idle {
		close(w.tasks) // off the idle list: nobody else sends to it
	}
}

// run handles w's tasks until it has been idle for p.idleFor or the pool closes. A goroutine parks
// (joins the idle list) before it hands back its result, so a caller that handles messages one after
// another finds it idle every time.
func (p *Pool) run(w *poolWorker) {
	timer := time.NewTimer(p.idleFor)
	defer timer.Stop()
	for {
		select {
		case t, ok := <-w.tasks:
			if !ok {
				return
			}
			msgs, err := t.h(t.msg)
			parked := p.park(w)
			t.done <- poolResult{msgs, err}
			if !parked {
				return
			}
			timer.Reset(p.idleFor)
		case <-timer.C:
			if p.unpark(w) {
				return
			}
			// A caller took w off the idle list as the timer fired: its task is on the way.
		}
	}
}

// park puts w on the idle list unless the pool is closed.
func (p *Pool) park(w *poolWorker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.idle = append(p.idle, w)
	return true
}

// unpark takes w off the idle list; false when a caller took it first.
func (p *Pool) unpark(w *poolWorker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.idle {
		if x == w {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return true
		}
	}
	return false
}
