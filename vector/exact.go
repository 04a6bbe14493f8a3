// Package vector holds the in-process nearest-neighbour indexes behind cns.VectorIndex. Exact is a
// brute-force inner-product index: at the population sizes of one project (thousands to tens of thousands
// of SNOs) a linear scan over contiguous memory answers in about a millisecond with perfect recall, needs
// no training or tuning, and updates in O(dim), which an approximate index would not beat by enough to be
// worth its recall loss and complexity. Set keeps one Exact per project so projects never see each
// other's vectors.
package vector

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/viterin/vek/vek32"

	"github.com/cns-dev/cns"
)

// Exact is an exact inner-product index over unit vectors (so scores are cosines). Vectors live in one
// contiguous []float32, row after row, so a search is a sequential scan the CPU can prefetch; removal
// swaps the last row into the hole to keep the rows dense. Safe for concurrent use: searches share a read
// lock, writes take the write lock.
type Exact struct {
	dim int

	mu   sync.RWMutex
	data []float32      // len(ids)*dim; row i is the vector of ids[i]
	ids  []string       // slot → id
	slot map[string]int // id → slot
}

var _ cns.VectorIndex = (*Exact)(nil)

// NewExact returns an empty index of vectors of dimension dim. It panics if dim is not positive: the
// dimension comes from the embedder, so a bad one is a wiring bug, not a request error.
func NewExact(dim int) *Exact {
	if dim <= 0 {
		panic("vector: NewExact with a non-positive dimension")
	}
	return &Exact{dim: dim, slot: make(map[string]int)}
}

// Dim returns the vector dimension.
func (x *Exact) Dim() int { return x.dim }

// Len returns the number of stored vectors.
func (x *Exact) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.ids)
}

// Add stores a copy of v under id, replacing any vector already stored under it. An empty id, a vector
// of the wrong dimension or one with NaN or infinite components is EINVALID: such a vector would corrupt
// every later search's ranking.
func (x *Exact) Add(id string, v []float32) error {
	if id == "" {
		return cns.Errorf(cns.EINVALID, "vector id must not be empty")
	}
	if len(v) != x.dim {
		return cns.Errorf(cns.EINVALID, "vector has dimension %d, index has %d", len(v), x.dim)
	}
	for _, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return cns.Errorf(cns.EINVALID, "vector has a NaN or infinite component")
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if s, ok := x.slot[id]; ok {
		copy(x.data[s*x.dim:(s+1)*x.dim], v)
		return nil
	}
	x.slot[id] = len(x.ids)
	x.ids = append(x.ids, id)
	x.data = append(x.data, v...)
	return nil
}

// Remove deletes id's vector; removing an absent id does nothing.
func (x *Exact) Remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.slot[id]
	if !ok {
		return
	}
	last := len(x.ids) - 1
	if s != last {
		// Move the last row into the hole: O(dim) instead of shifting every later row.
		copy(x.data[s*x.dim:(s+1)*x.dim], x.data[last*x.dim:])
		x.ids[s] = x.ids[last]
		x.slot[x.ids[s]] = s
	}
	x.ids[last] = "" // drop the reference so the string can be collected
	x.ids = x.ids[:last]
	x.data = x.data[:last*x.dim]
	delete(x.slot, id)
	// Give memory back after a large shrink (e.g. a project archived most of its SNOs).
	if cap(x.ids) > 1024 && len(x.ids) < cap(x.ids)/4 {
		x.ids = slices.Clone(x.ids)
		x.data = slices.Clone(x.data)
	}
}

// Search returns the k stored vectors with the largest inner product with q, best first; equal scores
// are ordered by id so results are deterministic whatever the insertion order. k <= 0 returns no hits;
// a query of the wrong dimension is EINVALID.
func (x *Exact) Search(q []float32, k int) ([]cns.Hit, error) {
	if len(q) != x.dim {
		return nil, cns.Errorf(cns.EINVALID, "query has dimension %d, index has %d", len(q), x.dim)
	}
	if k <= 0 {
		return []cns.Hit{}, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(x.ids)
	if k > n {
		k = n
	}
	var items []scored
	if parts := scanParts(n, x.dim); parts > 1 {
		items = x.scanParallel(q, k, parts)
	} else {
		items = x.scan(q, k, 0, n, make([]scored, 0, k))
	}
	h := topK{ids: x.ids, items: items}
	// Pop the heap worst-first into the result from the back.
	hits := make([]cns.Hit, len(h.items))
	for i := len(hits) - 1; i >= 0; i-- {
		it := h.items[0]
		hits[i] = cns.Hit{ID: x.ids[it.slot], Score: float64(it.score)}
		last := len(h.items) - 1
		h.items[0] = h.items[last]
		h.items = h.items[:last]
		h.down(0)
	}
	return hits, nil
}

// scan returns, as a topK heap (in items, reused), the k best rows among rows [from, to). The caller holds
// the read lock.
func (x *Exact) scan(q []float32, k, from, to int, items []scored) []scored {
	h := topK{ids: x.ids, items: items[:0]}
	dim := x.dim
	// worst is the score of the heap's root once the heap is full: most rows score below it and are
	// rejected by one float comparison, without touching the heap.
	worst := float32(math.Inf(-1))
	for s := from; s < to; s++ {
		sc := dot(q, x.data[s*dim:(s+1)*dim])
		if len(h.items) < k {
			h.push(scored{sc, int32(s)})
			if len(h.items) == k {
				worst = h.items[0].score
			}
			continue
		}
		if sc < worst {
			continue
		}
		if h.better(scored{sc, int32(s)}, h.items[0]) {
			h.items[0] = scored{sc, int32(s)}
			h.down(0)
			worst = h.items[0].score
		}
	}
	return h.items
}

// Floats scanned per goroutine: below this a search stays on one goroutine, because starting and joining
// goroutines (about a microsecond each) would cost more than the split saves. 2^19 floats is 2 MB of
// vectors, ~1,400 rows of 384 dimensions, a few dozen microseconds of dot products. Variables so tests can
// force the parallel path on small data and any core count.
var (
	floatsPerPart = 1 << 19
	maxScanParts  = func() int { return runtime.GOMAXPROCS(0) }
)

// scanParts returns into how many parts a scan of n rows is split: one per available CPU at most, so a
// single query on a large index uses the whole machine, while small indexes are not slowed by goroutines.
func scanParts(n, dim int) int {
	parts := n * dim / floatsPerPart
	return max(1, min(parts, maxScanParts()))
}

// scanParallel scans parts contiguous row ranges concurrently and merges their top-k heaps. The result is
// identical to a sequential scan: each part keeps its own k best under the same total order (score, then
// id), and the k best of the union of those is the k best overall.
func (x *Exact) scanParallel(q []float32, k, parts int) []scored {
	n := len(x.ids)
	results := make([][]scored, parts)
	var wg sync.WaitGroup
	for p := range parts {
		from, to := p*n/parts, (p+1)*n/parts
		wg.Go(func() { results[p] = x.scan(q, k, from, to, make([]scored, 0, k)) })
	}
	wg.Wait()
	h := topK{ids: x.ids, items: results[0]}
	for _, r := range results[1:] {
		for _, it := range r {
			if len(h.items) < k {
				h.push(it)
			} else if h.better(it, h.items[0]) {
				h.items[0] = it
				h.down(0)
			}
		}
	}
	return h.items
}

type scored struct {
	score float32
	slot  int32
}

// topK is a min-heap of the best k candidates seen so far: its root is the worst of them, the one a
// better candidate evicts. Hand-written rather than container/heap to avoid an interface call per
// comparison in the hot loop.
type topK struct {
	ids   []string
	items []scored
}

// better reports whether a ranks before b: higher score, then smaller id.
func (h *topK) better(a, b scored) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return strings.Compare(h.ids[a.slot], h.ids[b.slot]) < 0
}

func (h *topK) push(it scored) {
	h.items = append(h.items, it)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.better(h.items[p], h.items[i]) { // parent is worse or equal: heap order holds
			break
		}
		h.items[p], h.items[i] = h.items[i], h.items[p]
		i = p
	}
}

func (h *topK) down(i int) {
	n := len(h.items)
	for {
		worst := i
		if l := 2*i + 1; l < n && h.better(h.items[worst], h.items[l]) {
			worst = l
		}
		if r := 2*i + 2; r < n && h.better(h.items[worst], h.items[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h.items[i], h.items[worst] = h.items[worst], h.items[i]
		i = worst
	}
}

// dot is the inner product. With AVX2 and FMA (checked once by vek at start) it runs vek's assembly kernel,
// 8 lanes per instruction: about 6× the pure-Go loop at 384 dimensions, which is what bounds an exact
// search. Elsewhere vek falls back to plain Go. Every search and test goes through this one function, so
// rankings are consistent however the scan is split.
func dot(a, b []float32) float32 {
	if len(a) == 0 { // vek rejects empty slices
		return 0
	}
	return vek32.Dot(a, b[:len(a)])
}
