//go:build faiss

package faiss

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/cns-dev/cns"
)

// Config chooses the kind of FAISS index.
type Config struct {
	// Description is the index_factory string. It must start with "IDMap," (the service's string ids are
	// mapped to FAISS labels through add_with_ids): "IDMap,Flat" is exact, "IDMap,HNSW32" approximate.
	// Index kinds that need training (IVF, PQ) are refused.
	Description string
	// EfSearch is HNSW's search breadth (larger: better recall, slower); 0 keeps FAISS's default. Ignored
	// by index kinds without it.
	EfSearch int
}

// Validate checks the description without building an index of real size.
func (c Config) Validate() error {
	x, err := New(8, c)
	if err != nil {
		return err
	}
	x.Close()
	return nil
}

func (c Config) isHNSW() bool { return strings.Contains(c.Description, "HNSW") }

// Index is a FAISS inner-product index implementing cns.VectorIndex over unit vectors (scores are
// cosines). String ids map to int64 FAISS labels; replacing an id's vector removes the old label and adds
// a new one.
//
// Index kinds that cannot remove vectors (HNSW) keep removed labels as tombstones: searches ask FAISS
// for more results and drop them, and once tombstones exceed a quarter of the index it is rebuilt from
// its own stored vectors. Safe for concurrent use: searches share a read lock (FAISS searches are const),
// writes take the write lock.
type Index struct {
	cfg Config
	dim int

	mu      sync.RWMutex
	c       *cIndex
	native  bool               // FAISS removes vectors itself; otherwise tombstones
	labels  map[string]int64   // id → label
	ids     map[int64]string   // label → id
	hashes  map[int64]uint64   // label → hash of its vector, to recognise an unchanged Add
	dead    map[int64]struct{} // labels removed but still in FAISS (tombstones)
	pending map[int64]struct{} // labels loaded from disk and not yet confirmed by the store
	next    int64              // next label
	store   *Store             // persistence, when created by a Store
	project string             // set by BindProject
}

var _ cns.VectorIndex = (*Index)(nil)

// New returns an empty index of dimension dim.
func New(dim int, cfg Config) (*Index, error) {
	if dim <= 0 {
		return nil, cns.Errorf(cns.EINVALID, "faiss: dimension must be positive, got %d", dim)
	}
	if err := checkDescription(cfg.Description); err != nil {
		return nil, err
	}
	if cfg.EfSearch < 0 {
		return nil, cns.Errorf(cns.EINVALID, "faiss: efSearch must not be negative, got %d", cfg.EfSearch)
	}
	c, err := newCIndex(dim, cfg.Description)
	if err != nil {
		return nil, cns.Errorf(cns.EINVALID, "faiss: index description %q: %v", cfg.Description, err)
	}
	x := &Index{cfg: cfg, dim: dim}
	if err := x.adopt(c); err != nil {
		c.free()
		return nil, err
	}
	x.reset()
	return x, nil
}

func checkDescription(d string) error {
	if !strings.HasPrefix(d, "IDMap,") && !strings.HasPrefix(d, "IDMap2,") {
		return cns.Errorf(cns.EINVALID, "faiss: index description %q must start with \"IDMap,\" (e.g. \"IDMap,Flat\" or \"IDMap,HNSW32\")", d)
	}
	return nil
}

// adopt checks a freshly built or read FAISS index and makes it this index's: it must be ready for
// adds without training and use inner product; efSearch is applied.
func (x *Index) adopt(c *cIndex) error {
	if !c.isTrained() {
		return cns.Errorf(cns.EINVALID, "faiss: index %q needs training, which this service does not do; use IDMap,Flat or IDMap,HNSW<M>", x.cfg.Description)
	}
	if !c.isInnerProduct() {
		return cns.Errorf(cns.EINVALID, "faiss: index %q does not use inner product", x.cfg.Description)
	}
	if x.cfg.EfSearch > 0 && x.cfg.isHNSW() {
		if err := c.setParam("efSearch", float64(x.cfg.EfSearch)); err != nil {
			return fmt.Errorf("faiss: %w", err)
		}
	}
	x.c = c
	x.native = c.canRemove()
	return nil
}

func (x *Index) reset() {
	x.labels = map[string]int64{}
	x.ids = map[int64]string{}
	x.hashes = map[int64]uint64{}
	x.dead = map[int64]struct{}{}
	x.pending = map[int64]struct{}{}
	x.next = 1
}

// Close frees the FAISS index. The Index must not be used afterwards.
func (x *Index) Close() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c != nil {
		x.c.free()
		x.c = nil
	}
}

// Dim returns the vector dimension.
func (x *Index) Dim() int { return x.dim }

// Len returns the number of live vectors (tombstones and unconfirmed entries excluded).
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.labels) - len(x.pending)
}

// Description returns the index_factory description.
func (x *Index) Description() string { return x.cfg.Description }

// vectorHash identifies a vector's exact bits, so re-adding an unchanged vector (what a rebuild from
// the store does for every SNO) costs no FAISS work.
func vectorHash(v []float32) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, f := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(f))
		h.Write(b[:])
	}
	return h.Sum64()
}

func checkVector(v []float32, dim int, what string) error {
	if len(v) != dim {
		return cns.Errorf(cns.EINVALID, "%s has dimension %d, index has %d", what, len(v), dim)
	}
	for _, f := range v {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return cns.Errorf(cns.EINVALID, "%s has a NaN or infinite component", what)
		}
	}
	return nil
}

// Add stores v under id, replacing any vector already stored under it. An empty id, a vector of the
// wrong dimension or with NaN or infinite components is EINVALID. Adding the exact vector already stored
// does nothing (and confirms an entry loaded from disk).
func (x *Index) Add(id string, v []float32) error {
	if id == "" {
		return cns.Errorf(cns.EINVALID, "vector id must not be empty")
	}
	if err := checkVector(v, x.dim, "vector"); err != nil {
		return err
	}
	h := vectorHash(v)
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c == nil {
		return cns.Errorf(cns.EFAILEDPRECOND, "faiss: index is closed")
	}
	if old, ok := x.labels[id]; ok {
		if x.hashes[old] == h {
			delete(x.pending, old)
			return nil
		}
		if err := x.dropLabel(old); err != nil {
			return err
		}
	}
	label := x.next
	if err := x.c.add(v, []int64{label}, 1); err != nil {
		return fmt.Errorf("faiss: add %s: %w", id, err)
	}
	x.next++
	x.labels[id], x.ids[label], x.hashes[label] = label, id, h
	return nil
}

// dropLabel forgets a label: removed from FAISS, or kept there as a tombstone. The caller holds the write
// lock.
func (x *Index) dropLabel(label int64) error {
	id := x.ids[label]
	delete(x.labels, id)
	delete(x.ids, label)
	delete(x.hashes, label)
	delete(x.pending, label)
	if x.native {
		if _, err := x.c.remove([]int64{label}); err != nil {
			return fmt.Errorf("faiss: remove %s: %w", id, err)
		}
		return nil
	}
	x.dead[label] = struct{}{}
	x.maybeCompact()
	return nil
}

// Remove deletes id's vector; removing an absent id does nothing. A FAISS failure (not expected for a
// valid index) leaves the id unsearchable and is reported by the next Add or Search.
func (x *Index) Remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c == nil {
		return
	}
	if label, ok := x.labels[id]; ok {
		if err := x.dropLabel(label); err != nil {
			// The label is already forgotten, so it can never be returned: mark it dead so searches skip it
			// even if FAISS still holds it.
			x.dead[label] = struct{}{}
		}
	}
}

// minCompact is the fewest tombstones worth a rebuild: below it, over-fetching them costs less.
const minCompact = 256

// maybeCompact rebuilds a tombstone index from its live vectors once tombstones are a quarter of it. The
// caller holds the write lock. HNSW cannot delete, so this is the only way its memory and search cost stop
// growing with churn; failures leave the tombstones in place (correct, only slower).
func (x *Index) maybeCompact() {
	total := int64(len(x.ids) + len(x.dead))
	if len(x.dead) < minCompact || int64(len(x.dead))*4 < total {
		return
	}
	_ = x.compact()
}

// compact rebuilds the FAISS index with only the live, confirmed-or-pending labels.
func (x *Index) compact() error {
	order, ok := x.c.idMap()
	if !ok {
		return fmt.Errorf("faiss: compact: not an IDMap index")
	}
	all, err := x.c.reconstructAll()
	if err != nil {
		return fmt.Errorf("faiss: compact: %w", err)
	}
	keep := make([]int64, 0, len(x.ids))
	vecs := make([]float32, 0, len(x.ids)*x.dim)
	for i, label := range order {
		if _, live := x.ids[label]; live {
			keep = append(keep, label)
			vecs = append(vecs, all[i*x.dim:(i+1)*x.dim]...)
		}
	}
	fresh, err := newCIndex(x.dim, x.cfg.Description)
	if err != nil {
		return fmt.Errorf("faiss: compact: %w", err)
	}
	if x.cfg.EfSearch > 0 && x.cfg.isHNSW() {
		if err := fresh.setParam("efSearch", float64(x.cfg.EfSearch)); err != nil {
			fresh.free()
			return fmt.Errorf("faiss: compact: %w", err)
		}
	}
	if err := fresh.add(vecs, keep, runtime.GOMAXPROCS(0)); err != nil {
		fresh.free()
		return fmt.Errorf("faiss: compact: %w", err)
	}
	x.c.free()
	x.c = fresh
	x.dead = map[int64]struct{}{}
	return nil
}

// AddBatch adds or replaces many vectors at once: new ones go to FAISS in one call, parallel with OpenMP
// for index kinds whose insertion is (HNSW). It is what rebuilding a large index should use; the result
// is the same as Add for each pair in order. ids must be distinct.
func (x *Index) AddBatch(ids []string, vecs [][]float32) error {
	if len(ids) != len(vecs) {
		return cns.Errorf(cns.EINVALID, "faiss: %d ids for %d vectors", len(ids), len(vecs))
	}
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if id == "" {
			return cns.Errorf(cns.EINVALID, "vector id must not be empty")
		}
		if seen[id] {
			return cns.Errorf(cns.EINVALID, "faiss: id %s appears twice in a batch", id)
		}
		seen[id] = true
		if err := checkVector(vecs[i], x.dim, "vector "+id); err != nil {
			return err
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.c == nil {
		return cns.Errorf(cns.EFAILEDPRECOND, "faiss: index is closed")
	}
	var (
		newIDs  []string
		labels  []int64
		hashes  []uint64
		flat    = make([]float32, 0, len(ids)*x.dim)
		nextLbl = x.next
	)
	for i, id := range ids {
		h := vectorHash(vecs[i])
		if old, ok := x.labels[id]; ok {
			if x.hashes[old] == h {
				delete(x.pending, old)
				continue
			}
			if err := x.dropLabel(old); err != nil {
				return err
			}
		}
		newIDs, labels, hashes = append(newIDs, id), append(labels, nextLbl), append(hashes, h)
		flat = append(flat, vecs[i]...)
		nextLbl++
	}
	if err := x.c.add(flat, labels, runtime.GOMAXPROCS(0)); err != nil {
		return fmt.Errorf("faiss: add batch: %w", err)
	}
	x.next = nextLbl
	for i, id := range newIDs {
		x.labels[id], x.ids[labels[i]], x.hashes[labels[i]] = labels[i], id, hashes[i]
	}
	return nil
}

// Search returns the k stored vectors with the largest inner product with q, best first; equal scores
// among the returned hits are ordered by id. k <= 0 returns no hits; a query of the wrong dimension is
// EINVALID.
func (x *Index) Search(q []float32, k int) ([]cns.Hit, error) {
	if err := checkVector(q, x.dim, "query"); err != nil {
		return nil, err
	}
	hits, err := x.search(q, 1, k, 1)
	if err != nil {
		return nil, err
	}
	return hits[0], nil
}

// SearchBatch runs len(qs) searches in one FAISS call, parallel over the queries with OpenMP (one
// thread per CPU): much faster than as many Search calls when queries come in groups.
func (x *Index) SearchBatch(qs [][]float32, k int) ([][]cns.Hit, error) {
	flat := make([]float32, 0, len(qs)*x.dim)
	for i, q := range qs {
		if err := checkVector(q, x.dim, fmt.Sprintf("query %d", i)); err != nil {
			return nil, err
		}
		flat = append(flat, q...)
	}
	return x.search(flat, len(qs), k, runtime.GOMAXPROCS(0))
}

// search asks FAISS for enough results to return k live ones per query: hidden labels (tombstones and
// unconfirmed entries) are over-fetched and dropped, doubling the request while a query comes up short
// and the index holds more.
func (x *Index) search(flat []float32, nq, k, threads int) ([][]cns.Hit, error) {
	out := make([][]cns.Hit, nq)
	if k <= 0 || nq == 0 {
		for i := range out {
			out[i] = []cns.Hit{}
		}
		return out, nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.c == nil {
		return nil, cns.Errorf(cns.EFAILEDPRECOND, "faiss: index is closed")
	}
	total := int(x.c.ntotal())
	hidden := len(x.dead) + len(x.pending)
	live := total - hidden
	k = min(k, live)
	if k <= 0 {
		for i := range out {
			out[i] = []cns.Hit{}
		}
		return out, nil
	}
	// A first guess proportional to the hidden share, then doubling: exact for flat indexes (FAISS returns
	// the true top-fetch), and as good as the index for approximate ones.
	fetch := min(total, k+k*hidden/max(1, live)+min(hidden, 8))
	for {
		dist, labels, err := x.c.search(flat, fetch, threads)
		if err != nil {
			return nil, fmt.Errorf("faiss: %w", err)
		}
		short := false
		for i := range nq {
			hits := make([]cns.Hit, 0, k)
			for j := i * fetch; j < (i+1)*fetch && len(hits) < k; j++ {
				id, ok := x.visible(labels[j])
				if ok {
					hits = append(hits, cns.Hit{ID: id, Score: float64(dist[j])})
				}
			}
			if len(hits) < k && fetch < total {
				short = true
			}
			out[i] = hits
		}
		if !short {
			break
		}
		fetch = min(total, fetch*2)
	}
	for _, hits := range out {
		// FAISS orders by score; equal scores come in label order, which is insertion order. Break ties by
		// id like the exact pure-Go index so both backends agree on the same data.
		slices.SortStableFunc(hits, func(a, b cns.Hit) int {
			if c := cmp.Compare(b.Score, a.Score); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
	}
	return out, nil
}

// visible returns the id of a label a search may return. The caller holds a lock.
func (x *Index) visible(label int64) (string, bool) {
	if label < 0 {
		return "", false
	}
	if _, p := x.pending[label]; p {
		return "", false
	}
	id, ok := x.ids[label]
	return id, ok
}

// Stats describes the FAISS side of an index, for logs and benchmarks.
type Stats struct {
	Live       int  // searchable vectors
	Tombstones int  // removed but still in FAISS (index kinds without removal)
	Pending    int  // loaded from disk, not yet confirmed by the store
	Total      int  // vectors in FAISS
	Removes    bool // FAISS removes natively
}

// Stats returns the index's counters.
func (x *Index) Stats() Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := Stats{Live: len(x.labels) - len(x.pending), Tombstones: len(x.dead), Pending: len(x.pending), Removes: x.native}
	if x.c != nil {
		s.Total = int(x.c.ntotal())
	}
	return s
}
