package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/critic"
	"github.com/cns-dev/cns/nlp"
	"github.com/cns-dev/cns/relation"
	"github.com/cns-dev/cns/store/bolt"
	"github.com/cns-dev/cns/synthesis"
)

// benchPopulation stores n ACTIVE SNOs in a fresh bolt store, in groups of 10 that cite the same two
// sources (E = 1 within a group); three in ten also cite a source shared across groups (E ≤ 1/3 with
// other groups: candidates that the thresholds drop). In a group one hypothesis is the negation of
// another, so each group holds a chiral pair. SNOs are written through CompleteJob (the real write path,
// evidence index included), concurrently so bbolt batches the commits.
func benchPopulation(b *testing.B, n int) (*Engine, []*cns.SNO) {
	b.Helper()
	st, err := bolt.Open(filepath.Join(b.TempDir(), "cns.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	emb, nli, err := nlp.New(nlp.BackendBuiltin, 256)
	if err != nil {
		b.Fatal(err)
	}
	eng, err := New(Config{Limits: cns.DefaultLimits(), Critic: critic.DefaultConfig()}, st, emb, nli)
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.EnableLoop(LoopConfig{Relation: relation.DefaultConfig(), AcceptTrust: 0.75, RejectTrust: 0.45}, st, nli, synthesis.Builtin{}); err != nil {
		b.Fatal(err)
	}
	topics := []string{"exercise", "coffee", "statins", "vitamin D", "sleep", "screen time", "green space", "fasting"}
	outcomes := []string{"sleep quality", "diabetes risk", "LDL cholesterol", "fracture risk", "depression", "blood pressure"}
	rng := rand.New(rand.NewPCG(1, 2))
	snos := make([]*cns.SNO, n)
	ctx := context.Background()
	for i := range snos {
		g := i / 10
		topic, outcome := topics[g%len(topics)], outcomes[g%len(outcomes)]
		var h string
		switch i % 10 {
		case 0:
			h = fmt.Sprintf("Regular %s improves %s in cohort %d.", topic, outcome, g)
		case 1:
			h = fmt.Sprintf("Regular %s does not improve %s in cohort %d.", topic, outcome, g)
		default:
			h = fmt.Sprintf("Regular %s improves %s in cohort %d.", topic, outcomes[(g+i)%len(outcomes)], g)
		}
		v, _ := emb.Embed(ctx, h)
		s := &cns.SNO{ID: fmt.Sprintf("sno_%07d", i), Project: "p", Hypothesis: h, Embedding: v, Graph: cns.NewGraph(h),
			Trust: 0.5 + 0.4*rng.Float64(), Status: cns.StatusActive, SchemaVersion: cns.SchemaVersion,
			CreatedAt: time.Unix(int64(i), 0), UpdatedAt: time.Unix(int64(i), 0)}
		for k := range 2 {
			s.Evidence = append(s.Evidence, cns.Evidence{ID: fmt.Sprintf("doi:10.5555/g%d.%d", g, k), SourceID: fmt.Sprintf("10.5555/g%d.%d", g, k),
				Content: fmt.Sprintf("In cohort %d, regular %s was associated with %s. The effect was small.", g, topic, outcome), Confidence: 1})
		}
		if rng.IntN(10) < 3 {
			e := rng.IntN(max(n/30, 1))
			s.Evidence = append(s.Evidence, cns.Evidence{ID: fmt.Sprintf("doi:10.5555/x%d", e), SourceID: fmt.Sprintf("10.5555/x%d", e),
				Content: "A review of lifestyle interventions.", Confidence: 1})
		}
		snos[i] = s
	}
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, 1)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				s := snos[i]
				job := &cns.Job{ID: "job_" + s.ID[4:], Project: "p", Kind: cns.JobSubmitNarrative, State: cns.JobRunning,
					Narrative: &cns.NarrativeInput{Hypothesis: s.Hypothesis}, CreatedAt: s.CreatedAt}
				if _, _, err := st.CreateJob(ctx, job); err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				job.State = cns.JobSucceeded
				if err := st.CompleteJob(ctx, job, s); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range snos {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	return eng, snos
}

// BenchmarkDiscoverPairs measures pair discovery for one new SNO in populations of 10k and 100k SNOs:
// "find" is the exact search with the configured thresholds (index lookup, candidate loads, scoring with
// the built-in NLI, conflict points); "find-all-candidates" scores every SNO sharing evidence (thresholds
// 0); "discover" is what the worker runs: find, then store the pairs (one bbolt commit with fsync).
func BenchmarkDiscoverPairs(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("snos=%d", n), func(b *testing.B) {
			eng, snos := benchPopulation(b, n)
			ctx := context.Background()
			th := eng.DefaultThresholds()
			// How many SNOs a discovery scores (every candidate from the index has E > 0).
			candidates := 0
			for i := range 100 {
				all, _, err := eng.FindPairs(ctx, PairQuery{Project: "p", SNOID: snos[i*(len(snos)/100)].ID, Limit: 10_000})
				if err != nil {
					b.Fatal(err)
				}
				candidates += len(all)
			}
			b.Logf("%d SNOs: %.1f candidates per SNO", n, float64(candidates)/100)
			for _, q := range []struct {
				name string
				th   relation.Thresholds
			}{{"find", th}, {"find-all-candidates", relation.Thresholds{}}} {
				b.Run(q.name, func(b *testing.B) {
					pairs := 0
					for i := 0; b.Loop(); i++ {
						ps, _, err := eng.FindPairs(ctx, PairQuery{Project: "p", SNOID: snos[(i*7919)%len(snos)].ID, Thresholds: q.th, Limit: 10_000})
						if err != nil {
							b.Fatal(err)
						}
						pairs += len(ps)
					}
					b.ReportMetric(float64(pairs)/float64(b.N), "pairs/op")
				})
			}
			b.Run("discover", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					if _, err := eng.DiscoverPairs(ctx, snos[(i*104729)%len(snos)]); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
