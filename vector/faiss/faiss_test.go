//go:build faiss

package faiss

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/vector"
)

var (
	flat = Config{Description: "IDMap,Flat"}
	hnsw = Config{Description: "IDMap,HNSW32", EfSearch: 64}
)

func randUnit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return cns.Normalize(v)
}

// topics returns c random unit centres.
func topics(r *rand.Rand, c, dim int) [][]float32 {
	out := make([][]float32, c)
	for i := range out {
		out[i] = randUnit(r, dim)
	}
	return out
}

// clustered returns n unit vectors, each a random centre plus Gaussian noise of the given standard
// deviation per coordinate (what embeddings of texts on a set of topics look like).
func clustered(r *rand.Rand, centres [][]float32, n int, spread float64) [][]float32 {
	dim := len(centres[0])
	out := make([][]float32, n)
	for i := range out {
		ctr := centres[r.IntN(len(centres))]
		v := make([]float32, dim)
		for j := range v {
			v[j] = ctr[j] + float32(r.NormFloat64()*spread)
		}
		out[i] = cns.Normalize(v)
	}
	return out
}

func mustNew(t testing.TB, dim int, cfg Config) *Index {
	t.Helper()
	x, err := New(dim, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	return x
}

func ids(h []cns.Hit) []string {
	out := make([]string, len(h))
	for i := range h {
		out[i] = h[i].ID
	}
	return out
}

func search(t testing.TB, x cns.VectorIndex, q []float32, k int) []cns.Hit {
	t.Helper()
	h, err := x.Search(q, k)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestFlatMatchesExact: FAISS's exact index and the pure-Go one return the same top-k, in the same order
// with the same scores (up to float rounding), through adds, replacements and removals.
func TestFlatMatchesExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const dim = 96
	f, g := mustNew(t, dim, flat), vector.NewExact(dim)
	for i := range 3000 {
		v := randUnit(r, dim)
		id := fmt.Sprintf("sno-%04d", i)
		if err := f.Add(id, v); err != nil {
			t.Fatal(err)
		}
		g.Add(id, v)
	}
	for range 500 { // churn: replacements and removals
		id := fmt.Sprintf("sno-%04d", r.IntN(3000))
		if r.IntN(2) == 0 {
			f.Remove(id)
			g.Remove(id)
		} else {
			v := randUnit(r, dim)
			f.Add(id, v)
			g.Add(id, v)
		}
	}
	if f.Len() != g.Len() {
		t.Fatalf("Len: faiss %d, exact %d", f.Len(), g.Len())
	}
	if s := f.Stats(); !s.Removes || s.Tombstones != 0 || s.Total != g.Len() {
		t.Errorf("flat index stats %+v: want native removal and no tombstones", s)
	}
	for trial := range 40 {
		q := randUnit(r, dim)
		for _, k := range []int{1, 10, 50} {
			got, want := search(t, f, q, k), search(t, g, q, k)
			if !slices.Equal(ids(got), ids(want)) {
				t.Fatalf("trial %d k %d: faiss %v, exact %v", trial, k, ids(got)[:min(5, len(got))], ids(want)[:min(5, len(want))])
			}
			for i := range got {
				if math.Abs(got[i].Score-want[i].Score) > 1e-5 {
					t.Fatalf("score %d: faiss %v, exact %v", i, got[i].Score, want[i].Score)
				}
			}
		}
	}
}

func recallAt(t testing.TB, x cns.VectorIndex, truth *vector.Exact, queries [][]float32, k int) float64 {
	t.Helper()
	found, total := 0, 0
	for _, q := range queries {
		want := map[string]bool{}
		for _, h := range search(t, truth, q, k) {
			want[h.ID] = true
		}
		for _, h := range search(t, x, q, k) {
			if want[h.ID] {
				found++
			}
		}
		total += len(want)
	}
	return float64(found) / float64(total)
}

// TestHNSWRecall: on clustered data HNSW32 with efSearch 64 finds at least 95% of the true top 10, and a
// smaller efSearch finds fewer (the setting reaches FAISS).
func TestHNSWRecall(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const dim, n = 64, 6000
	ctrs := topics(r, 60, dim)
	data := clustered(r, ctrs, n, 0.1) // noise of norm ~0.8 around each centre
	truth := vector.NewExact(dim)
	h := mustNew(t, dim, hnsw)
	low := mustNew(t, dim, Config{Description: "IDMap,HNSW32", EfSearch: 1})
	ids := make([]string, n)
	for i, v := range data {
		ids[i] = fmt.Sprint("v", i)
		truth.Add(ids[i], v)
		if err := h.Add(ids[i], v); err != nil { // one at a time, as the engine adds
			t.Fatal(err)
		}
	}
	if err := low.AddBatch(ids, data); err != nil { // and in one batch
		t.Fatal(err)
	}
	queries := clustered(r, ctrs, 300, 0.1)
	rec := recallAt(t, h, truth, queries, 10)
	t.Logf("HNSW32 recall@10 = %.3f (efSearch 64)", rec)
	if rec < 0.95 {
		t.Errorf("recall@10 = %.3f, want ≥ 0.95", rec)
	}
	// With efSearch below k FAISS searches with ef = k: recall drops on this data.
	lowRec := recallAt(t, low, truth, queries, 10)
	t.Logf("efSearch 1 (so ef = k = 10): recall@10 = %.3f", lowRec)
	if lowRec >= rec {
		t.Errorf("efSearch 1 recall %.3f not below efSearch 64 recall %.3f: efSearch is not applied", lowRec, rec)
	}
}

func TestSemantics(t *testing.T) {
	for _, cfg := range []Config{flat, hnsw} {
		t.Run(cfg.Description, func(t *testing.T) {
			x := mustNew(t, 3, cfg)
			if x.Dim() != 3 || x.Len() != 0 {
				t.Fatalf("new index: dim %d len %d", x.Dim(), x.Len())
			}
			if h := search(t, x, []float32{1, 0, 0}, 5); len(h) != 0 {
				t.Errorf("empty index search = %v", h)
			}
			for id, v := range map[string][]float32{"a": {1, 0, 0}, "b": {0, 1, 0}, "c": {0, 0, 1}, "d": {0.6, 0.8, 0}} {
				if err := x.Add(id, v); err != nil {
					t.Fatal(err)
				}
			}
			if got := ids(search(t, x, []float32{0, 1, 0}, 10)); !slices.Equal(got, []string{"b", "d", "a", "c"}) {
				t.Errorf("ranking = %v", got)
			}
			if got := search(t, x, []float32{1, 0, 0}, 2); got[1].ID != "d" || math.Abs(got[1].Score-0.6) > 1e-6 {
				t.Errorf("second hit = %+v, want d at 0.6", got[1])
			}
			if len(search(t, x, []float32{1, 0, 0}, 0)) != 0 || len(search(t, x, []float32{1, 0, 0}, -3)) != 0 {
				t.Error("k <= 0 must return no hits")
			}
			// Replace: one entry per id; adding the same vector again changes nothing.
			x.Add("a", []float32{0, 1, 0})
			x.Add("a", []float32{0, 1, 0})
			if x.Len() != 4 {
				t.Errorf("Len after replace = %d", x.Len())
			}
			if got := ids(search(t, x, []float32{0, 1, 0}, 2)); !slices.Equal(got, []string{"a", "b"}) {
				t.Errorf("after replacing a: %v", got)
			}
			x.Remove("b")
			x.Remove("nope")
			if got := ids(search(t, x, []float32{0, 1, 0}, 10)); !slices.Equal(got, []string{"a", "d", "c"}) {
				t.Errorf("after removing b: %v", got)
			}
			for _, id := range []string{"c", "a", "d", "a"} {
				x.Remove(id)
			}
			if x.Len() != 0 || len(search(t, x, []float32{1, 0, 0}, 5)) != 0 {
				t.Errorf("not empty after removing everything: Len %d", x.Len())
			}
			x.Add("a", []float32{1, 0, 0})
			if got := ids(search(t, x, []float32{1, 0, 0}, 5)); !slices.Equal(got, []string{"a"}) {
				t.Errorf("after re-adding: %v", got)
			}
			if cfg.isHNSW() == x.Stats().Removes {
				t.Errorf("%s: native removal = %v", cfg.Description, x.Stats().Removes)
			}
		})
	}
}

// TestTombstonesAndCompaction: HNSW cannot remove, so removed vectors stay as hidden tombstones until they
// are a quarter of the index, then the index is rebuilt from its own vectors.
func TestTombstonesAndCompaction(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const dim, n = 32, 2000
	x := mustNew(t, dim, hnsw)
	truth := vector.NewExact(dim)
	for i := range n {
		v := randUnit(r, dim)
		id := fmt.Sprint("v", i)
		x.Add(id, v)
		truth.Add(id, v)
	}
	removed := map[string]bool{}
	remove := func(from, to int) {
		for i := from; i < to; i++ {
			id := fmt.Sprint("v", i)
			x.Remove(id)
			truth.Remove(id)
			removed[id] = true
		}
	}
	remove(0, 400) // below the compaction point: 400 of 2000
	if s := x.Stats(); s.Tombstones != 400 || s.Live != 1600 || s.Total != 2000 {
		t.Fatalf("stats after 400 removals: %+v", s)
	}
	queries := make([][]float32, 100)
	for i := range queries {
		queries[i] = randUnit(r, dim)
	}
	check := func(stage string) {
		for _, q := range queries {
			for _, h := range search(t, x, q, 20) {
				if removed[h.ID] {
					t.Fatalf("%s: removed vector %s returned", stage, h.ID)
				}
			}
		}
		if rec := recallAt(t, x, truth, queries, 10); rec < 0.9 {
			t.Errorf("%s: recall@10 %.3f", stage, rec)
		}
	}
	check("with tombstones")
	// Every query must still get k results although a fifth of FAISS's answers are tombstones.
	for _, q := range queries[:10] {
		if h := search(t, x, q, 50); len(h) != 50 {
			t.Fatalf("got %d hits, want 50", len(h))
		}
	}
	remove(400, 600) // 600 of 2000 > a quarter: compaction
	if s := x.Stats(); s.Tombstones >= 500 || s.Total != s.Live+s.Tombstones || s.Live != 1400 {
		t.Fatalf("stats after compaction: %+v", s)
	}
	check("after compaction")
}

func TestSearchBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, cfg := range []Config{flat, hnsw} {
		x := mustNew(t, 48, cfg)
		for i := range 1000 {
			x.Add(fmt.Sprint(i), randUnit(r, 48))
		}
		x.Remove("7")
		qs := make([][]float32, 33)
		for i := range qs {
			qs[i] = randUnit(r, 48)
		}
		got, err := x.SearchBatch(qs, 10)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range qs {
			// Same hits; scores may differ in the last bits (batches go through BLAS).
			want := search(t, x, q, 10)
			if !slices.Equal(ids(got[i]), ids(want)) {
				t.Fatalf("%s query %d: batch %v, single %v", cfg.Description, i, ids(got[i]), ids(want))
			}
			for j := range want {
				if math.Abs(got[i][j].Score-want[j].Score) > 1e-5 {
					t.Fatalf("%s query %d hit %d: batch score %v, single %v", cfg.Description, i, j, got[i][j].Score, want[j].Score)
				}
			}
		}
		if _, err := x.SearchBatch([][]float32{qs[0], {1, 2}}, 3); cns.ErrorCode(err) != cns.EINVALID || !strings.Contains(err.Error(), "query 1") {
			t.Errorf("bad query in batch: %v", err)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Description: "Flat"}, `must start with "IDMap,"`},
		{Config{Description: "IDMap,IVF16,Flat"}, "needs training"},
		{Config{Description: "IDMap,NoSuchIndex"}, "faiss index_factory IDMap,NoSuchIndex (code"},
		{Config{Description: "IDMap,Flat", EfSearch: -1}, "efSearch must not be negative"},
	} {
		_, err := New(16, c.cfg)
		if cns.ErrorCode(err) != cns.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) err = %v, want EINVALID with %q", c.cfg, err, c.want)
		}
		if err := c.cfg.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted it", c.cfg)
		}
	}
	if _, err := New(0, flat); cns.ErrorCode(err) != cns.EINVALID {
		t.Errorf("dim 0: %v", err)
	}
	// FAISS's own message comes through faiss_get_last_error.
	_, err := New(16, Config{Description: "IDMap,NoSuchIndex"})
	if err == nil || !strings.Contains(err.Error(), "could not parse") && !strings.Contains(err.Error(), "NoSuchIndex") {
		t.Errorf("factory error lacks FAISS's message: %v", err)
	}

	x := mustNew(t, 4, flat)
	for name, err := range map[string]error{
		"short":    x.Add("a", []float32{1, 0, 0}),
		"empty id": x.Add("", []float32{1, 0, 0, 0}),
		"NaN":      x.Add("a", []float32{float32(math.NaN()), 0, 0, 0}),
		"Inf":      x.Add("a", []float32{float32(math.Inf(-1)), 0, 0, 0}),
		"batch":    x.AddBatch([]string{"a", "a"}, [][]float32{{1, 0, 0, 0}, {0, 1, 0, 0}}),
	} {
		if cns.ErrorCode(err) != cns.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", name, err)
		}
	}
	if x.Len() != 0 {
		t.Errorf("rejected vectors stored: %d", x.Len())
	}
	if _, err := x.Search([]float32{1}, 3); cns.ErrorCode(err) != cns.EINVALID {
		t.Errorf("short query: %v", err)
	}
	x.Close()
	if err := x.Add("a", []float32{1, 0, 0, 0}); cns.ErrorCode(err) != cns.EFAILEDPRECOND {
		t.Errorf("add after close: %v", err)
	}
	if _, err := x.Search([]float32{1, 0, 0, 0}, 1); cns.ErrorCode(err) != cns.EFAILEDPRECOND {
		t.Errorf("search after close: %v", err)
	}
	x.Remove("a") // no panic
}

// Run with -race: FAISS searches share the read lock while writers add, replace and remove.
func TestConcurrent(t *testing.T) {
	for _, cfg := range []Config{flat, hnsw} {
		x := mustNew(t, 16, cfg)
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 9))
				for range 300 {
					id := fmt.Sprintf("w%d-%d", w, r.IntN(60))
					if r.IntN(3) == 0 {
						x.Remove(id)
					} else if err := x.Add(id, randUnit(r, 16)); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		for rd := range 3 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(rd), 10))
				for range 300 {
					hits, err := x.Search(randUnit(r, 16), 5)
					if err != nil {
						t.Error(err)
						return
					}
					for j := 1; j < len(hits); j++ {
						if hits[j].Score > hits[j-1].Score {
							t.Errorf("hits out of order: %v", hits)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		s := x.Stats()
		if s.Live != x.Len() || s.Total != s.Live+s.Tombstones {
			t.Errorf("%s: inconsistent stats %+v", cfg.Description, s)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, cfg := range []Config{flat, hnsw} {
		t.Run(cfg.Description, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "idx")
			x := mustNew(t, 24, cfg)
			vecs := map[string][]float32{}
			for i := range 500 {
				id := fmt.Sprint("s", i)
				vecs[id] = randUnit(r, 24)
				x.Add(id, vecs[id])
			}
			for i := range 50 {
				x.Remove(fmt.Sprint("s", i))
				delete(vecs, fmt.Sprint("s", i))
			}
			q := randUnit(r, 24)
			before := search(t, x, q, 10)
			if err := x.Save(path); err != nil {
				t.Fatal(err)
			}
			y, err := Load(path, 24, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer y.Close()
			// Loaded entries are pending: invisible until confirmed.
			if y.Len() != 0 || len(search(t, y, q, 10)) != 0 || y.Stats().Pending != 450 {
				t.Fatalf("loaded index before confirmation: Len %d, stats %+v", y.Len(), y.Stats())
			}
			total := y.Stats().Total
			for id, v := range vecs {
				if err := y.Add(id, v); err != nil {
					t.Fatal(err)
				}
			}
			if y.Stats().Total != total {
				t.Errorf("confirming unchanged vectors added to FAISS: total %d → %d", total, y.Stats().Total)
			}
			if after := search(t, y, q, 10); !slices.Equal(after, before) {
				t.Errorf("after reload: %v, before save: %v", ids(after), ids(before))
			}
			// New ids continue after the saved ones.
			if err := y.Add("new", q); err != nil {
				t.Fatal(err)
			}
			if got := search(t, y, q, 1); got[0].ID != "new" {
				t.Errorf("new vector not found first: %v", got)
			}
		})
	}
}

func TestLoadRefusesDamagedOrForeignFiles(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	dir := t.TempDir()
	x := mustNew(t, 8, flat)
	for i := range 100 {
		x.Add(fmt.Sprint(i), randUnit(r, 8))
	}
	save := func(name string) string {
		p := filepath.Join(dir, name)
		if err := x.Save(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flip := func(path string, at int) {
		b, _ := os.ReadFile(path)
		b[at%len(b)] ^= 0x40
		os.WriteFile(path, b, 0o600)
	}
	cases := []struct {
		name   string
		damage func(p string)
		dim    int
		cfg    Config
		want   string
	}{
		{"missing", func(p string) { os.Remove(p + ".meta") }, 8, flat, "no such file"},
		{"missing index", func(p string) { os.Remove(p + ".faiss") }, 8, flat, "no such file"},
		{"index bit flip", func(p string) { flip(p+".faiss", 200) }, 8, flat, "does not match its .meta"},
		{"index truncated", func(p string) {
			b, _ := os.ReadFile(p + ".faiss")
			os.WriteFile(p+".faiss", b[:len(b)/2], 0o600)
		}, 8, flat, "does not match its .meta"},
		{"meta bit flip", func(p string) { flip(p+".meta", 40) }, 8, flat, "checksum mismatch"},
		{"meta garbage", func(p string) { os.WriteFile(p+".meta", []byte("hello"), 0o600) }, 8, flat, "not an index metadata file"},
		{"other description", func(string) {}, 8, hnsw, `saved as "IDMap,Flat", configured "IDMap,HNSW32"`},
		{"other dimension", func(string) {}, 16, flat, "dimension 8, want 16"},
		{"crash between renames", func(p string) {
			// A newer .faiss landed but the .meta is the previous one.
			x.Add("extra", randUnit(r, 8))
			tmp := filepath.Join(dir, "newer")
			x.Save(tmp)
			os.Rename(tmp+".faiss", p+".faiss")
		}, 8, flat, "does not match its .meta"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := save(strings.ReplaceAll(c.name, " ", "-"))
			c.damage(p)
			y, err := Load(p, c.dim, c.cfg)
			if err == nil {
				y.Close()
				t.Fatal("Load accepted it")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
			if strings.HasPrefix(c.name, "missing") && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("missing file: err %v is not os.ErrNotExist", err)
			}
		})
	}
}

// TestStoreLifecycle runs the service's sequence twice: indexes created through vector.Set, filled by a
// rebuild, saved at close; then a restart where the saved files are loaded, the rebuild from a store that
// changed meanwhile confirms, replaces and removes entries, and Loaded drops what the store lost.
func TestStoreLifecycle(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	const dim = 16
	dir := t.TempDir()
	for _, cfg := range []Config{flat, hnsw} {
		t.Run(cfg.Description, func(t *testing.T) {
			dir := filepath.Join(dir, strings.ReplaceAll(cfg.Description, ",", "_"))
			store := map[string]map[string][]float32{"alpha": {}, "beta/../x": {}} // the system of record
			for p := range store {
				for i := range 300 {
					store[p][fmt.Sprintf("%s-%d", p, i)] = randUnit(r, dim)
				}
			}
			rebuild := func(s *vector.Set) {
				for p, snos := range store {
					for id, v := range snos {
						if err := s.For(p).Add(id, v); err != nil {
							t.Fatal(err)
						}
					}
				}
			}

			st1, err := NewStore(dir, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			set1 := vector.NewSet(dim, st1.NewIndex)
			rebuild(set1)
			if n := st1.Loaded(); n != 0 {
				t.Errorf("first start dropped %d entries", n)
			}
			if err := st1.Save(); err != nil {
				t.Fatal(err)
			}
			st1.Close()

			// Meanwhile the store changed: one SNO gone, one re-embedded, one new; a project's file is stale.
			delete(store["alpha"], "alpha-0")
			store["alpha"]["alpha-1"] = randUnit(r, dim)
			store["alpha"]["alpha-new"] = randUnit(r, dim)
			os.WriteFile(filepath.Join(dir, "p-"+fmt.Sprintf("%x", "gone")+".meta"), []byte("old"), 0o600)

			st2, err := NewStore(dir, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st2.Close()
			set2 := vector.NewSet(dim, st2.NewIndex)
			alpha := set2.For("alpha").(*Index)
			if s := alpha.Stats(); s.Pending != 300 || s.Live != 0 {
				t.Fatalf("alpha after load: %+v, want 300 pending", s)
			}
			labelsLoaded := alpha.next
			// Before the rebuild confirms anything, nothing stale can be returned.
			if h := search(t, alpha, store["alpha"]["alpha-2"], 5); len(h) != 0 {
				t.Errorf("pending entries returned: %v", ids(h))
			}
			rebuild(set2)
			// alpha-0 is still pending (the store lost it): never returned.
			for _, q := range [][]float32{randUnit(r, dim), store["alpha"]["alpha-5"]} {
				for _, h := range search(t, alpha, q, 400) {
					if h.ID == "alpha-0" {
						t.Fatal("an SNO the store no longer has was returned")
					}
				}
			}
			if n := st2.Loaded(); n != 1 {
				t.Errorf("Loaded dropped %d entries, want 1 (alpha-0)", n)
			}
			s := alpha.Stats()
			if s.Live != 300 || s.Pending != 0 {
				t.Errorf("alpha after rebuild: %+v, want 300 live", s)
			}
			// Only the replaced and the new vectors were added to FAISS.
			if added := alpha.next - labelsLoaded; added != 2 {
				t.Errorf("%d vectors added to FAISS on restart, want 2", added)
			}
			truth := vector.NewExact(dim)
			for id, v := range store["alpha"] {
				truth.Add(id, v)
			}
			for range 20 {
				q := randUnit(r, dim)
				got, want := ids(search(t, alpha, q, 5)), ids(search(t, truth, q, 5))
				if cfg == flat && !slices.Equal(got, want) {
					t.Fatalf("after restart: %v, store says %v", got, want)
				}
			}
			if got := search(t, alpha, store["alpha"]["alpha-1"], 1); got[0].ID != "alpha-1" || got[0].Score < 0.999 {
				t.Errorf("re-embedded SNO not found by its new vector: %v", got)
			}
			if _, err := os.Stat(filepath.Join(dir, "p-"+fmt.Sprintf("%x", "gone")+".meta")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("file of a project without SNOs survived Loaded: %v", err)
			}
			// A project created after loading starts empty even if a file appears for it.
			if err := alpha.Save(filepath.Join(dir, "p-"+fmt.Sprintf("%x", "late"))); err != nil {
				t.Fatal(err)
			}
			if n := set2.For("late").Len(); n != 0 {
				t.Errorf("a project bound after Loaded loaded a file: %d vectors", n)
			}
		})
	}
}

// A start that fails before Loaded must not overwrite good files with unconfirmed state; entries saved
// hidden are dropped from a flat index at load.
func TestStoreSavesOnlyAfterLoaded(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	dir := t.TempDir()
	st, _ := NewStore(dir, flat, nil)
	set := vector.NewSet(8, st.NewIndex)
	for i := range 10 {
		set.For("p").Add(fmt.Sprint(i), randUnit(r, 8))
	}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "p-70.meta")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("saved before Loaded: %v", err)
	}
	st.Loaded()
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// A restart that dies before its rebuild: nothing confirmed, nothing written.
	st2, _ := NewStore(dir, flat, nil)
	vector.NewSet(8, st2.NewIndex).For("p")
	before, _ := os.ReadFile(filepath.Join(dir, "p-70.meta"))
	st2.Save()
	st2.Close()
	after, _ := os.ReadFile(filepath.Join(dir, "p-70.meta"))
	if string(before) != string(after) {
		t.Error("an unconfirmed index overwrote the saved one")
	}

	// Saved hidden entries (here: never confirmed, saved through Index.Save) leave a flat index at load.
	st3, _ := NewStore(dir, flat, nil)
	x := vector.NewSet(8, st3.NewIndex).For("p").(*Index)
	if err := x.Save(filepath.Join(dir, "hidden")); err != nil {
		t.Fatal(err)
	}
	st3.Close()
	y, err := Load(filepath.Join(dir, "hidden"), 8, flat)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if s := y.Stats(); s.Total != 0 || s.Tombstones != 0 || s.Pending != 0 {
		t.Errorf("hidden entries kept in a flat index: %+v", s)
	}
}

func TestStoreFallsBackOnDamage(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	dir := t.TempDir()
	st, _ := NewStore(dir, flat, nil)
	set := vector.NewSet(8, st.NewIndex)
	set.For("p").Add("a", randUnit(r, 8))
	st.Loaded()
	st.Save()
	st.Close()
	b, _ := os.ReadFile(filepath.Join(dir, "p-70.faiss"))
	b[len(b)-3] ^= 1
	os.WriteFile(filepath.Join(dir, "p-70.faiss"), b, 0o600)

	st2, _ := NewStore(dir, flat, nil)
	defer st2.Close()
	x := vector.NewSet(8, st2.NewIndex).For("p").(*Index)
	if s := x.Stats(); s.Total != 0 || s.Pending != 0 {
		t.Errorf("a damaged file was loaded: %+v", s)
	}
	if _, err := NewStore(dir, Config{Description: "HNSW32"}, nil); cns.ErrorCode(err) != cns.EINVALID {
		t.Errorf("NewStore with a bad description: %v", err)
	}
}

func TestStoreWithoutPersistence(t *testing.T) {
	st, err := NewStore("", flat, nil)
	if err != nil {
		t.Fatal(err)
	}
	set := vector.NewSet(4, st.NewIndex)
	if err := set.For("p").Add("a", []float32{1, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if n := st.Loaded(); n != 0 {
		t.Errorf("Loaded dropped %d", n)
	}
	if err := st.Save(); err != nil {
		t.Errorf("Save without a directory: %v", err)
	}
	if got := search(t, set.For("p"), []float32{1, 0, 0, 0}, 1); len(got) != 1 || got[0].ID != "a" {
		t.Errorf("search = %v", got)
	}
	st.Close()
	if _, err := set.For("p").Search([]float32{1, 0, 0, 0}, 1); cns.ErrorCode(err) != cns.EFAILEDPRECOND {
		t.Errorf("index usable after the store closed: %v", err)
	}
}
