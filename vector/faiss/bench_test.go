//go:build faiss

package faiss

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/vector"
)

// BenchmarkIndexes compares, at 10k and 100k vectors of 384 dimensions (CNS_BENCH_SIZES=10000,100000,1000000
// adds 1M, which needs ~8 GB and tens of minutes), the pure-Go exact index, FAISS Flat and FAISS HNSW32
// (efSearch 64 and 256), one query at a time and in batches of 64: queries/s, p99 latency per call, recall@10
// against the exact index, and resident memory per vector. The data are unit vectors around 1,000 random
// topic centres with a within-topic cosine of about 0.75 (CNS_BENCH_DATA=uniform: uniform on the sphere,
// the worst case for HNSW); queries come from the same distribution.
//
//	go test -tags faiss -run '^$' -bench Indexes -benchtime 2s ./vector/faiss/
func BenchmarkIndexes(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if env := os.Getenv("CNS_BENCH_SIZES"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 256 {
				b.Fatalf("CNS_BENCH_SIZES: %q is not a size of at least 256", f)
			}
			sizes = append(sizes, n)
		}
	}
	// Per-coordinate spread: a noise vector of norm ~0.6 around a unit centre.
	spread := 0.6 / math.Sqrt(384)
	if os.Getenv("CNS_BENCH_DATA") == "uniform" {
		spread = 100 // the centres vanish in the noise
	}
	const dim, k = 384, 10
	for _, n := range sizes {
		r := rand.New(rand.NewPCG(uint64(n), 42))
		ctrs := topics(r, 1000, dim)
		data := clustered(r, ctrs, n, spread)
		queries := clustered(r, ctrs, 256, spread)
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("sno_%012d", i)
		}

		heap := heapInUse()
		exact := vector.NewExact(dim)
		for i, v := range data {
			exact.Add(ids[i], v)
		}
		exactMem := float64(heapInUse()-heap) / float64(n) // all Go: the live heap is exact
		truth := make([]map[string]bool, len(queries))
		for i, q := range queries {
			truth[i] = map[string]bool{}
			hits, _ := exact.Search(q, k)
			for _, h := range hits {
				truth[i][h.ID] = true
			}
		}
		recall := func(i int, hits []cns.Hit) (found int) {
			for _, h := range hits {
				if truth[i][h.ID] {
					found++
				}
			}
			return found
		}

		single := func(name string, x cns.VectorIndex, bytesPerVector float64) {
			b.Run(fmt.Sprintf("n=%d/%s", n, name), func(b *testing.B) {
				lat := make([]time.Duration, 0, 1<<16)
				found, asked := 0, 0
				i := 0
				cpu := cpuTime()
				for b.Loop() {
					qi := i % len(queries)
					start := time.Now()
					hits, err := x.Search(queries[qi], k)
					lat = append(lat, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					found += recall(qi, hits)
					asked += k
					i++
				}
				report(b, lat, 1, float64(found)/float64(asked), bytesPerVector, cpu)
			})
		}
		single("go-exact", exact, exactMem)

		for _, cfg := range []Config{{Description: "IDMap,Flat"}, {Description: "IDMap,HNSW32", EfSearch: 64}} {
			runtime.GC()
			debug.FreeOSMemory()
			mem := rss()
			start := time.Now()
			x, err := New(dim, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if err := x.AddBatch(ids, data); err != nil {
				b.Fatal(err)
			}
			build := time.Since(start)
			bpv := perVector(mem, n)
			b.Logf("n=%d %s: built in %v, %.0f bytes/vector", n, cfg.Description, build.Round(time.Millisecond), bpv)
			efs := []int{0}
			if cfg.isHNSW() {
				efs = []int{64, 256}
			}
			for _, ef := range efs {
				name := "faiss-flat"
				if ef > 0 {
					name = fmt.Sprintf("faiss-hnsw32-ef%d", ef)
					if err := x.c.setParam("efSearch", float64(ef)); err != nil {
						b.Fatal(err)
					}
				}
				single(name, x, bpv)
				b.Run(fmt.Sprintf("n=%d/%s-batch64", n, name), func(b *testing.B) {
					const batch = 64
					lat := make([]time.Duration, 0, 1<<12)
					found, asked := 0, 0
					i := 0
					cpu := cpuTime()
					for b.Loop() {
						from := (i * batch) % len(queries)
						qs := queries[from : from+batch]
						start := time.Now()
						res, err := x.SearchBatch(qs, k)
						lat = append(lat, time.Since(start))
						if err != nil {
							b.Fatal(err)
						}
						for j, hits := range res {
							found += recall(from+j, hits)
							asked += k
						}
						i++
					}
					report(b, lat, batch, float64(found)/float64(asked), bpv, cpu)
				})
			}
			x.Close()
		}
	}
}

// report adds queries/s (wall clock and per CPU second of the process: the second does not drop when the
// machine is shared), the p99 latency of one call (a batch counts as one call), recall@10 and memory.
func report(b *testing.B, lat []time.Duration, perCall int, recall, bytesPerVector float64, cpuBefore time.Duration) {
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(len(lat)*perCall)/b.Elapsed().Seconds(), "queries/s")
	b.ReportMetric(float64(len(lat)*perCall)/(cpuTime()-cpuBefore).Seconds(), "queries/cpu-s")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs/call")
	b.ReportMetric(recall, "recall@10")
	b.ReportMetric(bytesPerVector, "bytes/vector")
	b.ReportMetric(0, "ns/op") // per-call time is in p99 and queries/s; ns/op mixes batch sizes
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss returns the resident set size of the process in bytes (Linux), FAISS's C++ heap included.
func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// perVector returns the growth of the resident set since before, per vector, after returning freed Go
// memory to the OS (FAISS's memory is C++ heap, invisible to Go's statistics; the Go maps of the index are
// included).
func perVector(before int64, n int) float64 {
	runtime.GC()
	debug.FreeOSMemory()
	return float64(rss()-before) / float64(n)
}

// heapInUse returns the live Go heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
