package bolt

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/store/record"
	bbolt "go.etcd.io/bbolt"
)

// benchSNO is SNO-sized like a real one: a 384-dim embedding, 8 claims, 10 edges, 5 evidence items and
// three critics.
func benchSNO(project, id string, trust float64, status cns.Status) *cns.SNO {
	s := testSNO(project, id, trust, status)
	s.Embedding = make([]float32, 384)
	for i := range s.Embedding {
		s.Embedding[i] = float32(i%17) / 17
	}
	cns.Normalize(s.Embedding)
	for i := range 7 {
		s.Graph.Claims = append(s.Graph.Claims, cns.Claim{ID: fmt.Sprintf("c%d", i), Text: "a claim of about sixty characters describing one step of it"})
	}
	for i := range 10 {
		s.Graph.Edges = append(s.Graph.Edges, cns.Edge{From: fmt.Sprintf("c%d", i%7), To: cns.RootClaimID, Relation: cns.RelationSupports, Strength: 0.7})
	}
	for i := range 5 {
		s.Evidence = append(s.Evidence, cns.Evidence{ID: fmt.Sprintf("doi:10.1000/%d", i), SourceID: fmt.Sprintf("10.1000/%d", i), Content: "an evidence excerpt of a couple of hundred characters, quoted from the source document to ground a claim of the narrative", Confidence: 0.9, SupportsClaimIDs: []string{"c1"}})
	}
	for _, n := range []string{"grounding", "logic", "novelty"} {
		s.Critics = append(s.Critics, cns.CriticScore{Name: n, Score: 0.7, Confidence: 0.8, Weight: 0.33, Explanation: "why", SubScores: map[string]float64{"a": 0.5, "b": 0.25}})
	}
	return s
}

func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "cns.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// seedSNOs writes n SNOs of one project in a single transaction (setup only; the port has no bulk
// write).
func seedSNOs(b *testing.B, s *Store, n int, status func(i int) cns.Status) {
	b.Helper()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		for i := range n {
			// Trusts repeat (100 distinct values), so pages cross ties as they would in practice.
			sno := benchSNO("p1", fmt.Sprintf("sno-%06d", i), float64(i%100)/100, status(i))
			rec, err := record.EncodeSNO(sno)
			if err != nil {
				return err
			}
			if err := putSNO(bucketsOf(tx), nil, sno, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkCreateJob(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	t0 := time.Now()
	b.ResetTimer()
	for i := range b.N {
		j := testJob("p1", fmt.Sprintf("job-%08d", i), cns.JobQueued, t0.Add(time.Duration(i)))
		j.IdempotencyKey = j.ID
		if _, _, err := s.CreateJob(ctx, j); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompleteJob measures one completion: read the job, write a realistic SNO, its trust index
// entry, the job and its indexes, and fsync, all in one transaction.
func BenchmarkCompleteJob(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	t0 := time.Now()
	jobs := make([]*cns.Job, b.N)
	err := s.db.Update(func(tx *bbolt.Tx) error {
		for i := range jobs {
			j := testJob("p1", fmt.Sprintf("job-%08d", i), cns.JobRunning, t0.Add(time.Duration(i)))
			rec, err := record.EncodeJob(j)
			if err != nil {
				return err
			}
			if err := putJob(bucketsOf(tx), nil, j, rec); err != nil {
				return err
			}
			jobs[i] = j
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	snos := make([]*cns.SNO, b.N)
	for i := range snos {
		snos[i] = benchSNO("p1", fmt.Sprintf("sno-%08d", i), float64(i%100)/100, cns.StatusActive)
	}
	b.ResetTimer()
	for i, j := range jobs {
		j.State, j.SNOID, j.FinishedAt = cns.JobSucceeded, snos[i].ID, t0
		if err := s.CompleteJob(ctx, j, snos[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetSNO(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	const n = 10_000
	seedSNOs(b, s, n, func(int) cns.Status { return cns.StatusActive })
	r := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for range b.N {
		if _, err := s.GetSNO(ctx, "p1", fmt.Sprintf("sno-%06d", r.IntN(n))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListSNOs lists a page of 50 of 10k SNOs: the first page, a page from a cursor in the middle,
// and a page of a status that is 1% of the population (the status filter walks the index, see the
// package comment).
func BenchmarkListSNOs(b *testing.B) {
	s := openBench(b)
	ctx := b.Context()
	const n = 10_000
	seedSNOs(b, s, n, func(i int) cns.Status {
		if i%100 == 42 {
			return cns.StatusArchived
		}
		return cns.StatusActive
	})
	mid, err := s.ListSNOs(ctx, cns.SNOFilter{Project: "p1", Limit: n / 2})
	if err != nil || len(mid) != n/2 {
		b.Fatalf("seed listing: %d, %v", len(mid), err)
	}
	last := mid[len(mid)-1]
	cases := []struct {
		name string
		f    cns.SNOFilter
	}{
		{"first", cns.SNOFilter{Project: "p1", Limit: 50}},
		{"cursor", cns.SNOFilter{Project: "p1", Limit: 50, After: &cns.SNOCursor{Trust: last.Trust, ID: last.ID}}},
		{"rare-status", cns.SNOFilter{Project: "p1", Limit: 50, Statuses: []cns.Status{cns.StatusArchived}}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				page, err := s.ListSNOs(ctx, tc.f)
				if err != nil || len(page) != 50 {
					b.Fatalf("ListSNOs: %d, %v", len(page), err)
				}
			}
		})
	}
}
