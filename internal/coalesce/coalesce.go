// Package coalesce turns concurrent single calls into batch calls: the calls that arrive while a batch
// is being written wait for the next batch, so under load one round trip serves dozens of callers, and
// when idle a call goes out at once, alone. The worker coalesces its job bookkeeping with it and the
// dispatcher its job creation.
package coalesce

import (
	"context"
	"sync"
	"time"
)

// MaxBatch bounds one batch; MaxFlushes is how many batches of one Batcher may be on the wire at once.
const (
	MaxBatch   = 256
	MaxFlushes = 2
)

// Call is one caller's item in a batch: Flush reads In and sets Out and Err.
type Call[In, Out any] struct {
	In   In
	Out  Out
	Err  error
	done chan struct{}
}

// Batcher queues calls; a caller that finds fewer than MaxFlushes batches on the wire writes the queue
// itself (its own call included) and goes on writing whatever queued meanwhile, so no goroutine outlives
// the calls. The zero value is not usable: Flush must be set.
type Batcher[In, Out any] struct {
	// Flush writes one batch and sets each call's Out and Err. Its context is the first caller's,
	// without its cancellation (the others still wait for the batch); the store's own timeouts bound it.
	Flush func(ctx context.Context, calls []*Call[In, Out])
	// Linger, if set, is how long a caller about to write a batch of fewer than MaxBatch calls first
	// waits for more to join it: for calls whose latency hardly matters (the worker's completions and
	// SNO announcements), it trades that wait for fewer round trips when calls trickle in one by one.
	Linger time.Duration

	mu        sync.Mutex
	queue     []*Call[In, Out]
	flushes   int
	lingering bool // a flusher is waiting out Linger
}

// Do adds in to the next batch and returns its result. A cancelled context returns at once; a call
// abandoned mid-flight may or may not be written, like a single call.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	var zero Out
	if err := ctx.Err(); err != nil {
		return zero, err // as the single call would: nothing is written
	}
	c := &Call[In, Out]{In: in, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	// While a flusher lingers, a call joins its batch rather than start a second lingering flusher,
	// which would split the calls that trickle in between two half-empty batches.
	if b.flushes < MaxFlushes && !b.lingering {
		b.flushes++
		for len(b.queue) > 0 {
			if b.Linger > 0 && len(b.queue) < MaxBatch {
				b.lingering = true
				b.mu.Unlock()
				time.Sleep(b.Linger)
				b.mu.Lock()
				b.lingering = false
				if len(b.queue) == 0 {
					break // the other flusher took them
				}
			}
			n := min(len(b.queue), MaxBatch)
			batch := b.queue[:n:n]
			b.queue = b.queue[n:]
			b.mu.Unlock()
			b.Flush(context.WithoutCancel(ctx), batch)
			for _, bc := range batch {
				close(bc.done)
			}
			b.mu.Lock()
		}
		b.flushes--
		b.queue = nil
		b.mu.Unlock()
	} else {
		b.mu.Unlock()
	}
	select {
	case <-c.done:
		return c.Out, c.Err
	case <-ctx.Done():
		// A select with both ready picks one at random: a call whose batch was written before the
		// caller looked must report what was written, not a cancellation (the worker took a stored
		// completion for a failed one and left its SNO unannounced).
		select {
		case <-c.done:
			return c.Out, c.Err
		default:
			return zero, ctx.Err()
		}
	}
}

// Queued is how many calls wait for the next batch.
func (b *Batcher[In, Out]) Queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}
