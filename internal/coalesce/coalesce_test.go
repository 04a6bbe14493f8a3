package coalesce_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cns-dev/cns/internal/coalesce"
)

// trickle makes n calls 5 ms apart, each in its own goroutine, checks every call's result, and returns
// how many batches wrote them.
func trickle(t *testing.T, linger time.Duration, n int) int {
	t.Helper()
	var batches atomic.Int64
	b := coalesce.Batcher[int, int]{Linger: linger, Flush: func(_ context.Context, calls []*coalesce.Call[int, int]) {
		if len(calls) == 0 {
			t.Error("empty batch")
		}
		batches.Add(1)
		for _, c := range calls {
			c.Out = c.In * 2
		}
	}}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := b.Do(context.Background(), i)
			if err != nil || got != 2*i {
				t.Errorf("call %d: %d, %v", i, got, err)
			}
		}()
		time.Sleep(5 * time.Millisecond)
	}
	wg.Wait()
	return int(batches.Load())
}

// TestLinger: calls that trickle in one by one go out one batch each, unless the Batcher lingers, when
// the calls arriving within the linger share a batch.
func TestLinger(t *testing.T) {
	t.Parallel()
	if got := trickle(t, 0, 10); got < 5 { // not 10: a goroutine delayed 5 ms under load joins the next
		t.Errorf("without linger: %d batches for 10 calls 5 ms apart, want about 10", got)
	}
	// 10 calls over ~50 ms; the first lingers 500 ms, and the others join it rather than start a second
	// lingering flusher (which split the trickle between two half-empty batches).
	if got := trickle(t, 500*time.Millisecond, 10); got != 1 {
		t.Errorf("lingering 500 ms: %d batches for 10 calls 5 ms apart, want 1", got)
	}
}

// TestWrittenBeatsCancelled: a call whose batch was written reports the result even when its context
// was cancelled before it looked (Go picks at random between two ready cases; 100 tries).
func TestWrittenBeatsCancelled(t *testing.T) {
	t.Parallel()
	for i := range 100 {
		ctx, cancel := context.WithCancel(context.Background())
		b := coalesce.Batcher[int, int]{Flush: func(_ context.Context, calls []*coalesce.Call[int, int]) {
			cancel() // the caller's context ends while its batch is written
			for _, c := range calls {
				c.Out = c.In + 1
			}
		}}
		if got, err := b.Do(ctx, i); err != nil || got != i+1 {
			t.Fatalf("try %d: got %d, %v; want %d", i, got, err, i+1)
		}
	}
}
