// Package vector holds the in-process nearest-neighbour indexes behind cns.VectorIndex. Exact is a
// brute-force inner-product index: at the population sizes of one project (thousands to tens of thousands
// of SNOs) a linear scan over contiguous memory answers in about a millisecond with perfect recall, needs
// no training or tuning, and updates in O(dim), which an approximate index would not beat by enough to be
// worth its recall loss and complexity. Set keeps one Exact per project so projects never see each
// other's vectors.
package vector

import (
	"math"
	"slices"
	"strings"
	"sync"

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
	h := topK{ids: x.ids, items: make([]scored, 0, k)}
	dim := x.dim
	for s := 0; s < n; s++ {
		sc := dot(q, x.data[s*dim:(s+1)*dim])
		if len(h.items) < k {
			h.push(scored{sc, int32(s)})
		} else if h.better(scored{sc, int32(s)}, h.items[0]) {
			h.items[0] = scored{sc, int32(s)}
			h.down(0)
		}
	}
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

// dot is the inner product, unrolled by 8 with four independent accumulators so the adds pipeline
// instead of waiting on one another (pure Go: the compiler does not vectorise).
func dot(a, b []float32) float32 {
	b = b[:len(a)] // one bounds check here instead of one per element
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		aa, bb := a[i:i+8:i+8], b[i:i+8:i+8]
		s0 += aa[0]*bb[0] + aa[4]*bb[4]
		s1 += aa[1]*bb[1] + aa[5]*bb[5]
		s2 += aa[2]*bb[2] + aa[6]*bb[6]
		s3 += aa[3]*bb[3] + aa[7]*bb[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
