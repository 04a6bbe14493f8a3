package worker

import (
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cns-dev/cns/pubsub"
)

var _ windowSetter = (*pubsub.BatchSubscriber)(nil) // Register narrows the distributed worker's window

func TestPrefetchPerSlot(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{
		{0, 4}, // nothing measured yet
		{50 * time.Microsecond, 8},
		{1200 * time.Microsecond, 8},
		{2 * time.Millisecond, 8},
		{3 * time.Millisecond, 7},
		{5 * time.Millisecond, 5},
		{9 * time.Millisecond, 3},
		{15 * time.Millisecond, 2},
		{40 * time.Millisecond, 2},
		{5 * time.Second, 2},
	} {
		if got := prefetchPerSlot(c.d); got != c.want {
			t.Errorf("prefetchPerSlot(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}

// windows records the windows set on it.
type windows struct {
	mu  sync.Mutex
	set []int
}

func (w *windows) SetWindow(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.set = append(w.set, n)
}

func (w *windows) all() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.set)
}

// TestWindowFollowsBuilds: the window is set per build slot from the builds' moving average: short
// builds widen it to 8 a slot, long ones narrow it to 2, and it is set again only when it changes.
func TestWindowFollowsBuilds(t *testing.T) {
	w := New(Config{Concurrency: 3}, nil, nil, nil, zap.NewNop())
	ws := &windows{}
	w.windows, w.window = []windowSetter{ws}, 3*prefetchPerSlot(0)
	for range 5 {
		w.observeBuild(time.Millisecond)
	}
	if got := ws.all(); !slices.Equal(got, []int{24}) {
		t.Fatalf("after 1 ms builds: windows set %v, want [24]", got)
	}
	for range 40 {
		w.observeBuild(200 * time.Millisecond)
	}
	got := ws.all()
	if got[len(got)-1] != 6 {
		t.Fatalf("after 200 ms builds: windows set %v, want the last 6", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] >= got[i-1] {
			t.Fatalf("windows set %v: a repeat or a widening while builds only got longer", got)
		}
	}
	// One short build among long ones moves the average a little, not the window to its widest.
	w.observeBuild(time.Millisecond)
	if got := ws.all(); got[len(got)-1] != 6 {
		t.Fatalf("one short build after long ones set the window to %d", got[len(got)-1])
	}
}
