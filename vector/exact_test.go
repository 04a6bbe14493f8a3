package vector

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/cns-dev/cns"
)

func randUnit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return cns.Normalize(v)
}

// bruteForce ranks every stored vector the slow, obvious way.
func bruteForce(x *Exact, q []float32, k int) []cns.Hit {
	var all []cns.Hit
	for id, s := range x.slot {
		all = append(all, cns.Hit{ID: id, Score: float64(dot(q, x.data[s*x.dim:(s+1)*x.dim]))})
	}
	slices.SortFunc(all, func(a, b cns.Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return all[:min(k, len(all))]
}

// checkConsistent verifies the slot map, the id list and the rows agree.
func checkConsistent(t *testing.T, x *Exact) {
	t.Helper()
	if len(x.slot) != len(x.ids) || len(x.data) != len(x.ids)*x.dim {
		t.Fatalf("inconsistent sizes: %d slots, %d ids, %d floats", len(x.slot), len(x.ids), len(x.data))
	}
	for id, s := range x.slot {
		if x.ids[s] != id {
			t.Fatalf("slot map says %q is at %d, ids[%d] = %q", id, s, s, x.ids[s])
		}
	}
}

func TestExactMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, dim := range []int{1, 7, 37, 64, 256} {
		x := NewExact(dim)
		for i := 0; i < 1500; i++ {
			v := randUnit(r, dim)
			if err := x.Add(fmt.Sprintf("id%04d", i), v); err != nil {
				t.Fatal(err)
			}
			if i%10 == 0 { // exact duplicates under other ids: ties must be broken by id
				if err := x.Add(fmt.Sprintf("dup%04d", i), v); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := 0; i < 300; i++ { // churn: removals move rows around
			x.Remove(fmt.Sprintf("id%04d", r.IntN(1500)))
		}
		checkConsistent(t, x)
		for trial := 0; trial < 20; trial++ {
			q := randUnit(r, dim)
			if trial%4 == 0 { // a stored vector as the query: its duplicates tie at the top
				q = slices.Clone(x.data[:dim])
			}
			for _, k := range []int{1, 3, 10, 100, x.Len() + 5} {
				got, err := x.Search(q, k)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteForce(x, q, k)
				if !slices.Equal(got, want) {
					t.Fatalf("dim %d k %d: Search differs from brute force\n got %v\nwant %v", dim, k, got[:min(5, len(got))], want[:min(5, len(want))])
				}
			}
		}
	}
}

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for dim := 0; dim <= 70; dim++ {
		a, b := make([]float32, dim), make([]float32, dim)
		var want float64
		for i := range a {
			a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			want += float64(a[i]) * float64(b[i])
		}
		if got := dot(a, b); math.Abs(float64(got)-want) > 1e-4*(1+math.Abs(want)) {
			t.Errorf("dim %d: dot = %v, want %v", dim, got, want)
		}
	}
}

func TestExactSemantics(t *testing.T) {
	x := NewExact(3)
	if x.Dim() != 3 || x.Len() != 0 {
		t.Fatalf("new index: dim %d len %d", x.Dim(), x.Len())
	}
	if hits, err := x.Search([]float32{1, 0, 0}, 5); err != nil || len(hits) != 0 {
		t.Errorf("search of an empty index = %v, %v", hits, err)
	}
	mustAdd := func(id string, v ...float32) {
		t.Helper()
		if err := x.Add(id, v); err != nil {
			t.Fatalf("Add(%s): %v", id, err)
		}
	}
	mustAdd("a", 1, 0, 0)
	mustAdd("b", 0, 1, 0)
	mustAdd("c", 0, 0, 1)
	v := []float32{0.6, 0.8, 0}
	mustAdd("d", v...)
	v[0] = 99 // Add copies: the caller may reuse its slice
	if x.Len() != 4 {
		t.Fatalf("Len = %d", x.Len())
	}
	search := func(k int, q ...float32) []cns.Hit {
		t.Helper()
		hits, err := x.Search(q, k)
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	ids := func(hits []cns.Hit) []string {
		out := make([]string, len(hits))
		for i, h := range hits {
			out[i] = h.ID
		}
		return out
	}
	if got := ids(search(10, 0, 1, 0)); !slices.Equal(got, []string{"b", "d", "a", "c"}) {
		t.Errorf("ranking = %v", got)
	}
	if got := search(1, 0, 1, 0); math.Abs(got[0].Score-1) > 1e-6 {
		t.Errorf("score = %v, want 1", got[0].Score)
	}
	if got := search(2, 1, 0, 0); got[1].ID != "d" || math.Abs(got[1].Score-0.6) > 1e-6 {
		t.Errorf("second hit = %+v, want d at 0.6", got[1])
	}
	// Ties are broken by id.
	if got := ids(search(10, 0, 0, 0)); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("all-tie ranking = %v, want id order", got)
	}
	// k <= 0 returns nothing.
	if got := search(0, 1, 0, 0); len(got) != 0 {
		t.Errorf("k=0 = %v", got)
	}
	if got := search(-1, 1, 0, 0); len(got) != 0 {
		t.Errorf("k=-1 = %v", got)
	}

	// Replace keeps one entry per id.
	mustAdd("a", 0, 1, 0)
	if x.Len() != 4 {
		t.Errorf("Len after replace = %d", x.Len())
	}
	if got := ids(search(2, 0, 1, 0)); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("after replacing a: %v", got)
	}

	// Remove: from the middle (swap-delete), an absent id, the last one, everything.
	x.Remove("b")
	x.Remove("nope")
	checkConsistent(t, x)
	if got := ids(search(10, 0, 1, 0)); !slices.Equal(got, []string{"a", "d", "c"}) {
		t.Errorf("after removing b: %v", got)
	}
	for _, id := range []string{"c", "a", "d", "a"} {
		x.Remove(id)
		checkConsistent(t, x)
	}
	if x.Len() != 0 || len(search(5, 1, 0, 0)) != 0 {
		t.Errorf("index not empty after removing everything: %d", x.Len())
	}
	mustAdd("a", 1, 0, 0) // reusable after emptying
	if got := ids(search(5, 1, 0, 0)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after re-adding: %v", got)
	}
}

func TestExactErrors(t *testing.T) {
	x := NewExact(4)
	cases := []struct {
		name string
		err  error
	}{
		{"short vector", x.Add("a", []float32{1, 0, 0})},
		{"long vector", x.Add("a", []float32{1, 0, 0, 0, 0})},
		{"empty id", x.Add("", []float32{1, 0, 0, 0})},
		{"NaN", x.Add("a", []float32{float32(math.NaN()), 0, 0, 0})},
		{"Inf", x.Add("a", []float32{float32(math.Inf(1)), 0, 0, 0})},
	}
	for _, c := range cases {
		if cns.ErrorCode(c.err) != cns.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", c.name, c.err)
		}
	}
	if x.Len() != 0 {
		t.Errorf("rejected vectors were stored: Len = %d", x.Len())
	}
	if _, err := x.Search([]float32{1, 0}, 3); cns.ErrorCode(err) != cns.EINVALID {
		t.Errorf("short query: err = %v, want EINVALID", err)
	}
	if _, err := x.Search(nil, 0); cns.ErrorCode(err) != cns.EINVALID {
		t.Errorf("nil query: err = %v, want EINVALID", err)
	}
}

func TestExactShrinkReleasesMemory(t *testing.T) {
	x := NewExact(8)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		x.Add(fmt.Sprint(i), randUnit(r, 8))
	}
	for i := 0; i < 4990; i++ {
		x.Remove(fmt.Sprint(i))
	}
	checkConsistent(t, x)
	if cap(x.ids) > 2048 {
		t.Errorf("cap(ids) = %d after shrinking to %d", cap(x.ids), x.Len())
	}
	if hits, _ := x.Search(randUnit(r, 8), 20); len(hits) != 10 {
		t.Errorf("%d hits, want 10", len(hits))
	}
}

// Run with -race: searches share the read lock while writers add, replace and remove.
func TestExactConcurrent(t *testing.T) {
	const dim = 32
	x := NewExact(dim)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < 500; i++ {
				id := fmt.Sprintf("w%d-%d", w, r.IntN(100))
				if r.IntN(3) == 0 {
					x.Remove(id)
				} else if err := x.Add(id, randUnit(r, dim)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for rd := 0; rd < 4; rd++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(rd), 8))
			for i := 0; i < 300; i++ {
				hits, err := x.Search(randUnit(r, dim), 5)
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
				_ = x.Len()
			}
		}()
	}
	wg.Wait()
	checkConsistent(t, x)
}

func BenchmarkExactSearch(b *testing.B) {
	for _, dim := range []int{256, 384} {
		b.Run(fmt.Sprintf("n=10k/dim=%d/k=10", dim), func(b *testing.B) {
			r := rand.New(rand.NewPCG(9, uint64(dim)))
			x := NewExact(dim)
			for i := 0; i < 10000; i++ {
				x.Add(fmt.Sprintf("sno-%05d", i), randUnit(r, dim))
			}
			queries := make([][]float32, 64)
			for i := range queries {
				queries[i] = randUnit(r, dim)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := x.Search(queries[i%len(queries)], 10); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}

// The parallel scan must return exactly what the sequential one does, ties included, for any split.
func TestExactParallelScanMatchesBruteForce(t *testing.T) {
	defer func(f int, m func() int) { floatsPerPart, maxScanParts = f, m }(floatsPerPart, maxScanParts)
	r := rand.New(rand.NewPCG(11, 12))
	const dim = 24
	x := NewExact(dim)
	for i := 0; i < 997; i++ { // a prime, so parts have unequal sizes
		v := randUnit(r, dim)
		x.Add(fmt.Sprintf("id%04d", i), v)
		if i%7 == 0 {
			x.Add(fmt.Sprintf("dup%04d", i), v) // ties across part boundaries
		}
	}
	for _, parts := range []int{2, 3, 8, 64} {
		floatsPerPart = 1
		maxScanParts = func() int { return parts }
		if got := scanParts(x.Len(), dim); got != parts {
			t.Fatalf("scanParts = %d, want %d", got, parts)
		}
		for trial := 0; trial < 10; trial++ {
			q := randUnit(r, dim)
			if trial%3 == 0 {
				q = slices.Clone(x.data[7*dim : 8*dim])
			}
			for _, k := range []int{1, 10, 200, x.Len()} {
				got, err := x.Search(q, k)
				if err != nil {
					t.Fatal(err)
				}
				if want := bruteForce(x, q, k); !slices.Equal(got, want) {
					t.Fatalf("parts %d k %d: parallel search differs from brute force\n got %v\nwant %v", parts, k, got[:min(5, len(got))], want[:min(5, len(want))])
				}
			}
		}
	}
	// Small indexes stay on one goroutine with the production threshold.
	floatsPerPart, maxScanParts = 1<<19, func() int { return 8 }
	if got := scanParts(1000, 384); got != 1 {
		t.Errorf("scanParts(1000, 384) = %d, want 1", got)
	}
	if got := scanParts(100000, 384); got != 8 {
		t.Errorf("scanParts(100000, 384) = %d, want 8", got)
	}
}
