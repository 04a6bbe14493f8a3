// Package heapfloor keeps the garbage collector's heap goal from falling below a floor.
//
// With GOGC=100 the runtime collects whenever the heap doubles its live size, and a worker's live heap
// is small (a few MB without models: jobs come and go): in the command benchmark it collected ~40 times a
// second, and each cycle's fixed work — scanning every goroutine's stack, assists — was a quarter of the
// worker's CPU per no-op command. A floor lets a small heap grow to the floor before collecting, and
// leaves a large heap (models loaded) on GOGC=100: after every cycle GOGC is set so that the next goal is
// max(floor, twice the live heap). This is the "GC tuner" that Go services used before memory limits;
// GOMEMLIMIT still caps the heap when set, since the runtime collects at the limit whatever GOGC says.
package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Default is the floor the cns binary runs with (unless GOGC is set): 64 MiB, small next to what a CNS
// process holds once models and the SNO cache are loaded, where GOGC=100 applies unchanged.
const Default = 64 << 20

// minHeap is the runtime's own minimum heap goal at GOGC=100, what the live heap reads before any GC.
const minHeap = 4 << 20

// maxPercent bounds GOGC when the live heap is tiny (1 KB live would ask for millions).
const maxPercent = 100_000

// Start keeps the heap goal at or above floor bytes until stop is called, which restores GOGC.
func Start(floor uint64) (stop func()) {
	t := &tuner{floor: floor, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.prev = debug.SetGCPercent(100)
	debug.SetGCPercent(t.prev)
	t.tune()
	t.arm()
	return func() {
		t.mu.Lock()
		t.stopped = true
		t.mu.Unlock()
		debug.SetGCPercent(t.prev)
	}
}

type tuner struct {
	floor   uint64
	prev    int
	mu      sync.Mutex
	stopped bool
	sample  []metrics.Sample
	percent int
}

// sentinel is garbage whose finalizer runs once per GC cycle (the runtime finalizes it in the cycle
// after it became unreachable) and re-arms a new one. It holds a pointer so it is not a tiny
// allocation, whose finalizers may never run.
type sentinel struct{ _ *tuner }

func (t *tuner) arm() {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.stopped {
			return
		}
		t.tuneLocked()
		t.arm()
	})
}

func (t *tuner) tune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tuneLocked()
}

func (t *tuner) tuneLocked() {
	metrics.Read(t.sample)
	live := uint64(minHeap)
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = max(live, t.sample[0].Value.Uint64())
	}
	percent := t.prev
	if percent >= 0 && t.floor > live*uint64(100+percent)/100 {
		percent = int(min((t.floor-live)*100/live, maxPercent))
	}
	if percent != t.percent {
		debug.SetGCPercent(percent)
		t.percent = percent
	}
}
