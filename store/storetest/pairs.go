package storetest

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/cns-dev/cns"
)

// PairStore is a store implementing both ports.
type PairStore interface {
	cns.Store
	cns.PairStore
}

// RunPairs runs the cns.PairStore contract against stores made by open, under the same rules as Run.
func RunPairs(t *testing.T, open func(t *testing.T) PairStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s PairStore)
	}{
		{"EvidenceIndex/CompleteJob", testEvidenceIndexComplete},
		{"EvidenceIndex/PutSNO", testEvidenceIndexPut},
		{"GetSNOs", testGetSNOs},
		{"Pairs/RoundTrip", testPairRoundTrip},
		{"Pairs/Order", testPairOrder},
		{"Pairs/Replace", testPairReplace},
		{"Pairs/Invalid", testPairInvalid},
		{"ClaimSynthesis", testClaimSynthesis},
		{"ClaimSynthesis/Concurrent", testClaimSynthesisConcurrent},
		{"ClaimSynthesis/PurgedJob", testClaimSynthesisPurged},
		{"ConsumeQuota", testConsumeQuota},
		{"ConsumeQuota/Concurrent", testConsumeQuotaConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func snoWithEvidence(project, id string, status cns.Status, evidence ...string) *cns.SNO {
	s := newSNO(project, id, 0.5, status)
	for _, e := range evidence {
		s.Evidence = append(s.Evidence, cns.Evidence{ID: e, SourceID: e, Content: "content of " + e, Confidence: 1})
	}
	return s
}

func byEvidence(t *testing.T, s PairStore, project string, ids ...string) map[string][]string {
	t.Helper()
	got, err := s.SNOIDsByEvidence(t.Context(), project, ids)
	if err != nil {
		t.Fatalf("SNOIDsByEvidence(%s, %v): %v", project, ids, err)
	}
	return got
}

func wantIndex(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: index = %v, want %v", what, got, want)
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Fatalf("%s: index[%s] = %v, want %v (whole index %v)", what, k, got[k], w, got)
		}
	}
}

func testEvidenceIndexComplete(t *testing.T, s PairStore) {
	ctx := t.Context()
	// Inserted out of id order: the ids come back sorted.
	addSNO(t, s, snoWithEvidence("p1", "s3", cns.StatusActive, "doi:10.1/a", "doi:10.1/b"))
	addSNO(t, s, snoWithEvidence("p1", "s1", cns.StatusActive, "doi:10.1/a"))
	addSNO(t, s, snoWithEvidence("p1", "s2", cns.StatusReview, "doi:10.1/a", "doi:10.1/b"))    // not ACTIVE: not indexed
	addSNO(t, s, snoWithEvidence("p1", "s4", cns.StatusRejected, "doi:10.1/b"))                // not ACTIVE
	addSNO(t, s, snoWithEvidence("p2", "s9", cns.StatusActive, "doi:10.1/a", "doi:10.1/only")) // another project
	// An evidence id that is a prefix of another must not match it.
	addSNO(t, s, snoWithEvidence("p1", "s5", cns.StatusActive, "doi:10.1/ab"))

	got := byEvidence(t, s, "p1", "doi:10.1/a", "doi:10.1/b", "doi:10.1/only", "doi:10.1/none", "doi:10.1/a")
	wantIndex(t, "after CompleteJob", got, map[string][]string{"doi:10.1/a": {"s1", "s3"}, "doi:10.1/b": {"s3"}})
	wantIndex(t, "other project", byEvidence(t, s, "p2", "doi:10.1/a"), map[string][]string{"doi:10.1/a": {"s9"}})
	wantIndex(t, "no ids", byEvidence(t, s, "p1"), map[string][]string{})

	// A redelivered job completes again with other evidence and status: the index follows exactly.
	j := mustGetJob(t, s, "p1", "job-s3")
	again := snoWithEvidence("p1", "s3", cns.StatusActive, "doi:10.1/b", "doi:10.1/c")
	again.JobID = j.ID
	if err := s.CompleteJob(ctx, j, again); err != nil {
		t.Fatal(err)
	}
	wantIndex(t, "after a repeated completion", byEvidence(t, s, "p1", "doi:10.1/a", "doi:10.1/b", "doi:10.1/c"),
		map[string][]string{"doi:10.1/a": {"s1"}, "doi:10.1/b": {"s3"}, "doi:10.1/c": {"s3"}})
	again.Status = cns.StatusReview
	if err := s.CompleteJob(ctx, j, again); err != nil {
		t.Fatal(err)
	}
	wantIndex(t, "after completing as REVIEW", byEvidence(t, s, "p1", "doi:10.1/a", "doi:10.1/b", "doi:10.1/c"),
		map[string][]string{"doi:10.1/a": {"s1"}})
}

func testEvidenceIndexPut(t *testing.T, s PairStore) {
	ctx := t.Context()
	a := snoWithEvidence("p1", "a", cns.StatusActive, "e1", "e2")
	b := snoWithEvidence("p1", "b", cns.StatusActive, "e2")
	addSNO(t, s, a)
	addSNO(t, s, b)
	ids := []string{"e1", "e2", "e3"}
	wantIndex(t, "start", byEvidence(t, s, "p1", ids...), map[string][]string{"e1": {"a"}, "e2": {"a", "b"}})

	// Archiving leaves pair search: every entry goes.
	a.Status = cns.StatusArchived
	if err := s.PutSNO(ctx, a); err != nil {
		t.Fatal(err)
	}
	wantIndex(t, "after archiving a", byEvidence(t, s, "p1", ids...), map[string][]string{"e2": {"b"}})

	// Coming back (a review approved, say) with other evidence enters under the new ids only.
	a.Status = cns.StatusActive
	a.Evidence = snoWithEvidence("p1", "a", cns.StatusActive, "e3").Evidence
	if err := s.PutSNO(ctx, a); err != nil {
		t.Fatal(err)
	}
	wantIndex(t, "after reactivating a", byEvidence(t, s, "p1", ids...), map[string][]string{"e2": {"b"}, "e3": {"a"}})

	// Evidence changing on an ACTIVE SNO moves its entries; a trust change alone keeps them.
	b.Evidence = snoWithEvidence("p1", "b", cns.StatusActive, "e1", "e3").Evidence
	b.Trust = 0.9
	if err := s.PutSNO(ctx, b); err != nil {
		t.Fatal(err)
	}
	wantIndex(t, "after moving b", byEvidence(t, s, "p1", ids...), map[string][]string{"e1": {"b"}, "e3": {"a", "b"}})
	b.Trust = 0.2
	if err := s.PutSNO(ctx, b); err != nil {
		t.Fatal(err)
	}
	wantIndex(t, "after a trust change", byEvidence(t, s, "p1", ids...), map[string][]string{"e1": {"b"}, "e3": {"a", "b"}})

	// A failed PutSNO (unknown SNO) indexes nothing.
	ghost := snoWithEvidence("p1", "ghost", cns.StatusActive, "e1")
	wantCode(t, "PutSNO of a missing sno", s.PutSNO(ctx, ghost), cns.ENOTFOUND)
	wantIndex(t, "after a failed PutSNO", byEvidence(t, s, "p1", "e1"), map[string][]string{"e1": {"b"}})
}

func testGetSNOs(t *testing.T, s PairStore) {
	ctx := t.Context()
	for _, id := range []string{"a", "b", "c"} {
		addSNO(t, s, fullSNOWithJob("p1", id, "job-"+id))
	}
	addSNO(t, s, newSNO("p2", "d", 0.5, cns.StatusActive))
	got, err := s.GetSNOs(ctx, "p1", []string{"c", "missing", "a", "d"})
	if err != nil {
		t.Fatal(err)
	}
	if ids := snoIDs(got); !slices.Equal(ids, []string{"c", "a"}) {
		t.Fatalf("GetSNOs = %v, want [c a] (order asked, unknown and foreign skipped)", ids)
	}
	wantEqual(t, "sno from GetSNOs", fullSNOWithJob("p1", "a", "job-a"), got[1])
	if got, err := s.GetSNOs(ctx, "p1", nil); err != nil || len(got) != 0 {
		t.Fatalf("GetSNOs of nothing: %v, %v", got, err)
	}
}

func fullPair(project, a, b string, potential float64) *cns.Pair {
	return &cns.Pair{
		Project: project, A: a, B: b,
		Chirality: 0.61, Entanglement: 1.0 / 3, Potential: potential, Contradiction: 0.875, EvidenceEngagement: 0.4375,
		SharedEvidenceIDs: []string{"doi:10.1/x", "url:https://example.org/y"},
		ConflictPoints: []cns.ConflictPoint{
			{ClaimA: "root", ClaimB: "c2", TextA: "Coffee lowers risk.", TextB: "Coffee does not lower risk.", Contradiction: 0.9},
			{ClaimA: "c1", ClaimB: "root", TextA: "Ünïcode ✓", TextB: "b", Contradiction: 0.55},
		},
		UpdatedAt: at(3),
	}
}

func putPairs(t *testing.T, s PairStore, ps ...*cns.Pair) {
	t.Helper()
	if err := s.PutPairs(t.Context(), ps); err != nil {
		t.Fatalf("PutPairs: %v", err)
	}
}

func listPairs(t *testing.T, s PairStore, f cns.PairFilter) []*cns.Pair {
	t.Helper()
	got, err := s.ListPairs(t.Context(), f)
	if err != nil {
		t.Fatalf("ListPairs(%+v): %v", f, err)
	}
	return got
}

func pairIDs(ps []*cns.Pair) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.A + "+" + p.B
	}
	return out
}

func testPairRoundTrip(t *testing.T, s PairStore) {
	in := fullPair("p1", "sno_a", "sno_b", 0.7)
	putPairs(t, s, in)
	in.ConflictPoints[0].TextA = "mutated" // the store must not alias the caller's pair
	got := listPairs(t, s, cns.PairFilter{Project: "p1"})
	if len(got) != 1 {
		t.Fatalf("ListPairs = %v", pairIDs(got))
	}
	wantEqual(t, "pair", fullPair("p1", "sno_a", "sno_b", 0.7), got[0])
	if other := listPairs(t, s, cns.PairFilter{Project: "p2"}); len(other) != 0 {
		t.Fatalf("another project sees pairs %v", pairIDs(other))
	}
	if other := listPairs(t, s, cns.PairFilter{Project: "p2", SNOID: "sno_a"}); len(other) != 0 {
		t.Fatalf("another project sees pairs of sno_a: %v", pairIDs(other))
	}
}

func testPairOrder(t *testing.T, s PairStore) {
	var all []*cns.Pair
	pots := []float64{0.9, 0.5, 0.5, 0.5, 0.1, 0, 1, 0.5 + 1e-12}
	ids := []string{"s1", "s2", "s3", "s4", "s5", "s10"}
	i := 0
	for x := range ids {
		for y := x + 1; y < len(ids); y++ {
			a, b := cns.OrderPair(ids[x], ids[y])
			p := fullPair("p1", a, b, pots[i%len(pots)])
			all = append(all, p)
			i++
		}
	}
	// Stored in two calls, out of order.
	putPairs(t, s, all[7:]...)
	putPairs(t, s, all[:7]...)
	putPairs(t, s, fullPair("p2", "s1", "s2", 0.95))

	want := func(sno string) []string {
		var ps []*cns.Pair
		for _, p := range all {
			if sno == "" || p.A == sno || p.B == sno {
				ps = append(ps, p)
			}
		}
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].Potential != ps[j].Potential {
				return ps[i].Potential > ps[j].Potential
			}
			if ps[i].A != ps[j].A {
				return ps[i].A < ps[j].A
			}
			return ps[i].B < ps[j].B
		})
		return pairIDs(ps)
	}
	for _, sno := range []string{"", "s1", "s10", "s3", "nobody"} {
		w := want(sno)
		for _, limit := range []int{1, 2, 5, 100} {
			f := cns.PairFilter{Project: "p1", SNOID: sno, Limit: limit}
			var got []*cns.Pair
			for {
				page := listPairs(t, s, f)
				if len(page) > limit {
					t.Fatalf("ListPairs with Limit %d returned %d pairs", limit, len(page))
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				if len(got) > len(w)+1 {
					t.Fatalf("ListPairs pagination does not end: %v", pairIDs(got))
				}
				last := page[len(page)-1]
				f.After = &cns.PairCursor{Potential: last.Potential, A: last.A, B: last.B}
			}
			if g := pairIDs(got); !slices.Equal(g, w) {
				t.Fatalf("sno %q, Limit %d: ListPairs = %v\nwant (potential desc, A, B) %v", sno, limit, g, w)
			}
		}
	}
	if got := listPairs(t, s, cns.PairFilter{Project: "p1"}); len(got) != len(all) {
		t.Fatalf("Limit 0 lists %d pairs, want all %d", len(got), len(all))
	}
}

func testPairReplace(t *testing.T, s PairStore) {
	putPairs(t, s, fullPair("p1", "a", "b", 0.2), fullPair("p1", "a", "c", 0.5), fullPair("p1", "b", "c", 0.4))
	moved := fullPair("p1", "a", "b", 0.9)
	moved.SharedEvidenceIDs = []string{"doi:10.1/z"}
	moved.ConflictPoints = nil
	putPairs(t, s, moved)
	if got := pairIDs(listPairs(t, s, cns.PairFilter{Project: "p1"})); !slices.Equal(got, []string{"a+b", "a+c", "b+c"}) {
		t.Fatalf("after replacing a+b: %v", got)
	}
	if got := pairIDs(listPairs(t, s, cns.PairFilter{Project: "p1", SNOID: "b"})); !slices.Equal(got, []string{"a+b", "b+c"}) {
		t.Fatalf("pairs of b after replacing a+b: %v", got)
	}
	got := listPairs(t, s, cns.PairFilter{Project: "p1", SNOID: "a", Limit: 1})
	wantEqual(t, "replaced pair", moved, got[0])
}

func testPairInvalid(t *testing.T, s PairStore) {
	ctx := t.Context()
	good := fullPair("p1", "a", "b", 0.5)
	for name, p := range map[string]*cns.Pair{
		"unordered":     fullPair("p1", "b", "a", 0.5),
		"same sno":      fullPair("p1", "a", "a", 0.5),
		"empty id":      fullPair("p1", "", "a", 0.5),
		"NaN potential": fullPair("p1", "a", "c", math.NaN()),
		"no project":    fullPair("", "a", "c", 0.5),
		"nil":           nil,
	} {
		// One bad pair in a call writes none of them.
		wantCode(t, "PutPairs with a pair "+name, s.PutPairs(ctx, []*cns.Pair{good, p}), cns.EINVALID)
	}
	if got := listPairs(t, s, cns.PairFilter{Project: "p1"}); len(got) != 0 {
		t.Fatalf("rejected PutPairs calls stored %v", pairIDs(got))
	}
	if err := s.PutPairs(ctx, nil); err != nil {
		t.Fatalf("PutPairs of nothing: %v", err)
	}
	_, err := s.ListPairs(ctx, cns.PairFilter{})
	wantCode(t, "ListPairs without a project", err, cns.EINVALID)
}

func synthesisJob(project, id, a, b, generator string, created time.Time) *cns.Job {
	return &cns.Job{
		ID: id, Project: project, Kind: cns.JobSynthesizePair, State: cns.JobQueued,
		Synthesis: &cns.SynthesisInput{A: a, B: b, Generator: generator, Auto: true},
		CreatedAt: created, UpdatedAt: created,
	}
}

func testClaimSynthesis(t *testing.T, s PairStore) {
	ctx := t.Context()
	const gen = "synthesis/builtin@1"
	_, err := s.SynthesisClaim(ctx, "p1", "a", "b", gen)
	wantCode(t, "SynthesisClaim before any claim", err, cns.ENOTFOUND)

	first := synthesisJob("p1", "j1", "a", "b", gen, at(1))
	stored, created, err := s.ClaimSynthesis(ctx, first)
	if err != nil || !created {
		t.Fatalf("first ClaimSynthesis: created=%v err=%v", created, err)
	}
	wantEqual(t, "claimed job", synthesisJob("p1", "j1", "a", "b", gen, at(1)), stored)
	wantEqual(t, "stored job", synthesisJob("p1", "j1", "a", "b", gen, at(1)), mustGetJob(t, s, "p1", "j1"))
	un, err := s.UnfinishedJobs(ctx)
	if err != nil || !slices.Contains(jobIDs(un), "j1") {
		t.Fatalf("a claimed job is not among the unfinished jobs: %v %v", jobIDs(un), err)
	}

	// The same pair and generator: nothing written, the first job returned, whatever the job's state.
	done := mustGetJob(t, s, "p1", "j1")
	done.State = cns.JobFailed
	if err := s.UpdateJob(ctx, done); err != nil {
		t.Fatal(err)
	}
	stored, created, err = s.ClaimSynthesis(ctx, synthesisJob("p1", "j2", "a", "b", gen, at(2)))
	if err != nil || created || stored.ID != "j1" {
		t.Fatalf("second claim of the pair: %v created=%v err=%v; want j1, not created", stored, created, err)
	}
	_, err = s.GetJob(ctx, "p1", "j2")
	wantCode(t, "job of a refused claim", err, cns.ENOTFOUND)
	for _, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		id, err := s.SynthesisClaim(ctx, "p1", order[0], order[1], gen)
		if err != nil || id != "j1" {
			t.Fatalf("SynthesisClaim(%v) = %q, %v; want j1", order, id, err)
		}
	}

	// Another generator version, another project, another pair: each claims afresh.
	for _, j := range []*cns.Job{
		synthesisJob("p1", "j3", "a", "b", "synthesis/builtin@2", at(3)),
		synthesisJob("p2", "j1", "a", "b", gen, at(4)),
		synthesisJob("p1", "j4", "a", "c", gen, at(5)),
		synthesisJob("p1", "j5", "a", "bc", gen, at(6)), // no aliasing of "a"+"bc" with "ab"+"c"
		synthesisJob("p1", "j6", "ab", "c", gen, at(7)),
	} {
		if _, created, err := s.ClaimSynthesis(ctx, j); err != nil || !created {
			t.Fatalf("ClaimSynthesis(%s %s+%s %s): created=%v err=%v", j.Project, j.Synthesis.A, j.Synthesis.B, j.Synthesis.Generator, created, err)
		}
	}
	if id, _ := s.SynthesisClaim(ctx, "p2", "a", "b", gen); id != "j1" {
		t.Fatalf("p2 claim names %q", id)
	}

	// A job id already used is a conflict, and claims nothing.
	_, _, err = s.ClaimSynthesis(ctx, synthesisJob("p1", "j4", "x", "y", gen, at(8)))
	wantCode(t, "ClaimSynthesis with a used job id", err, cns.ECONFLICT)
	_, err = s.SynthesisClaim(ctx, "p1", "x", "y", gen)
	wantCode(t, "claim of a conflicting job", err, cns.ENOTFOUND)

	bad := map[string]*cns.Job{
		"unordered":    synthesisJob("p1", "k1", "b", "a", gen, at(9)),
		"no generator": synthesisJob("p1", "k2", "a", "z", "", at(9)),
		"not a synthesis": func() *cns.Job {
			j := synthesisJob("p1", "k3", "a", "z", gen, at(9))
			j.Kind = cns.JobIngestDocument
			return j
		}(),
		"no input": func() *cns.Job {
			j := synthesisJob("p1", "k4", "a", "z", gen, at(9))
			j.Synthesis = nil
			return j
		}(),
	}
	for name, j := range bad {
		_, _, err := s.ClaimSynthesis(ctx, j)
		wantCode(t, "ClaimSynthesis "+name, err, cns.EINVALID)
	}
}

// testClaimSynthesisPurged: job history retention deletes the claiming job; the claim stays.
func testClaimSynthesisPurged(t *testing.T, s PairStore) {
	ctx := t.Context()
	first := synthesisJob("p1", "j1", "a", "b", "g@1", at(1))
	if _, created, err := s.ClaimSynthesis(ctx, first); err != nil || !created {
		t.Fatalf("claim: %v %v", created, err)
	}
	done := mustGetJob(t, s, "p1", "j1")
	done.State = cns.JobSucceeded
	if err := s.UpdateJob(ctx, done); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeJobs(ctx, at(10), 0); err != nil || n != 1 {
		t.Fatalf("PurgeJobs: %d, %v", n, err)
	}
	stored, created, err := s.ClaimSynthesis(ctx, synthesisJob("p1", "j2", "b", "c", "g@1", at(11)))
	if err != nil || !created {
		t.Fatalf("another pair: %v %v", created, err)
	}
	stored, created, err = s.ClaimSynthesis(ctx, synthesisJob("p1", "j3", "a", "b", "g@1", at(12)))
	if err != nil || created {
		t.Fatalf("claim of a pair whose job was purged: created=%v err=%v", created, err)
	}
	want := &cns.Job{ID: "j1", Project: "p1", Kind: cns.JobSynthesizePair, Synthesis: &cns.SynthesisInput{A: "a", B: "b", Generator: "g@1"}}
	wantEqual(t, "job returned for a purged claim", want, stored)
	if id, err := s.SynthesisClaim(ctx, "p1", "a", "b", "g@1"); err != nil || id != "j1" {
		t.Fatalf("SynthesisClaim after the purge = %q, %v", id, err)
	}
	_, err = s.GetJob(ctx, "p1", "j3")
	wantCode(t, "job of the refused claim", err, cns.ENOTFOUND)
}

func testClaimSynthesisConcurrent(t *testing.T, s PairStore) {
	const n = 16
	var wg sync.WaitGroup
	results := make([]*cns.Job, n)
	createdCount := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], createdCount[i], errs[i] = s.ClaimSynthesis(t.Context(), synthesisJob("p1", fmt.Sprintf("j%02d", i), "a", "b", "g@1", at(i)))
		}()
	}
	wg.Wait()
	winner := ""
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent ClaimSynthesis %d: %v", i, errs[i])
		}
		if createdCount[i] {
			if winner != "" {
				t.Fatalf("two claims won: %s and %s", winner, results[i].ID)
			}
			winner = results[i].ID
		}
	}
	if winner == "" {
		t.Fatal("no concurrent claim won")
	}
	for i := range n {
		if results[i].ID != winner {
			t.Fatalf("claim %d returned job %s, the winner is %s", i, results[i].ID, winner)
		}
	}
	jobs, err := s.ListJobs(t.Context(), cns.JobFilter{Project: "p1"})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("concurrent claims stored %d jobs (%v), want 1", len(jobs), err)
	}
}

func testConsumeQuota(t *testing.T, s PairStore) {
	ctx := t.Context()
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	q := func(key string, amount, limit int64, now time.Time) cns.Quota {
		return cns.Quota{Project: "p1", Key: key, Amount: amount, Limit: limit, Window: time.Hour, Now: now}
	}
	take := func(what string, qu cns.Quota, wantUsed int64, wantOK bool) {
		t.Helper()
		used, ok, err := s.ConsumeQuota(ctx, qu)
		if err != nil || used != wantUsed || ok != wantOK {
			t.Fatalf("%s: ConsumeQuota(%d of %d at %s) = %d, %v, %v; want %d, %v", what, qu.Amount, qu.Limit,
				qu.Now.Format(time.TimeOnly), used, ok, err, wantUsed, wantOK)
		}
	}
	take("ask an unused budget", q("tokens", 0, 100, t0), 0, true)
	take("first", q("tokens", 60, 100, t0), 60, true)
	take("second", q("tokens", 40, 100, t0.Add(10*time.Minute)), 100, true)
	take("over the limit", q("tokens", 1, 100, t0.Add(20*time.Minute)), 100, false)
	take("ask a spent budget", q("tokens", 0, 100, t0.Add(20*time.Minute)), 100, false)
	// The window opened at t0 (the first consumption), not at the last one.
	take("just before the window closes", q("tokens", 1, 100, t0.Add(time.Hour-time.Nanosecond)), 100, false)
	take("the window closed", q("tokens", 30, 100, t0.Add(time.Hour)), 30, true)
	// A refused amount consumes nothing.
	take("too much at once", q("tokens", 80, 100, t0.Add(time.Hour+time.Minute)), 30, false)
	take("what remains", q("tokens", 70, 100, t0.Add(time.Hour+2*time.Minute)), 100, true)
	// Asking does not open a window: a window opened later by a consumption runs from that consumption.
	take("ask an idle key", q("cooldown:a", 0, 1, t0), 0, true)
	take("cooldown taken", q("cooldown:a", 1, 1, t0.Add(30*time.Minute)), 1, true)
	take("cooldown running", q("cooldown:a", 1, 1, t0.Add(89*time.Minute)), 1, false)
	take("cooldown over", q("cooldown:a", 1, 1, t0.Add(90*time.Minute)), 1, true)
	// Keys and projects are independent.
	take("another key", q("cooldown:b", 1, 1, t0.Add(31*time.Minute)), 1, true)
	other := q("tokens", 100, 100, t0.Add(time.Hour))
	other.Project = "p2"
	take("another project", other, 100, true)

	for name, bad := range map[string]cns.Quota{
		"zero limit":      q("x", 1, 0, t0),
		"negative amount": q("x", -1, 10, t0),
		"no window":       {Project: "p1", Key: "x", Amount: 1, Limit: 1, Now: t0},
		"no key":          q("", 1, 10, t0),
		"no project":      {Key: "x", Amount: 1, Limit: 1, Window: time.Hour, Now: t0},
	} {
		_, _, err := s.ConsumeQuota(ctx, bad)
		wantCode(t, "ConsumeQuota with "+name, err, cns.EINVALID)
	}
}

func testConsumeQuotaConcurrent(t *testing.T, s PairStore) {
	const n, limit = 24, 10
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := s.ConsumeQuota(t.Context(), cns.Quota{Project: "p1", Key: "synthesis", Amount: 1, Limit: limit, Window: time.Hour, Now: t0})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != limit {
		t.Fatalf("%d concurrent consumptions of a budget of %d granted %d", n, limit, granted)
	}
}
