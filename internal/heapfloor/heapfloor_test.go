package heapfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

var sink []byte

// cycles counts the GC cycles while 256 MB of short-lived 8 KB objects are allocated.
func cycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	before := s[0].Value.Uint64()
	for i := range 32 << 10 {
		sink = make([]byte, 8<<10)
		if i%256 == 0 {
			runtime.Gosched() // let the finalizer goroutine retune after a cycle
		}
	}
	metrics.Read(s)
	return s[0].Value.Uint64() - before
}

// TestFloor: with a 64 MB floor a small heap is collected a fraction as often as at GOGC=100; stopping
// restores GOGC. Not parallel: GOGC is the process's.
func TestFloor(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	runtime.GC()
	base := cycles()

	stop := Start(64 << 20)
	runtime.GC()
	floored := cycles()
	stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("after stop GOGC is %d, want 100 restored", got)
	}
	t.Logf("GC cycles for 256 MB of garbage: %d at GOGC=100, %d with a 64 MB floor", base, floored)
	if base < 20 || floored*4 > base {
		t.Fatalf("a 64 MB floor ran %d cycles against %d without: want at most a quarter", floored, base)
	}
}

// TestLargeHeapKeepsGOGC: a live heap above half the floor leaves GOGC as it was.
func TestLargeHeapKeepsGOGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)
	live := make([]byte, 48<<20)
	for i := range live {
		live[i] = byte(i) // touched, so it is live heap that counts
	}
	runtime.GC()
	stop := Start(64 << 20)
	defer stop()
	runtime.GC()
	runtime.GC() // the finalizer of the first cycle's sentinel has run by the second's end
	runtime.KeepAlive(live)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GOGC with 48 MB live under a 64 MB floor is %d, want 100", got)
	}
}

// TestGOGCOff: GOGC=off stays off.
func TestGOGCOff(t *testing.T) {
	prev := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(prev)
	stop := Start(64 << 20)
	defer stop()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Fatalf("GOGC off became %d", got)
	}
}
